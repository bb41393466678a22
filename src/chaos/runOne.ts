// One chaos run: its scenario set up, the maintenance started with the disruptions around it, the wait for its end
// (bounded), then the judgement: the invariants read from the cluster once it settles, and what the proxy injected.
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import type { nodeMaintenance } from '../workflows/index.js';
import { workflowIdFor } from '../domain/workflowNames.js';
import { startDisruptions, startOperator } from './disruptions.js';
import { repairFollowUp } from '../domain/nodeFailure.js';
import { NO_FAULTS, type FaultKind, type FaultRates } from './faultProxy.js';
import type { ChaosPlan } from './generate.js';
import { invariantViolations, MigrationMonitor, recordBefore, vmsOnTwoNodesNow } from './invariants.js';
import type { Outcome, RunReport } from './report.js';
import { cordonedBy } from './cordonedBy.js';
import { persist, sleep } from './retry.js';
import { inputOf, setUpScenario } from './scenario.js';
import type { StormAnswer } from './storm.js';
import type { World } from './world.js';
import type { MaintenanceInput } from '../domain/request.js';
import { FAILURE_TYPES, WORKFLOW_TYPES } from '../domain/workflowNames.js';

/**
 * The world broke while a run's scenario was being set up (its sandbox's API server stopped answering): no
 * maintenance was started, so nothing of Pitstop's is judged; the runner tries the seed once more on a new sandbox.
 */
export class SetUpFailed extends Error {
  constructor(seed: number, cause: unknown) {
    super(`seed ${seed}: the scenario could not be set up: ${String((cause as Error).message ?? cause)}`, { cause });
  }
}

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
      if (cause.type === FAILURE_TYPES.preflightRefused) return { outcome: 'Refused', detail: cause.message };
      if (cause.type === FAILURE_TYPES.aborted || cause.type === FAILURE_TYPES.maintenanceFailed)
        return { outcome: 'RolledBack', detail: cause.message };
      if (cause.type === FAILURE_TYPES.rollbackIncomplete)
        return { outcome: 'RollbackIncomplete', detail: cause.message };
      if (cause.type === FAILURE_TYPES.nodeFailed) return { outcome: 'NodeFailed', detail: cause.message };
      if (cause.type === FAILURE_TYPES.leftFenced) return { outcome: 'LeftFenced', detail: cause.message };
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

/** Starts a nodeMaintenance as a user would, retried through a dev-server restart until the run's deadline. */
const startMaintenance = (world: World, workflowId: string, input: MaintenanceInput, runDeadline: number) =>
  persist(
    () =>
      world.client.workflow.start<typeof nodeMaintenance>(WORKFLOW_TYPES.nodeMaintenance, {
        taskQueue: world.taskQueue,
        workflowId,
        args: [input],
      }),
    runDeadline,
  );

/** How a run ended, and when the runner saw it end. */
type End = { outcome: Outcome; detail: string; endedAt: number };

/** Waits for the run's end; `handle.result()` long-polls while the workflow runs, so the deadline bounds it too. */
async function awaitEnd(handle: { result(): Promise<unknown> }, runDeadline: number, timeoutMs: number): Promise<End> {
  return { ...(await endOf(handle, runDeadline, timeoutMs)), endedAt: Date.now() };
}

async function endOf(
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
  const [report] = await runGroup(world, [plan], options);
  return report!;
}

/** What one run of a group keeps between its start and its judgement. */
interface Started {
  plan: ChaosPlan;
  before: Awaited<ReturnType<typeof recordBefore>>;
  monitor: MigrationMonitor;
  workflowId: string;
}

/**
 * Several maintenances at once on one cluster (`--concurrent N`): each plan keeps its own nodes, namespace, VMs,
 * disruptions and operator; they share the sandbox, the worker, the dev server and the fault proxy (its rates are
 * the highest of the group's, and its injected counts are the group's, reported on each run). Each run is judged by
 * the invariants once every run of the group ended, plus "no VM on two nodes" across the whole cluster.
 */
export async function runGroup(world: World, plans: ChaosPlan[], options: RunOptions): Promise<RunReport[]> {
  const log = options.log ?? (() => {});
  const started = Date.now();
  const sandbox = world.sandbox!;
  const direct = world.direct!;
  const proxy = world.proxy!;
  const worker = world.worker!;
  const killsBefore = worker.kills;
  const restartsBefore = world.temporalRestarts;
  const countsBefore = { ...proxy.counts };

  const runs: Started[] = [];
  for (const plan of plans) {
    await setUpScenario(sandbox, direct, plan).catch((e: unknown) => {
      throw new SetUpFailed(plan.seed, e);
    });
    const before = await recordBefore(direct, plan.namespace);
    const monitor = new MigrationMonitor(direct, plan.namespace, plan.input.parallelMigrations).start();
    runs.push({ plan, before, monitor, workflowId: workflowIdFor(plan.node) });
  }
  proxy.setRates(highest(plans.map((p) => p.rates)));

  const timeoutMs = options.runTimeoutMs ?? 300_000;
  const ends = await Promise.all(
    runs.map(async ({ plan, workflowId }) => {
      const runDeadline = Date.now() + timeoutMs;
      const handle = await startMaintenance(world, workflowId, inputOf(plan, sandbox), runDeadline);
      const disruptions = startDisruptions(world, plan, handle, runDeadline, log);
      const first = await awaitEnd(handle, runDeadline, timeoutMs);
      await disruptions.stop();
      const { end, handle: last, deleted } = await followNamedRepair(world, plan, first, runDeadline, timeoutMs);
      if (end.outcome === 'Unfinished') {
        await persist(() => last.terminate('chaos: did not end in time'), Date.now() + 60_000).catch(() => undefined);
      }
      const { crashed, storm } = disruptions;
      return {
        ...end,
        deleted: [...disruptions.deleted, ...deleted],
        crashed,
        storm,
        stormRuns: await endStormRuns(world, storm),
      };
    }),
  );
  proxy.setRates(NO_FAULTS);

  const injected: RunReport['injected'] = {};
  for (const k of Object.keys(countsBefore) as (FaultKind | 'passed')[]) {
    if (k !== 'passed' && proxy.counts[k] > countsBefore[k]) injected[k] = proxy.counts[k] - countsBefore[k];
  }
  const reports: RunReport[] = [];
  for (const [i, { plan, before, monitor, workflowId }] of runs.entries()) {
    const { outcome, detail, endedAt, deleted, crashed, storm, stormRuns } = ends[i]!;
    const violations: string[] = [];
    if (outcome === 'Unfinished' || outcome === 'Failed') violations.push(`run ended ${outcome}: ${detail}`);
    if (storm?.started.some((s) => s.node === plan.node))
      violations.push(`the alert storm started a second maintenance of ${plan.node}`);
    // A standalone VMI on a crashed node is lost once the node is fenced: nothing restarts it (docs/repair.md).
    const lost = crashed ? standaloneVmis(plan) : [];
    const expectedOff = [...plan.stayOff, ...deleted, ...lost];
    // Each node this group's runs maintained: the plan's own, then whatever the storm started.
    const judged = [{ node: plan.node, workflowId, outcome, detail, endedAt }, ...stormRuns];
    for (const r of stormRuns) {
      if (r.outcome === 'Unfinished' || r.outcome === 'Failed')
        violations.push(`storm run ${r.workflowId} ended ${r.outcome}: ${r.detail}`);
    }
    // The cluster settles (an aborted migration's clean-up, a VM starting again): allow it a little time.
    let last: string[];
    const settleDeadline = Date.now() + 30_000;
    for (;;) {
      last = [];
      for (const j of judged) {
        last.push(
          ...(await invariantViolations(direct, before, j.node, expectedOff, {
            namespace: plan.namespace,
            workflowId: j.workflowId,
            rollbackIncomplete: leftForOperator(j.outcome, j.detail),
            touched: j.outcome !== 'Refused' && (await cordonedBy(direct, j.node, j.workflowId)),
            endedAt: j.endedAt,
            named: detail,
          })),
        );
      }
      if (last.length === 0 || Date.now() > settleDeadline) break;
      await sleep(500);
    }
    violations.push(...new Set(last), ...(await monitor.stop()));
    if (runs.length > 1 && i === 0) {
      // The group shares one cluster: no VM of any run on two nodes, whichever namespace.
      violations.push(...(await vmsOnTwoNodesNow(direct)).map((v) => `cluster-wide: ${v}`));
    }
    world.runsOnSandbox += 1;
    reports.push({
      seed: plan.seed,
      outcome,
      detail,
      violations,
      faults: runs.length > 1 ? [...plan.faults, `concurrent with seeds ${others(plans, plan)}`] : plan.faults,
      ms: Date.now() - started,
      injected,
      workerKills: worker.kills - killsBefore,
      temporalRestarts: world.temporalRestarts - restartsBefore,
    });
  }
  return reports;
}

/**
 * A run that ended NodeFailed names the repair that finishes its node; the operator starts it, as the note says,
 * answers it as the plan says, and the run is judged by how that repair ended.
 */
async function followNamedRepair(world: World, plan: ChaosPlan, first: End, runDeadline: number, timeoutMs: number) {
  const workflowId = workflowIdFor(plan.node);
  const previous = world.client.workflow.getHandle<typeof nodeMaintenance>(workflowId);
  if (first.outcome !== 'NodeFailed' || !first.detail.includes(repairFollowUp(plan.node)))
    return { end: first, handle: previous, deleted: [] };
  const handle = await startMaintenance(
    world,
    workflowId,
    { ...inputOf(plan, world.sandbox!), mode: 'repair' },
    runDeadline,
  );
  const operator = startOperator(plan, handle);
  const end = await awaitEnd(handle, runDeadline, timeoutMs);
  await operator.stop();
  const detail = `NodeFailed (${first.detail}), then the repair its note names: ${end.detail}`;
  return { end: { ...end, detail }, handle, deleted: operator.deleted };
}

/** What a run's end leaves for the operator, as invariantViolations reads it (see its rollbackIncomplete). */
function leftForOperator(outcome: Outcome, detail: string): boolean | string | undefined {
  if (outcome === 'RollbackIncomplete' || outcome === 'NodeFailed') return detail;
  return outcome === 'LeftFenced' ? true : undefined;
}

const standaloneVmis = (plan: ChaosPlan) =>
  (plan.scenario.vms ?? []).filter((vm) => vm.standalone).map((vm) => `${plan.namespace}/${vm.name}`);

/**
 * Ends what an alert storm started on the run's healthy spares (a cancel: it may have ended by itself), bounded,
 * and says how each ended: their nodes are judged like the run's own.
 */
async function endStormRuns(world: World, storm: StormAnswer | undefined) {
  return Promise.all(
    (storm?.started ?? []).map(async ({ node, workflowId }) => {
      const handle = world.client.workflow.getHandle(workflowId);
      const deadline = Date.now() + 120_000;
      await persist(() => handle.cancel(), deadline).catch(() => undefined); // it may have ended already
      return { node, workflowId, ...(await awaitEnd(handle, deadline, 120_000)) };
    }),
  );
}

const others = (plans: ChaosPlan[], plan: ChaosPlan) =>
  plans
    .filter((p) => p !== plan)
    .map((p) => p.seed)
    .join(', ');

/** The highest of each fault rate: the proxy is shared by the group. */
function highest(all: FaultRates[]): FaultRates {
  const out = { ...all[0]! };
  for (const r of all.slice(1))
    for (const k of Object.keys(out) as (keyof FaultRates)[]) out[k] = Math.max(out[k], r[k]);
  return out;
}
