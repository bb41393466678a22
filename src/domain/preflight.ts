/**
 * Preflight: decide from one snapshot of the cluster whether a maintenance may start, and with which per-VM plan.
 * Every check runs and reports (a user should see all reasons at once, not fix them one by one); a refused
 * preflight changes nothing. Warnings are things the user should know but that do not block.
 */
import type { RefusalCode } from './errors.js';
import { isFinished, planNode, summarizePlan, vmiKey, type PlanSummary, type VmFacts, type VmPlan } from './plan.js';
import type { MaintenanceRequest } from './request.js';

export interface NodeFacts {
  name: string;
  labels: Record<string, string>;
  unschedulable: boolean;
  ready: boolean;
  /** Label node-role.kubernetes.io/control-plane or node-role.kubernetes.io/master. */
  controlPlane: boolean;
  allocatableMemoryBytes: number;
  /** Sum of the memory requests of the pods on the node. */
  requestedMemoryBytes: number;
  taints: { key: string; effect: string }[];
}

/** A current holder of one of the node's maintenance leases (ours, or medik8s' `node-<name>` lease). */
export interface LeaseHolder {
  holder: string;
  source: 'pitstop' | 'medik8s';
}

export interface ClusterSnapshot {
  /** The target node; undefined = it does not exist. */
  node?: NodeFacts;
  /** All nodes, the target included. */
  nodes: NodeFacts[];
  /** VMIs on the target node. */
  vms: VmFacts[];
  /** The KubeVirt CR's spec.configuration.evictionStrategy. */
  clusterEvictionStrategy?: string;
  leases: LeaseHolder[];
  /** Our own workflow id: a lease it holds is no obstacle (a retry or a continued run). */
  workflowId: string;
}

export interface Refusal {
  code: RefusalCode;
  message: string;
}

export interface CapacityVerdict {
  /** Memory of the VMs that must find room elsewhere (migrate, awaitExternal, restart elsewhere). */
  neededBytes: number;
  /** Free memory (allocatable - requested) over the nodes that can take them. */
  freeBytes: number;
  /** VMIs ("ns/name") that fit on no other node. */
  unplaced: string[];
}

export interface PreflightVerdict {
  ok: boolean;
  node: string;
  refusals: Refusal[];
  plan: VmPlan[];
  summary: PlanSummary;
  capacity: CapacityVerdict;
  warnings: string[];
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

/** Binary units as memory is sized: 17179869184 → "16 GiB", 1610612736 → "1.5 GiB". */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes)) return String(bytes);
  const sign = bytes < 0 ? '-' : '';
  let value = Math.abs(bytes);
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  const shown = unit === 0 ? String(Math.round(value)) : String(Math.round(value * 10) / 10);
  return `${sign}${shown} ${UNITS[unit] ?? 'B'}`;
}

// ---------------------------------------------------------------------------------------------------------------
// Capacity: first-fit decreasing of the VMs that move onto the nodes that can take them

/** Plans whose VM will need room on another node while the target is down. */
export function needsRoomElsewhere(plan: VmPlan): boolean {
  return (
    plan.action === 'migrate' ||
    plan.action === 'awaitExternal' ||
    (plan.action === 'shutdown' && plan.restore === 'elsewhere')
  );
}

/**
 * Nodes that can take a VM: Ready, schedulable, not the target, and without a NoSchedule/NoExecute taint
 * (VMs carry no tolerations for those, e.g. the control-plane taint).
 */
export function canHostVms(node: NodeFacts, target: string): boolean {
  const blockingTaint = node.taints.some((taint) => taint.effect === 'NoSchedule' || taint.effect === 'NoExecute');
  return node.name !== target && node.ready && !node.unschedulable && !blockingTaint;
}

function freeMemory(node: NodeFacts): number {
  return Math.max(0, node.allocatableMemoryBytes - node.requestedMemoryBytes);
}

function matchesSelector(node: NodeFacts, selector: Record<string, string> | undefined): boolean {
  return Object.entries(selector ?? {}).every(([key, value]) => node.labels[key] === value);
}

/**
 * The nodes with only the labels some VM's nodeSelector asks about, the only labels preflight reads. The snapshot
 * is an activity result kept in the workflow's history, and every label of every node would grow it with the
 * cluster toward Temporal's 2 MB payload limit (at 1 KB of labels a node, 1 MB at 1,000 nodes).
 */
export function keepSelectedLabels(nodes: NodeFacts[], vms: Pick<VmFacts, 'nodeSelector'>[]): NodeFacts[] {
  const keys = new Set(vms.flatMap((vm) => Object.keys(vm.nodeSelector ?? {})));
  return nodes.map((node) => ({
    ...node,
    labels: Object.fromEntries(Object.entries(node.labels).filter(([key]) => keys.has(key))),
  }));
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

// ---------------------------------------------------------------------------------------------------------------
// Checks: each looks at one thing and returns its refusal, if any.

interface PreflightContext {
  snapshot: ClusterSnapshot;
  request: MaintenanceRequest;
  plan: VmPlan[];
  placement: Placement;
  factsByVmi: Map<string, VmFacts>;
}

type Check = (context: PreflightContext) => Refusal | undefined;

const nodeExists: Check = ({ snapshot, request }) =>
  snapshot.node ? undefined : { code: 'NodeNotFound', message: `node "${request.node}" does not exist` };

const leaseFree: Check = ({ snapshot, request }) => {
  const others = snapshot.leases.filter((lease) => lease.holder !== '' && lease.holder !== snapshot.workflowId);
  if (others.length === 0) return undefined;
  const holders = others.map((lease) =>
    lease.source === 'pitstop' ? `workflow ${lease.holder}` : `medik8s holder "${lease.holder}"`,
  );
  return {
    code: 'AlreadyInMaintenance',
    message: `node "${request.node}" is already in maintenance: its lease is held by ${holders.join(' and ')}`,
  };
};

/** etcd and the control plane keep working only while more than half of the control-plane nodes are Ready. */
const quorumKept: Check = ({ snapshot }) => {
  const target = snapshot.node;
  if (!target?.controlPlane) return undefined;
  const others = snapshot.nodes.filter((node) => node.controlPlane && node.name !== target.name);
  const total = others.length + 1;
  const readyAfter = others.filter((node) => node.ready).length;
  const needed = Math.floor(total / 2) + 1;
  if (readyAfter >= needed) return undefined;
  return {
    code: 'QuorumAtRisk',
    message:
      `node "${target.name}" is a control-plane node: taking it down leaves ${readyAfter} of ${total} ` +
      `control-plane nodes Ready, and quorum needs ${needed}`,
  };
};

const roomForVms: Check = ({ placement }) => {
  const { capacity, unplacedDetails, missingBytes, hosts } = placement;
  if (capacity.unplaced.length === 0) return undefined;
  const nodes = `${hosts} Ready schedulable node${hosts === 1 ? '' : 's'}`;
  const room =
    hosts === 0
      ? 'no other node is Ready, schedulable and untainted'
      : `${formatBytes(capacity.neededBytes)} needed, ${formatBytes(capacity.freeBytes)} free on ${nodes}`;
  const verb = unplacedDetails.length === 1 ? 'does' : 'do';
  return {
    code: 'InsufficientCapacity',
    message: `${formatBytes(missingBytes)} missing: ${unplacedDetails.join(', ')} ${verb} not fit on the other nodes (${room})`,
  };
};

/** With escalation.onNonMigratable=abort, a VM that cannot migrate would abort the run: refuse before changing anything. */
const noAbortingVms: Check = ({ plan, factsByVmi }) => {
  const aborting = plan.filter((p) => p.action === 'escalate' && p.onEscalation === 'abort');
  if (aborting.length === 0) return undefined;
  const names = aborting.map((p) => {
    const reason = factsByVmi.get(p.vmi)?.notMigratableReason;
    return reason ? `${p.vmi} (${reason})` : p.vmi;
  });
  const count = aborting.length === 1 ? '1 VM cannot' : `${aborting.length} VMs cannot`;
  return {
    code: 'NotMigratable',
    message: `policy escalation.onNonMigratable is abort and ${count} live-migrate: ${names.join(', ')}`,
  };
};

const CHECKS: readonly Check[] = [nodeExists, leaseFree, quorumKept, roomForVms, noAbortingVms];

// ---------------------------------------------------------------------------------------------------------------
// Warnings: what the user should know before saying yes

type Warn = (context: PreflightContext) => string[];

const alreadyCordoned: Warn = ({ snapshot }) =>
  snapshot.node?.unschedulable
    ? [`node "${snapshot.node.name}" is already cordoned: it will stay cordoned afterwards`]
    : [];

const nodeNotReady: Warn = ({ snapshot }) =>
  snapshot.node && !snapshot.node.ready
    ? [`node "${snapshot.node.name}" is NotReady: live migrations from it will likely fail`]
    : [];

const inFlightMigrations: Warn = ({ plan, factsByVmi }) =>
  plan.flatMap((p) => {
    const migration = factsByVmi.get(p.vmi)?.migrationInFlight;
    if (!migration) return [];
    if (p.adoptMigration) return [`${p.vmi}: migration ${migration} is already in flight; it will be adopted`];
    return [`${p.vmi}: migration ${migration} is already in flight, but the plan is ${p.action}`];
  });

const finishedVmis: Warn = ({ snapshot }) =>
  snapshot.vms.filter(isFinished).map((vm) => `${vmiKey(vm)}: VMI already ${vm.phase}, nothing to move`);

const decisionsAhead: Warn = ({ plan }) => {
  const asking = plan.filter((p) => p.action === 'escalate' && p.onEscalation === 'ask').map((p) => p.vmi);
  if (asking.length === 0) return [];
  const count = asking.length === 1 ? '1 VM needs' : `${asking.length} VMs need`;
  return [`${count} an operator's decision (decide update): ${asking.join(', ')}`];
};

const staysOff: Warn = ({ plan }) =>
  plan
    .filter((p) => p.action === 'shutdown' && p.restore === 'never')
    .map((p) => `${p.vmi} will be shut down and left off`);

const WARNINGS: readonly Warn[] = [
  alreadyCordoned,
  nodeNotReady,
  inFlightMigrations,
  finishedVmis,
  decisionsAhead,
  staysOff,
];

/** Runs every check and builds the plan. `ok` is true when nothing refuses; a dry run returns this verdict as is. */
export function preflight(snapshot: ClusterSnapshot, request: MaintenanceRequest): PreflightVerdict {
  const plan = planNode(snapshot.vms, snapshot.clusterEvictionStrategy, request.policy);
  const factsByVmi = new Map(snapshot.vms.map((vm) => [vmiKey(vm), vm]));
  const moving = plan.filter(needsRoomElsewhere).flatMap((p) => factsByVmi.get(p.vmi) ?? []);
  const placement = placeVms(moving, snapshot.nodes, request.node);
  const context: PreflightContext = { snapshot, request, plan, placement, factsByVmi };
  const refusals = CHECKS.flatMap((check) => check(context) ?? []);
  return {
    ok: refusals.length === 0,
    node: request.node,
    refusals,
    plan,
    summary: summarizePlan(plan),
    capacity: placement.capacity,
    warnings: WARNINGS.flatMap((warn) => warn(context)),
  };
}
