// The roll-back: whatever ended the run (a failure, an abort, a cancel) after the lease was taken, undo what this run
// changed, in the reverse order of the runbook, and leave the node as it was before. Every step is bounded: a step
// that gives up is named in what is left (src/domain/rollbackLeft.ts) and the roll-back goes on with the next, so it
// always ends, always releases the lease, and a node it could not put back is annotated NeedsAttention.
import { isCancellation } from '@temporalio/workflow';
import { nodeFailure as failureOf } from '../../domain/nodeFailure.js';
import { needsAttentionNote, powerUnknown, type Leftover } from '../../domain/rollbackLeft.js';
import { failureMessage } from '../failures.js';
import { boundedWait, persistent, powerCommands, quick, waiting } from './activities.js';
import { vmRef, type MaintenanceRun } from './state.js';

/** Runs one roll-back step; on a failure (its retries used up), adds what it left to `left`. */
async function step(left: Leftover[], what: (error: string) => Leftover, fn: () => Promise<unknown>): Promise<boolean> {
  try {
    await fn();
    return true;
  } catch (e) {
    // The roll-back runs non-cancellable; a cancellation here would be the worker's, not the user's: still bounded.
    if (isCancellation(e)) throw e;
    left.push(what(failureMessage(e)));
    return false;
  }
}

/** The power-on, bounded by the on timeout: the command, then the BMC reporting On. */
async function powerOnForRollBack(run: MaintenanceRun, left: Leftover[]): Promise<void> {
  const { power: target } = run;
  const { onTimeoutMs: timeoutMs } = run.policy.power;
  const acknowledged = run.changed.powerOffAcknowledged;
  const on = await step(
    left,
    (error) => ({ kind: 'power', error, acknowledged }),
    async () => {
      await powerCommands(timeoutMs).powerOn({ target });
      await waiting(timeoutMs).waitForPower({ target, on: true, timeoutMs });
    },
  );
  run.progress.power = on ? 'on' : 'unknown';
}

/**
 * Read just before the roll-back would uncordon: a node this run did not power off that is not Ready now has failed
 * meanwhile, and it stays cordoned. Read then and not when the roll-back starts (chaos seed 25: the node crashed
 * 650 ms before a cancel, still Ready when the roll-back began; cancelling its hung migrations took a minute, and the
 * uncordon put the dead node back into service). A node this run powered off and on may still be booting: that is
 * not a failure.
 */
async function failedMeanwhile(run: MaintenanceRun): Promise<string | undefined> {
  if (!run.changed.cordoned || run.changed.poweredOff) return undefined;
  const readiness = await quick.readNodeReadiness({ node: run.node }).catch(() => undefined);
  return readiness && failureOf(run.node, readiness);
}

/**
 * A node this run powered off is uncordoned only once it is Ready again, as the runbook's own WaitReady step does:
 * a machine that powers on but never comes back (chaos seed 30: it had crashed, and its unreachable BMC ignored the
 * power cycle) stays cordoned, and the run ends NodeFailed. Bounded by the policy's ready timeout.
 */
async function notReadyAfterPowerOn(run: MaintenanceRun): Promise<string | undefined> {
  const { timeoutMs } = run.policy.ready;
  try {
    await waiting(timeoutMs).waitForNodeReady({ node: run.node, ready: true, timeoutMs });
    return undefined;
  } catch (e) {
    if (isCancellation(e)) throw e;
    return `${run.node} did not come back after the roll-back powered it on: ${failureMessage(e)}`;
  }
}

/** What a roll-back left: the note for the operator (undefined when it finished), and whether the node failed. */
export interface RollBackEnd {
  note?: string;
  nodeFailed: boolean;
}

/**
 * Undoes what this run changed. `nodeFailure`: the node itself failed and nothing repaired it (it failed during the
 * drain, or a repair stopped before its fence); it stays cordoned, and the note asks for a repair. A node found
 * failed before the uncordon is treated the same.
 */
export async function rollBack(run: MaintenanceRun, why: string, knownFailure?: string): Promise<RollBackEnd> {
  const { node, workflowId, changed } = run;
  run.enter('RollingBack', why);
  const left: Leftover[] = [];
  for (const [vmi, migration] of changed.migrations) {
    await step(
      left,
      (error) => ({ kind: 'migration', vmi, migration, error }),
      () => persistent.cancelMigration({ ...vmRef(vmi), name: migration }),
    );
  }
  let notBack: string | undefined;
  if (changed.poweredOff && run.power.kind !== 'none') {
    await powerOnForRollBack(run, left);
    if (!powerUnknown(left)) notBack = await notReadyAfterPowerOn(run);
  }
  const nodeFailure = knownFailure ?? notBack ?? (await failedMeanwhile(run));
  if (nodeFailure) left.unshift({ kind: 'nodeFailed', failure: nodeFailure });
  // A machine whose power state is unknown, or a node that failed, stays cordoned: never schedule onto it.
  if (changed.cordoned && !powerUnknown(left) && !nodeFailure) {
    await step(
      left,
      (error) => ({ kind: 'uncordon', error }),
      () => persistent.uncordon({ node, workflowId }),
    );
  }
  // VMs we stopped come back (on this node again if it is up, else elsewhere), each restore bounded by the policy's
  // restore timeout: a VM whose old VMI is stuck deleting (a guest that ignores shutdown) cannot get a new one.
  const { timeoutMs } = run.policy.restore;
  const restored: string[] = [];
  for (const plan of [...changed.stopped.values()].filter((p) => p.restore !== 'never')) {
    const ok = await step(
      left,
      (error) => ({ kind: 'vm', vmi: plan.vmi, error }),
      () => boundedWait(timeoutMs).restoreVm({ ...vmRef(plan.vmi), startTimeoutMs: timeoutMs }),
    );
    if (ok) restored.push(plan.vmi);
  }
  for (const vmi of restored) {
    await waiting(timeoutMs)
      .waitForVmiRunning({ ...vmRef(vmi), timeoutMs })
      .catch(() => undefined); // restored: KubeVirt runs it; reported by the invariant checks and the timeline
  }
  if (left.length === 0 && changed.lease) {
    await step(
      left,
      (error) => ({ kind: 'marks', error }),
      () => persistent.unmarkNode({ node, message: `maintenance ${workflowId} rolled back: ${why}` }),
    );
  }
  if (left.length > 0) {
    const note = needsAttentionNote(node, left)!;
    await step(
      left,
      (error) => ({ kind: 'mark', error }),
      () => persistent.markNode({ node, phase: 'NeedsAttention', message: note, warning: true }),
    );
  }
  if (changed.lease || left.length > 0) {
    await step(
      left,
      (error) => ({ kind: 'lease', error }),
      () => persistent.releaseLease({ node, workflowId }),
    );
  }
  const note = needsAttentionNote(node, left);
  if (note) {
    run.enter('NeedsAttention', note);
    return { note, nodeFailed: nodeFailure !== undefined };
  }
  run.enter('RolledBack', why);
  return { nodeFailed: false };
}
