// Repair steps 4, 5 and 7, once the machine is fenced: release the node's workloads (its pods go, their volumes
// detach), see each VM run again on another node, and, after the repair, bring the node back into service.
import type { VmPlan } from '../../domain/plan.js';
import { formatDuration } from '../../domain/durations.js';
import type { VmRow } from '../../domain/progress.js';
import { boundedWait, quick, waiting } from './activities.js';
import { powerOn } from './power.js';
import { releaseNode, uncordon } from './restore.js';
import { vmRef, type MaintenanceRun } from './state.js';

/**
 * The out-of-service taint: Kubernetes deletes the pods that do not tolerate it and detaches their volumes. Where
 * the cluster does not act on it within policy.repair.podsGoneTimeout, the pods and volume attachments are deleted
 * by hand, which is safe only because the machine is off.
 */
export async function releaseWorkloads(run: MaintenanceRun): Promise<void> {
  const { node } = run;
  const { podsGoneTimeoutMs: timeoutMs } = run.policy.repair;
  run.enter('ReleaseWorkloads', `out-of-service taint on ${node}: its pods go, their volumes detach`);
  await run.unpaused();
  run.changed.outOfService = true;
  await quick.setOutOfService({ node, on: true });
  if ((await waiting(timeoutMs).waitForPodsGone({ node, timeoutMs })).outcome === 'Gone') return;
  const forced = await quick.forceDeleteNodePods({ node });
  run.enter(
    'ReleaseWorkloads',
    `pods still on ${node} ${formatDuration(timeoutMs)} after the taint: force-deleted ${forced.pods.length} pods ` +
      `and ${forced.volumeAttachments.length} volume attachments`,
  );
  const after = await waiting(timeoutMs).waitForPodsGone({ node, timeoutMs });
  if (after.outcome !== 'Gone')
    throw new Error(`pods still on ${node} after a force delete: ${after.remaining.join(', ')}`);
}

/** Every VM's fate, all at once (KubeVirt restarts them together): each row ends recovered, left, lost or failed. */
export async function recoverVms(run: MaintenanceRun, plans: readonly VmPlan[]): Promise<void> {
  const restarting = plans.filter((p) => p.restore === 'elsewhere').length;
  run.enter('RecoverVMs', `${restarting} of ${plans.length} VMs restart on other nodes`);
  await Promise.all(plans.map((plan) => recoverVm(run, plan, run.row(plan.vmi))));
  run.updateDrainProgress();
}

async function recoverVm(run: MaintenanceRun, plan: VmPlan, r: VmRow): Promise<void> {
  switch (plan.action) {
    case 'lost':
      return run.done(r, 'lost', plan.reason);
    case 'staysOff':
      return run.done(r, 'left', plan.reason);
    case 'startElsewhere':
      await startManualVm(run, plan, r);
      return await waitRunningElsewhere(run, plan, r);
    case 'restartElsewhere':
      return await waitRunningElsewhere(run, plan, r);
    default:
      throw new Error(`${plan.vmi}: "${plan.action}" belongs to a drain, not to a repair`);
  }
}

/** runStrategy Always until KubeVirt made a new VMI, then Manual again (activities/kubevirt/recovery.ts). */
async function startManualVm(run: MaintenanceRun, plan: VmPlan, r: VmRow): Promise<void> {
  const { recoverTimeoutMs: timeoutMs } = run.policy.repair;
  r.state = 'recovering';
  r.message = 'runStrategy Manual: starting it elsewhere';
  run.show();
  run.changed.starting.add(plan.vmi);
  await boundedWait(timeoutMs).startVmElsewhere.executeWithOptions(
    { summary: `start ${plan.vmi} off ${run.node} (runStrategy Manual)` },
    [{ ...vmRef(plan.vmi), oldUid: plan.vmiUid, startTimeoutMs: timeoutMs }],
  );
  run.changed.starting.delete(plan.vmi);
}

async function waitRunningElsewhere(run: MaintenanceRun, plan: VmPlan, r: VmRow): Promise<void> {
  const { node } = run;
  const { recoverTimeoutMs: timeoutMs } = run.policy.repair;
  r.state = 'recovering';
  run.show();
  const vm = vmRef(plan.vmi);
  const seen = await waiting(timeoutMs).waitForVmRecovered.executeWithOptions(
    { summary: `wait for ${plan.vmi} to run off ${node}` },
    [{ ...vm, oldUid: plan.vmiUid, node, timeoutMs }],
  );
  if (seen.outcome === 'Running') {
    r.targetNode = seen.nodeName;
    if (seen.uid) r.newVmiUid = seen.uid;
    return run.done(r, 'recovered', `${node} → ${seen.nodeName}, new VMI ${seen.uid ?? ''}`.trim());
  }
  const why =
    `not running on another node ${formatDuration(timeoutMs)} after the fence (VMI ${seen.phase}` +
    `${seen.nodeName ? ` on ${seen.nodeName}` : ''}): no room for it, or KubeVirt could not start it`;
  run.done(r, 'failed', why);
  await quick.markNode({ node, phase: 'RecoverVMs', message: `${plan.vmi} ${why}`, warning: true });
}

/**
 * The repair is done: power on, wait until the node is Ready and virt-handler's heartbeat is back
 * (kubevirt.io/schedulable=true), remove the out-of-service taint, uncordon, give the node back. The VMs stay where
 * they run now.
 */
export async function returnToService(run: MaintenanceRun): Promise<void> {
  const { node } = run;
  const { timeoutMs } = run.policy.ready;
  if (run.power.kind !== 'none') await powerOn(run);
  run.enter('WaitReady', 'Ready and kubevirt.io/schedulable=true');
  await waiting(timeoutMs).waitForNodeReady({ node, ready: true, kubevirtSchedulable: true, timeoutMs });
  await quick.setOutOfService({ node, on: false });
  run.changed.outOfService = false;
  await uncordon(run);
  await releaseNode(run);
}
