/**
 * The decisions of a rolling maintenance, as pure functions: the order of the nodes, what the roll does next
 * (start a node, or wait and why), and whether the cluster can absorb one more node's VMs.
 */
import { formatBytes } from './bytes.js';
import type { LeaseHolder, NodeFacts } from './clusterSnapshot.js';
import { needsRoomElsewhere, placeVms } from './placement.js';
import { planNode } from './plan.js';
import type { MaintenancePolicy } from './policy.js';
import { stillNeedingRoom } from './smallClusters.js';
import type { VmFacts } from './vmFacts.js';
import type { MaintenanceWindow, RollingOrder } from './rolling.js';
import type { RollingNodeRow, RollingStatus } from './rollingProgress.js';
import { isInWindow, nextWindowOpening } from './window.js';

/** Natural order of names: worker-2 before worker-10. */
export function compareNames(a: string, b: string): number {
  const split = (s: string) => s.split(/(\d+)/);
  const pa = split(a);
  const pb = split(b);
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    const x = pa[i] ?? '';
    const y = pb[i] ?? '';
    if (x === y) continue;
    const numeric = i % 2 === 1;
    if (numeric && Number(x) !== Number(y)) return Number(x) - Number(y);
    return x < y ? -1 : 1;
  }
  return pa.length - pb.length || (a < b ? -1 : a > b ? 1 : 0);
}

/** The order in which the roll takes the nodes: by name, or fewest VMs first (ties by name). */
export function orderNodes<T extends { name: string; vmCount: number }>(nodes: readonly T[], order: RollingOrder): T[] {
  return [...nodes].sort((a, b) => (order === 'fewestVms' ? a.vmCount - b.vmCount : 0) || compareNames(a.name, b.name));
}

export const FAILED_STATES: readonly RollingNodeRow['state'][] = ['failed', 'refused'];
export const FINISHED_STATES: readonly RollingNodeRow['state'][] = ['completed', 'failed', 'refused', 'skipped'];

/** Nodes that count as failures: a maintenance that failed, or was refused (the node was not maintained). */
export const failuresOf = (rows: readonly RollingNodeRow[]) =>
  rows.filter((r) => FAILED_STATES.includes(r.state)).length;

export interface RollingSituation {
  rows: readonly RollingNodeRow[];
  maxUnavailable: number;
  maxFailures: number;
  paused: boolean;
  window?: MaintenanceWindow;
  pauseBetweenNodesMs: number;
  /** When the last node's maintenance ended (ms), for pauseBetweenNodes. */
  lastFinishedAt?: number;
  /** Nodes found busy (someone else's maintenance): not tried again before this time (ms). */
  retryAt: Record<string, number>;
  now: number;
}

export type RollingStep =
  | { kind: 'done'; stopped: boolean }
  | { kind: 'start'; node: string }
  /** Nothing to start now: wait for a change (a node ending, an update), or until `until` (ms) if given. */
  | { kind: 'wait'; status: RollingStatus; until?: number; message?: string };

/** What the roll does now. Running nodes always finish; only the start of new ones is held back. */
export function nextStep(s: RollingSituation): RollingStep {
  const running = s.rows.filter((r) => r.state === 'running').length;
  const pending = s.rows.filter((r) => r.state === 'pending');
  const failures = failuresOf(s.rows);
  if (failures > s.maxFailures) {
    if (running === 0) return { kind: 'done', stopped: true };
    return {
      kind: 'wait',
      status: 'Stopped',
      message: `${failures} failed (maxFailures ${s.maxFailures}): no new node starts; waiting for ${running} running`,
    };
  }
  if (pending.length === 0) {
    return running === 0 ? { kind: 'done', stopped: false } : { kind: 'wait', status: 'Running' };
  }
  if (s.paused) return { kind: 'wait', status: 'Paused', message: 'paused: no new node starts until resume' };
  if (running >= s.maxUnavailable) return { kind: 'wait', status: 'Running' };
  if (s.window && !isInWindow(s.window, s.now)) {
    const opens = nextWindowOpening(s.window, s.now);
    return {
      kind: 'wait',
      status: 'WaitingForWindow',
      ...(opens !== undefined && { until: opens }),
      message: 'outside the maintenance window: no new node starts',
    };
  }
  if (s.lastFinishedAt !== undefined && s.lastFinishedAt + s.pauseBetweenNodesMs > s.now) {
    return {
      kind: 'wait',
      status: 'Running',
      until: s.lastFinishedAt + s.pauseBetweenNodesMs,
      message: 'pause between nodes',
    };
  }
  const ready = pending.find((r) => (s.retryAt[r.node] ?? 0) <= s.now);
  if (ready) return { kind: 'start', node: ready.node };
  const until = Math.min(...pending.map((r) => s.retryAt[r.node] ?? 0));
  return { kind: 'wait', status: 'Running', until, message: 'the remaining nodes are busy in other maintenances' };
}

/**
 * The nodes the roll looks at for its next starts: the pending ones not waiting for a retry, in the roll's order,
 * as many as it has free slots (maxUnavailable minus the running nodes). The first is `nextStep`'s node.
 */
export function nextCandidates(s: RollingSituation): string[] {
  const running = s.rows.filter((r) => r.state === 'running').length;
  return s.rows
    .filter((r) => r.state === 'pending' && (s.retryAt[r.node] ?? 0) <= s.now)
    .slice(0, Math.max(0, s.maxUnavailable - running))
    .map((r) => r.node);
}

// ---------------------------------------------------------------------------------------------------------------
// Before each node: is it free, and do its VMs fit elsewhere?

export interface NodeCheck {
  /** Another maintenance holds the node's lease (started by hand, or a medik8s operator). */
  busyWith?: string;
  fits: boolean;
  message?: string;
  vmCount: number;
  exists: boolean;
}

/** The holder of the node's lease if it is not this roll (a hand-started maintenance, a medik8s operator). */
function busyWithOf(leases: readonly LeaseHolder[], ownWorkflowId: string): string | undefined {
  const other = leases.find((l) => l.holder !== '' && l.holder !== ownWorkflowId);
  if (!other) return undefined;
  return other.source === 'pitstop' ? `workflow ${other.holder}` : `medik8s holder "${other.holder}"`;
}

/** The VMs of a node that need room elsewhere (its plan migrates them or restarts them elsewhere). */
function movingVms(vms: readonly VmFacts[], clusterEvictionStrategy: string | undefined, policy: MaintenancePolicy) {
  const plan = planNode(vms, clusterEvictionStrategy, policy);
  const moving = new Set(plan.filter(needsRoomElsewhere).map((p) => p.vmi));
  return vms.filter((vm) => moving.has(`${vm.namespace}/${vm.name}`));
}

/**
 * Checks node `node` as preflight would, with the nodes still in the roll's maintenance (`alsoDown`) counted as
 * gone even if they are not cordoned yet: a busy lease, and room for the VMs that must move (preflight's own
 * first-fit placement).
 */
export function checkNode(input: {
  node: string;
  nodes: readonly NodeFacts[];
  vms: readonly VmFacts[];
  leases: readonly LeaseHolder[];
  clusterEvictionStrategy?: string;
  policy: MaintenancePolicy;
  ownWorkflowId: string;
  alsoDown: readonly string[];
}): NodeCheck {
  const [check] = admitNodes({ ...input, candidates: [input], slots: 1 });
  const { node: _node, admit: _admit, ...rest } = check as AdmissionCheck;
  return rest;
}

/** A node the roll would start next, with its VMs and its lease as the cluster shows them now. */
export interface FleetCandidate {
  node: string;
  vms: readonly VmFacts[];
  leases: readonly LeaseHolder[];
}

export interface AdmissionCheck extends NodeCheck {
  node: string;
  /** Start it now: it exists, is free, and its VMs fit beside those of the nodes admitted before it. */
  admit: boolean;
}

/**
 * One look at the cluster for the next nodes of the roll, in the roll's order: which of them start now. Each
 * candidate is checked as preflight would (`checkNode`), counting as gone the roll's running nodes (`alsoDown`) and
 * the candidates admitted before it, and the VMs those admitted nodes must move as already placed: all admitted
 * nodes' VMs fit at once. A node that no longer exists or is busy is passed over (the roll refuses it, or tries it
 * again later); the first node whose VMs do not fit ends the look (nodes never overtake it), as does the
 * `slots`-th admitted node. Returns one row per candidate looked at, in order.
 */
export function admitNodes(input: {
  candidates: readonly FleetCandidate[];
  nodes: readonly NodeFacts[];
  clusterEvictionStrategy?: string;
  policy: MaintenancePolicy;
  ownWorkflowId: string;
  alsoDown: readonly string[];
  slots: number;
}): AdmissionCheck[] {
  const rows: AdmissionCheck[] = [];
  const admitted: string[] = [];
  const admittedVms: VmFacts[] = [];
  for (const candidate of input.candidates) {
    if (admitted.length >= input.slots) break;
    const exists = input.nodes.some((n) => n.name === candidate.node);
    const busyWith = busyWithOf(candidate.leases, input.ownWorkflowId);
    const down = new Set([...input.alsoDown, ...admitted]);
    const nodes = input.nodes.map((n) => (down.has(n.name) ? { ...n, unschedulable: true } : n));
    const planned = movingVms(candidate.vms, input.clusterEvictionStrategy, input.policy);
    // capacity.onNoRoom=shutdown: the node's VMs that fit nowhere will be shut down, as its preflight plans them.
    const unplaced = placeVms([...admittedVms, ...planned], nodes, candidate.node).capacity.unplaced;
    const vms = stillNeedingRoom(planned, unplaced, input.policy);
    const placement = placeVms([...admittedVms, ...vms], nodes, candidate.node);
    const fits = placement.capacity.unplaced.length === 0;
    const message = fits
      ? undefined
      : `${formatBytes(placement.missingBytes)} missing: ${placement.unplacedDetails.join(', ')} would not fit on the ` +
        `${placement.hosts} other usable nodes (${formatBytes(placement.capacity.freeBytes)} free)` +
        (admitted.length > 0 ? ` beside the VMs of ${admitted.join(', ')}, starting now` : '');
    const admit = exists && busyWith === undefined && fits;
    rows.push({
      node: candidate.node,
      admit,
      ...(busyWith !== undefined && { busyWith }),
      fits,
      ...(message !== undefined && { message }),
      vmCount: candidate.vms.length,
      exists,
    });
    if (!exists || busyWith !== undefined) continue;
    if (!fits) break;
    admitted.push(candidate.node);
    admittedVms.push(...vms);
  }
  return rows;
}
