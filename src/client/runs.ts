// What node maintenances and rolls share as workflow runs: an idempotent start, a lookup that says what was not
// found, a view (live progress or how it ended), updates and cancel refused when the run is not running.
import {
  WorkflowExecutionAlreadyStartedError,
  WorkflowFailedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  type Client,
  type WorkflowHandle,
  type WorkflowHandleWithFirstExecutionRunId,
} from '@temporalio/client';
import {
  ApplicationFailure,
  CancelledFailure,
  TerminatedFailure,
  TimeoutFailure,
  type QueryDefinition,
} from '@temporalio/common';
import { NotFoundError, RefusedError } from './errors.js';
import { STATUS, summaryOf, type RunSummary } from './visibility.js';

export interface Failure {
  /** ApplicationFailure type (InvalidInput, PreflightRefused, Aborted, MaintenanceFailed) or Cancelled/Terminated/TimedOut. */
  type: string;
  message: string;
}

export interface StartOutcome {
  workflowId: string;
  runId: string;
  /** false: a run with this id was already running and is returned instead (idempotent start). */
  started: boolean;
}

/** A run as the service shows it: live progress while it runs, else its result or failure. */
export type RunView<P, R> = RunSummary & { progress?: P; result?: R; failure?: Failure };

/** The failure a closed run ended with, in one line (the cause's message: the reason a user needs). */
export function failureOf(error: unknown): Failure {
  const cause = error instanceof WorkflowFailedError ? error.cause : error;
  if (cause instanceof ApplicationFailure) return { type: cause.type ?? 'Failed', message: cause.message };
  if (cause instanceof CancelledFailure) return { type: 'Cancelled', message: 'cancelled' };
  if (cause instanceof TerminatedFailure) return { type: 'Terminated', message: cause.message || 'terminated' };
  if (cause instanceof TimeoutFailure) return { type: 'TimedOut', message: 'timed out' };
  return { type: 'Failed', message: (cause as Error)?.message ?? String(cause) };
}

export class WorkflowRuns {
  constructor(
    readonly client: Client,
    readonly taskQueue: string,
  ) {}

  /**
   * Starts `workflowId` through `start` (typed at the call site); if one is running already it is returned instead
   * (started: false), whatever input it was started with.
   */
  async startOrGet(
    workflowId: string,
    start: (common: {
      taskQueue: string;
      workflowId: string;
      workflowIdConflictPolicy: 'FAIL';
    }) => Promise<WorkflowHandleWithFirstExecutionRunId>,
  ): Promise<StartOutcome> {
    try {
      const handle = await start({ taskQueue: this.taskQueue, workflowId, workflowIdConflictPolicy: 'FAIL' });
      return { workflowId, runId: handle.firstExecutionRunId, started: true };
    } catch (e) {
      if (!(e instanceof WorkflowExecutionAlreadyStartedError)) throw e;
      const description = await this.client.workflow.getHandle(workflowId).describe();
      return { workflowId, runId: description.runId, started: false };
    }
  }

  /** The latest run of `workflowId`; NotFoundError names `what` when there is none. */
  async describe(workflowId: string, what: string) {
    const handle = this.client.workflow.getHandle(workflowId);
    try {
      return { handle, description: await handle.describe() };
    } catch (e) {
      if (e instanceof WorkflowNotFoundError) throw new NotFoundError(`no ${what} found (workflow ${workflowId})`);
      throw e;
    }
  }

  async view<P, R>(workflowId: string, what: string, progress: QueryDefinition<P, []>): Promise<RunView<P, R>> {
    const { handle, description } = await this.describe(workflowId, what);
    const summary = summaryOf(description);
    if (summary.status === 'Running') {
      try {
        return { ...summary, progress: await handle.query(progress) };
      } catch {
        return summary; // not yet picked up by a worker: no progress to show yet
      }
    }
    try {
      return { ...summary, result: (await handle.result()) as R };
    } catch (e) {
      return { ...summary, failure: failureOf(e) };
    }
  }

  /** The handle of the running run; RefusedError when it has ended. */
  private async running(workflowId: string, what: string): Promise<WorkflowHandle> {
    const { handle, description } = await this.describe(workflowId, what);
    if (description.status.name !== 'RUNNING') {
      throw new RefusedError(`${what} is not running (${STATUS[description.status.name] ?? description.status.name})`);
    }
    return handle;
  }

  /** Sends an update (typed at the call site); a validator's refusal becomes RefusedError with its reason. */
  async update(workflowId: string, what: string, send: (handle: WorkflowHandle) => Promise<string>): Promise<string> {
    const handle = await this.running(workflowId, what);
    try {
      return await send(handle);
    } catch (e) {
      if (e instanceof WorkflowUpdateFailedError) {
        throw new RefusedError((e.cause as Error | undefined)?.message ?? e.message);
      }
      if (e instanceof WorkflowNotFoundError) throw new RefusedError(`${what} is not running`);
      throw e;
    }
  }

  async cancel(workflowId: string, what: string): Promise<string> {
    await (await this.running(workflowId, what)).cancel();
    return `cancel requested: ${what} rolls back`;
  }
}
