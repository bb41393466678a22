// Helpers the benchmarks share: statistics, formatting, schedule arithmetic, and the counting KubeClient.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { ensureTools } from '../src/tools/binaries.js';
import { startTemporalDevServer } from '../src/devserver/temporal.js';
import { startSandbox } from '../src/sandbox/index.js';
import type { Scenario } from '../src/sandbox/scenario.js';
import { Context } from '@temporalio/activity';
import type proto from '@temporalio/proto';
import { KubeClient, type KubeObject, type Query, type WatchEvent } from '../src/k8s/client.js';

export const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
export const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
export const millis = (ms: number) => `${Math.round(ms)} ms`;
export const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0
    ? NaN
    : s.length % 2
      ? (s[(s.length - 1) / 2] ?? NaN)
      : ((s[s.length / 2 - 1] ?? 0) + (s[s.length / 2] ?? 0)) / 2;
};
/** Nearest-rank percentile. */
export const percentile = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] ?? NaN;
};
export const spread = (xs: number[]) => `median ${millis(median(xs))}, p90 ${millis(percentile(xs, 90))}`;
export const timeOf = (t: proto.temporal.api.history.v1.IHistoryEvent['eventTime']) =>
  t ? Number(t.seconds ?? 0) * 1000 + (t.nanos ?? 0) / 1e6 : NaN;

// ---- schedule arithmetic (identical machines: the outbound slots of the source node) ----

export const lowerBound = (d: number[], slots: number) => Math.max(sum(d) / slots, Math.max(...d));

/** Jobs in the given order, each to the slot that frees first (what a lane-per-slot workflow does). */
export function listSchedule(d: number[], slots = 2): number {
  const ends = new Array<number>(slots).fill(0);
  for (const x of d) {
    ends.sort((a, b) => a - b);
    ends[0] = (ends[0] ?? 0) + x;
  }
  return Math.max(...ends);
}
export const lpt = (d: number[], slots = 2) =>
  listSchedule(
    [...d].sort((a, b) => b - a),
    slots,
  );

/** Exact optimum for two machines: the subset sum closest to half the total (integer milliseconds). */
export function optimalTwo(d: number[]): number {
  const ints = d.map((x) => Math.round(x));
  const total = sum(ints);
  const half = Math.floor(total / 2);
  const reachable = new Uint8Array(half + 1);
  reachable[0] = 1;
  for (const x of ints) for (let s = half; s >= x; s--) if (reachable[s - x]) reachable[s] = 1;
  let best = half;
  while (!reachable[best]) best--;
  return total - best;
}

/**
 * The worker's KubeClient: the built-in counter, each request attributed to the activity making it, and the
 * time each VirtualMachineInstanceMigration create was sent (for reaction latency).
 */
export class AttributingKubeClient extends KubeClient {
  byActivity: Record<string, number> = {};
  migrationCreates: number[] = [];
  private attribute() {
    let name = '(no activity)';
    try {
      name = Context.current().info.activityType;
    } catch {
      // called outside an activity
    }
    this.byActivity[name] = (this.byActivity[name] ?? 0) + 1;
  }
  override async request<T>(method: string, path: string, body?: unknown, contentType?: string): Promise<T> {
    this.attribute();
    const sentAt = Date.now();
    const result = await super.request<T>(method, path, body, contentType);
    if (method === 'POST' && /\/virtualmachineinstancemigrations(\?|$)/.test(path)) this.migrationCreates.push(sentAt);
    return result;
  }
  override watch<T extends KubeObject>(
    path: string,
    query: Query,
    onEvent: (event: WatchEvent<T>) => void,
    signal?: AbortSignal,
    options?: Parameters<KubeClient['watch']>[4],
  ): Promise<void> {
    this.attribute();
    return super.watch(path, query, onEvent, signal, options);
  }
  reset() {
    this.counter.total = 0;
    this.counter.byVerb = {};
    this.byActivity = {};
    this.migrationCreates = [];
  }
}

/** Peak resident set size of this process so far, in MiB (getrusage maxrss is in KiB on Linux). */
export const peakRssMiB = () => process.resourceUsage().maxRSS / 1024;

export function argValue(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  if (i >= 0) return args[i + 1];
  const eq = args.find((a) => a.startsWith(`${name}=`));
  return eq?.slice(name.length + 1);
}

/** Stops what a benchmark started (last first), removes its directory, prints its figures; exits 1 if it failed. */
export async function finishBenchmark(
  name: string,
  run: { teardown: (() => Promise<void> | void)[]; dir: string; lines: string[]; failed: boolean },
): Promise<void> {
  for (const stop of run.teardown.reverse()) {
    try {
      await stop();
    } catch (e) {
      console.error(`${name} benchmark teardown: ${(e as Error).message}`);
    }
  }
  rmSync(run.dir, { recursive: true, force: true });
  console.log(`\n${run.lines.join('\n')}`);
  if (run.failed) process.exit(1);
}

/** The servers every benchmark needs: the tools, a Temporal dev server and a sandbox with `scenario`, stopped by `teardown`. */
export async function startBenchServers(dir: string, scenario: Scenario, teardown: (() => Promise<void> | void)[]) {
  const tools = await ensureTools();
  const temporalServer = await startTemporalDevServer({ binary: tools.temporal, logDir: dir });
  teardown.push(() => temporalServer.stop());
  const setupAt = Date.now();
  const sandbox = await startSandbox({ dir: join(dir, 'sandbox'), binaries: tools.kube, scenario });
  teardown.push(() => sandbox.stop());
  return { tools, temporalServer, sandbox, setupAt };
}
