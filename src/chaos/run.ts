// The chaos runner: seeded maintenance runs under faults, each ending with the invariants read from the cluster
// (docs/reliability.md). One world (Temporal dev server, the sandbox, the fault proxy, a worker child process)
// serves many runs; each run gets its own nodes and namespace, and the sandbox is replaced every K runs.
// The parts: world.ts (what runs share), scenario.ts (a run's set-up), disruptions.ts (faults and the operator),
// runOne.ts (one run and its judgement), report.ts (reports and the summary).
import { join } from 'node:path';
import { generatePlan, type ChaosPlan, type GenerateOptions } from './generate.js';
import { failedRun, summarize, type ChaosSummary, type RunReport } from './report.js';
import { runGroup, runOne, SetUpFailed, type RunOptions } from './runOne.js';
import { World } from './world.js';

export interface ChaosOptions extends GenerateOptions, RunOptions {
  runs: number;
  seed: number;
  workDir: string;
  /** Worlds running seeds side by side (default 1). */
  concurrency?: number;
  /** Replace the sandbox every this many runs (default 10). */
  sandboxEvery?: number;
  /** Maintenances at once on one cluster (default 1): each world runs this many seeds side by side. */
  concurrent?: number;
  onRun?: (report: RunReport, index: number) => void;
}

type WorldOptions = Omit<ChaosOptions, 'runs' | 'seed'> & { seed?: number; workflowBundlePath?: string };

/** A chaos world to run seeds in one by one (tests use it directly; runChaos runs a range). */
export interface ChaosWorld {
  /** One run of `seed`; `adjust` may move a disruption (a test that must see it happen before a fast run ends). */
  run(seed: number, adjust?: (plan: ChaosPlan) => ChaosPlan): Promise<RunReport>;
  /** The runs of `seeds` at once, on one cluster (several maintenances at the same time). */
  runGroup(seeds: number[]): Promise<RunReport[]>;
  stop(): Promise<void>;
}

export async function openChaosWorld(options: WorldOptions): Promise<ChaosWorld> {
  const log = options.log ?? (() => {});
  const world = new World(options.workDir, options.seed ?? 1, log, options.workflowBundlePath);
  try {
    await world.start();
  } catch (e) {
    await world.stop();
    throw e;
  }
  let lastError = '';
  /**
   * Runs `fn` on the world's sandbox; a run whose set-up failed (SetUpFailed: no maintenance started) is tried once
   * more on a fresh sandbox. Any other failure, or a second set-up failure, is the run's report (undefined here),
   * and the next run starts on a fresh sandbox.
   */
  async function onFreshSandboxIfSetUpFails(fn: () => Promise<RunReport[]>): Promise<RunReport[] | undefined> {
    for (let attempt = 1; ; attempt++) {
      await world.sandboxFor(options.sandboxEvery ?? 10);
      try {
        return await fn();
      } catch (e) {
        world.runsOnSandbox = Number.MAX_SAFE_INTEGER; // the next run starts on a fresh sandbox
        lastError = String((e as Error).message ?? e);
        if (!(e instanceof SetUpFailed) || attempt > 1) return undefined;
        log(`  ${lastError}: tried again on a fresh sandbox`);
      }
    }
  }
  return {
    async run(seed: number, adjust?: (plan: ChaosPlan) => ChaosPlan) {
      const generated = generatePlan(seed, options);
      const plan = adjust ? adjust(generated) : generated;
      const reports = await onFreshSandboxIfSetUpFails(() => runOne(world, plan, options).then((r) => [r]));
      return reports?.[0] ?? failedRun(seed, plan.faults, lastError);
    },
    async runGroup(seeds: number[]) {
      const plans = seeds.map((seed) => generatePlan(seed, options));
      const reports = await onFreshSandboxIfSetUpFails(() => runGroup(world, plans, options));
      return reports ?? plans.map((p) => failedRun(p.seed, p.faults, lastError));
    },
    stop: () => world.stop(),
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
      const group = Math.max(1, options.concurrent ?? 1);
      for (let i = next; i < options.runs; i = next) {
        next = Math.min(options.runs, i + group);
        const seeds = Array.from({ length: next - i }, (_, k) => options.seed + i + k);
        const batch = seeds.length === 1 ? [await world.run(seeds[0]!)] : await world.runGroup(seeds);
        for (const report of batch) {
          reports.push(report);
          options.onRun?.(report, done++);
        }
      }
    } finally {
      await world.stop();
    }
  };
  await Promise.all(Array.from({ length: concurrency }, (_, i) => lane(i)));
  reports.sort((a, b) => a.seed - b.seed);
  return summarize(reports, Date.now() - started);
}
