/**
 * What a rolling maintenance shows while it runs (its `progress` query), returns when it ends, and hears from the
 * node maintenances it started (the `childReport` signal). Plain data, shared by the workflow and its clients.
 */
import type { PendingDecision, Phase } from './progress.js';

export const ROLLING_NODE_STATES = ['pending', 'running', 'completed', 'failed', 'refused', 'skipped'] as const;
export type RollingNodeState = (typeof ROLLING_NODE_STATES)[number];

export interface RollingNodeRow {
  node: string;
  state: RollingNodeState;
  /** The child nodeMaintenance workflow id (`maintenance-<node>`). */
  workflowId: string;
  /** The run id of the child this roll started, once started. */
  runId?: string;
  /** The child's phase, as last seen. */
  phase?: Phase;
  /** Escalations the child is waiting on: answer them with the child's `decide` update. */
  decisionsPending: PendingDecision[];
  vmCount?: number;
  startedAt?: string;
  finishedAt?: string;
  message?: string;
}

export const ROLLING_STATUSES = [
  'Running',
  'Paused',
  'WaitingForWindow',
  'WaitingForCapacity',
  /** maxFailures exceeded: no new node starts. */
  'Stopped',
  'Completed',
] as const;
export type RollingStatus = (typeof ROLLING_STATUSES)[number];

export interface RollingProgress {
  name: string;
  status: RollingStatus;
  maxUnavailable: number;
  maxFailures: number;
  failures: number;
  nodes: RollingNodeRow[];
  /** When the next window opens, if the roll waits for one. */
  nextWindowAt?: string;
  /** How many times this roll has continued as new. */
  runs: number;
  message?: string;
}

/** What a finished roll returns (and, when it stopped at maxFailures, carries as the failure's details). */
export interface RollingResult {
  name: string;
  status: 'Completed' | 'Stopped';
  completed: string[];
  failed: string[];
  refused: string[];
  skipped: string[];
  /** Nodes never started because the roll stopped. */
  notStarted: string[];
  runs: number;
}

/** The `skip` update: leave a node that has not started out of the roll. */
export interface SkipInput {
  node: string;
}

/** How a child nodeMaintenance ended, as the roll records it. */
export type ChildOutcome = Extract<RollingNodeState, 'completed' | 'failed' | 'refused'>;

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
