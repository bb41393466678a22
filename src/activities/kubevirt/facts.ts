// What the plan needs to know about the VMs on a node: each VMI with its owner VM, launcher pod memory and any
// migration in flight; the cluster's default eviction strategy; the migrations running from a node.
import { paths, kv, type KubeClient, type KubeObject } from '../../k8s/client.js';
import { parseQuantity } from '../../domain/quantity.js';
import type { VmFacts } from '../../domain/plan.js';
import {
  KUBEVIRT_LABELS,
  LAUNCHER_SELECTOR,
  MANAGED_BY_LABEL,
  PITSTOP,
  PREVIOUS_RUN_STRATEGY,
  STRATEGY_LABEL,
  WORKFLOW_ID_LABEL,
} from '../../domain/contract.js';
import { kube } from '../errors.js';
import { podMemoryRequest } from '../podRequests.js';
import { isFinalMigration, migrationsOfVmis, runStrategyOf, vmPath, vmisOnNode } from './objects.js';

/** The cluster-wide default eviction strategy (KubeVirt CR, in whichever namespace the operator installed it). */
export async function clusterEvictionStrategy(client: KubeClient): Promise<string | undefined> {
  const list = await client.list(kv('kubevirts'));
  return list.items[0]?.spec?.configuration?.evictionStrategy;
}

const launcherMemory = (pod: KubeObject | undefined) => (pod ? podMemoryRequest(pod) : undefined);

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
    ...(vmi.metadata.uid && { uid: vmi.metadata.uid }),
    phase: vmi.status?.phase ?? '',
    ownedByVm: !!owner,
    runStrategy: vm ? runStrategyOf(vm) : undefined,
    ...(vm?.metadata.annotations?.[PREVIOUS_RUN_STRATEGY] && {
      previousRunStrategy: vm.metadata.annotations[PREVIOUS_RUN_STRATEGY],
    }),
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
  const [vmis, launchers] = await Promise.all([
    vmisOnNode(client, node),
    client.list(paths.pods(), {
      labelSelector: LAUNCHER_SELECTOR,
      fieldSelector: `spec.nodeName=${node}`,
    }),
  ]);
  const migrations = await migrationsOfVmis(client, vmis);
  const facts: VmFacts[] = [];
  for (const vmi of vmis) {
    const ns = vmi.metadata.namespace ?? 'default';
    const owner = vmi.metadata.ownerReferences?.find((r) => r.controller && r.kind === 'VirtualMachine');
    const vm = owner ? await client.find(vmPath(ns, owner.name)) : undefined;
    const launcher = launchers.items.find((p) => p.metadata.labels?.[KUBEVIRT_LABELS.createdBy] === vmi.metadata.uid);
    const inFlight = migrations.items.find(
      (m) => m.metadata.namespace === ns && m.spec?.vmiName === vmi.metadata.name && !isFinalMigration(m),
    );
    facts.push(toVmFacts(vmi, vm, launcher, inFlight));
  }
  return facts;
}

export interface InFlightMigration {
  namespace: string;
  name: string;
  vmi: string;
  phase: string;
  /** Created by Pitstop (managed-by label), with the workflow id it was labelled with. */
  ours: boolean;
  workflowId?: string;
  /** Deletion requested (being aborted). */
  cancelling: boolean;
}

/** Migrations not finished whose VMI runs on `node` (KubeVirt evacuations, ours, anyone's). */
export async function migrationsInFlight(client: KubeClient, input: { node: string }): Promise<InFlightMigration[]> {
  return await kube(`listing migrations from ${input.node}`, async () => {
    const onNode = (await vmisOnNode(client, input.node)).filter((v) => v.status?.nodeName === input.node);
    const migrations = await migrationsOfVmis(client, onNode);
    const names = new Set(onNode.map((v) => `${v.metadata.namespace}/${v.metadata.name}`));
    return migrations.items
      .filter((m) => !isFinalMigration(m) && names.has(`${m.metadata.namespace}/${m.spec?.vmiName}`))
      .map((m) => {
        const labels = m.metadata.labels ?? {};
        const row: InFlightMigration = {
          namespace: m.metadata.namespace ?? 'default',
          name: m.metadata.name,
          vmi: m.spec?.vmiName,
          phase: m.status?.phase ?? '',
          ours: labels[MANAGED_BY_LABEL] === PITSTOP,
          cancelling: !!m.metadata.deletionTimestamp,
        };
        const workflowId = m.metadata.annotations?.[WORKFLOW_ID_LABEL] ?? labels[WORKFLOW_ID_LABEL];
        if (workflowId) row.workflowId = workflowId;
        return row;
      })
      .sort((a, b) => `${a.namespace}/${a.name}`.localeCompare(`${b.namespace}/${b.name}`));
  });
}
