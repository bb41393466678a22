// The roll-back: whatever ended the run (a failure, an abort, a cancel) after the lease was taken, undo what this run
// changed, in the reverse order of the runbook, and leave the node as it was before.
import { persistent, waiting } from './activities.js';
import { powerOnForRollBack } from './power.js';
import { vmRef, type MaintenanceRun } from './state.js';

/** Undoes what this run changed; returns what is left for the operator when it cannot finish, else undefined. */
export async function rollBack(run: MaintenanceRun, why: string): Promise<string | undefined> {
  const { node, workflowId, changed, progress } = run;
  run.enter('RollingBack', why);
  for (const [vmi, migration] of changed.migrations) {
    await persistent.cancelMigration({ ...vmRef(vmi), name: migration });
  }
  let left: string | undefined;
  if (changed.poweredOff && run.power.kind !== 'none') {
    left = await powerOnForRollBack(run);
    progress.power = left ? 'unknown' : 'on';
  }
  // A machine whose power state is unknown stays cordoned: never schedule onto it.
  if (changed.cordoned && !left) await persistent.uncordon({ node, workflowId });
  // VMs we stopped come back (on this node again if it is up, else elsewhere); wait for each, bounded.
  const restore = [...changed.stopped.values()].filter((plan) => plan.restore !== 'never');
  for (const plan of restore) await persistent.restoreVm(vmRef(plan.vmi));
  for (const plan of restore) {
    const { timeoutMs } = run.policy.restore;
    await waiting(timeoutMs)
      .waitForVmiRunning({ ...vmRef(plan.vmi), timeoutMs })
      .catch(() => undefined); // reported by the invariant checks and the timeline, not fatal to the roll-back
  }
  if (left) {
    await persistent.markNode({ node, phase: 'NeedsAttention', message: left, warning: true });
    await persistent.releaseLease({ node, workflowId });
    run.enter('NeedsAttention', left);
    return left;
  }
  if (changed.lease) {
    await persistent.unmarkNode({ node, message: `maintenance ${workflowId} rolled back: ${why}` });
    await persistent.releaseLease({ node, workflowId });
  }
  run.enter('RolledBack', why);
  return undefined;
}
