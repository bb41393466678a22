// Steps 8 to 10 and the end: wait until the node is Ready, uncordon it, bring back the VMs this run stopped, give the
// node back (its marks removed with the lease release, in one activity).
import { quick, waiting } from './activities.js';
import { vmRef, type MaintenanceRun } from './state.js';

export async function waitReady(run: MaintenanceRun): Promise<void> {
  const { timeoutMs } = run.policy.ready;
  run.enter('WaitReady');
  await waiting(timeoutMs).waitForNodeReady({ node: run.node, ready: true, timeoutMs });
}

/** Uncordons (only if this run cordoned it), removes the taint, the label and the annotation. */
export async function uncordon(run: MaintenanceRun): Promise<void> {
  run.enter('Uncordon');
  await run.unpaused();
  await quick.uncordon({ node: run.node, workflowId: run.workflowId });
  run.changed.cordoned = false;
}

/** Puts the recorded runStrategy back and waits until the VM runs again. */
export async function startAgain(run: MaintenanceRun, vmi: string): Promise<void> {
  const vm = vmRef(vmi);
  const { timeoutMs } = run.policy.restore;
  await quick.restoreVm.executeWithOptions({ summary: `start ${vmi} again` }, [vm]);
  const running = await waiting(timeoutMs).waitForVmiRunning.executeWithOptions(
    { summary: `wait for ${vmi} to run again` },
    [{ ...vm, timeoutMs }],
  );
  if (running.outcome !== 'Running') throw new Error(`${vmi} is not running ${timeoutMs / 1000}s after its restore`);
}

/** Every VM this run stopped, except those whose plan leaves them off, starts again (all at once). */
export async function restoreVms(run: MaintenanceRun): Promise<void> {
  run.enter('RestoreVMs');
  const { stopped } = run.changed;
  const wanted = [...stopped.values()].filter((p) => p.restore !== 'never');
  await Promise.all(
    wanted.map(async (plan) => {
      const r = run.progress.vms.find((x) => x.vmi === plan.vmi);
      if (r) r.state = 'restoring';
      await startAgain(run, plan.vmi);
      stopped.delete(plan.vmi);
      if (r) run.done(r, 'restored');
    }),
  );
}

/** The node is ours no more: its marks go, then its lease. */
export async function releaseNode(run: MaintenanceRun): Promise<void> {
  const { node, workflowId } = run;
  await quick.releaseLease({ node, workflowId, unmark: { message: `maintenance ${workflowId} completed` } });
  run.changed.lease = false;
  run.enter('Done');
}
