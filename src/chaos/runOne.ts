// One chaos run: its scenario set up, the maintenance started with the disruptions around it, the wait for its end
// (bounded), then the judgement: the invariants read from the cluster once it settles, and what the proxy injected.
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import type { nodeMaintenance } from '../workflows/index.js';
import { workflowIdFor } from '../domain/workflowNames.js';
import { startDisruptions } from './disruptions.js';
import { NO_FAULTS, type FaultKind } from './faultProxy.js';
import type { ChaosPlan } from './generate.js';
import { invariantViolations, MigrationMonitor, recordBefore } from './invariants.js';
import type { Outcome, RunReport } from './report.js';
import { persist, sleep } from './retry.js';
import { inputOf, setUpScenario } from './scenario.js';
import type { World } from './world.js';

export interface RunOptions {
  /** Longest wait for one maintenance to end (default 5 min): longer counts as a violation. */
  runTimeoutMs?: number;
  log?: (line: string) => void;
}

function outcomeOf(e: unknown): { outcome: Outcome; detail: string } {
  if (e instanceof WorkflowFailedError) {
    const cause = e.cause;
    if (cause instanceof CancelledFailure) return { outcome: 'Cancelled', detail: 'cancelled and rolled back' };
    if (cause instanceof ApplicationFailure) {
      if (cause.type === 'PreflightRefused') return { outcome: 'Refused', detail: cause.message };
      if (cause.type === 'Aborted' || cause.type === 'MaintenanceFailed')
        return { outcome: 'RolledBack', detail: cause.message };
      if (cause.type === 'RollbackIncomplete') return { outcome: 'RollbackIncomplete', detail: cause.message };
    }
    const chain: string[] = [];
    for (let c: unknown = cause; c instanceof Error; c = (c as { cause?: unknown }).cause) {
      const a = c as Error & { activityType?: string; type?: string };
      chain.push(`${a.activityType ?? a.type ?? a.name}: ${a.message}`);
    }
    return { outcome: 'Failed', detail: chain.join(' <- ') };
  }
  return { outcome: 'Failed', detail: String((e as Error).message ?? e) };
}

/** Waits for the run's end; `handle.result()` long-polls while the workflow runs, so the deadline bounds it too. */
async function awaitEnd(
  handle: { result(): Promise<unknown> },
  runDeadline: number,
  timeoutMs: number,
): Promise<{ outcome: Outcome; detail: string }> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('deadline')), Math.max(0, runDeadline - Date.now()));
  });
  try {
    await Promise.race([persist(() => handle.result(), runDeadline), deadline]);
    return { outcome: 'Completed', detail: 'completed' };
  } catch (e) {
    if (Date.now() >= runDeadline && !(e instanceof WorkflowFailedError)) {
      return { outcome: 'Unfinished', detail: `did not end within ${timeoutMs / 1000}s` };
    }
    return outcomeOf(e);
  } finally {
    clearTimeout(timer);
  }
}

export async function runOne(world: World, plan: ChaosPlan, options: RunOptions): Promise<RunReport> {
  const log = options.log ?? (() => {});
  const started = Date.now();
  const sandbox = world.sandbox!;
  const direct = world.direct!;
  const proxy = world.proxy!;
  const worker = world.worker!;
  const killsBefore = worker.kills;
  const restartsBefore = world.temporalRestarts;
  const countsBefore = { ...proxy.counts };

  await setUpScenario(sandbox, direct, plan);
  const before = await recordBefore(direct, plan.namespace);
  const monitor = new MigrationMonitor(direct, plan.namespace, plan.input.parallelMigrations).start();
  proxy.setRates(plan.rates);

  const workflowId = workflowIdFor(plan.node);
  const timeoutMs = options.runTimeoutMs ?? 300_000;
  const runDeadline = Date.now() + timeoutMs;
  const handle = await persist(
    () =>
      world.client.workflow.start<typeof nodeMaintenance>('nodeMaintenance', {
        taskQueue: world.taskQueue,
        workflowId,
        args: [inputOf(plan, sandbox)],
      }),
    runDeadline,
  );
  const disruptions = startDisruptions(world, plan, handle, runDeadline, log);
  const { outcome, detail } = await awaitEnd(handle, runDeadline, timeoutMs);
  await disruptions.stop();
  proxy.setRates(NO_FAULTS);

  const violations: string[] = [];
  if (outcome === 'Unfinished' || outcome === 'Failed') violations.push(`run ended ${outcome}: ${detail}`);
  if (outcome === 'Unfinished') {
    await persist(() => handle.terminate('chaos: did not end in time'), Date.now() + 60_000).catch(() => undefined);
  }
  // The cluster settles (an aborted migration's clean-up, a VM starting again): allow it a little time.
  const expectedOff = [...plan.stayOff, ...disruptions.deleted];
  let last: string[];
  const settleDeadline = Date.now() + 30_000;
  for (;;) {
    last = await invariantViolations(direct, before, plan.node, expectedOff, {
      namespace: plan.namespace,
      workflowId,
      rollbackIncomplete: outcome === 'RollbackIncomplete' ? detail : undefined,
    });
    if (last.length === 0 || Date.now() > settleDeadline) break;
    await sleep(500);
  }
  violations.push(...last, ...(await monitor.stop()));

  const injected: RunReport['injected'] = {};
  for (const k of Object.keys(countsBefore) as (FaultKind | 'passed')[]) {
    if (k !== 'passed' && proxy.counts[k] > countsBefore[k]) injected[k] = proxy.counts[k] - countsBefore[k];
  }
  world.runsOnSandbox += 1;
  return {
    seed: plan.seed,
    outcome,
    detail,
    violations,
    faults: plan.faults,
    ms: Date.now() - started,
    injected,
    workerKills: worker.kills - killsBefore,
    temporalRestarts: world.temporalRestarts - restartsBefore,
  };
}
