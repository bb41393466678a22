/**
 * Why a preflight refuses to start a maintenance. Every check runs and reports (a user should see all reasons at
 * once, not fix them one by one); a refused preflight changes nothing.
 */
import { formatBytes } from './bytes.js';
import type { PreflightContext } from './preflightContext.js';
import { singleNodeCluster, singleNodeRefusal } from './smallClusters.js';

/** The refusal codes, in the order their checks run. A client matches on them; each has exactly one check below. */
export const REFUSAL_CODES = [
  'NodeNotFound',
  'AlreadyInMaintenance',
  // The cluster's only node, control plane and worker (single-node OpenShift): the API goes down with it.
  'SingleNodeCluster',
  'QuorumAtRisk',
  'InsufficientCapacity',
  // policy escalation.onNonMigratable is 'abort' and some VM cannot live-migrate: it would abort anyway.
  'NotMigratable',
] as const;

export type RefusalCode = (typeof REFUSAL_CODES)[number];

export interface Refusal {
  code: RefusalCode;
  message: string;
}

/** Looks at one thing; answers the refusal's message, or undefined when that thing is fine. */
type Check = (context: PreflightContext) => string | undefined;

const nodeExists: Check = ({ snapshot, request }) =>
  snapshot.node ? undefined : `node "${request.node}" does not exist`;

const leaseFree: Check = ({ snapshot, request }) => {
  const others = snapshot.leases.filter((lease) => lease.holder !== '' && lease.holder !== snapshot.workflowId);
  if (others.length === 0) return undefined;
  const holders = others.map((lease) =>
    lease.source === 'pitstop' ? `workflow ${lease.holder}` : `medik8s holder "${lease.holder}"`,
  );
  return `node "${request.node}" is already in maintenance: its lease is held by ${holders.join(' and ')}`;
};

/** Refused for a drain and a repair alike: either needs the API server that runs on the node (smallClusters.ts). */
const notTheOnlyNode: Check = ({ snapshot, request }) =>
  singleNodeCluster(snapshot) ? singleNodeRefusal(request.node) : undefined;

/** etcd and the control plane keep working only while more than half of the control-plane nodes are Ready. */
const quorumKept: Check = ({ snapshot }) => {
  const target = snapshot.node;
  // A single-node cluster has its own refusal, which says more than "0 of 1".
  if (!target?.controlPlane || singleNodeCluster(snapshot)) return undefined;
  const others = snapshot.nodes.filter((node) => node.controlPlane && node.name !== target.name);
  const total = others.length + 1;
  const readyAfter = others.filter((node) => node.ready).length;
  const needed = Math.floor(total / 2) + 1;
  if (readyAfter >= needed) return undefined;
  return (
    `node "${target.name}" is a control-plane node: taking it down leaves ${readyAfter} of ${total} ` +
    `control-plane nodes Ready, and quorum needs ${needed}`
  );
};

/** What does not fit elsewhere, in one sentence (a refusal for a drain, a warning for a repair). */
export function missingRoom({ placement }: PreflightContext): string | undefined {
  const { capacity, unplacedDetails, missingBytes, hosts } = placement;
  if (capacity.unplaced.length === 0) return undefined;
  const nodes = `${hosts} Ready schedulable node${hosts === 1 ? '' : 's'}`;
  const room =
    hosts === 0
      ? 'no other node is Ready, schedulable, kubevirt.io/schedulable=true and untainted'
      : `${formatBytes(capacity.neededBytes)} needed, ${formatBytes(capacity.freeBytes)} free on ${nodes}`;
  const verb = unplacedDetails.length === 1 ? 'does' : 'do';
  return `${formatBytes(missingBytes)} missing: ${unplacedDetails.join(', ')} ${verb} not fit on the other nodes (${room})`;
}

/**
 * A drain is refused when its VMs have nowhere to go, unless policy capacity.onNoRoom says otherwise: `wait` lets
 * the admission queue wait for room (a warning here), `shutdown` has already planned the stoppable ones as shut
 * down (what is left, standalone VMIs, still refuses). A repair is not refused: the node is already dead and its
 * VMs already down, so refusing would only keep the others from restarting; what cannot fit is a warning (they
 * stay Pending).
 */
const roomForVms: Check = (context) =>
  context.runbook.runbook === 'repair' || context.request.policy.capacity.onNoRoom === 'wait'
    ? undefined
    : missingRoom(context);

/** With escalation.onNonMigratable=abort, a VM that cannot migrate would abort the run: refuse before changing anything. */
const noAbortingVms: Check = ({ plan, factsByVmi }) => {
  // The repair plan has no escalations (nothing is migrated off a dead node), so this never refuses a repair.
  const aborting = plan.filter((p) => p.action === 'escalate' && p.onEscalation === 'abort');
  if (aborting.length === 0) return undefined;
  const names = aborting.map((p) => {
    const reason = factsByVmi.get(p.vmi)?.notMigratableReason;
    return reason ? `${p.vmi} (${reason})` : p.vmi;
  });
  const count = aborting.length === 1 ? '1 VM cannot' : `${aborting.length} VMs cannot`;
  return `policy escalation.onNonMigratable is abort and ${count} live-migrate: ${names.join(', ')}`;
};

const CHECKS: Readonly<Record<RefusalCode, Check>> = {
  NodeNotFound: nodeExists,
  AlreadyInMaintenance: leaseFree,
  SingleNodeCluster: notTheOnlyNode,
  QuorumAtRisk: quorumKept,
  InsufficientCapacity: roomForVms,
  NotMigratable: noAbortingVms,
};

/** Every refusal that applies, in the order of REFUSAL_CODES. */
export function refusalsFor(context: PreflightContext): Refusal[] {
  return REFUSAL_CODES.flatMap((code) => {
    const message = CHECKS[code](context);
    return message === undefined ? [] : [{ code, message }];
  });
}
