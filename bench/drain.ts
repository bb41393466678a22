// `npm run bench` (after the start-up benchmark): the drain benchmark. One run of nodeMaintenance on a node holding
// 50 live-migratable VMs with known simulated migration durations, printed as three figures with their targets:
//   - drain wall time / ideal time (the best schedule KubeVirt's parallel limits allow)      target ≤ 1.10
//   - Kubernetes API requests per migrated VM (the worker's own KubeClient)                  target ≤ 10
//   - workflow history events per migrated VM                                                target ≤ 20
// and, below them, where the time, the requests and the events go (per activity, per migration hand-off).
//
// How it measures:
//   - Scenario: node `source` with vm-01 … vm-50 (1 GiB, container disk, masquerade: all live-migratable, cluster
//     evictionStrategy LiveMigrate), 4 empty target nodes, no BMC. KubeVirt CR: parallelMigrationsPerCluster 5,
//     parallelOutboundMigrationsPerNode 2. vm-(i+1) has migrationDuration (1.0 + ((7·i) mod 31) · 0.1) s, i = 0…49:
//     a deterministic mix from 1.0 s to 4.0 s. The simulator adds migrationPhaseStep (50 ms) for each of Scheduled,
//     PreparingTarget and TargetReady before Running.
//   - Workflow input: hold 'none', power 'none' (no power cycle, no hold: the run is the drain), and
//     policy.parallelMigrations 2 = the per-node outbound limit (more would only queue VMIMs in Pending).
//   - Drain wall time: the EvacuateVMs phase from the workflow's own progress timeline (entry into EvacuateVMs to
//     entry into EvictPods, workflow clock). The cluster's view (first VMIM Pending → last VMIM Succeeded, from the
//     VMIMs' phaseTransitionTimestamps) is printed beside it.
//   - Ideal: all VMs leave one node, so the per-node limit 2 binds (the cluster limit 5 never does) and the best
//     schedule is the optimal 2-machine makespan of the per-VM costs. A VM's cost is what the simulated KubeVirt
//     takes once its VMIM exists and a slot is free: migrationDuration + 3 phase steps + the sandbox's own hops
//     (Pending→Scheduling admission, target pod scheduling, status writes), the hops measured as the median over
//     this run's VMIMs. The optimum is computed exactly (subset-sum over milliseconds); the lower bound
//     max(sum/2, max) and the LPT schedule are printed beside it.
//   - Requests: a KubeClient owned by this benchmark is the worker's (the sandbox's controllers use their own);
//     its counter is reset just before the workflow starts and read when it returns. Requests are also attributed
//     to the activity that made them (the activity context at the time of the call).
//   - Events: the length of the workflow's history once it has completed.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { Context } from '@temporalio/activity';
import { Client, Connection } from '@temporalio/client';
import proto from '@temporalio/proto'; // CommonJS: its namespaces are not named ESM exports
import { KubeConfig } from '@kubernetes/client-node';
import { KubeClient, type KubeObject, type Query, type WatchEvent } from '../src/k8s/client.js';
import { ensureTools } from '../src/tools/binaries.js';
import { startTemporalDevServer } from '../src/devserver/temporal.js';
import { startSandbox } from '../src/sandbox/index.js';
import { parseScenario } from '../src/sandbox/scenario.js';
import { kv } from '../src/activities/kubevirt.js';
import { startBenchWorker } from './worker.js';
import { progressQuery, type MaintenanceResult } from '../src/workflows/messages.js';

const VM_COUNT = 50;
const PARALLEL = 2;
const SOURCE = 'source';
const NAMESPACE = 'vms';
const TARGETS = { ratio: 1.1, requestsPerVm: 10, eventsPerVm: 20 };

const durationsMs = Array.from({ length: VM_COUNT }, (_, i) => 1000 + ((7 * i) % 31) * 100);
const vmNames = durationsMs.map((_, i) => `vm-${String(i + 1).padStart(2, '0')}`);
const durationOf = new Map(vmNames.map((name, i) => [name, durationsMs[i] ?? 0]));

const scenario = parseScenario({
  name: 'drain-bench',
  description: `one node with ${VM_COUNT} live-migratable VMs, migration durations 1-4 s`,
  kubevirt: {
    namespace: 'kubevirt',
    evictionStrategy: 'LiveMigrate',
    parallelMigrationsPerCluster: 5,
    parallelOutboundMigrationsPerNode: 2,
  },
  nodes: [
    { name: SOURCE, cpu: '64', memory: '256Gi', bmc: 'none' },
    { name: 'target-{n}', count: 4, cpu: '64', memory: '256Gi', bmc: 'none' },
  ],
  vms: vmNames.map((name) => ({
    name,
    namespace: NAMESPACE,
    node: SOURCE,
    memory: '1Gi',
    knobs: { migrationDuration: `${durationOf.get(name)}ms` },
  })),
});

// ---- schedule arithmetic (two identical machines: the two outbound slots of the source node) ----

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
const lowerBound = (d: number[]) => Math.max(sum(d) / 2, Math.max(...d));

/** Jobs in the given order, each to the slot that frees first (what a lane-per-slot workflow does). */
function listSchedule(d: number[]): number {
  const slots = [0, 0];
  for (const x of d) {
    slots.sort((a, b) => a - b);
    slots[0] = (slots[0] ?? 0) + x;
  }
  return Math.max(...slots);
}
const lpt = (d: number[]) => listSchedule([...d].sort((a, b) => b - a));

/** Exact optimum for two machines: the subset sum closest to half the total (integer milliseconds). */
function optimalTwo(d: number[]): number {
  const total = sum(d);
  const half = Math.floor(total / 2);
  const reachable = new Uint8Array(half + 1);
  reachable[0] = 1;
  for (const x of d) for (let s = half; s >= x; s--) if (reachable[s - x]) reachable[s] = 1;
  let best = half;
  while (!reachable[best]) best--;
  return total - best;
}

// ---- small helpers ----

const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const millis = (ms: number) => `${Math.round(ms)} ms`;
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0
    ? NaN
    : s.length % 2
      ? (s[(s.length - 1) / 2] ?? NaN)
      : ((s[s.length / 2 - 1] ?? 0) + (s[s.length / 2] ?? 0)) / 2;
};
const percentile = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? NaN;
};
const spread = (xs: number[]) => `median ${millis(median(xs))}, p90 ${millis(percentile(xs, 90))}`;
const timeOf = (t: proto.temporal.api.history.v1.IHistoryEvent['eventTime']) =>
  t ? Number(t.seconds ?? 0) * 1000 + (t.nanos ?? 0) / 1e6 : NaN;

/** The worker's KubeClient: the built-in counter, plus each request attributed to the activity making it. */
class AttributingKubeClient extends KubeClient {
  byActivity: Record<string, number> = {};
  private attribute() {
    let name = '(no activity)';
    try {
      name = Context.current().info.activityType;
    } catch {
      // called outside an activity
    }
    this.byActivity[name] = (this.byActivity[name] ?? 0) + 1;
  }
  override request<T>(method: string, path: string, body?: unknown, contentType?: string): Promise<T> {
    this.attribute();
    return super.request<T>(method, path, body, contentType);
  }
  override watch<T extends KubeObject>(
    path: string,
    query: Query,
    onEvent: (event: WatchEvent<T>) => void,
    signal?: AbortSignal,
  ): Promise<void> {
    this.attribute();
    return super.watch(path, query, onEvent, signal);
  }
  reset() {
    this.counter.total = 0;
    this.counter.byVerb = {};
    this.byActivity = {};
  }
}

// ---- set-up ----

const dir = mkdtempSync(join(tmpdir(), 'pitstop-bench-drain-'));
const teardown: (() => Promise<void> | void)[] = [];
const lines: string[] = [];
const out = (line = '') => lines.push(line);
let failed = false;

try {
  const tools = await ensureTools();
  const temporalServer = await startTemporalDevServer({ binary: tools.temporal, logDir: dir });
  teardown.push(() => temporalServer.stop());
  const sandbox = await startSandbox({ dir: join(dir, 'sandbox'), binaries: tools.kube, scenario });
  teardown.push(() => sandbox.stop());
  const cluster = sandbox.cluster.client; // the benchmark's own reads: not counted
  for (;;) {
    const vmis = await cluster.list(kv('virtualmachineinstances', NAMESPACE));
    const ready = vmis.items.filter((v) => v.status?.phase === 'Running' && v.status?.nodeName === SOURCE);
    if (ready.length === VM_COUNT) break;
    await new Promise((r) => setTimeout(r, 100));
  }

  const kc = new KubeConfig();
  kc.loadFromFile(sandbox.kubeconfigPath);
  const kube = new AttributingKubeClient(kc);
  teardown.push(() => kube.close());

  const worker = await startBenchWorker({ address: temporalServer.address, kube, taskQueue: 'bench-drain', dir });
  teardown.push(() => worker.stop());
  const connection = await Connection.connect({ address: temporalServer.address });
  teardown.push(() => connection.close());
  const client = new Client({ connection });

  // ---- the run ----
  kube.reset();
  const startedAt = Date.now();
  const handle = await client.workflow.start('nodeMaintenance', {
    taskQueue: 'bench-drain',
    workflowId: `maintenance-${SOURCE}-${randomUUID()}`,
    args: [
      {
        node: SOURCE,
        hold: 'none',
        power: 'none',
        reason: 'drain benchmark',
        policy: { parallelMigrations: PARALLEL },
      },
    ],
  });
  const result = (await handle.result()) as MaintenanceResult;
  const runMs = Date.now() - startedAt;
  const requests = {
    total: kube.counter.total,
    byVerb: { ...kube.counter.byVerb },
    byActivity: { ...kube.byActivity },
  };
  if (result.outcome !== 'Completed' || result.summary?.migrated !== VM_COUNT) {
    throw new Error(`the maintenance did not migrate all ${VM_COUNT} VMs: ${JSON.stringify(result.summary)}`);
  }

  const progress = await handle.query(progressQuery);
  const phaseAt = (phase: string) => {
    const entry = progress.timeline.find((t) => t.phase === phase);
    if (!entry) throw new Error(`no ${phase} in the progress timeline`);
    return Date.parse(entry.at);
  };
  const evacuateAt = phaseAt('EvacuateVMs');
  const evictAt = phaseAt('EvictPods');
  const wallMs = evictAt - evacuateAt;

  // ---- the cluster's view: one VMIM per VM, with its phase transition times ----
  const step = sandbox.ctx.timing.migrationPhaseStepMs;
  const vmims = (await cluster.list(kv('virtualmachineinstancemigrations', NAMESPACE))).items;
  interface Migration {
    vmi: string;
    name: string;
    durationMs: number;
    at: Record<string, number>;
  }
  const migrations: Migration[] = vmims.map((m) => {
    const at: Record<string, number> = {};
    for (const t of (m.status?.phaseTransitionTimestamps ?? []) as {
      phase: string;
      phaseTransitionTimestamp: string;
    }[])
      at[t.phase] ??= Date.parse(t.phaseTransitionTimestamp);
    const vmi = String(m.spec?.vmiName);
    return { vmi, name: m.metadata.name, durationMs: durationOf.get(vmi) ?? NaN, at };
  });
  const phase = (m: Migration, p: string) => m.at[p] ?? NaN;
  if (migrations.length !== VM_COUNT || migrations.some((m) => !Number.isFinite(phase(m, 'Succeeded')))) {
    throw new Error(`expected ${VM_COUNT} succeeded VMIMs, found ${migrations.length}`);
  }
  const clusterWallMs =
    Math.max(...migrations.map((m) => phase(m, 'Succeeded'))) - Math.min(...migrations.map((m) => phase(m, 'Pending')));

  // Per-VM cost once its VMIM exists and a slot is free: Pending → Succeeded. Beyond the nominal
  // migrationDuration + 3 steps it holds the sandbox's own hops.
  const nominal = (m: Migration) => m.durationMs + 3 * step;
  const hopsMs = migrations.map((m) => phase(m, 'Succeeded') - phase(m, 'Pending') - nominal(m));
  const hop = Math.round(median(hopsMs));
  const costs = durationsMs.map((d) => d + 3 * step + hop);
  const ideal = optimalTwo(costs);
  const nominalCosts = durationsMs.map((d) => d + 3 * step);
  const nominalIdeal = optimalTwo(nominalCosts);
  const ratio = wallMs / ideal;

  // ---- history ----
  const history = await handle.fetchHistory();
  const events = history.events ?? [];
  const { EventType } = proto.temporal.api.enums.v1;
  const eventTypes: Record<string, number> = {};
  for (const e of events) {
    const name = (EventType[e.eventType ?? 0] ?? String(e.eventType)).replace(/^EVENT_TYPE_/, '');
    eventTypes[name] = (eventTypes[name] ?? 0) + 1;
  }
  interface ActivityRun {
    type: string;
    input: Record<string, unknown>;
    scheduledAt: number;
    startedAt?: number;
    completedAt?: number;
    attempt: number;
    events: number;
  }
  const activities = new Map<number, ActivityRun>();
  for (const e of events) {
    const id = Number(e.eventId);
    const scheduled = e.activityTaskScheduledEventAttributes;
    if (scheduled) {
      const payload = scheduled.input?.payloads?.[0]?.data;
      activities.set(id, {
        type: scheduled.activityType?.name ?? '?',
        input: payload ? (JSON.parse(Buffer.from(payload).toString('utf8')) as Record<string, unknown>) : {},
        scheduledAt: timeOf(e.eventTime),
        attempt: 1,
        events: 1,
      });
      continue;
    }
    const started = e.activityTaskStartedEventAttributes;
    const ended =
      e.activityTaskCompletedEventAttributes ??
      e.activityTaskFailedEventAttributes ??
      e.activityTaskTimedOutEventAttributes ??
      e.activityTaskCanceledEventAttributes;
    const run = activities.get(Number((started ?? ended)?.scheduledEventId ?? -1));
    if (!run) continue;
    run.events += 1;
    if (started) {
      run.startedAt = timeOf(e.eventTime);
      run.attempt = started.attempt ?? 1;
    } else {
      run.completedAt = timeOf(e.eventTime);
    }
  }
  const runs = [...activities.values()];
  const byVmi = (type: string, key: (input: Record<string, unknown>) => string | undefined) =>
    new Map(runs.filter((r) => r.type === type).map((r) => [key(r.input), r]));
  const vmiOfVmim = new Map(migrations.map((m) => [m.name, m.vmi]));
  const startOf = byVmi('startMigration', (i) => i.vmi as string);
  const waitOf = byVmi('waitForMigration', (i) => vmiOfVmim.get(i.name as string));

  // ---- slot accounting: which migration followed which on the source node's two outbound slots ----
  const bySchedule = [...migrations].sort((a, b) => phase(a, 'Scheduling') - phase(b, 'Scheduling'));
  const lanes: Migration[][] = [[], []];
  for (const m of bySchedule) {
    const free = lanes
      .map((lane, i) => ({ i, end: lane.length ? phase(lane[lane.length - 1] as Migration, 'Succeeded') : -Infinity }))
      .filter((l) => l.end <= phase(m, 'Scheduling'))
      .sort((a, b) => b.end - a.end)[0];
    lanes[free?.i ?? 0]?.push(m);
  }
  const handoffs = {
    watch: [] as number[],
    workflowTask: [] as number[],
    create: [] as number[],
    admit: [] as number[],
  };
  let idleStart = 0;
  let idleBetween = 0;
  let idleEnd = 0;
  for (const lane of lanes) {
    lane.forEach((m, i) => {
      const prev = lane[i - 1];
      if (!prev) {
        idleStart += phase(m, 'Scheduling') - evacuateAt;
        return;
      }
      idleBetween += phase(m, 'Scheduling') - phase(prev, 'Succeeded');
      const prevDone = waitOf.get(prev.vmi)?.completedAt ?? NaN;
      const nextScheduled = startOf.get(m.vmi)?.scheduledAt ?? NaN;
      handoffs.watch.push(prevDone - phase(prev, 'Succeeded'));
      handoffs.workflowTask.push(nextScheduled - prevDone);
      handoffs.create.push(phase(m, 'Pending') - nextScheduled);
      handoffs.admit.push(phase(m, 'Scheduling') - phase(m, 'Pending'));
    });
    const last = lane[lane.length - 1];
    if (last) idleEnd += evictAt - phase(last, 'Succeeded');
  }
  const held = sum(migrations.map((m) => phase(m, 'Succeeded') - phase(m, 'Scheduling')));
  const laneEnds = lanes.map((lane) => phase(lane[lane.length - 1] as Migration, 'Succeeded'));
  const planOrder = listSchedule(costs); // the plan's order (by name), zero hand-off latency

  // ---- report ----
  const met = (ok: boolean) => (ok ? 'met' : 'MISSED');
  const row = (name: string, value: string) => out(`  ${name.padEnd(68)} ${value}`);
  const requestsPerVm = requests.total / VM_COUNT;
  const eventsPerVm = events.length / VM_COUNT;
  out(`Pitstop drain benchmark (${new Date().toISOString()})`);
  out(
    `  node ${SOURCE}: ${VM_COUNT} VMs; 4 empty target nodes; KubeVirt limits 5 per cluster, 2 outbound per node; ` +
      `hold none, power none`,
  );
  out(
    `  migrationDuration of vm-(i+1) = 1.0 s + ((7i) mod 31) × 0.1 s: ${seconds(Math.min(...durationsMs))}–` +
      `${seconds(Math.max(...durationsMs))}, sum ${seconds(sum(durationsMs))}; phase step ${step} ms × 3`,
  );
  out(`  policy.parallelMigrations ${PARALLEL} (= parallelOutboundMigrationsPerNode); whole run ${seconds(runMs)}`);
  out();
  out('Figures');
  row('drain wall time (progress timeline: EvacuateVMs → EvictPods)', seconds(wallMs));
  row('  cluster view (first VMIM Pending → last VMIM Succeeded)', seconds(clusterWallMs));
  row(`ideal: optimal 2-slot makespan of duration + 3×${step} ms + ${hop} ms`, seconds(ideal));
  row('  lower bound max(sum/2, max) / LPT schedule', `${seconds(lowerBound(costs))} / ${seconds(lpt(costs))}`);
  row('  sandbox hops per VMIM (Pending→Succeeded − duration − 3 steps)', spread(hopsMs));
  row(
    '  ideal without hops (duration + 3 steps only), ratio against it',
    `${seconds(nominalIdeal)}, ${(wallMs / nominalIdeal).toFixed(3)}`,
  );
  row(
    'drain wall time / ideal',
    `${ratio.toFixed(3)}  (target ≤ ${TARGETS.ratio.toFixed(2)}: ${met(ratio <= TARGETS.ratio)})`,
  );
  row(
    'Kubernetes API requests per migrated VM',
    `${requestsPerVm.toFixed(2)}  (${requests.total} / ${VM_COUNT}; target ≤ ${TARGETS.requestsPerVm}: ${met(requestsPerVm <= TARGETS.requestsPerVm)})`,
  );
  row(
    '  by verb',
    Object.entries(requests.byVerb)
      .sort((a, b) => b[1] - a[1])
      .map(([verb, n]) => `${verb} ${n}`)
      .join(', '),
  );
  row(
    'history events per migrated VM',
    `${eventsPerVm.toFixed(2)}  (${events.length} / ${VM_COUNT}; target ≤ ${TARGETS.eventsPerVm}: ${met(eventsPerVm <= TARGETS.eventsPerVm)})`,
  );
  out();
  out('Where the wall time goes (slot-seconds on the 2 outbound slots; 2 × wall = held + idle)');
  row('held by migrations (Scheduling → Succeeded)', `${seconds(held)} (nominal ${seconds(sum(nominalCosts))})`);
  row('idle before each slot’s first migration (from EvacuateVMs)', seconds(idleStart));
  row(`idle between migrations (${VM_COUNT - 2} hand-offs)`, seconds(idleBetween));
  row('idle after each slot’s last migration (to EvictPods)', seconds(idleEnd));
  row(
    '  of which slot imbalance (the two slots’ last Succeeded)',
    seconds(Math.abs((laneEnds[0] ?? 0) - (laneEnds[1] ?? 0))),
  );
  row('plan order (by name) with zero hand-off latency, vs optimum', `${seconds(planOrder)} vs ${seconds(ideal)}`);
  out('  one hand-off, Succeeded of one VMIM → Scheduling of the next on the freed slot:');
  row('    Succeeded → waitForMigration completed (watch, GET VMI, report)', spread(handoffs.watch));
  row('    → startMigration scheduled (workflow task)', spread(handoffs.workflowTask));
  row('    → next VMIM Pending (dispatch, list + create, sandbox admission)', spread(handoffs.create));
  row('    → Scheduling (sandbox slot admission)', spread(handoffs.admit));
  out();
  out('Per activity (requests by the activity context; events = scheduled + started + completed)');
  const types = [...new Set(runs.map((r) => r.type))];
  out(
    `  ${'activity'.padEnd(22)} ${'runs'.padStart(5)} ${'retries'.padStart(8)} ${'events'.padStart(7)} ${'requests'.padStart(9)} ${'req/run'.padStart(8)}  latency (scheduled → completed)`,
  );
  for (const type of types) {
    const mine = runs.filter((r) => r.type === type);
    const req = requests.byActivity[type] ?? 0;
    out(
      `  ${type.padEnd(22)} ${String(mine.length).padStart(5)} ${String(mine.filter((r) => r.attempt > 1).length).padStart(8)} ` +
        `${String(sum(mine.map((r) => r.events))).padStart(7)} ${String(req).padStart(9)} ${(req / mine.length).toFixed(2).padStart(8)}  ` +
        spread(mine.map((r) => (r.completedAt ?? NaN) - r.scheduledAt)),
    );
  }
  const outside = requests.byActivity['(no activity)'];
  if (outside) out(`  requests outside any activity: ${outside}`);
  out();
  out('History events by type');
  for (const [type, n] of Object.entries(eventTypes).sort((a, b) => b[1] - a[1])) row(type, String(n));
} catch (e) {
  failed = true;
  console.error(`drain benchmark failed: ${(e as Error).stack ?? String(e)}`);
} finally {
  for (const stop of teardown.reverse()) {
    try {
      await stop();
    } catch (e) {
      console.error(`drain benchmark teardown: ${(e as Error).message}`);
    }
  }
  rmSync(dir, { recursive: true, force: true });
}

if (failed) process.exit(1);
console.log(`\n${lines.join('\n')}`);
