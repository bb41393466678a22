// The state of one rollingMaintenance run: the node rows (carried over a continue-as-new), the status shown, and two
// counters the loop waits on. The runbook, the handlers and the steps share this one object.
import { condition, setCurrentDetails, workflowInfo, type WorkflowInfo } from '@temporalio/workflow';
import type { RollingInput, RollingRequest } from '../../domain/rolling.js';
import { failuresOf, type RollingSituation } from '../../domain/rollingPlan.js';
import type { ChildOutcome, RollingNodeRow, RollingProgress, RollingStatus } from '../../domain/rollingProgress.js';
import { rollingMarkdown } from './details.js';

/** What a run hands to the next one on continue-as-new. */
export interface RollingCarry {
  rows: RollingNodeRow[];
  runs: number;
  paused: boolean;
  lastFinishedAt?: number;
  retryAt: Record<string, number>;
  /** The newest report seen from each running child (by node). */
  reportSeq?: Record<string, number>;
}

/** A node someone else maintains is tried again after this long. */
const BUSY_RETRY_MS = 15_000;

export const iso = (ms = Date.now()) => new Date(ms).toISOString();

export class RollingRun {
  readonly info: WorkflowInfo = workflowInfo();
  readonly carry: RollingCarry;
  status: RollingStatus = 'Running';
  message?: string;
  nextWindowAt?: string;
  /** The roll returned or stopped: a pause comes too late. */
  finished = false;
  /** Bumped by everything that may change the next step: updates, children ending (not a child's phase report). */
  decisions = 0;
  /** Bumped by the updates (pause, resume, skip): they void a look at the next nodes taken meanwhile. */
  updates = 0;

  constructor(
    readonly input: RollingInput,
    readonly request: RollingRequest,
    carried?: RollingCarry,
  ) {
    this.carry = carried ?? { rows: [], runs: 0, paused: false, retryAt: {} };
  }

  get rows(): RollingNodeRow[] {
    return this.carry.rows;
  }

  progress(): RollingProgress {
    const { name, maxUnavailable, maxFailures } = this.request;
    const { rows, runs } = this.carry;
    const { status, nextWindowAt, message } = this;
    return {
      name,
      status,
      maxUnavailable,
      maxFailures,
      failures: failuresOf(rows),
      nodes: rows,
      ...(nextWindowAt !== undefined && { nextWindowAt }),
      runs,
      ...(message !== undefined && { message }),
    };
  }

  show(): void {
    setCurrentDetails(rollingMarkdown(this.progress()));
  }

  /** Something that may change the next step happened: the loop waiting in waitForChange looks again. */
  changed(): void {
    this.decisions++;
    this.show();
  }

  rowOf(node: string): RollingNodeRow | undefined {
    return this.carry.rows.find((r) => r.node === node);
  }

  running(): RollingNodeRow[] {
    return this.carry.rows.filter((r) => r.state === 'running');
  }

  /** A child ended; a report or result of an older run of the same node's workflow is ignored. */
  finishRow(node: string, runId: string | undefined, outcome: ChildOutcome, text?: string): void {
    const row = this.rowOf(node);
    if (!row || row.state !== 'running' || (runId && row.runId && row.runId !== runId)) return;
    row.state = outcome;
    row.finishedAt = iso();
    row.decisionsPending = [];
    if (text !== undefined) row.message = text;
    this.carry.lastFinishedAt = Date.now();
    this.changed();
  }

  /** Someone else maintains the node: it is tried again after the others. */
  busy(row: RollingNodeRow, why: string): void {
    this.carry.retryAt[row.node] = Date.now() + BUSY_RETRY_MS;
    row.message = `${why}; tried again after the other nodes`;
    this.changed();
  }

  /** What the pure decisions (domain/rollingPlan.ts) need to know, as of now. */
  situation(): RollingSituation {
    const { request, carry } = this;
    return {
      rows: carry.rows,
      maxUnavailable: request.maxUnavailable,
      maxFailures: request.maxFailures,
      paused: carry.paused,
      ...(request.window && { window: request.window }),
      pauseBetweenNodesMs: request.pauseBetweenNodesMs,
      ...(carry.lastFinishedAt !== undefined && { lastFinishedAt: carry.lastFinishedAt }),
      retryAt: carry.retryAt,
      now: Date.now(),
    };
  }

  /** A long history, or a newer build became current: the next run starts on it (docs/versioning.md). */
  continueAsNewDue(): boolean {
    const now = workflowInfo();
    const limit = this.request.continueAsNewAfterEvents;
    return (
      now.continueAsNewSuggested ||
      now.targetWorkerDeploymentVersionChanged ||
      (limit !== undefined && now.historyLength > limit)
    );
  }

  /** Until something changes the next step, `until` passes, or the history is long enough to continue as new. */
  async waitForChange(until?: number): Promise<void> {
    this.show();
    const seen = this.decisions;
    const woken = () => this.decisions !== seen || this.continueAsNewDue();
    if (until === undefined) await condition(woken);
    else await condition(woken, Math.max(until - Date.now(), 1));
  }
}
