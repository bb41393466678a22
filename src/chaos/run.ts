// The chaos runner: seeded runs under faults, each ending with docs/architecture.md's invariants read from the
// cluster. One world (Temporal dev server on a persistent SQLite file, the sandbox, the fault proxy, a worker child
// process) serves many runs; each run gets its own nodes and namespace, and the sandbox is replaced every K runs.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Connection, WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { KubeClient } from '../k8s/client.js';
import { kv } from '../activities/kubevirt.js';
import { startSandbox, type Sandbox } from '../sandbox/index.js';
import { parseScenario } from '../sandbox/scenario.js';
import type { Timing } from '../sandbox/model.js';
import { startTemporalDevServer, type DevServer } from '../devserver/temporal.js';
import { freePort } from '../sandbox/processes.js';
import { ensureTools, type ToolPaths } from '../tools/binaries.js';
import { writeWorkflowBundle } from '../worker/bundle.js';
import type { Progress } from '../workflows/messages.js';
import { NO_FAULTS, startFaultProxy, type FaultKind, type FaultProxy } from './faultProxy.js';
import { generatePlan, type ChaosPlan, type GenerateOptions } from './generate.js';
import { invariantViolations, MigrationMonitor, recordBefore } from './invariants.js';
import { Prng } from './prng.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Fast simulated hardware: a run takes seconds, not minutes. */
export const CHAOS_TIMING: Partial<Timing> = {
  migrationDurationMs: 500,
  bootDelayMs: 500,
  powerDelayMs: 200,
  notReadyDelayMs: 200,
  vmStopMs: 200,
  podStopMs: 100,
  evacuationRetryMs: 500,
};

/** Short policy deadlines (as in the tests): a stuck run ends in seconds. */
export const CHAOS_POLICY = {
  migration: { attempts: 2, timeout: '30s', pendingTimeout: '8s', retryBackoff: '200ms' },
  drain: { timeout: '30s', evictionRetryInterval: '300ms' },
  power: { offTimeout: '15s', onTimeout: '15s' },
  ready: { timeout: '15s' },
  restore: { timeout: '30s' },
  shutdown: { timeout: '15s' },
  external: { timeout: '5s' },
};

export type Outcome =
  | 'Completed'
  | 'RolledBack'
  /** Rolled back except the power-on: node left cordoned for the operator (seed 34). */
  | 'RollbackIncomplete'
  | 'Cancelled'
  | 'Refused'
  | 'Failed'
  | 'Unfinished';

export interface RunReport {
  seed: number;
  outcome: Outcome;
  detail: string;
  violations: string[];
  faults: string[];
  ms: number;
  injected: Partial<Record<FaultKind, number>>;
  workerKills: number;
  temporalRestarts: number;
}

export interface ChaosOptions extends GenerateOptions {
  runs: number;
  seed: number;
  workDir: string;
  /** Worlds running seeds side by side (default 1). */
  concurrency?: number;
  /** Replace the sandbox every this many runs (default 10). */
  sandboxEvery?: number;
  /** Longest wait for one maintenance to end (default 5 min): longer counts as a violation. */
  runTimeoutMs?: number;
  log?: (line: string) => void;
  onRun?: (report: RunReport, index: number) => void;
}

export interface ChaosSummary {
  runs: number;
  completed: number;
  rolledBack: number;
  /** Ended RollbackIncomplete: the node left cordoned for the operator (machine could not be powered on). */
  rollbackIncomplete: number;
  refused: number;
  violations: number;
  violatingSeeds: number[];
  wallMs: number;
  reports: RunReport[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// Worker processes alive right now: killed with this process however it exits (servers have their own handler).
const liveWorkers = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of liveWorkers) {
    try {
      if (child.pid) process.kill(-child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

/** One worker child process; restarted by the runner after each kill (and if it dies on its own). */
class WorkerProcess {
  child: ChildProcess | undefined;
  private output: string[] = [];
  private stopping = false;
  kills = 0;

  constructor(
    private readonly env: NodeJS.ProcessEnv,
    private readonly log: (line: string) => void,
  ) {}

  async start(): Promise<void> {
    this.stopping = false;
    this.output = [];
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/chaos/worker.ts'], {
      cwd: ROOT,
      env: { ...process.env, ...this.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    this.child = child;
    liveWorkers.add(child);
    child.once('exit', () => liveWorkers.delete(child));
    for (const stream of [child.stdout, child.stderr]) {
      stream?.setEncoding('utf8');
      stream?.on('data', (chunk: string) => {
        this.output.push(chunk);
        if (this.output.length > 200) this.output.shift();
      });
    }
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.once('exit', (code, signal) => {
      if (this.child === child && !this.stopping) {
        this.log(`worker exited on its own (${code ?? signal}): ${this.output.join('').slice(-500)}; restarting`);
        void this.start().catch((e: unknown) => this.log(`worker restart failed: ${String(e)}`));
      }
    });
    const deadline = Date.now() + 120_000;
    while (!this.output.join('').includes('pitstop worker polling')) {
      if (child.exitCode !== null || child.signalCode !== null) {
        await exited;
        throw new Error(`the worker exited before polling:\n${this.output.join('').slice(-2000)}`);
      }
      if (Date.now() > deadline) throw new Error('the worker did not start polling within 120 s');
      await sleep(100);
    }
  }

  private queue: Promise<unknown> = Promise.resolve();

  /** SIGKILL, down for `downMs`, start again; one crash at a time (a second waits for the first restart). */
  crash(downMs: number): Promise<void> {
    const next = this.queue.then(async () => {
      await this.kill();
      await sleep(downMs);
      await this.start();
    });
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** SIGKILL to the worker's process group; resolves once it is gone. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child?.pid || child.exitCode !== null || child.signalCode !== null) return;
    this.stopping = true;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
    await exited;
    this.kills += 1;
  }
}

/** Everything the runs share. */
class World {
  devServer!: DevServer;
  client!: Client;
  private connection!: Connection;
  sandbox: Sandbox | undefined;
  direct: KubeClient | undefined;
  proxy: FaultProxy | undefined;
  worker: WorkerProcess | undefined;
  private tools!: ToolPaths;
  private bundlePath!: string;
  private port!: number;
  private sandboxes = 0;
  runsOnSandbox = 0;
  temporalRestarts = 0;
  readonly taskQueue = `chaos-${process.pid}`;

  constructor(
    private readonly dir: string,
    private readonly seed: number,
    private readonly log: (line: string) => void,
  ) {}

  async start(): Promise<void> {
    mkdirSync(join(this.dir, 'temporal'), { recursive: true });
    this.tools = await ensureTools();
    this.bundlePath = await writeWorkflowBundle(join(this.dir, 'workflow-bundle.js'));
    this.port = await freePort();
    await this.startTemporal();
    this.connection = await Connection.connect({ address: this.devServer.address });
    this.client = new Client({ connection: this.connection, namespace: 'default' });
  }

  private async startTemporal() {
    this.devServer = await startTemporalDevServer({
      binary: this.tools.temporal,
      logDir: join(this.dir, 'temporal'),
      dbFile: join(this.dir, 'temporal', 'temporal.db'),
      port: this.port,
    });
  }

  /** Stops the dev server and starts it again on the same port and database file. */
  async restartTemporal(downMs: number): Promise<void> {
    await this.devServer.stop();
    await sleep(downMs);
    await this.startTemporal();
    this.temporalRestarts += 1;
  }

  /** A fresh sandbox (with its proxy and worker) when there is none yet or the current one served `every` runs. */
  async sandboxFor(every: number): Promise<void> {
    if (this.sandbox && this.runsOnSandbox < every) return;
    await this.stopSandbox();
    this.sandboxes += 1;
    const started = Date.now();
    const dir = join(this.dir, `sandbox-${this.sandboxes}`);
    this.sandbox = await startSandbox({ dir, binaries: this.tools.kube, timing: CHAOS_TIMING });
    this.direct = this.sandbox.cluster.client;
    this.proxy = await startFaultProxy({
      upstream: this.sandbox.cluster.server,
      upstreamCa: this.sandbox.cluster.ca.cert,
      serving: this.sandbox.cluster.serving,
      seed: this.seed + this.sandboxes,
      onUpstreamError: (what) => this.log(`fault proxy upstream error: ${what}`),
    });
    const kubeconfig = this.proxy.writeKubeconfig(join(dir, 'kubeconfig-chaos'), this.sandbox.cluster.adminToken);
    this.worker = new WorkerProcess(
      {
        TEMPORAL_ADDRESS: this.devServer.address,
        TEMPORAL_NAMESPACE: 'default',
        PITSTOP_TASK_QUEUE: this.taskQueue,
        KUBECONFIG: kubeconfig,
        PITSTOP_WORKFLOW_BUNDLE: this.bundlePath,
      },
      this.log,
    );
    await this.worker.start();
    this.runsOnSandbox = 0;
    this.log(`sandbox ${this.sandboxes} with fault proxy and worker ready in ${Date.now() - started} ms`);
  }

  private async stopSandbox() {
    await this.worker?.kill();
    await this.proxy?.close();
    await this.sandbox?.stop();
    this.worker = this.proxy = this.sandbox = this.direct = undefined;
  }

  async stop(): Promise<void> {
    await this.stopSandbox();
    await this.connection?.close();
    await this.devServer?.stop();
  }
}

/** Retries a Temporal client call through a dev-server restart. */
async function persist<T>(fn: () => Promise<T>, deadline: number): Promise<T> {
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      if (e instanceof WorkflowFailedError || Date.now() > deadline) throw e;
      const text = String((e as Error).message);
      if (!/unavailable|connect|transport|deadline|14 |4 |socket|closed|refused|broken/i.test(text)) throw e;
      await sleep(500);
    }
  }
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

/** The maintenance input of a plan, as a user would type it. */
function inputOf(plan: ChaosPlan, sandbox: Sandbox) {
  const credential = sandbox.credentials.find((c) => c.nodeName === plan.node);
  const power =
    plan.bmc === 'redfish' && credential
      ? {
          power: 'redfish' as const,
          redfish: {
            address: sandbox.redfishUrl,
            systemId: plan.node,
            credentialsSecret: { namespace: credential.secretNamespace, name: credential.secretName },
            insecureSkipVerify: true,
          },
        }
      : { power: 'auto' as const };
  return {
    node: plan.node,
    reason: `chaos seed ${plan.seed}`,
    requestedBy: 'chaos',
    hold: plan.input.hold,
    ...power,
    policy: {
      ...CHAOS_POLICY,
      parallelMigrations: plan.input.parallelMigrations,
      escalation: {
        onNonMigratable: plan.input.onNonMigratable,
        decisionTimeout: '4s',
        onTimeout: plan.input.onTimeout,
      },
    },
  };
}

type WorldOptions = Omit<ChaosOptions, 'runs' | 'seed'> & { seed?: number };

async function runOne(world: World, plan: ChaosPlan, options: WorldOptions): Promise<RunReport> {
  const log = options.log ?? (() => {});
  const started = Date.now();
  const sandbox = world.sandbox!;
  const direct = world.direct!;
  const proxy = world.proxy!;
  const worker = world.worker!;
  const killsBefore = worker.kills;
  const restartsBefore = world.temporalRestarts;
  const countsBefore = { ...proxy.counts };

  await sandbox.applyScenario(parseScenario(plan.scenario, `chaos seed ${plan.seed}`));
  const vmCount = plan.scenario.vms?.length ?? 0;
  const setupDeadline = Date.now() + 60_000;
  for (;;) {
    const vmis = await direct.list(kv('virtualmachineinstances', plan.namespace));
    if (vmis.items.length === vmCount && vmis.items.every((v) => v.status?.phase === 'Running')) break;
    if (Date.now() > setupDeadline) throw new Error(`seed ${plan.seed}: the scenario's VMs did not all start`);
    await sleep(100);
  }
  const before = await recordBefore(direct, plan.namespace);
  const monitor = new MigrationMonitor(direct, plan.namespace, plan.input.parallelMigrations).start();
  proxy.setRates(plan.rates);

  const workflowId = `maintenance-${plan.node}`;
  const runDeadline = Date.now() + (options.runTimeoutMs ?? 300_000);
  const handle: WorkflowHandle = await persist(
    () =>
      world.client.workflow.start('nodeMaintenance', {
        taskQueue: world.taskQueue,
        workflowId,
        args: [inputOf(plan, sandbox)],
      }),
    runDeadline,
  );

  // The disruptions, each at its moment; `pending` lets the end of the run wait for them to finish.
  const pending: Promise<unknown>[] = [];
  const timers: NodeJS.Timeout[] = [];
  let ended = false;
  const at = (ms: number | undefined, what: string, fn: () => Promise<unknown>) => {
    if (ms === undefined) return;
    timers.push(
      setTimeout(() => {
        if (ended) return;
        pending.push(fn().catch((e: unknown) => log(`seed ${plan.seed}: ${what} failed: ${String(e)}`)));
      }, ms),
    );
  };
  const disrupt = new Prng(plan.seed).fork('disrupt');
  at(plan.actions.cancelAtMs, 'cancel', () => persist(() => handle.cancel(), runDeadline));
  for (const ms of plan.actions.killWorkerAtMs ?? []) {
    const downMs = disrupt.int(200, 2000);
    at(ms, 'worker kill', () => worker.crash(downMs));
  }
  const temporalDownMs = disrupt.int(200, 2000);
  at(plan.actions.restartTemporalAtMs, 'Temporal restart', () => world.restartTemporal(temporalDownMs));

  // The operator: answers escalations as the plan says, releases the hold.
  const deleted: string[] = [];
  const operator = (async () => {
    const answered = new Set<string>();
    let next = 0;
    let released = false;
    while (!ended) {
      await sleep(400);
      if (ended) break;
      try {
        const progress = await handle.query<Progress>('progress');
        for (const d of progress.decisionsPending) {
          const key = `${d.vmi}@${d.since}`;
          if (answered.has(key)) continue;
          answered.add(key);
          const answer = plan.answers[next++ % plan.answers.length]!;
          if (answer === 'ignore') continue;
          const action = d.allowed.includes(answer) ? answer : d.allowed[0];
          if (!action) continue;
          await handle.executeUpdate('decide', { args: [{ vmi: d.vmi, action }] });
          if (action === 'delete') deleted.push(d.vmi);
        }
        if (progress.phase === 'Hold' && !released) {
          await handle.executeUpdate('release', { args: [{ note: 'chaos: repaired' }] });
          released = true;
        }
      } catch {
        // worker down, server restarting, or the decision went away: look again
      }
    }
  })();

  let outcome: Outcome;
  let detail: string;
  try {
    // result() long-polls while the workflow runs: the deadline must bound it too, not only its errors (seed 34).
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('deadline')), Math.max(0, runDeadline - Date.now()));
    });
    try {
      await Promise.race([persist(() => handle.result(), runDeadline), deadline]);
    } finally {
      clearTimeout(timer);
    }
    outcome = 'Completed';
    detail = 'completed';
  } catch (e) {
    if (Date.now() >= runDeadline && !(e instanceof WorkflowFailedError)) {
      outcome = 'Unfinished';
      detail = `did not end within ${(options.runTimeoutMs ?? 300_000) / 1000}s`;
    } else ({ outcome, detail } = outcomeOf(e));
  }
  ended = true;
  for (const t of timers) clearTimeout(t);
  await operator;
  await Promise.all(pending);
  proxy.setRates(NO_FAULTS);

  const violations: string[] = [];
  if (outcome === 'Unfinished' || outcome === 'Failed') violations.push(`run ended ${outcome}: ${detail}`);
  if (outcome === 'Unfinished') {
    await persist(() => handle.terminate('chaos: did not end in time'), Date.now() + 60_000).catch(() => undefined);
  }
  // The cluster settles (an aborted migration's clean-up, a VM starting again): allow it a little time.
  const expectedOff = [...plan.stayOff, ...deleted];
  let last: string[];
  const settleDeadline = Date.now() + 30_000;
  for (;;) {
    last = await invariantViolations(direct, before, plan.node, expectedOff, {
      namespace: plan.namespace,
      workflowId,
      rollbackIncomplete: outcome === 'RollbackIncomplete',
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

/** A chaos world to run seeds in one by one (tests use it directly; runChaos runs a range). */
export interface ChaosWorld {
  /** One run of `seed`; `adjust` may move a disruption (a test that must see it happen before a fast run ends). */
  run(seed: number, adjust?: (plan: ChaosPlan) => ChaosPlan): Promise<RunReport>;
  stop(): Promise<void>;
}

export async function openChaosWorld(options: WorldOptions): Promise<ChaosWorld> {
  const log = options.log ?? (() => {});
  const world = new World(options.workDir, options.seed ?? 1, log);
  try {
    await world.start();
  } catch (e) {
    await world.stop();
    throw e;
  }
  return {
    async run(seed: number, adjust?: (plan: ChaosPlan) => ChaosPlan) {
      await world.sandboxFor(options.sandboxEvery ?? 10);
      const generated = generatePlan(seed, options);
      const plan = adjust ? adjust(generated) : generated;
      try {
        return await runOne(world, plan, options);
      } catch (e) {
        world.runsOnSandbox = Number.MAX_SAFE_INTEGER; // the next run starts on a fresh sandbox
        const message = String((e as Error).message ?? e);
        return {
          seed,
          outcome: 'Failed',
          detail: message,
          violations: [`the run itself failed: ${message}`],
          faults: plan.faults,
          ms: 0,
          injected: {},
          workerKills: 0,
          temporalRestarts: 0,
        };
      }
    },
    stop: () => world.stop(),
  };
}

export function summarize(reports: RunReport[], wallMs: number): ChaosSummary {
  const violating = reports.filter((r) => r.violations.length > 0);
  return {
    runs: reports.length,
    completed: reports.filter((r) => r.outcome === 'Completed').length,
    rolledBack: reports.filter((r) => r.outcome === 'RolledBack' || r.outcome === 'Cancelled').length,
    rollbackIncomplete: reports.filter((r) => r.outcome === 'RollbackIncomplete').length,
    refused: reports.filter((r) => r.outcome === 'Refused').length,
    violations: violating.reduce((n, r) => n + r.violations.length, 0),
    violatingSeeds: violating.map((r) => r.seed),
    wallMs,
    reports,
  };
}

export async function runChaos(options: ChaosOptions): Promise<ChaosSummary> {
  const started = Date.now();
  const concurrency = Math.max(1, Math.min(options.concurrency ?? 1, options.runs));
  const reports: RunReport[] = [];
  let next = 0;
  let done = 0;
  // Independent worlds (own dev server, sandbox, proxy, worker), each taking the next seed: a seed's run depends on
  // its seed alone, whichever world runs it.
  const lane = async (index: number) => {
    const world = await openChaosWorld({ ...options, workDir: join(options.workDir, `world-${index}`) });
    try {
      for (let i = next++; i < options.runs; i = next++) {
        const report = await world.run(options.seed + i);
        reports.push(report);
        options.onRun?.(report, done++);
      }
    } finally {
      await world.stop();
    }
  };
  await Promise.all(Array.from({ length: concurrency }, (_, i) => lane(i)));
  reports.sort((a, b) => a.seed - b.seed);
  return summarize(reports, Date.now() - started);
}

export function formatReport(r: RunReport): string {
  const injected = Object.entries(r.injected)
    .map(([k, n]) => `${k}=${n}`)
    .join(' ');
  return (
    `seed ${r.seed}: ${r.outcome} in ${(r.ms / 1000).toFixed(1)} s` +
    (r.workerKills ? `, ${r.workerKills} worker kill(s)` : '') +
    (r.temporalRestarts ? `, ${r.temporalRestarts} Temporal restart(s)` : '') +
    (injected ? `, injected ${injected}` : '') +
    (r.faults.length ? ` [${r.faults.join('; ')}]` : '') +
    (r.outcome !== 'Completed' ? ` — ${r.detail.slice(0, 200)}` : '') +
    r.violations.map((v) => `\n  VIOLATION: ${v}`).join('')
  );
}

export function formatSummary(s: ChaosSummary): string {
  return [
    `runs: ${s.runs}`,
    `completed: ${s.completed}`,
    `rolled back: ${s.rolledBack}`,
    `roll-back incomplete (node left for the operator): ${s.rollbackIncomplete}`,
    `refused: ${s.refused}`,
    `invariant violations: ${s.violations}${s.violatingSeeds.length ? ` (seeds: ${s.violatingSeeds.join(', ')})` : ''}`,
    `wall time: ${(s.wallMs / 1000).toFixed(0)} s`,
  ].join('\n');
}
