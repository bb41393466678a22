// The roll's children: one nodeMaintenance per node, with the id maintenance-<node>, so a node is never in two
// maintenances. They are started with ParentClosePolicy ABANDON, because a continue-as-new closes the run and must not
// cancel them; they report to the roll's workflow id, so the next run re-attaches to those still running. Cancelling
// the roll asks every running child to cancel (= roll back) and waits for them; terminating it leaves them running.
import {
  ApplicationFailure,
  CancellationScope,
  ChildWorkflowFailure,
  ParentClosePolicy,
  TerminatedFailure,
  condition,
  getExternalWorkflowHandle,
  isCancellation,
  startChild,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { MaintenanceInput } from '../../domain/request.js';
import type { ChildOutcome, RollingNodeRow } from '../../domain/rollingProgress.js';
import { FAILURE_TYPES, WORKFLOW_TYPES } from '../../domain/workflowNames.js';
import { maintenanceStartText } from '../../domain/startText.js';
import type { nodeMaintenance } from '../nodeMaintenance/workflow.js';
import { iso, type RollingRun } from './state.js';

/** How long a cancelled roll waits for its running children to roll back. */
const CANCEL_WAIT_MS = 60 * 60_000;

/** How a child's failure shows in the roll: refused by its preflight, or failed (rolled back, cancelled...). */
function outcomeOf(e: unknown): { outcome: ChildOutcome; message: string } {
  const cause = e instanceof ChildWorkflowFailure ? e.cause : e;
  if (cause instanceof ApplicationFailure && cause.type === FAILURE_TYPES.preflightRefused) {
    return { outcome: 'refused', message: cause.message };
  }
  if (isCancellation(cause)) return { outcome: 'failed', message: 'cancelled' };
  if (cause instanceof TerminatedFailure) return { outcome: 'failed', message: 'terminated' };
  return { outcome: 'failed', message: (cause as Error | undefined)?.message ?? String(cause) };
}

/** Starts the node's maintenance; marks the row running before its first await, so the next decision counts it. */
export async function startNode(roll: RollingRun, row: RollingNodeRow): Promise<void> {
  const { request, input, info } = roll;
  row.state = 'running';
  if (roll.carry.reportSeq) delete roll.carry.reportSeq[row.node];
  row.startedAt = iso();
  row.decisionsPending = [];
  delete row.phase;
  delete row.message;
  delete row.finishedAt;
  roll.status = 'Running';
  roll.message = undefined;
  const args: MaintenanceInput = {
    ...(input.template ?? {}),
    hold: request.template.hold,
    node: row.node,
    reason: request.template.reason ?? `rolling maintenance ${request.name}`,
    requestedBy: request.template.requestedBy ?? request.requestedBy ?? info.workflowId,
  };
  try {
    // Started outside the roll's cancellation scope: a cancelled roll cancels its children explicitly (below), the
    // same way whether this run started them or an earlier one did.
    const child = await CancellationScope.nonCancellable(() =>
      startChild<typeof nodeMaintenance>(WORKFLOW_TYPES.nodeMaintenance, {
        workflowId: row.workflowId,
        args: [args],
        ...maintenanceStartText({
          ...request.template,
          node: row.node,
          reason: args.reason,
          requestedBy: args.requestedBy,
        }),
        parentClosePolicy: ParentClosePolicy.ABANDON,
      }),
    );
    row.runId = child.firstExecutionRunId;
    roll.changed();
    child.result().then(
      (result) => roll.finishRow(row.node, child.firstExecutionRunId, 'completed', result.outcome),
      (e: unknown) => {
        const { outcome, message } = outcomeOf(e);
        roll.finishRow(row.node, child.firstExecutionRunId, outcome, message);
      },
    );
  } catch (e) {
    if (!(e instanceof WorkflowExecutionAlreadyStartedError)) throw e;
    // Started by hand (or by another roll) meanwhile: never a second maintenance of the same node.
    row.state = 'pending';
    delete row.startedAt;
    roll.busy(row, `${row.workflowId} is already running`);
  }
}

/** The roll was cancelled: every running child rolls back, and the roll ends once they have (or after an hour). */
export async function cancelRunning(roll: RollingRun): Promise<void> {
  roll.status = 'Stopped';
  roll.message = 'cancelled: running nodes roll back';
  await Promise.all(
    roll.running().map((row) =>
      getExternalWorkflowHandle(row.workflowId, row.runId)
        .cancel()
        .catch(() => undefined),
    ),
  );
  roll.show();
  await condition(() => roll.running().length === 0, CANCEL_WAIT_MS);
  roll.message = 'cancelled';
  roll.show();
}
