// The KubeVirt objects the activities touch (VMs, VMIs, migrations): their paths, how their phases read, and the
// one way every KubeVirt wait waits (waitFor, its failures classified for Temporal).
import { kv, type KubeClient, type KubeObject } from '../../k8s/client.js';
import { waitFor, type WaitControls, type WaitSpec } from '../../k8s/watch.js';
import { KUBEVIRT_LABELS } from '../../domain/contract.js';
import { kube } from '../errors.js';

export const vmimPath = (ns?: string, name?: string) => kv('virtualmachineinstancemigrations', ns, name);
export const vmiPath = (ns?: string, name?: string) => kv('virtualmachineinstances', ns, name);
export const vmPath = (ns?: string, name?: string) => kv('virtualmachines', ns, name);

const FINAL_MIGRATION_PHASES = new Set(['Succeeded', 'Failed']);
export const isFinalMigration = (m: KubeObject | undefined) => FINAL_MIGRATION_PHASES.has(m?.status?.phase ?? '');

export const seconds = (ms: number) => `${Math.round(ms / 100) / 10}s`;

export const timestamp = (text: string | undefined) => {
  const ms = text ? Date.parse(text) : NaN;
  return Number.isFinite(ms) ? ms : undefined;
};

/** A VMI's phase as a wait reports it: Absent, Stopping (being deleted) or its status.phase. */
export const vmiPhase = (vmi: KubeObject | undefined): string =>
  !vmi ? 'Absent' : vmi.metadata.deletionTimestamp ? 'Stopping' : (vmi.status?.phase ?? 'Pending');

/** The VM's runStrategy; legacy spec.running true = Always, false or neither set = Halted (KubeVirt's default). */
export function runStrategyOf(vm: KubeObject): string {
  if (vm.spec?.runStrategy) return vm.spec.runStrategy;
  return vm.spec?.running === true ? 'Always' : 'Halted';
}

/** The VMIs KubeVirt places on `node` (its `kubevirt.io/nodeName` label). */
export async function vmisOnNode(client: KubeClient, node: string): Promise<KubeObject[]> {
  return (await client.list(vmiPath(), { labelSelector: `${KUBEVIRT_LABELS.vmiNode}=${node}` })).items;
}

/**
 * The migrations of these VMIs, found by KubeVirt's `kubevirt.io/vmi-name` label (set on every VMIM), not by
 * listing every migration in the cluster: finished VMIMs pile up (KubeVirt keeps 5 per VMI), and a cluster-wide
 * list grows with the cluster while the node's VMIs do not.
 */
export async function migrationsOfVmis(client: KubeClient, vmis: KubeObject[]): Promise<{ items: KubeObject[] }> {
  const names = [...new Set(vmis.map((v) => v.metadata.name))].sort();
  if (names.length === 0) return { items: [] };
  return await client.list(vmimPath(), { labelSelector: `${KUBEVIRT_LABELS.vmiName} in (${names.join(',')})` });
}

/** waitFor on one KubeVirt object, its Kubernetes failures classified as `what` failed. */
export function waitForObject<R>(
  client: KubeClient,
  what: string,
  spec: WaitSpec<R>,
  controls: WaitControls,
): Promise<R> {
  return kube(what, () => waitFor(client, spec, controls));
}
