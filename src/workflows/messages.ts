// Messages of the nodeMaintenance workflow: shared by the workflow, the API and the CLI.
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { Decision, VmAction, RestoreMode } from '../domain/plan.js';
import type { PreflightVerdict } from '../domain/preflight.js';
import type { RollingProgress } from '../domain/rolling.js';

export const TASK_QUEUE = 'pitstop';
export const workflowIdFor = (node: string) => `maintenance-${node}`;

export const MAINTENANCE_NODE = defineSearchAttributeKey('MaintenanceNode', SearchAttributeType.KEYWORD);
export const MAINTENANCE_PHASE = defineSearchAttributeKey('MaintenancePhase', SearchAttributeType.KEYWORD);

export type Phase =
  | 'Preflight'
  | 'DryRun'
  | 'Refused'
  | 'Cordon'
  | 'EvacuateVMs'
  | 'EvictPods'
  | 'PowerOff'
  | 'Hold'
  | 'PowerOn'
  | 'WaitReady'
  | 'Uncordon'
  | 'RestoreVMs'
  | 'Done'
  | 'RollingBack'
  | 'RolledBack'
  /** The roll-back could not power the machine on: it is left cordoned for the operator (see README). */
  | 'NeedsAttention'
  | 'Failed';

export type VmState =
  | 'pending'
  | 'migrating'
  | 'migrated'
  | 'stopping'
  | 'stopped'
  | 'restoring'
  | 'restored'
  | 'awaitingDecision'
  | 'awaitingExternal'
  | 'movedExternally'
  | 'deleted'
  | 'left'
  | 'failed';

export interface VmRow {
  vmi: string;
  action: VmAction;
  restore: RestoreMode;
  state: VmState;
  attempts: number;
  sourceNode: string;
  targetNode?: string;
  migration?: string;
  startedAt?: string;
  finishedAt?: string;
  message?: string;
}

export interface PendingDecision {
  vmi: string;
  reason: string;
  allowed: Decision[];
  since: string;
  deadline: string;
}

export interface Progress {
  node: string;
  phase: Phase;
  dryRun: boolean;
  paused: boolean;
  startedAt: string;
  verdict?: PreflightVerdict;
  message?: string;
  vms: VmRow[];
  pods: { total: number; evicted: number; blocked: number; blockers: string[] };
  decisionsPending: PendingDecision[];
  power: 'on' | 'off' | 'unknown' | 'unmanaged';
  hold?: { since: string; deadline: string; released?: string };
  /** Share of the node's VMs and pods already off it (0–100), as Node Maintenance Operator reports it. */
  drainProgress: number;
  timeline: { at: string; phase: Phase; message?: string }[];
}

export interface MaintenanceResult {
  node: string;
  outcome: 'DryRun' | 'Refused' | 'Completed';
  verdict: PreflightVerdict;
  summary?: { migrated: number; restored: number; leftOff: number; deleted: number; podsEvicted: number };
}

export interface DecideInput {
  vmi: string;
  action: Decision;
}

export interface ReleaseInput {
  note?: string;
}

export const progressQuery = defineQuery<Progress>('progress');
export const decideUpdate = defineUpdate<string, [DecideInput]>('decide');
export const releaseUpdate = defineUpdate<string, [ReleaseInput]>('release');
export const pauseUpdate = defineUpdate<string, []>('pause');
export const resumeUpdate = defineUpdate<string, []>('resume');

// ---------------------------------------------------------------------------------------------------------------
// rollingMaintenance (input and progress types live in domain/rolling.ts)

export const ROLLING_WORKFLOW_TYPE = 'rollingMaintenance';
export interface SkipInput {
  node: string;
}
export const rollingProgressQuery = defineQuery<RollingProgress>('progress');
export const rollingPauseUpdate = defineUpdate<string, []>('pause');
export const rollingResumeUpdate = defineUpdate<string, []>('resume');
export const skipUpdate = defineUpdate<string, [SkipInput]>('skip');

/** How a child nodeMaintenance ended, as the roll records it. */
export type ChildOutcome = 'completed' | 'failed' | 'refused';

/**
 * A child nodeMaintenance tells its parent roll its phase and pending decisions when they change, and how it ended.
 * Sent to the parent's workflow id (not run id), so it reaches the roll's current run after a continue-as-new.
 */
export interface ChildReport {
  node: string;
  runId: string;
  /** Counts up per child run: signals may arrive out of order, and an older report never overwrites a newer one. */
  seq?: number;
  phase: Phase;
  decisionsPending: PendingDecision[];
  finished?: { outcome: ChildOutcome; message?: string };
}
export const childReportSignal = defineSignal<[ChildReport]>('childReport');
