// The rollingMaintenance workflow: many nodes, one child nodeMaintenance each, at most maxUnavailable at once, only
// inside the window, stopping after maxFailures. The decisions are pure (domain/rollingPlan.ts); this runbook waits,
// admits the next nodes and keeps the account. A long roll continues as new, carrying its rows to the next run.
import {
  allHandlersFinished,
  CancellationScope,
  condition,
  isCancellation,
  makeContinueAsNewFunc,
} from '@temporalio/workflow';
import { parseRollingRequest, type RollingInput } from '../../domain/rolling.js';
import { nextStep } from '../../domain/rollingPlan.js';
import type { RollingNodeRow, RollingResult } from '../../domain/rollingProgress.js';
import { FAILURE_TYPES } from '../../domain/workflowNames.js';
import { workflowFailure } from '../failures.js';
import { parseOrFail } from '../input.js';
import { admitNext, resolveNodes } from './admission.js';
import { cancelRunning } from './children.js';
import { setHandlers } from './handlers.js';
import { iso, RollingRun, type RollingCarry } from './state.js';

export async function rollingMaintenance(input: RollingInput, carried?: RollingCarry): Promise<RollingResult> {
  const request = parseOrFail(parseRollingRequest, input);
  const roll = new RollingRun(input, request, carried);
  setHandlers(roll);
  if (!carried) await resolveNodes(roll);
  roll.show();

  try {
    for (;;) {
      if (roll.continueAsNewDue()) {
        await condition(allHandlersFinished);
        // The next run starts on the deployment's current build; the running children stay pinned to theirs.
        const next = makeContinueAsNewFunc<typeof rollingMaintenance>({ initialVersioningBehavior: 'AUTO_UPGRADE' });
        await next(input, { ...roll.carry, runs: roll.carry.runs + 1 });
      }
      const step = nextStep(roll.situation());
      if (step.kind === 'done') {
        roll.finished = true;
        return end(roll, step.stopped);
      }
      if (step.kind === 'wait') {
        roll.status = step.status;
        roll.message = step.message;
        roll.nextWindowAt =
          step.status === 'WaitingForWindow' && step.until !== undefined ? iso(step.until) : undefined;
        await roll.waitForChange(step.until);
        continue;
      }
      roll.nextWindowAt = undefined;
      await admitNext(roll);
    }
  } catch (e) {
    if (isCancellation(e)) await CancellationScope.nonCancellable(() => cancelRunning(roll));
    throw e;
  }
}

/** The roll's result; past maxFailures it ends `RollingStopped`, the result in the failure's details. */
function end(roll: RollingRun, stopped: boolean): RollingResult {
  const { rows } = roll;
  const named = (s: RollingNodeRow['state']) => rows.filter((r) => r.state === s).map((r) => r.node);
  for (const row of rows) if (row.state === 'pending') row.message = 'not started: the roll stopped';
  const result: RollingResult = {
    name: roll.request.name,
    status: stopped ? 'Stopped' : 'Completed',
    completed: named('completed'),
    failed: named('failed'),
    refused: named('refused'),
    skipped: named('skipped'),
    notStarted: named('pending'),
    runs: roll.carry.runs,
  };
  roll.status = result.status;
  roll.nextWindowAt = undefined;
  const failedNodes = [...result.failed, ...result.refused];
  roll.message = stopped
    ? `stopped after ${failedNodes.length} failed (maxFailures ${roll.request.maxFailures}): ${failedNodes.join(', ')}`
    : `${result.completed.length} of ${rows.length} nodes maintained`;
  roll.show();
  if (!stopped) return result;
  const notStarted = result.notStarted.join(', ') || 'none';
  throw workflowFailure(
    FAILURE_TYPES.rollingStopped,
    `rolling maintenance ${roll.request.name} ${roll.message}; not started: ${notStarted}`,
    [result],
  );
}
