// The ways one VM leaves the node: live migration, shut down (and start again elsewhere when the plan says so),
// waiting for an external controller to move it, or asking an operator (the decide update).
import { condition, sleep } from '@temporalio/workflow';
import { nodeFailure } from '../../domain/nodeFailure.js';
import type { VmPlan } from '../../domain/plan.js';
import type { VmRow } from '../../domain/progress.js';
import { Aborted, NodeFailed } from '../failures.js';
import { escalated, migrationEnded } from '../metrics.js';
import { quick, waiting } from './activities.js';
import { startAgain } from './restore.js';
import { iso, vmRef, type MaintenanceRun } from './state.js';

/**
 * One round of up to policy.migration.attempts live migrations; true when the VMI now runs elsewhere.
 * Attempt numbers keep counting across rounds (an operator's retry), so each attempt gets its own VMIM.
 */
export async function migrate(run: MaintenanceRun, plan: VmPlan, r: VmRow): Promise<boolean> {
  const { namespace, name } = vmRef(plan.vmi);
  const { attempts, timeoutMs, pendingTimeoutMs, retryBackoffMs } = run.policy.migration;
  for (let round = 1; round <= attempts; round++) {
    r.attempts += 1;
    r.state = 'migrating';
    // Summaries make the event history read as the drain ("migrate vms/web-1 off worker-1, attempt 1"), not as rows
    // of identical activity types.
    const started = await quick.startMigration.executeWithOptions(
      { summary: `migrate ${plan.vmi} off ${run.node}, attempt ${r.attempts}` },
      [{ namespace, vmi: name, workflowId: run.workflowId, attempt: r.attempts }],
    );
    r.migration = started.name;
    // An adopted migration (KubeVirt's evacuation) is not ours to delete on roll-back.
    if (!started.adopted) run.changed.migrations.set(plan.vmi, started.name);
    run.show();
    const result = await waiting(timeoutMs).waitForMigration.executeWithOptions(
      { summary: `wait for ${plan.vmi} to migrate (${started.name})` },
      [{ namespace, name: started.name, timeoutMs, pendingTimeoutMs }],
    );
    migrationEnded(result.outcome);
    if (result.outcome === 'Succeeded') {
      run.changed.migrations.delete(plan.vmi);
      r.targetNode = result.targetNode;
      return true;
    }
    r.message = `attempt ${r.attempts}: ${result.outcome}${result.failureReason ? ` (${result.failureReason})` : ''}`;
    if (result.outcome === 'Stuck' || result.outcome === 'TimedOut') {
      await quick.cancelMigration.executeWithOptions({ summary: `cancel the migration of ${plan.vmi}` }, [
        { namespace, name: started.name },
      ]);
    }
    run.changed.migrations.delete(plan.vmi);
    run.show();
    if (round < attempts) await sleep(retryBackoffMs);
  }
  return false;
}

/**
 * After a migration or a stop that did not work: when the node itself has failed, nothing more can leave it, and
 * asking an operator or retrying would only wait; the drain ends with NodeFailed (the roll-back keeps it cordoned).
 */
export async function stopIfNodeFailed(run: MaintenanceRun): Promise<void> {
  const failure = nodeFailure(run.node, await quick.readNodeReadiness({ node: run.node }));
  if (failure) throw new NodeFailed(failure);
}

export function migrationFailure(run: MaintenanceRun, r: VmRow): string {
  const n = run.policy.migration.attempts;
  return `live migration failed ${n} ${n === 1 ? 'time' : 'times'}; last: ${r.message}`;
}

/** Stops the VM (its runStrategy is recorded for the restore); `elsewhere` starts it again at once, off this node. */
export async function shutDown(run: MaintenanceRun, plan: VmPlan, r: VmRow): Promise<void> {
  const vm = vmRef(plan.vmi);
  const { timeoutMs } = run.policy.shutdown;
  r.state = 'stopping';
  run.show();
  run.changed.stopped.set(plan.vmi, plan);
  await quick.stopVm.executeWithOptions({ summary: `stop ${plan.vmi}` }, [vm]);
  const gone = await waiting(timeoutMs).waitForVmiGone.executeWithOptions({ summary: `wait for ${plan.vmi} to stop` }, [
    { ...vm, timeoutMs },
  ]);
  if (gone.outcome !== 'Gone') {
    await stopIfNodeFailed(run);
    throw new Aborted(`${plan.vmi} did not stop within ${timeoutMs / 1000}s`);
  }
  if (plan.restore === 'elsewhere') {
    // The node is cordoned: started again now, it lands on another node.
    r.state = 'restoring';
    await startAgain(run, plan.vmi);
    run.changed.stopped.delete(plan.vmi);
    return run.done(r, 'restored', 'restarted on another node');
  }
  run.done(r, plan.restore === 'never' ? 'left' : 'stopped');
}

/** The VM's own controller moves it (evictionStrategy External); past the timeout it escalates. */
export async function awaitExternal(run: MaintenanceRun, plan: VmPlan, r: VmRow): Promise<void> {
  const { timeoutMs } = run.policy.external;
  r.state = 'awaitingExternal';
  run.show();
  const moved = await waiting(timeoutMs).waitForVmiOffNode({ ...vmRef(plan.vmi), node: run.node, timeoutMs });
  if (moved.outcome !== 'TimedOut') return run.done(r, 'movedExternally');
  await stopIfNodeFailed(run);
  return await escalate(run, plan, r, `the external controller did not move it within ${timeoutMs / 1000}s`);
}

/** Asks an operator (the decide update), or applies the policy's answer. */
export async function escalate(run: MaintenanceRun, plan: VmPlan, r: VmRow, reason: string): Promise<void> {
  const { escalation, shutdown } = run.policy;
  const abort = plan.onEscalation === 'abort' || escalation.onNonMigratable === 'abort';
  escalated(abort ? 'abort' : 'ask');
  if (abort) throw new Aborted(`${plan.vmi}: ${reason} (policy escalation.onNonMigratable=abort)`);
  const since = Date.now();
  const deadline = since + escalation.decisionTimeoutMs;
  const { decisions } = run;
  run.ask({
    vmi: plan.vmi,
    reason,
    allowed: plan.allowedDecisions,
    since: iso(since),
    deadline: iso(deadline),
  });
  r.state = 'awaitingDecision';
  r.message = reason;
  run.show();
  const warning = `${plan.vmi} needs a decision: ${reason}`;
  await quick.markNode({ node: run.node, phase: 'EvacuateVMs', message: warning, warning: true });
  const answered = await condition(() => decisions.has(plan.vmi), escalation.decisionTimeoutMs);
  run.settled(plan.vmi);
  const decision = decisions.get(plan.vmi);
  decisions.delete(plan.vmi);
  if (!answered || !decision) {
    if (escalation.onTimeout === 'shutdown' && plan.allowedDecisions.includes('shutdown'))
      return await shutDown(run, plan, r);
    throw new Aborted(`no decision for ${plan.vmi} within ${escalation.decisionTimeoutMs / 1000}s`);
  }
  r.message = `operator chose ${decision}`;
  if (decision === 'shutdown') return await shutDown(run, plan, r);
  if (decision === 'delete') {
    const vm = vmRef(plan.vmi);
    await quick.deleteVmi.executeWithOptions({ summary: `delete the VMI ${plan.vmi}` }, [vm]);
    await waiting(shutdown.timeoutMs).waitForVmiGone.executeWithOptions({ summary: `wait for ${plan.vmi} to go` }, [
      { ...vm, timeoutMs: shutdown.timeoutMs },
    ]);
    run.changed.stopped.delete(plan.vmi);
    return run.done(r, 'deleted');
  }
  // retry: a fresh round of migration attempts
  if (await migrate(run, plan, r)) return run.done(r, 'migrated');
  await stopIfNodeFailed(run);
  return await escalate(run, plan, r, `${migrationFailure(run, r)}, after a retry`);
}
