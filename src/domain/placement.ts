/**
 * Capacity: will the VMs that must leave the node fit elsewhere? First-fit decreasing of the VMs that move onto the
 * nodes that can take them, used by preflight for one node and by rolling maintenance for the next one.
 */
import { formatBytes } from './bytes.js';
import type { NodeFacts } from './clusterSnapshot.js';
import { KUBEVIRT_SCHEDULABLE } from './contract.js';
import { vmiKey, type VmFacts } from './vmFacts.js';
import type { VmPlan } from './vmPlan.js';

export interface CapacityVerdict {
  /** Memory of the VMs that must find room elsewhere (migrate, awaitExternal, restart elsewhere). */
  neededBytes: number;
  /** Free memory (allocatable - requested) over the nodes that can take them. */
  freeBytes: number;
  /** VMIs ("ns/name") that fit on no other node. */
  unplaced: string[];
}

export interface Placement {
  capacity: CapacityVerdict;
  /** Each unplaced VM with its size and, if so, the nodeSelector no usable node matches: "ns/a (16 GiB)". */
  unplacedDetails: string[];
  /** Memory of the unplaced VMs. */
  missingBytes: number;
  /** How many nodes can take VMs at all. */
  hosts: number;
}

/** Plans whose VM will need room on another node while the target is down. */
export function needsRoomElsewhere(plan: VmPlan): boolean {
  return (
    plan.action === 'migrate' ||
    plan.action === 'awaitExternal' ||
    plan.action === 'restartElsewhere' ||
    plan.action === 'startElsewhere' ||
    (plan.action === 'shutdown' && plan.restore === 'elsewhere')
  );
}

/**
 * KubeVirt's own mark that a node takes VMs: virt-controller puts `kubevirt.io/schedulable=true` into every
 * virt-launcher pod's nodeSelector, and virt-handler sets the label only while it runs and heartbeats on the node.
 * A node without it (no virt-handler, a stale heartbeat, KubeVirt's own cordon) takes no VM, whatever its room.
 */
export function kubevirtSchedulable(node: NodeFacts): boolean {
  return node.labels[KUBEVIRT_SCHEDULABLE.label] === KUBEVIRT_SCHEDULABLE.value;
}

/**
 * Nodes that can take a VM: Ready, schedulable, marked schedulable by KubeVirt, not the target, and without a
 * NoSchedule/NoExecute taint (VMs carry no tolerations for those, e.g. the control-plane taint).
 */
export function canHostVms(node: NodeFacts, target: string): boolean {
  const blockingTaint = node.taints.some((taint) => taint.effect === 'NoSchedule' || taint.effect === 'NoExecute');
  return node.name !== target && node.ready && !node.unschedulable && kubevirtSchedulable(node) && !blockingTaint;
}

function freeMemory(node: NodeFacts): number {
  return Math.max(0, node.allocatableMemoryBytes - node.requestedMemoryBytes);
}

function matchesSelector(node: NodeFacts, selector: Record<string, string> | undefined): boolean {
  return Object.entries(selector ?? {}).every(([key, value]) => node.labels[key] === value);
}

/** First-fit decreasing: biggest VMs first, each onto the first node (by name) with a matching selector and room. */
export function placeVms(vms: readonly VmFacts[], nodes: readonly NodeFacts[], target: string): Placement {
  const hosts = nodes
    .filter((node) => canHostVms(node, target))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((node) => ({ node, free: freeMemory(node) }));
  const biggestFirst = [...vms].sort(
    (a, b) => b.memoryBytes - a.memoryBytes || (vmiKey(a) < vmiKey(b) ? -1 : vmiKey(a) > vmiKey(b) ? 1 : 0),
  );
  const unplaced: string[] = [];
  const unplacedDetails: string[] = [];
  let missingBytes = 0;
  for (const vm of biggestFirst) {
    const candidates = hosts.filter((host) => matchesSelector(host.node, vm.nodeSelector));
    const host = candidates.find((candidate) => candidate.free >= vm.memoryBytes);
    if (host) {
      host.free -= vm.memoryBytes;
      continue;
    }
    unplaced.push(vmiKey(vm));
    missingBytes += vm.memoryBytes;
    const selector = Object.entries(vm.nodeSelector ?? {})
      .map(([key, value]) => `${key}=${value}`)
      .join(',');
    const why = candidates.length === 0 && selector ? `, nodeSelector ${selector} matches no usable node` : '';
    unplacedDetails.push(`${vmiKey(vm)} (${formatBytes(vm.memoryBytes)}${why})`);
  }
  return {
    capacity: {
      neededBytes: vms.reduce((sum, vm) => sum + vm.memoryBytes, 0),
      freeBytes: hosts.reduce((sum, host) => sum + freeMemory(host.node), 0),
      unplaced,
    },
    unplacedDetails,
    missingBytes,
    hosts: hosts.length,
  };
}
