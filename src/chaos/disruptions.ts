// What happens to a chaos run while it runs: the plan's disruptions at their moments (a cancel, worker SIGKILLs, a
// Temporal dev-server restart) and a simulated operator who answers escalations as the plan says and releases the
// hold. stop() ends both and waits for whatever was under way.
import type { WorkflowHandle } from '@temporalio/client';
import type { nodeMaintenance } from '../workflows/index.js';
import { decideUpdate, progressQuery, releaseUpdate } from '../workflows/messages.js';
import type { ChaosPlan } from './generate.js';
import { Prng } from './prng.js';
import { persist, sleep } from './retry.js';
import type { World } from './world.js';

export interface Disruptions {
  /** VMs the operator chose to delete: expected off the cluster at the end. */
  deleted: string[];
  stop(): Promise<void>;
}

export function startDisruptions(
  world: World,
  plan: ChaosPlan,
  handle: WorkflowHandle<typeof nodeMaintenance>,
  runDeadline: number,
  log: (line: string) => void,
): Disruptions {
  const pending: Promise<unknown>[] = [];
  const timers: NodeJS.Timeout[] = [];
  const state = { ended: false };
  const at = (ms: number | undefined, what: string, fn: () => Promise<unknown>) => {
    if (ms === undefined) return;
    timers.push(
      setTimeout(() => {
        if (state.ended) return;
        pending.push(fn().catch((e: unknown) => log(`seed ${plan.seed}: ${what} failed: ${String(e)}`)));
      }, ms),
    );
  };
  const worker = world.worker!;
  const disrupt = new Prng(plan.seed).fork('disrupt');
  at(plan.actions.cancelAtMs, 'cancel', () => persist(() => handle.cancel(), runDeadline));
  for (const ms of plan.actions.killWorkerAtMs ?? []) {
    const downMs = disrupt.int(200, 2000);
    at(ms, 'worker kill', () => worker.crash(downMs));
  }
  const temporalDownMs = disrupt.int(200, 2000);
  at(plan.actions.restartTemporalAtMs, 'Temporal restart', () => world.restartTemporal(temporalDownMs));

  const deleted: string[] = [];
  const operator = operate(plan, handle, state, deleted);
  return {
    deleted,
    async stop() {
      state.ended = true;
      for (const t of timers) clearTimeout(t);
      await operator;
      await Promise.all(pending);
    },
  };
}

/** The operator: looks every 400 ms, answers each new escalation in the plan's order, releases the hold once. */
async function operate(
  plan: ChaosPlan,
  handle: WorkflowHandle<typeof nodeMaintenance>,
  state: { ended: boolean },
  deleted: string[],
): Promise<void> {
  const answered = new Set<string>();
  let next = 0;
  let released = false;
  while (!state.ended) {
    await sleep(400);
    if (state.ended) break;
    try {
      const progress = await handle.query(progressQuery);
      for (const d of progress.decisionsPending) {
        const key = `${d.vmi}@${d.since}`;
        if (answered.has(key)) continue;
        answered.add(key);
        const answer = plan.answers[next++ % plan.answers.length]!;
        if (answer === 'ignore') continue;
        const action = d.allowed.includes(answer) ? answer : d.allowed[0];
        if (!action) continue;
        await handle.executeUpdate(decideUpdate, { args: [{ vmi: d.vmi, action }] });
        if (action === 'delete') deleted.push(d.vmi);
      }
      if (progress.phase === 'Hold' && !released) {
        await handle.executeUpdate(releaseUpdate, { args: [{ note: 'chaos: repaired' }] });
        released = true;
      }
    } catch {
      // worker down, server restarting, or the decision went away: look again
    }
  }
}
