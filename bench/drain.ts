// `npm run bench -- drain [--sizes 10,50,200] [--no-kubectl]`: drain efficiency, reaction latency and cost.
//
// One sandbox holds, for each size N, two identical source nodes: `pitstop-N` and `kubectl-N`, each running
// N live-migratable VMs (1 GiB, masquerade, container disk; cluster evictionStrategy LiveMigrate) with known
// simulated migration durations: VM i (i = 0 … N−1) takes 1.0 s + ((7i) mod 31) × 0.1 s (1.0 – 4.0 s), plus
// 3 × migrationPhaseStep (50 ms). KubeVirt's limits: 5 migrations per cluster, 2 outbound per node. Four empty
// target nodes take the VMs; every source node not under test is cordoned, so no VM lands on one.
//
// For each size, in the same run and the same cluster:
//   1. Pitstop: nodeMaintenance of pitstop-N (hold none, power none, policy.parallelMigrations 2 = the per-node
//      limit). Drain wall time = the EvacuateVMs phase of the workflow's progress timeline (EvacuateVMs →
//      EvictPods). Ideal = the optimal 2-slot makespan of the per-VM costs (duration + 3 steps + the sandbox's own
//      hops, measured as the median Pending → Succeeded overhead of this run's VMIMs), computed exactly.
//   2. kubectl drain (the kubectl the project builds) of kubectl-N: `kubectl drain --ignore-daemonsets
//      --delete-emptydir-data --pod-selector kubevirt.io=virt-launcher`. Every virt-launcher eviction is answered
//      429 by KubeVirt's eviction webhook, which marks the VMI for evacuation; KubeVirt then migrates it itself
//      (`kubevirt-evacuation-*` VMIMs) and kubectl retries each eviction every 5 s until the pod is gone.
//      Compared end to end: kubectl's process wall time against Pitstop's workflow start → end of EvictPods
//      (both include their cordon and their wait for the node's pods).
//   3. Reaction latency (Pitstop): time from a VMIM's Succeeded timestamp (written by the simulated KubeVirt) to
//      Pitstop's next step: the next VMIM create request sent by the worker (the k-th migration to finish frees
//      the slot the (k+2)-th create takes), and for the last migration the entry into EvictPods.
//   4. Cost: Kubernetes API requests of the worker's own KubeClient (the sandbox's controllers use their own), and
//      workflow history events, per migrated VM.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { spawn } from 'node:child_process';
import { Client, Connection } from '@temporalio/client';
import proto from '@temporalio/proto'; // CommonJS: its namespaces are not named ESM exports
import { KubeConfig } from '@kubernetes/client-node';
import { paths, type KubeClient, kv } from '../src/k8s/client.js';
import { parseScenario } from '../src/sandbox/scenario.js';
import { startBenchWorker } from './worker.js';
import type { MaintenanceResult } from '../src/domain/progress.js';
import { progressQuery } from '../src/workflows/messages.js';
import {
  AttributingKubeClient,
  argValue,
  finishBenchmark,
  startBenchServers,
  listSchedule,
  lowerBound,
  lpt,
  median,
  millis,
  optimalTwo,
  percentile,
  seconds,
  spread,
  sum,
  timeOf,
} from './lib.js';
import { WORKFLOW_TYPES } from '../src/domain/workflowNames.js';
import type { nodeMaintenance } from '../src/workflows/index.js';

const args = process.argv.slice(2);
const SIZES = (argValue(args, '--sizes') ?? '10,50,200').split(',').map((s) => Number(s));
if (SIZES.some((s) => !Number.isInteger(s) || s < 3 || s > 500)) {
  console.error('--sizes: a comma-separated list of whole numbers between 3 and 500');
  process.exit(2);
}
const KUBECTL = !args.includes('--no-kubectl');
const PARALLEL = 2;
const NAMESPACE = 'vms';
const TARGETS = { ratio: 1.1, kubectlOverOurs: 1.5, reactionP99Ms: 1000, requestsPerVm: 10, eventsPerVm: 20 };

const durationOfIndex = (i: number) => 1000 + ((7 * i) % 31) * 100;
const vmName = (kind: 'p' | 'k', size: number, i: number) => `${kind}${size}-vm-${String(i + 1).padStart(3, '0')}`;
const totalVms = 2 * sum(SIZES);

const scenario = parseScenario({
  name: 'drain-bench',
  description: `sizes ${SIZES.join(', ')}: one node for Pitstop and one for kubectl drain per size`,
  kubevirt: {
    namespace: 'kubevirt',
    evictionStrategy: 'LiveMigrate',
    parallelMigrationsPerCluster: 5,
    parallelOutboundMigrationsPerNode: 2,
  },
  nodes: [
    ...SIZES.flatMap((s) => [
      { name: `pitstop-${s}`, cpu: '1024', memory: '2048Gi', pods: 1000, bmc: 'none' as const },
      { name: `kubectl-${s}`, cpu: '1024', memory: '2048Gi', pods: 1000, bmc: 'none' as const },
    ]),
    { name: 'target-{n}', count: 4, cpu: '1024', memory: '2048Gi', pods: 1000, bmc: 'none' as const },
  ],
  vms: SIZES.flatMap((s) =>
    (['p', 'k'] as const).flatMap((kind) =>
      Array.from({ length: s }, (_, i) => ({
        name: vmName(kind, s, i),
        namespace: NAMESPACE,
        node: `${kind === 'p' ? 'pitstop' : 'kubectl'}-${s}`,
        memory: '1Gi',
        knobs: { migrationDuration: `${durationOfIndex(i)}ms` },
      })),
    ),
  ),
});

interface Migration {
  vmi: string;
  name: string;
  durationMs: number;
  at: Record<string, number>;
}
const phase = (m: Migration, p: string) => m.at[p] ?? NaN;

const { EventType } = proto.temporal.api.enums.v1;
const lines: string[] = [];
const out = (line = '') => lines.push(line);
const row = (name: string, value: string) => out(`  ${name.padEnd(70)} ${value}`);
const met = (ok: boolean) => (ok ? 'met' : 'MISSED');

async function migrationsOf(cluster: KubeClient, prefix: string, durationOf: Map<string, number>) {
  const vmims = (await cluster.list(kv('virtualmachineinstancemigrations', NAMESPACE))).items;
  return vmims
    .filter((m) => String(m.spec?.vmiName).startsWith(prefix))
    .map((m): Migration => {
      const at: Record<string, number> = {};
      for (const t of (m.status?.phaseTransitionTimestamps ?? []) as {
        phase: string;
        phaseTransitionTimestamp: string;
      }[])
        at[t.phase] ??= Date.parse(t.phaseTransitionTimestamp);
      const vmi = String(m.spec?.vmiName);
      return { vmi, name: m.metadata.name, durationMs: durationOf.get(vmi) ?? NaN, at };
    });
}

/** Ideal makespan for these migrations' VMs: per-VM cost = duration + 3 steps + the median sandbox hop. */
function idealOf(migrations: Migration[], durations: number[], step: number) {
  const hops = migrations.map((m) => phase(m, 'Succeeded') - phase(m, 'Pending') - (m.durationMs + 3 * step));
  const hop = Math.round(median(hops));
  const costs = durations.map((d) => d + 3 * step + hop);
  return { hop, hops, costs, ideal: optimalTwo(costs) };
}

function runKubectl(kubectl: string, kubeconfig: string, node: string): Promise<{ ms: number; output: string }> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const child = spawn(
      kubectl,
      [
        '--kubeconfig',
        kubeconfig,
        'drain',
        node,
        '--ignore-daemonsets',
        '--delete-emptydir-data',
        '--pod-selector=kubevirt.io=virt-launcher',
        '--timeout=30m',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      const ms = Date.now() - started;
      if (code === 0) resolve({ ms, output });
      else reject(new Error(`kubectl drain ${node} exited ${code}: ${output.slice(-2000)}`));
    });
  });
}

interface SizeResult {
  size: number;
  ratio: number;
  kubectlOverOurs?: number;
  reactions: number[];
  requestsPerVm: number;
  eventsPerVm: number;
}

const dir = mkdtempSync(join(tmpdir(), 'pitstop-bench-drain-'));
const teardown: (() => Promise<void> | void)[] = [];
const results: SizeResult[] = [];
let failed = false;

try {
  const { tools, temporalServer, sandbox, setupAt } = await startBenchServers(dir, scenario, teardown);
  const cluster = sandbox.cluster.client; // the benchmark's own reads: not counted
  for (;;) {
    const vmis = await cluster.list(kv('virtualmachineinstances', NAMESPACE));
    const ready = vmis.items.filter((v) => v.status?.phase === 'Running' && v.status?.nodeName);
    if (ready.length === totalVms) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  const setupMs = Date.now() - setupAt;
  const sources = SIZES.flatMap((s) => [`pitstop-${s}`, `kubectl-${s}`]);
  const cordon = (node: string, on: boolean) => cluster.patch(paths.node(node), { spec: { unschedulable: on } });
  for (const node of sources) await cordon(node, true);

  const kc = new KubeConfig();
  kc.loadFromFile(sandbox.kubeconfigPath);
  const kube = new AttributingKubeClient(kc);
  teardown.push(() => kube.close());
  const worker = await startBenchWorker({ address: temporalServer.address, kube, taskQueue: 'bench-drain', dir });
  teardown.push(() => worker.stop());
  const connection = await Connection.connect({ address: temporalServer.address });
  teardown.push(() => connection.close());
  const client = new Client({ connection });
  const step = sandbox.ctx.timing.migrationPhaseStepMs;

  out(`Pitstop drain benchmark (${new Date().toISOString()})`);
  out(
    `  sizes ${SIZES.join(', ')}; ${totalVms} VMs in one sandbox (up and running in ${seconds(setupMs)}); ` +
      `KubeVirt limits 5 per cluster, 2 outbound per node`,
  );
  out(
    `  migrationDuration of VM i = 1.0 s + ((7i) mod 31) × 0.1 s; phase step ${step} ms × 3; ` +
      `Pitstop: hold none, power none, parallelMigrations ${PARALLEL}`,
  );

  for (const size of SIZES) {
    const node = `pitstop-${size}`;
    const durations = Array.from({ length: size }, (_, i) => durationOfIndex(i));
    const durationOf = new Map(
      (['p', 'k'] as const).flatMap((k) => durations.map((d, i) => [vmName(k, size, i), d] as const)),
    );
    await cordon(node, false);

    // ---- Pitstop ----
    kube.reset();
    const startedAt = Date.now();
    const handle = await client.workflow.start<typeof nodeMaintenance>(WORKFLOW_TYPES.nodeMaintenance, {
      taskQueue: 'bench-drain',
      workflowId: `maintenance-${node}#${randomUUID()}`,
      args: [
        { node, hold: 'none', power: 'none', reason: 'drain benchmark', policy: { parallelMigrations: PARALLEL } },
      ],
    });
    const result = (await handle.result()) as MaintenanceResult;
    const runMs = Date.now() - startedAt;
    const requests = {
      total: kube.counter.total,
      byVerb: { ...kube.counter.byVerb },
      byActivity: { ...kube.byActivity },
    };
    const creates = [...kube.migrationCreates].sort((a, b) => a - b);
    if (result.outcome !== 'Completed' || result.summary?.migrated !== size) {
      throw new Error(`the maintenance of ${node} did not migrate all ${size} VMs: ${JSON.stringify(result.summary)}`);
    }
    await cordon(node, true);
    const progress = await handle.query(progressQuery);
    const phaseAt = (p: string) => {
      const i = progress.timeline.findIndex((t) => t.phase === p);
      const entry = progress.timeline[i];
      if (!entry) throw new Error(`no ${p} in the progress timeline`);
      return { at: Date.parse(entry.at), next: Date.parse(progress.timeline[i + 1]?.at ?? '') };
    };
    const evacuate = phaseAt('EvacuateVMs');
    const evict = phaseAt('EvictPods');
    const wallMs = evict.at - evacuate.at;
    const endToEndMs = evict.next - startedAt; // workflow start → end of EvictPods

    const migrations = await migrationsOf(cluster, `p${size}-`, durationOf);
    if (migrations.length !== size || migrations.some((m) => !Number.isFinite(phase(m, 'Succeeded')))) {
      throw new Error(`expected ${size} succeeded VMIMs for ${node}, found ${migrations.length}`);
    }
    const clusterWallMs =
      Math.max(...migrations.map((m) => phase(m, 'Succeeded'))) -
      Math.min(...migrations.map((m) => phase(m, 'Pending')));
    const { hop, hops, costs, ideal } = idealOf(migrations, durations, step);
    const nominalIdeal = optimalTwo(durations.map((d) => d + 3 * step));
    const ratio = wallMs / ideal;

    // Reaction: k-th Succeeded → (k+P)-th create; the last Succeeded → EvictPods.
    const succeeded = migrations.map((m) => phase(m, 'Succeeded')).sort((a, b) => a - b);
    const reactions: number[] = [];
    for (let k = 0; k + PARALLEL < creates.length && k < succeeded.length; k++)
      reactions.push((creates[k + PARALLEL] ?? NaN) - (succeeded[k] ?? NaN));
    reactions.push(evict.at - (succeeded[succeeded.length - 1] ?? NaN));

    // History
    const events = (await handle.fetchHistory()).events ?? [];
    const eventTypes: Record<string, number> = {};
    for (const e of events) {
      const name = (EventType[e.eventType ?? 0] ?? String(e.eventType)).replace(/^EVENT_TYPE_/, '');
      eventTypes[name] = (eventTypes[name] ?? 0) + 1;
    }
    const activities = new Map<
      number,
      { type: string; vmi?: string; name?: string; scheduledAt: number; completedAt?: number }
    >();
    for (const e of events) {
      const scheduled = e.activityTaskScheduledEventAttributes;
      if (scheduled) {
        const payload = scheduled.input?.payloads?.[0]?.data;
        const input = payload ? (JSON.parse(Buffer.from(payload).toString('utf8')) as Record<string, unknown>) : {};
        activities.set(Number(e.eventId), {
          type: scheduled.activityType?.name ?? '?',
          vmi: input.vmi as string | undefined,
          name: input.name as string | undefined,
          scheduledAt: timeOf(e.eventTime),
        });
        continue;
      }
      const completed = e.activityTaskCompletedEventAttributes;
      const run = completed ? activities.get(Number(completed.scheduledEventId ?? -1)) : undefined;
      if (run) run.completedAt = timeOf(e.eventTime);
    }
    const runs = [...activities.values()];
    const vmiOfVmim = new Map(migrations.map((m) => [m.name, m.vmi]));
    const startOf = new Map(runs.filter((r) => r.type === 'startMigration').map((r) => [r.vmi, r]));
    const waitOf = new Map(
      runs.filter((r) => r.type === 'waitForMigration').map((r) => [vmiOfVmim.get(r.name ?? ''), r]),
    );

    // Hand-offs per slot: Succeeded of one VMIM → Scheduling of the next on the freed slot.
    const bySchedule = [...migrations].sort((a, b) => phase(a, 'Scheduling') - phase(b, 'Scheduling'));
    const lanes: Migration[][] = [[], []];
    for (const m of bySchedule) {
      const free = lanes
        .map((lane, i) => ({
          i,
          end: lane.length ? phase(lane[lane.length - 1] as Migration, 'Succeeded') : -Infinity,
        }))
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
    for (const lane of lanes) {
      lane.forEach((m, i) => {
        const prev = lane[i - 1];
        if (!prev) return;
        handoffs.watch.push((waitOf.get(prev.vmi)?.completedAt ?? NaN) - phase(prev, 'Succeeded'));
        handoffs.workflowTask.push(
          (startOf.get(m.vmi)?.scheduledAt ?? NaN) - (waitOf.get(prev.vmi)?.completedAt ?? NaN),
        );
        handoffs.create.push(phase(m, 'Pending') - (startOf.get(m.vmi)?.scheduledAt ?? NaN));
        handoffs.admit.push(phase(m, 'Scheduling') - phase(m, 'Pending'));
      });
    }

    const requestsPerVm = requests.total / size;
    const eventsPerVm = events.length / size;
    out();
    out(`— ${size} VMs —`);
    row('Pitstop drain wall time (progress timeline: EvacuateVMs → EvictPods)', seconds(wallMs));
    row('  cluster view (first VMIM Pending → last VMIM Succeeded)', seconds(clusterWallMs));
    row(`ideal: optimal 2-slot makespan of duration + 3×${step} ms + ${hop} ms hop`, seconds(ideal));
    row(
      '  lower bound / LPT / plan order (by name), zero hand-off latency',
      `${seconds(lowerBound(costs, 2))} / ${seconds(lpt(costs))} / ${seconds(listSchedule(costs))}`,
    );
    row('  sandbox hop per VMIM (Pending→Succeeded − duration − 3 steps)', spread(hops));
    row(
      '  ideal without hops, and the ratio against it',
      `${seconds(nominalIdeal)}, ${(wallMs / nominalIdeal).toFixed(3)}`,
    );
    row(
      'drain wall time / ideal',
      `${ratio.toFixed(3)}  (target ≤ ${TARGETS.ratio.toFixed(2)}: ${met(ratio <= TARGETS.ratio)})`,
    );
    row(
      'reaction: VMIM Succeeded → next step started',
      `median ${millis(median(reactions))}, p99 ${millis(percentile(reactions, 99))}, max ${millis(Math.max(...reactions))} (${reactions.length} samples)`,
    );
    row('  hand-off: Succeeded → waitForMigration completed', spread(handoffs.watch));
    row('  → startMigration scheduled (workflow task)', spread(handoffs.workflowTask));
    row('  → next VMIM Pending (dispatch, list + create, sandbox admission)', spread(handoffs.create));
    row('  → Scheduling (sandbox slot admission)', spread(handoffs.admit));
    row(
      'Kubernetes API requests per migrated VM',
      `${requestsPerVm.toFixed(2)}  (${requests.total} / ${size}; target ≤ ${TARGETS.requestsPerVm}: ${met(requestsPerVm <= TARGETS.requestsPerVm)})`,
    );
    row(
      '  by verb',
      Object.entries(requests.byVerb)
        .sort((a, b) => b[1] - a[1])
        .map(([v, n]) => `${v} ${n}`)
        .join(', '),
    );
    row(
      '  by activity',
      Object.entries(requests.byActivity)
        .sort((a, b) => b[1] - a[1])
        .map(([v, n]) => `${v} ${n}`)
        .join(', '),
    );
    row(
      'history events per migrated VM',
      `${eventsPerVm.toFixed(2)}  (${events.length} / ${size}; target ≤ ${TARGETS.eventsPerVm}: ${met(eventsPerVm <= TARGETS.eventsPerVm)})`,
    );
    row(
      '  by type',
      Object.entries(eventTypes)
        .sort((a, b) => b[1] - a[1])
        .map(([t, n]) => `${t} ${n}`)
        .join(', '),
    );
    row(
      'Pitstop end to end (workflow start → end of EvictPods); whole workflow',
      `${seconds(endToEndMs)}; ${seconds(runMs)}`,
    );
    const res: SizeResult = { size, ratio, reactions, requestsPerVm, eventsPerVm };

    // ---- kubectl drain ----
    if (KUBECTL) {
      const knode = `kubectl-${size}`;
      await cordon(knode, false);
      const { ms, output } = await runKubectl(tools.kube.kubectl, sandbox.kubeconfigPath, knode);
      const kmigrations = await migrationsOf(cluster, `k${size}-`, durationOf);
      const finishedOk = kmigrations.filter((m) => Number.isFinite(phase(m, 'Succeeded')));
      const kClusterWall =
        Math.max(...finishedOk.map((m) => phase(m, 'Succeeded'))) -
        Math.min(...kmigrations.map((m) => phase(m, 'Pending')));
      const retries = (output.match(/will retry after 5s/g) ?? []).length;
      res.kubectlOverOurs = ms / endToEndMs;
      row('kubectl drain wall time (process start → exit)', seconds(ms));
      row(
        '  cluster view (first VMIM Pending → last VMIM Succeeded)',
        `${seconds(kClusterWall)}; ${kmigrations.length} VMIMs, ${finishedOk.length} succeeded`,
      );
      row('  kubectl drain wall time / ideal (the same VMs and durations)', (ms / ideal).toFixed(3));
      row('  eviction retries reported by kubectl (429, "will retry after 5s")', String(retries));
      row(
        'kubectl drain time / Pitstop end-to-end time',
        `${res.kubectlOverOurs.toFixed(3)}  (target ≥ ${TARGETS.kubectlOverOurs}: ${met(res.kubectlOverOurs >= TARGETS.kubectlOverOurs)})`,
      );
    }
    results.push(res);
  }

  const all = results.flatMap((r) => r.reactions);
  out();
  out('Summary');
  out(
    `  ${'VMs'.padStart(5)} ${'ratio'.padStart(7)} ${'kubectl/ours'.padStart(13)} ${'react p50'.padStart(10)} ${'react p99'.padStart(10)} ${'req/VM'.padStart(7)} ${'events/VM'.padStart(10)}`,
  );
  for (const r of results)
    out(
      `  ${String(r.size).padStart(5)} ${r.ratio.toFixed(3).padStart(7)} ${(r.kubectlOverOurs?.toFixed(3) ?? '—').padStart(13)} ` +
        `${millis(median(r.reactions)).padStart(10)} ${millis(percentile(r.reactions, 99)).padStart(10)} ` +
        `${r.requestsPerVm.toFixed(2).padStart(7)} ${r.eventsPerVm.toFixed(2).padStart(10)}`,
    );
  row(
    'reaction latency, all sizes pooled',
    `median ${millis(median(all))}, p99 ${millis(percentile(all, 99))} (${all.length} samples; target p99 ≤ ${TARGETS.reactionP99Ms} ms: ${met(percentile(all, 99) <= TARGETS.reactionP99Ms)})`,
  );
} catch (e) {
  failed = true;
  console.error(`drain benchmark failed: ${(e as Error).stack ?? String(e)}`);
}
await finishBenchmark('drain', { teardown, dir, lines, failed });
