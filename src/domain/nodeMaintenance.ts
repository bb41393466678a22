/**
 * The NodeMaintenance (nodemaintenance.medik8s.io/v1beta1) controller's decisions, as pure functions: what a CR
 * asks Pitstop to run, what the CR's status says about a run, and what to do next. The controller (Kubernetes and
 * Temporal calls) only carries these out, so the semantics are tested here without a cluster.
 */
import { ENDING_PHASES, type DecideInput, type PendingDecision, type Phase, type Progress } from './progress.js';
import type { Decision } from './vmPlan.js';
import { NODE_LEASE } from './contract.js';
import { workflowIdFor } from './workflowNames.js';

export const NM_GROUP = 'nodemaintenance.medik8s.io';
export const NM_VERSION = 'v1beta1';
export const NM_PLURAL = 'nodemaintenances';
/** Kept on the CR until the run it started has ended, so a delete (console "Stop maintenance") finishes cleanly. */
export const NM_FINALIZER = 'pitstop.io/nodemaintenance';
export const POWER_ANNOTATION = 'pitstop.io/power';
export const HOLD_ANNOTATION = 'pitstop.io/hold';
/** `pitstop.io/decide.<namespace>.<vm>: <decision>` answers that VM's escalation, as the decide update does. */
export const DECIDE_ANNOTATION_PREFIX = 'pitstop.io/decide.';
// A namespace is a DNS label (no dots), so "<namespace>.<vm>" is unambiguous even when the VM's name has dots.
export const decideAnnotation = (vmi: string) => `${DECIDE_ANNOTATION_PREFIX}${vmi.replace('/', '.')}`;

export interface NodeMaintenanceCr {
  metadata: {
    name: string;
    uid?: string;
    annotations?: Record<string, string>;
    finalizers?: string[];
    deletionTimestamp?: string;
  };
  spec: { nodeName: string; reason?: string };
  status?: NodeMaintenanceStatus;
}

/** NMO's PodReference (api/v1beta1/nodemaintenance_types.go). */
export interface PodReference {
  namespace: string;
  name: string;
}

/** NMO's status shape (the console's popover reads these fields); NMO omits empty ones (omitempty). */
export interface NodeMaintenanceStatus {
  phase?: 'Running' | 'Succeeded' | 'Failed';
  drainProgress?: number;
  lastUpdate?: string;
  lastError?: string;
  /** Names of the pods still to go (NMO: drain's GetPodsForDeletion); none once Succeeded. */
  pendingPods?: string[];
  pendingPodsRefs?: PodReference[];
  /** All pods on the node, from the start. */
  totalpods?: number;
  /** Pods up for eviction from the start (the VMs' virt-launcher pods and the pods the drain evicts). */
  evictionPods?: number;
  /** Consecutive checks that found the node's lease not held by the run, while it should be. */
  errorOnLeaseCount?: number;
}

/** What the controller read of the node for the status, beside the run's progress. */
export interface NodeReading {
  /** Pods on the node that must still go: all but DaemonSet, mirror and finished pods (virt-launcher included). */
  pending: PodReference[];
  /** Every pod on the node. */
  onNode: number;
  /** The live holder of the node's lease (medik8s-leases/node-<node>), '' when free or expired. */
  leaseHolder?: string;
}

export type PowerChoice = 'none' | 'auto';

/** What a CR asks for: NMO's meaning (drain-only, held until the CR goes) unless annotations opt in to more. */
export interface CrRequest {
  node: string;
  reason: string;
  power: PowerChoice;
  /** Hold duration (Pitstop duration text); undefined = hold until released (the CR is deleted). */
  hold?: string;
  problems: string[];
}

export function requestFromCr(cr: NodeMaintenanceCr): CrRequest {
  const a = cr.metadata.annotations ?? {};
  const problems: string[] = [];
  let power: PowerChoice = 'none';
  const p = a[POWER_ANNOTATION];
  if (p !== undefined) {
    if (p === 'none' || p === 'auto') power = p;
    else problems.push(`${POWER_ANNOTATION}: "${p}" is not one of none, auto`);
  }
  const hold = a[HOLD_ANNOTATION]?.trim() || undefined;
  return {
    node: cr.spec.nodeName,
    reason: cr.spec.reason?.trim() || `NodeMaintenance ${cr.metadata.name}`,
    power,
    hold,
    problems,
  };
}

/** Phases in which the node is drained and waits for the operator: NMO's Succeeded. */
const HELD_PHASES: readonly Phase[] = ['Hold'];

/**
 * The phases in which the run holds the node's lease: taken at the admission, given back at the end of RestoreVMs
 * (so RestoreVMs itself is left out: between the release and Done the run still shows it).
 */
export const LEASED_PHASES: readonly Phase[] = [
  'Cordon',
  'EvacuateVMs',
  'EvictPods',
  'PowerOff',
  'Hold',
  'PowerOn',
  'WaitReady',
  'Uncordon',
];

/**
 * NMO's errorOnLeaseCount for this look: NMO counts consecutive failures to take or extend the lease it held, and
 * resets it once the lease is its own again. The run takes the lease once at its admission (no renewals), so a look
 * in a leased phase that finds another holder, or none, is one more error; one that finds the run is a reset.
 */
export function leaseErrorCount(
  previous: number | undefined,
  phase: Phase,
  holder: string | undefined,
  workflowId: string,
  counts = true,
): number {
  if (!LEASED_PHASES.includes(phase) || holder === undefined) return previous ?? 0;
  if (holder === workflowId) return 0;
  return counts ? (previous ?? 0) + 1 : (previous ?? 0);
}

/**
 * A look counts for errorOnLeaseCount only this long after the last status write: the controller's own write brings
 * the CR back through the watch at once, and counting that look too would count (and write) without end. The
 * regular looks come POLL_MS (2 s) apart.
 */
export const LEASE_LOOK_MIN_MS = 1000;

/**
 * The CR's status for a run's progress; `runError` is a start refusal or a failure the controller saw; `node` what
 * the controller read of the node, `previous` the CR's status so far (the counts NMO keeps from the start).
 */
export function statusFromProgress(
  progress: Progress | undefined,
  now: string,
  runError?: string,
  node?: NodeReading,
  previous?: NodeMaintenanceStatus,
): NodeMaintenanceStatus {
  if (!progress) {
    return { phase: 'Running', drainProgress: 0, lastUpdate: now, ...(runError ? { lastError: runError } : {}) };
  }
  // A failure keeps the CR Running (the node stays in maintenance while the CR exists); Failed is NMO's word for
  // a maintenance that cannot go on at all, which for Pitstop is a refusal.
  const phase: NodeMaintenanceStatus['phase'] =
    progress.phase === 'Refused' ? 'Failed' : HELD_PHASES.includes(progress.phase) ? 'Succeeded' : 'Running';
  const sinceWrite = previous?.lastUpdate ? Date.parse(now) - Date.parse(previous.lastUpdate) : Infinity;
  const leaseErrors = leaseErrorCount(
    previous?.errorOnLeaseCount,
    progress.phase,
    node?.leaseHolder,
    workflowIdFor(progress.node),
    sinceWrite >= LEASE_LOOK_MIN_MS,
  );
  const lost = leaseErrors > 0 ? leaseLost(progress.node, node?.leaseHolder, leaseErrors) : undefined;
  const lastError = runError ?? errorOf(progress) ?? lost;
  // As NMO: the pending pods are dropped once Succeeded, and the counts "from the start" only grow (the first look
  // comes a moment after the start; pods only leave a cordoned node).
  const pending = phase === 'Succeeded' ? [] : (node?.pending ?? []);
  const totalpods = Math.max(previous?.totalpods ?? 0, node?.onNode ?? 0);
  const evictionPods = Math.max(previous?.evictionPods ?? 0, progress.pods.total + progress.vms.length);
  return {
    phase,
    drainProgress: Math.max(0, Math.min(100, Math.round(progress.drainProgress))),
    lastUpdate: now,
    ...(lastError ? { lastError } : {}),
    ...(pending.length > 0 && {
      pendingPods: pending.map((p) => p.name),
      pendingPodsRefs: [...pending],
    }),
    ...(totalpods > 0 && { totalpods }),
    ...(evictionPods > 0 && { evictionPods }),
    ...(leaseErrors > 0 && { errorOnLeaseCount: leaseErrors }),
  };
}

/**
 * Whether a status differs from the CR's beyond its lastUpdate, so it is worth a write. Key order does not count:
 * the API server hands the status back with its keys sorted. Comparing the JSON text took every status for a change,
 * and each write came back through the watch as one more reconcile: the CR was rewritten ten times a second, and
 * errorOnLeaseCount never counted (a look counts only LEASE_LOOK_MIN_MS after a write).
 */
export const statusChanged = (current: NodeMaintenanceStatus | undefined, next: NodeMaintenanceStatus) =>
  JSON.stringify(sortedKeys({ ...current, lastUpdate: undefined })) !==
  JSON.stringify(sortedKeys({ ...next, lastUpdate: undefined }));

/** A JSON value with every object's keys in order (and undefined members left out, as JSON does). */
const sortedKeys = (value: unknown): unknown =>
  Array.isArray(value)
    ? value.map(sortedKeys)
    : value !== null && typeof value === 'object'
      ? Object.fromEntries(
          Object.entries(value)
            .filter(([, v]) => v !== undefined)
            .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
            .map(([k, v]) => [k, sortedKeys(v)]),
        )
      : value;

const leaseLost = (node: string, holder: string | undefined, count: number) =>
  `the node lease ${NODE_LEASE.namespace}/${NODE_LEASE.name(node)} is ${holder ? `held by "${holder}"` : 'not held'}, ` +
  `not by ${workflowIdFor(node)} (${count} consecutive look${count === 1 ? '' : 's'})`;

function errorOf(progress: Progress): string | undefined {
  if (progress.phase === 'Refused') {
    return progress.message ?? 'refused by preflight';
  }
  if (progress.phase === 'Failed' || progress.phase === 'NeedsAttention') return progress.message ?? progress.phase;
  if (progress.decisionsPending.length > 0) {
    const d = progress.decisionsPending[0]!;
    // The console shows lastError: it says how to answer from there (or `kubectl annotate`).
    return `waiting for a decision on ${d.vmi}: ${d.reason} (answer with the annotation ${decideAnnotation(d.vmi)}: ${d.allowed.join('|')})`;
  }
  if (progress.pods.blocked > 0) return `${progress.pods.blocked} pod(s) cannot be evicted yet`;
  return undefined;
}

/** What the controller knows of the run `maintenance-<node>` for this CR. */
export type RunState = { kind: 'none' } | { kind: 'running'; progress?: Progress } | { kind: 'ended' };

export type NextStep =
  | { kind: 'addFinalizer' }
  | { kind: 'start'; request: CrRequest }
  | { kind: 'updateStatus' }
  /** Deleted while held: let the run bring the node back. */
  | { kind: 'release' }
  /** Deleted before the hold: roll back. */
  | { kind: 'cancel' }
  /** Deleted and the run has ended: the CR may go. */
  | { kind: 'removeFinalizer' }
  | { kind: 'wait' };

/** One reconcile's decision. `signalled` says the release/cancel was already sent for this deletion. */
export function nextStep(cr: NodeMaintenanceCr, run: RunState, signalled = false): NextStep {
  const hasFinalizer = (cr.metadata.finalizers ?? []).includes(NM_FINALIZER);
  if (cr.metadata.deletionTimestamp) {
    if (!hasFinalizer) return { kind: 'wait' };
    if (run.kind !== 'running') return { kind: 'removeFinalizer' };
    const phase = run.progress?.phase;
    if (phase && (ENDING_PHASES as readonly Phase[]).includes(phase)) return { kind: 'wait' };
    if (signalled) return { kind: 'wait' };
    return phase && HELD_PHASES.includes(phase) ? { kind: 'release' } : { kind: 'cancel' };
  }
  if (!hasFinalizer) return { kind: 'addFinalizer' };
  // A refused CR stays refused (NMO's webhook would not have let it in): trying again on every change would start
  // it behind the user's back once, say, the other CR for its node is gone. Delete and create it again instead.
  if (run.kind === 'none')
    return cr.status?.phase === 'Failed' ? { kind: 'wait' } : { kind: 'start', request: requestFromCr(cr) };
  return { kind: 'updateStatus' };
}

/** The escalations the CR's annotations answer, and the answers that are not allowed (shown in lastError). */
export function answersFromCr(
  cr: NodeMaintenanceCr,
  pending: readonly PendingDecision[],
): { answers: DecideInput[]; problems: string[] } {
  const a = cr.metadata.annotations ?? {};
  const answers: DecideInput[] = [];
  const problems: string[] = [];
  for (const d of pending) {
    const key = decideAnnotation(d.vmi);
    const value = a[key]?.trim();
    if (value === undefined) continue;
    if ((d.allowed as string[]).includes(value)) answers.push({ vmi: d.vmi, action: value as Decision });
    else problems.push(`${key}: "${value}" is not one of ${d.allowed.join(', ')}`);
  }
  return { answers, problems };
}

/** The run a start returned; when it was found running (started: false), its memo says who started it. */
export interface FoundRun {
  runId: string;
  started: boolean;
  memo?: Record<string, unknown>;
}

/** The memo a CR's start puts on its run: it names the CR, so the run stays the CR's even before its id is recorded. */
export const memoFor = (cr: NodeMaintenanceCr): Record<string, string> => ({
  nodeMaintenance: cr.metadata.name,
  ...(cr.metadata.uid !== undefined && { nodeMaintenanceUid: cr.metadata.uid }),
});

/**
 * Whether a run's memo says this CR started it. The uid, where both have one, tells a CR from an earlier one of the
 * same name (a name can be reused once the earlier CR is gone, and its run may still be ending).
 */
export function startedByCr(cr: NodeMaintenanceCr, memo: Record<string, unknown> | undefined): boolean {
  if (memo?.nodeMaintenance !== cr.metadata.name) return false;
  const uid = memo.nodeMaintenanceUid;
  return uid === undefined || cr.metadata.uid === undefined || uid === cr.metadata.uid;
}

/**
 * Why this CR may not adopt the run its start found, or undefined: a run it started itself (a restart between the
 * start and the run-id annotation) is its own; any other holder is named, as NMO's webhook names the other CR.
 */
export function holderProblem(cr: NodeMaintenanceCr, found: FoundRun): string | undefined {
  if (found.started || startedByCr(cr, found.memo)) return undefined;
  const owner = found.memo?.nodeMaintenance;
  const by =
    owner === cr.metadata.name
      ? `an earlier NodeMaintenance of the same name`
      : typeof owner === 'string'
        ? `NodeMaintenance ${owner}`
        : 'a start outside NodeMaintenance (API, CLI, roll or alert)';
  return `node ${cr.spec.nodeName} is already in maintenance: run ${found.runId} of ${workflowIdFor(cr.spec.nodeName)}, started by ${by}`;
}
