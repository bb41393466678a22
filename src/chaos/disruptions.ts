// What happens to a chaos run while it runs: the plan's disruptions at their moments (a cancel, worker SIGKILLs, a
// Temporal dev-server restart, the node crashing mid-drain, an alert storm) and a simulated operator who answers
// escalations as the plan says (the fence decision with the plan's fence answer) and releases the hold. stop() ends
// them and waits for whatever was under way.
import type { WorkflowHandle } from '@temporalio/client';
import type { nodeMaintenance } from '../workflows/index.js';
import { fenceDecisionKey } from '../domain/progress.js';
import { decideUpdate, progressQuery, releaseUpdate } from '../workflows/messages.js';
import { crashNode, DRAIN_PHASES } from './crash.js';
import { sparesOf, type ChaosPlan } from './generate.js';
import { Prng } from './prng.js';
import { persist, sleep } from './retry.js';
import type { StormAnswer } from './storm.js';
import type { World } from './world.js';

export interface Disruptions {
  /** VMs the operator chose to delete: expected off the cluster at the end. */
  deleted: string[];
  /** The node crashed (before the start, or mid-drain while the run drained): its VMs may be lost or restarted. */
  crashed: boolean;
  /** What the alert storm's hook call answered, when there was one. */
  storm?: StormAnswer;
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

  const result: Disruptions = {
    deleted: [],
    crashed: plan.crash.failure.kind === 'crashedBefore',
    async stop() {
      state.ended = true;
      for (const t of timers) clearTimeout(t);
      await operator;
      await Promise.all(pending);
    },
  };
  const { failure } = plan.crash;
  if (failure.kind === 'crashDuringDrain') {
    at(failure.atMs, 'crash', async () => {
      if (await untilDraining(handle, state)) {
        await crashNode(world.direct!, plan);
        result.crashed = true;
        log(`seed ${plan.seed}: node ${plan.node} crashed mid-drain`);
      } else log(`seed ${plan.seed}: no crash: the run was past its drain at ${failure.atMs} ms`);
    });
  }
  at(plan.stormAtMs, 'alert storm', async () => {
    const answer = await world.storms.storm([plan.node, ...sparesOf(plan)]);
    result.storm = answer;
    log(`seed ${plan.seed}: alert storm started ${answer.started.map((s) => s.node).join(', ') || 'nothing'}`);
  });

  const operator = operate(plan, handle, state, result.deleted);
  return result;
}

/** The operator alone, without disruptions: for the repair that a NodeFailed run's note names. */
export function startOperator(
  plan: ChaosPlan,
  handle: WorkflowHandle<typeof nodeMaintenance>,
): Pick<Disruptions, 'deleted' | 'stop'> {
  const state = { ended: false };
  const deleted: string[] = [];
  const loop = operate(plan, handle, state, deleted);
  return {
    deleted,
    async stop() {
      state.ended = true;
      await loop;
    },
  };
}

/** Waits until the run drains (true), or is past its drain or over (false). */
async function untilDraining(
  handle: WorkflowHandle<typeof nodeMaintenance>,
  state: { ended: boolean },
): Promise<boolean> {
  while (!state.ended) {
    const phase = await handle.query(progressQuery).then(
      (p) => p.phase,
      () => undefined, // worker down or server restarting: look again
    );
    if (phase && DRAIN_PHASES.includes(phase)) return true;
    if (phase && !['Preflight', 'WaitingForAdmission'].includes(phase)) return false;
    await sleep(100);
  }
  return false;
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
        if (d.vmi === fenceDecisionKey(plan.node)) {
          await handle.executeUpdate(decideUpdate, { args: [{ vmi: d.vmi, action: plan.crash.fenceAnswer }] });
          continue;
        }
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
