// Step 6: the node waits, off, for the repair. An operator's release update ends the hold; reminders go to the node
// (an Event each) while it waits, and the deadline aborts the maintenance (which rolls back).
import { condition } from '@temporalio/workflow';
import { Aborted } from '../failures.js';
import { quick } from './activities.js';
import { iso, type MaintenanceRun } from './state.js';

export async function hold(run: MaintenanceRun): Promise<void> {
  const { node, policy, progress } = run;
  const since = Date.now();
  const deadline = since + policy.hold.deadlineMs;
  progress.hold = { since: iso(since), deadline: iso(deadline) };
  run.enter('Hold', 'waiting for the release update');
  await quick.markNode({ node, phase: 'Hold', message: 'waiting for release' });
  while (!run.released) {
    const left = deadline - Date.now();
    if (left <= 0) throw new Aborted(`not released before the hold deadline (${iso(deadline)})`);
    if (!(await condition(() => run.released, Math.min(left, policy.hold.reminderEveryMs)))) {
      await quick.markNode({ node, phase: 'Hold', message: `still waiting for release since ${iso(since)}` });
    }
  }
  progress.hold.released = iso();
}
