/**
 * The NodeMaintenance (nodemaintenance.medik8s.io/v1beta1) controller's decisions, as pure functions: what a CR
 * asks Pitstop to run, what the CR's status says about a run, and what to do next. The controller (Kubernetes and
 * Temporal calls) only carries these out, so the semantics are tested here without a cluster.
 */
import { ENDING_PHASES, type DecideInput, type PendingDecision, type Phase, type Progress } from './progress.js';
import type { Decision } from './vmPlan.js';

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

/** NMO's status shape (the console's popover reads these fields). */
export interface NodeMaintenanceStatus {
  phase?: 'Running' | 'Succeeded' | 'Failed';
  drainProgress?: number;
  lastUpdate?: string;
  lastError?: string;
  pendingPods?: string[];
  totalpods?: number;
  evictionPods?: number;
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

/** The CR's status for a run's progress; `runError` is a start refusal or a failure the controller saw. */
export function statusFromProgress(
  progress: Progress | undefined,
  now: string,
  runError?: string,
): NodeMaintenanceStatus {
  if (!progress) {
    return { phase: 'Running', drainProgress: 0, lastUpdate: now, ...(runError ? { lastError: runError } : {}) };
  }
  const pods = progress.pods;
  const pendingPods = pods.blockers.length > 0 ? [...pods.blockers] : [];
  const lastError = runError ?? errorOf(progress);
  // A failure keeps the CR Running (the node stays in maintenance while the CR exists); Failed is NMO's word for
  // a maintenance that cannot go on at all, which for Pitstop is a refusal.
  const phase: NodeMaintenanceStatus['phase'] =
    progress.phase === 'Refused' ? 'Failed' : HELD_PHASES.includes(progress.phase) ? 'Succeeded' : 'Running';
  return {
    phase,
    drainProgress: Math.max(0, Math.min(100, Math.round(progress.drainProgress))),
    lastUpdate: now,
    ...(lastError ? { lastError } : {}),
    pendingPods,
    totalpods: pods.total + progress.vms.length,
    evictionPods: pods.total,
  };
}

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

/**
 * Why this CR may not adopt the run its start found, or undefined: a run it started itself (a restart between the
 * start and the run-id annotation) is its own; any other holder is named, as NMO's webhook names the other CR.
 */
export function holderProblem(cr: NodeMaintenanceCr, found: FoundRun): string | undefined {
  if (found.started) return undefined;
  const owner = found.memo?.nodeMaintenance;
  if (owner === cr.metadata.name) return undefined;
  const by =
    typeof owner === 'string'
      ? `NodeMaintenance ${owner}`
      : 'a start outside NodeMaintenance (API, CLI, roll or alert)';
  return `node ${cr.spec.nodeName} is already in maintenance: run ${found.runId} of maintenance-${cr.spec.nodeName}, started by ${by}`;
}
