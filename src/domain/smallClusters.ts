/**
 * Small clusters (docs/small-clusters.md): what a drain does with the VMs that fit on no other node (policy
 * capacity.onNoRoom), and the single-node cluster, whose API server goes down with its only node.
 */
import type { ClusterSnapshot } from './clusterSnapshot.js';
import type { MaintenancePolicy } from './policy.js';
import { vmiKey, type VmFacts } from './vmFacts.js';
import type { VmPlan } from './vmPlan.js';

/** Where the recipe for what Pitstop refuses here is written down (quoted in refusals and plan reasons). */
export const SMALL_CLUSTERS_DOC = 'docs/small-clusters.md';

/**
 * A VM that capacity.onNoRoom=shutdown may stop for want of room: one a VirtualMachine owns (its runStrategy
 * brings it back). A standalone VMI stopped is gone for good, so it keeps its plan and the drain is still refused.
 */
export function stoppableForRoom(vm: VmFacts | undefined): boolean {
  return vm?.ownedByVm === true;
}

/**
 * capacity.onNoRoom=shutdown: each VM in `unplaced` that can be stopped is shut down and started again after the
 * maintenance instead (the same path as ShutdownRestartAfter: runStrategy recorded, Halted, put back once the node
 * is uncordoned; with no other node it comes back on this one). The other plans are unchanged.
 */
export function shutdownWhatDoesNotFit(
  plan: readonly VmPlan[],
  unplaced: readonly string[],
  factsByVmi: ReadonlyMap<string, VmFacts>,
): VmPlan[] {
  const stop = new Set(unplaced.filter((vmi) => stoppableForRoom(factsByVmi.get(vmi))));
  return plan.map((p) => {
    if (!stop.has(p.vmi)) return p;
    const { onMigrationFailure: _f, onEscalation: _e, adoptMigration: _a, ...rest } = p;
    return {
      ...rest,
      action: 'shutdown',
      restore: 'afterMaintenance',
      allowedDecisions: [],
      reason:
        'fits on no other node; policy capacity.onNoRoom=shutdown: shut it down and restart it after maintenance ' +
        '(on this node if no other has room).',
    };
  });
}

/** The moving VMs that still need room once capacity.onNoRoom=shutdown has stopped the unplaced stoppable ones. */
export function stillNeedingRoom(
  vms: readonly VmFacts[],
  unplaced: readonly string[],
  policy: MaintenancePolicy,
): VmFacts[] {
  if (policy.capacity.onNoRoom !== 'shutdown') return [...vms];
  const stop = new Set(unplaced);
  return vms.filter((vm) => !(stop.has(vmiKey(vm)) && stoppableForRoom(vm)));
}

/**
 * A single-node cluster (single-node OpenShift, a one-node k3s or kubeadm cluster): the target is the cluster's
 * only node and a control-plane node, so it is its worker too. Its kube-apiserver and etcd run on it as static
 * pods: once it powers off nothing answers the API, so a run inside that cluster could neither watch the node come
 * back nor restore its VMs.
 */
export function singleNodeCluster(snapshot: ClusterSnapshot): boolean {
  const target = snapshot.node;
  return target !== undefined && target.controlPlane && snapshot.nodes.every((node) => node.name === target.name);
}

/** The refusal's sentence for a single-node cluster: why, and where the out-of-cluster recipe is. */
export function singleNodeRefusal(node: string): string {
  return (
    `node "${node}" is the cluster's only node (control plane and worker): the API server and etcd go down with ` +
    `it, so nothing in the cluster could bring it back into service or restart its VMs; maintain it from ` +
    `outside the cluster (${SMALL_CLUSTERS_DOC}#single-node-openshift)`
  );
}
