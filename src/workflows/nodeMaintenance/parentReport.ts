// A child nodeMaintenance keeps its parent (a rolling maintenance) informed: phase and pending decisions when they
// change, and the outcome at the end. The parent follows its children through these reports after it continued as
// new (it then holds no child handles any more). Workflows without a parent send nothing.
import {
  ApplicationFailure,
  CancellationScope,
  getExternalWorkflowHandle,
  isCancellation,
  workflowInfo,
} from '@temporalio/workflow';
import type { MaintenanceResult, Progress } from '../../domain/progress.js';
import type { ChildOutcome, ChildReport } from '../../domain/rollingProgress.js';
import { FAILURE_TYPES } from '../../domain/workflowNames.js';
import { childReportSignal } from '../messages.js';

export class ParentReporter {
  private last = '';
  private seq = 0;
  private progress?: Progress;

  constructor(
    private readonly parentWorkflowId: string,
    private readonly node: string,
  ) {}

  private send(report: ChildReport): Promise<void> {
    // The parent may be gone (terminated, or ended): the maintenance goes on regardless.
    return CancellationScope.nonCancellable(() =>
      getExternalWorkflowHandle(this.parentWorkflowId).signal(childReportSignal, report),
    ).catch(() => undefined);
  }

  private report(progress: Progress | undefined, finished?: ChildReport['finished']): Promise<void> {
    return this.send({
      node: this.node,
      runId: workflowInfo().runId,
      seq: ++this.seq,
      phase: progress?.phase ?? 'Preflight',
      decisionsPending: finished ? [] : (progress?.decisionsPending ?? []),
      ...(finished && { finished }),
    });
  }

  /** Sends the phase and pending decisions if they changed since the last report (fire and forget). */
  changed(progress: Progress): void {
    this.progress = progress;
    const key = `${progress.phase}|${progress.decisionsPending.map((d) => d.vmi).join(',')}`;
    if (key === this.last) return;
    this.last = key;
    void this.report(progress);
  }

  /** The final report; awaited so it is sent before the workflow closes. */
  private finished(outcome: ChildOutcome, message?: string): Promise<void> {
    return this.report(this.progress, { outcome, ...(message !== undefined && { message: message.slice(0, 500) }) });
  }

  /** Runs the maintenance and tells the parent how it ended: completed, refused by its preflight, or failed. */
  async reportOutcome(maintain: () => Promise<MaintenanceResult>): Promise<MaintenanceResult> {
    try {
      const result = await maintain();
      await this.finished('completed', result.outcome);
      return result;
    } catch (e) {
      const refused = e instanceof ApplicationFailure && e.type === FAILURE_TYPES.preflightRefused;
      await this.finished(refused ? 'refused' : 'failed', isCancellation(e) ? 'cancelled' : (e as Error).message);
      throw e;
    }
  }
}

/** The reporter of a run a rolling maintenance started; undefined for a run started on its own. */
export function parentReporter(input: unknown): ParentReporter | undefined {
  const parent = workflowInfo().parent;
  const node = (input as { node?: unknown } | undefined)?.node;
  return parent && new ParentReporter(parent.workflowId, String(node));
}
