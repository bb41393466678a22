// `npm run bench -- scale [--nodes 1000] [--vms 20] [--max-unavailable 20]`: a rolling maintenance of many nodes
// on the sandbox with fast simulated migrations (200 ms + 3 × 10 ms steps), printing:
//   - wall time of the roll (and of building the cluster), VMs migrated per second;
//   - worker peak memory: the RSS of a worker in its own process (sampled every 500 ms, and getrusage maxRSS),
//     so the sandbox's caches (in this process) are not counted; its Kubernetes API requests;
//   - largest workflow history (events and bytes, from the server's own accounting), the rolling workflow's runs
//     (continue-as-new count), the most node maintenances running at once (= pending children);
//   - Temporal's limits beside them: the dev server's defaults (history 10,240 events / 10 MB warn,
//     51,200 / 50 MB error; 2,000 pending activities / child workflows per workflow).
// The roll is `rollingMaintenance` (selector pool=scale, maxUnavailable, template: power none, hold none,
// parallelMigrations 2) when the worker's bundle registers it; otherwise the benchmark itself starts the
// nodeMaintenance workflows, at most maxUnavailable at once, and says so.
// Every node holds `--vms` VMs (1 GiB, live-migratable); KubeVirt's cluster limit is 2 × maxUnavailable so the
// per-node limit (2) binds. At the end the cluster is checked: every VM running, no node left cordoned.
import { fork } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection, type WorkflowExecutionInfo } from '@temporalio/client';
import { parseScenario } from '../src/sandbox/scenario.js';
import { writeWorkflowBundle } from '../src/worker/bundle.js';
import type { MaintenanceResult } from '../src/domain/progress.js';
import type { RollingResult } from '../src/domain/rollingProgress.js';
import { argValue, finishBenchmark, startBenchServers, median, peakRssMiB, seconds, spread, timeOf } from './lib.js';
import { WORKFLOW_TYPES } from '../src/domain/workflowNames.js';
import type { nodeMaintenance, rollingMaintenance } from '../src/workflows/index.js';
import { rollingProgressQuery } from '../src/workflows/messages.js';

const args = process.argv.slice(2);
const intArg = (name: string, fallback: number, max: number) => {
  const raw = argValue(args, name);
  const n = raw === undefined ? fallback : Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > max) {
    console.error(`${name}: a whole number from 1 to ${max}`);
    process.exit(2);
  }
  return n;
};
const NODES = intArg('--nodes', 1000, 5000);
const VMS = intArg('--vms', 20, 100);
const MAX_UNAVAILABLE = intArg('--max-unavailable', 20, 100);
const TASK_QUEUE = 'bench-scale';
const NAMESPACE = 'vms';
const LIMITS = {
  historyEventsWarn: 10_240,
  historyBytesWarn: 10 * 2 ** 20,
  pendingChildren: 2000,
  pendingActivities: 2000,
};
const TARGET_WORKER_MIB = 1024;

const workflowsSource = readFileSync(new URL('../src/workflows/index.ts', import.meta.url), 'utf8');
const ROLLING = /\brollingMaintenance\b/.test(workflowsSource);

const scenario = parseScenario({
  name: 'scale-bench',
  description: `${NODES} nodes × ${VMS} VMs, fast migrations`,
  timing: { migrationDuration: '200ms', migrationPhaseStep: '10ms' },
  kubevirt: {
    namespace: 'kubevirt',
    evictionStrategy: 'LiveMigrate',
    parallelMigrationsPerCluster: 2 * MAX_UNAVAILABLE,
    parallelOutboundMigrationsPerNode: 2,
  },
  nodes: [
    { name: 'node-{n}', count: NODES, cpu: '512', memory: '512Gi', pods: 250, bmc: 'none', labels: { pool: 'scale' } },
  ],
  vms: Array.from({ length: NODES }, (_, i) => ({
    name: `n${i + 1}-vm-{n}`,
    count: VMS,
    namespace: NAMESPACE,
    node: `node-${i + 1}`,
    memory: '1Gi',
  })),
});

const lines: string[] = [];
const out = (line = '') => lines.push(line);
const row = (name: string, value: string) => out(`  ${name.padEnd(72)} ${value}`);
const mib = (n: number) => `${n.toFixed(0)} MiB`;
const dir = mkdtempSync(join(tmpdir(), 'pitstop-bench-scale-'));
const teardown: (() => Promise<void> | void)[] = [];
let failed = false;

try {
  const { temporalServer, sandbox, setupAt } = await startBenchServers(dir, scenario, teardown);
  const scenarioMs = Date.now() - setupAt;
  const total = NODES * VMS;
  const running = () =>
    sandbox.ctx.informers.vmis.list().filter((v) => v.status?.phase === 'Running' && v.status?.nodeName).length;
  for (let last = -1, lastChange = Date.now(); ;) {
    const n = running();
    if (n === total) break;
    if (n !== last) [last, lastChange] = [n, Date.now()];
    if (Date.now() - lastChange > 300_000)
      throw new Error(`only ${n} of ${total} VMIs running after 5 min without progress`);
    await new Promise((r) => setTimeout(r, 1000));
  }
  const setupMs = Date.now() - setupAt;
  console.error(`scale: ${total} VMIs running on ${NODES} nodes after ${seconds(setupMs)}`);

  const bundle = await writeWorkflowBundle(join(dir, 'bundle.js'));
  const child = fork(
    new URL('./worker-process.ts', import.meta.url).pathname,
    [temporalServer.address, sandbox.kubeconfigPath, TASK_QUEUE, bundle],
    { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] },
  );
  const messages: unknown[] = [];
  const waiters: ((m: unknown) => void)[] = [];
  child.on('message', (m) => (waiters.shift() ?? ((x: unknown) => messages.push(x)))(m));
  const nextMessage = () =>
    new Promise<unknown>((resolve, reject) => {
      const queued = messages.shift();
      if (queued !== undefined) return resolve(queued);
      waiters.push(resolve);
      child.once('exit', (code) => reject(new Error(`worker process exited ${code}`)));
    });
  if ((await nextMessage()) !== 'ready') throw new Error('the worker process did not start');
  let stats: { peakRssMiB: number; maxRssMiB: number; heapPeakMiB: number; requests: { total: number } } | undefined;
  const stopWorker = async () => {
    if (stats || child.exitCode !== null) return;
    child.send('stop');
    stats = (await nextMessage()) as typeof stats;
  };
  teardown.push(async () => {
    await stopWorker();
    if (child.exitCode === null) child.kill();
  });

  const connection = await Connection.connect({ address: temporalServer.address });
  teardown.push(() => connection.close());
  const client = new Client({ connection });
  const template = {
    power: 'none',
    hold: 'none',
    reason: 'scale benchmark',
    policy: { parallelMigrations: 2 },
  } as const;
  const nodeNames = Array.from({ length: NODES }, (_, i) => `node-${i + 1}`);

  const startedAt = Date.now();
  let failures = 0;
  if (ROLLING) {
    const handle = await client.workflow.start<typeof rollingMaintenance>(WORKFLOW_TYPES.rollingMaintenance, {
      taskQueue: TASK_QUEUE,
      workflowId: 'rolling-scale',
      args: [{ name: 'scale', selector: 'pool=scale', maxUnavailable: MAX_UNAVAILABLE, template }],
    });
    const ticker = setInterval(() => {
      void handle
        .query(rollingProgressQuery)
        .then((p) => {
          const done = p.nodes.filter((n) => n.state === 'completed').length;
          const running = p.nodes.filter((n) => n.state === 'running').length;
          console.error(
            `scale: ${seconds(Date.now() - startedAt)}: ${done} of ${NODES} nodes done, ${running} running`,
          );
        })
        .catch(() => undefined);
    }, 60_000);
    const result = (await handle.result().finally(() => clearInterval(ticker))) as RollingResult;
    failures = result.failed.length + result.refused.length + result.notStarted.length;
  } else {
    let next = 0;
    const lane = async () => {
      for (let i = next++; i < nodeNames.length; i = next++) {
        const node = nodeNames[i] as string;
        const result = (await client.workflow.execute<typeof nodeMaintenance>(WORKFLOW_TYPES.nodeMaintenance, {
          taskQueue: TASK_QUEUE,
          workflowId: `maintenance-${node}`,
          args: [{ node, ...template }],
        })) as MaintenanceResult;
        if (result.outcome !== 'Completed') failures += 1;
      }
    };
    await Promise.all(Array.from({ length: MAX_UNAVAILABLE }, lane));
  }
  const runMs = Date.now() - startedAt;
  await stopWorker();

  // ---- what the server says about every workflow of the roll ----
  const executions: WorkflowExecutionInfo[] = [];
  for await (const e of client.workflow.list({ query: `TaskQueue = '${TASK_QUEUE}'` })) executions.push(e);
  const nodeRuns = executions.filter((e) => e.type === 'nodeMaintenance');
  const rollRuns = executions.filter((e) => e.type === 'rollingMaintenance');
  const largest = (list: WorkflowExecutionInfo[], by: (e: WorkflowExecutionInfo) => number) =>
    list.reduce<WorkflowExecutionInfo | undefined>((a, e) => (!a || by(e) > by(a) ? e : a), undefined);
  const bytes = (e?: WorkflowExecutionInfo) => e?.historySize ?? 0;
  const biggestNode = largest(nodeRuns, (e) => e.historyLength);
  const biggestNodeBytes = largest(nodeRuns, bytes);
  const biggestRoll = largest(rollRuns, (e) => e.historyLength);
  const biggestRollBytes = largest(rollRuns, bytes);
  const edges = nodeRuns.flatMap((e) => [
    { t: e.startTime.getTime(), d: 1 },
    { t: e.closeTime?.getTime() ?? Infinity, d: -1 },
  ]);
  edges.sort((a, b) => a.t - b.t || a.d - b.d);
  let concurrent = 0;
  let maxConcurrent = 0;
  for (const { d } of edges) maxConcurrent = Math.max(maxConcurrent, (concurrent += d));

  // ---- the cluster afterwards ----
  const vmis = sandbox.ctx.informers.vmis.list();
  const notRunning = vmis.filter((v) => v.status?.phase !== 'Running').length;
  const cordoned = sandbox.ctx.informers.nodes.list().filter((n) => n.spec?.unschedulable).length;
  const migrations = sandbox.ctx.informers.vmims.list();
  const succeeded = migrations.filter((m) => m.status?.phase === 'Succeeded').length;
  const completed = nodeRuns.filter((e) => e.status.name === 'COMPLETED').length;

  out(`Pitstop scale benchmark (${new Date().toISOString()})`);
  out(
    `  ${NODES} nodes × ${VMS} VMs = ${total} VMs; migrations 200 ms + 3 × 10 ms; maxUnavailable ${MAX_UNAVAILABLE}; ` +
      `KubeVirt limits ${2 * MAX_UNAVAILABLE} per cluster, 2 per node`,
  );
  out(
    `  driver: ${ROLLING ? 'rollingMaintenance (selector pool=scale)' : `the benchmark starts nodeMaintenance per node, ≤ ${MAX_UNAVAILABLE} at once (rollingMaintenance not in this build)`}`,
  );
  out();
  row('cluster built (API objects created; until every VMI runs)', `${seconds(scenarioMs)}; ${seconds(setupMs)}`);
  row('roll wall time', `${seconds(runMs)} (${(succeeded / (runMs / 1000)).toFixed(1)} migrations per second)`);
  row(
    'node maintenances completed / failed',
    `${completed} / ${NODES - completed} (driver counted ${failures} failures)`,
  );
  row(
    'node maintenance duration, median',
    seconds(median(nodeRuns.map((e) => (e.closeTime?.getTime() ?? NaN) - e.startTime.getTime()))),
  );
  row(
    'VMIMs Succeeded (a VM moved onto a node not yet done moves again); VMIs not Running; nodes left cordoned',
    `${succeeded} (${(succeeded / total).toFixed(2)} per VM); ${notRunning}; ${cordoned}`,
  );
  row(
    'worker peak RSS (sampled; getrusage maxRSS)',
    `${mib(stats?.peakRssMiB ?? NaN)}; ${mib(stats?.maxRssMiB ?? NaN)}  (target ≤ ${TARGET_WORKER_MIB} MiB: ${(stats?.maxRssMiB ?? Infinity) <= TARGET_WORKER_MIB ? 'met' : 'MISSED'})`,
  );
  row('worker peak JS heap used', mib(stats?.heapPeakMiB ?? NaN));
  row(
    'worker Kubernetes API requests (per VM; per migration)',
    `${stats?.requests.total} (${((stats?.requests.total ?? 0) / total).toFixed(2)}; ${((stats?.requests.total ?? 0) / Math.max(1, succeeded)).toFixed(2)})`,
  );
  row('benchmark process (sandbox controllers + caches) peak RSS', mib(peakRssMiB()));
  row(
    'largest nodeMaintenance history: events; bytes',
    `${biggestNode?.historyLength} (${biggestNode?.workflowId}); ${(bytes(biggestNodeBytes) / 1024).toFixed(1)} KiB`,
  );
  if (ROLLING) {
    row(
      'largest rollingMaintenance run: events; bytes',
      `${biggestRoll?.historyLength}; ${(bytes(biggestRollBytes) / 1024).toFixed(1)} KiB`,
    );
    row('rollingMaintenance runs (continue-as-new count + 1)', String(rollRuns.length));
  }
  row('most node maintenances at once (pending child workflows)', String(maxConcurrent));
  if (ROLLING) {
    // Pacing of the roll, from all its runs' histories: the capacity look before nodes start, child starts.
    const runs = [...rollRuns].sort((a, b) => a.startTime.getTime() - b.startTime.getTime());
    const events = [];
    for (const run of runs) {
      events.push(...((await client.workflow.getHandle(run.workflowId, run.runId).fetchHistory()).events ?? []));
    }
    const scheduled = new Map<string, { type: string; at: number }>();
    const checks: number[] = [];
    const childStarts: number[] = [];
    let runIndex = -1;
    for (const e of events) {
      // Event ids start again at 1 in each run.
      if (Number(e.eventId) === 1) runIndex += 1;
      const key = (id: unknown) => `${runIndex}/${Number(id)}`;
      const a = e.activityTaskScheduledEventAttributes;
      if (a) scheduled.set(key(e.eventId), { type: a.activityType?.name ?? '', at: timeOf(e.eventTime) });
      const done = e.activityTaskCompletedEventAttributes;
      const run = done ? scheduled.get(key(done.scheduledEventId)) : undefined;
      // checkFleetNodes looks at several next nodes at once; checkFleetNode (older runs) at one.
      if (run?.type === 'checkFleetNode' || run?.type === 'checkFleetNodes') checks.push(timeOf(e.eventTime) - run.at);
      if (e.startChildWorkflowExecutionInitiatedEventAttributes) childStarts.push(timeOf(e.eventTime));
    }
    const gaps = childStarts.slice(1).map((t, i) => t - (childStarts[i] ?? t));
    row(
      'roll pacing (all runs): capacity looks (checkFleetNode[s]) / children started; look scheduled → completed',
      `${checks.length} / ${childStarts.length}; ${spread(checks)}`,
    );
    row('  interval between child starts', spread(gaps));
  }
  const largestEvents = Math.max(biggestNode?.historyLength ?? 0, biggestRoll?.historyLength ?? 0);
  const largestBytes = Math.max(bytes(biggestNodeBytes), bytes(biggestRollBytes));
  row(
    'Temporal limits approached?',
    [
      `history ${largestEvents} / ${LIMITS.historyEventsWarn} events warn (${((100 * largestEvents) / LIMITS.historyEventsWarn).toFixed(1)}%)`,
      `${(largestBytes / 2 ** 20).toFixed(2)} / 10 MiB warn (${((100 * largestBytes) / LIMITS.historyBytesWarn).toFixed(1)}%)`,
      `children ${maxConcurrent} / ${LIMITS.pendingChildren}`,
    ].join('; '),
  );
  if (completed !== NODES || notRunning > 0 || cordoned > 0) failed = true;
} catch (e) {
  failed = true;
  console.error(`scale benchmark failed: ${(e as Error).stack ?? String(e)}`);
}
await finishBenchmark('scale', { teardown, dir, lines, failed });
