/**
 * The NodeMaintenance (nodemaintenance.medik8s.io/v1beta1) controller's decisions, as pure functions: what a CR
 * asks Pitstop to run, what the CR's status says about a run, and what to do next. The controller (Kubernetes and
 * Temporal calls) only carries these out, so the semantics are tested here without a cluster.
 */
import { ENDING_PHASES, type Phase, type Progress } from './progress.js';

export const NM_GROUP = 'nodemaintenance.medik8s.io';
export const NM_VERSION = 'v1beta1';
export const NM_PLURAL = 'nodemaintenances';
/** Kept on the CR until the run it started has ended, so a delete (console "Stop maintenance") finishes cleanly. */
export const NM_FINALIZER = 'pitstop.io/nodemaintenance';
export const POWER_ANNOTATION = 'pitstop.io/power';
export const HOLD_ANNOTATION = 'pitstop.io/hold';

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
    return `waiting for a decision on ${d.vmi}: ${d.reason}`;
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
  if (run.kind === 'none') return { kind: 'start', request: requestFromCr(cr) };
  return { kind: 'updateStatus' };
}
