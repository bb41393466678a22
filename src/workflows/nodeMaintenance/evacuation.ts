// Step 3: every VM off the node, as its plan says, at most policy.parallelMigrations at once. Each lane takes the next
// VM from one queue; when one VM aborts the run, the other lanes are cancelled too.
import { CancellationScope } from '@temporalio/workflow';
import type { VmPlan } from '../../domain/plan.js';
import type { VmRow } from '../../domain/progress.js';
import { iso, type MaintenanceRun } from './state.js';
import { awaitExternal, escalate, migrate, migrationFailure, shutDown, stopIfNodeFailed } from './strategies.js';

export async function evacuate(run: MaintenanceRun, plans: readonly VmPlan[]): Promise<void> {
  run.enter('EvacuateVMs', `${plans.length} VMs`);
  run.progress.vms = plans.map((p) => ({
    vmi: p.vmi,
    action: p.action,
    restore: p.restore,
    state: 'pending',
    attempts: 0,
    sourceNode: run.node,
  }));
  const queue = [...plans];
  const lane = async () => {
    for (let plan = queue.shift(); plan; plan = queue.shift()) {
      await run.unpaused();
      await handleVm(run, plan, run.row(plan.vmi));
      run.updateDrainProgress();
    }
  };
  const scope = new CancellationScope();
  const lanes: Promise<void>[] = [];
  try {
    await scope.run(() => {
      // The lane count is fixed before any lane starts: each lane takes its first VM at once, so a bound read from
      // the queue inside the loop would shrink as lanes start (two VMs, two slots, one lane).
      const count = Math.min(run.policy.parallelMigrations, queue.length);
      for (let i = 0; i < count; i++) lanes.push(lane());
      return Promise.all(lanes);
    });
  } catch (e) {
    scope.cancel();
    // Let every lane settle (its short steps finish) before the roll-back looks at what changed.
    await Promise.allSettled(lanes);
    throw e;
  }
}

/** One VM, by its plan's action; a failed migration falls back as the plan says. */
async function handleVm(run: MaintenanceRun, plan: VmPlan, r: VmRow): Promise<void> {
  r.startedAt = iso();
  run.show();
  switch (plan.action) {
    case 'migrate':
      if (await migrate(run, plan, r)) return run.done(r, 'migrated');
      await stopIfNodeFailed(run);
      if (plan.onMigrationFailure === 'shutdown') return await shutDown(run, plan, r);
      return await escalate(run, plan, r, migrationFailure(run, r));
    case 'shutdown':
      return await shutDown(run, plan, r);
    case 'awaitExternal':
      return await awaitExternal(run, plan, r);
    case 'escalate':
      return await escalate(run, plan, r, plan.reason);
    default:
      throw new Error(`${plan.vmi}: "${plan.action}" belongs to the repair runbook, not to a drain`);
  }
}
