// KubeVirt objects: VMIs on a node (with what the plan needs to know about each), migrations, the KubeVirt CR.
import { paths, type KubeClient, type KubeObject } from '../k8s/client.js';
import { parseQuantity } from '../domain/quantity.js';
import { STRATEGY_LABEL, type VmFacts } from '../domain/plan.js';

export const KUBEVIRT = { group: 'kubevirt.io', version: 'v1' };
export const kv = (plural: string, ns?: string, name?: string, sub?: string) =>
  paths.resource(KUBEVIRT.group, KUBEVIRT.version, plural, ns, name, sub);

const FINAL_MIGRATION_PHASES = new Set(['Succeeded', 'Failed']);

/** The cluster-wide default eviction strategy (KubeVirt CR, in whichever namespace the operator installed it). */
export async function clusterEvictionStrategy(client: KubeClient): Promise<string | undefined> {
  const list = await client.list(kv('kubevirts'));
  return list.items[0]?.spec?.configuration?.evictionStrategy;
}

function launcherMemory(pod: KubeObject | undefined): number | undefined {
  if (!pod) return undefined;
  return (pod.spec?.containers ?? []).reduce(
    (sum: number, c: { resources?: { requests?: { memory?: string } } }) =>
      sum + (parseQuantity(c.resources?.requests?.memory) ?? 0),
    0,
  );
}

function vmiGuestMemory(vmi: KubeObject): number {
  const domain = vmi.spec?.domain ?? {};
  return parseQuantity(domain.resources?.requests?.memory) ?? parseQuantity(domain.memory?.guest) ?? 0;
}

export function toVmFacts(
  vmi: KubeObject,
  vm: KubeObject | undefined,
  launcher: KubeObject | undefined,
  inFlight: KubeObject | undefined,
): VmFacts {
  const migratable = (vmi.status?.conditions ?? []).find((c: { type: string }) => c.type === 'LiveMigratable');
  const owner = vmi.metadata.ownerReferences?.find((r) => r.controller && r.kind === 'VirtualMachine');
  return {
    namespace: vmi.metadata.namespace ?? 'default',
    name: vmi.metadata.name,
    nodeName: vmi.status?.nodeName ?? '',
    phase: vmi.status?.phase ?? '',
    ownedByVm: !!owner,
    runStrategy: vm ? (vm.spec?.runStrategy ?? (vm.spec?.running === false ? 'Halted' : 'Always')) : undefined,
    evictionStrategy: vmi.spec?.evictionStrategy,
    liveMigratable: migratable?.status === 'True',
    notMigratableReason: migratable?.status === 'False' ? migratable.reason : undefined,
    notMigratableMessage: migratable?.status === 'False' ? migratable.message : undefined,
    strategyLabel: vm?.metadata.labels?.[STRATEGY_LABEL] ?? vmi.metadata.labels?.[STRATEGY_LABEL],
    memoryBytes: launcherMemory(launcher) ?? vmiGuestMemory(vmi),
    nodeSelector: vmi.spec?.nodeSelector,
    migrationInFlight: inFlight?.metadata.name,
  };
}

/** The VMIs on `node`, described for the plan: owner VM, launcher pod memory, any migration in flight. */
export async function vmsOnNode(client: KubeClient, node: string): Promise<VmFacts[]> {
  const [vmis, launchers, migrations] = await Promise.all([
    client.list(kv('virtualmachineinstances'), { labelSelector: `kubevirt.io/nodeName=${node}` }),
    client.list(paths.pods(), { labelSelector: 'kubevirt.io=virt-launcher', fieldSelector: `spec.nodeName=${node}` }),
    client.list(kv('virtualmachineinstancemigrations')),
  ]);
  const facts: VmFacts[] = [];
  for (const vmi of vmis.items) {
    const ns = vmi.metadata.namespace ?? 'default';
    const owner = vmi.metadata.ownerReferences?.find((r) => r.controller && r.kind === 'VirtualMachine');
    const vm = owner ? await client.find(kv('virtualmachines', ns, owner.name)) : undefined;
    const launcher = launchers.items.find((p) => p.metadata.labels?.['kubevirt.io/created-by'] === vmi.metadata.uid);
    const inFlight = migrations.items.find(
      (m) =>
        m.metadata.namespace === ns &&
        m.spec?.vmiName === vmi.metadata.name &&
        !FINAL_MIGRATION_PHASES.has(m.status?.phase ?? ''),
    );
    facts.push(toVmFacts(vmi, vm, launcher, inFlight));
  }
  return facts;
}
