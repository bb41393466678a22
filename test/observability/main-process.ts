// The production entry point (src/main.ts) as a real child process, in its own process group, with its JSON log
// lines collected; started against the test's Temporal dev server and sandbox.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { inject } from 'vitest';
import { eventually } from '../support/env.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface MainProcess {
  child: ChildProcess;
  /** Everything written to stdout and stderr, as received. */
  output: string[];
  /** The stdout lines that parsed as JSON objects. */
  logs(): Record<string, unknown>[];
  /** Base URL of /metrics, /healthz, /readyz. */
  opsUrl: string;
  /** Base URL of the HTTP API, when it runs. */
  apiUrl?: string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(): Promise<void>;
}

export async function startMain(env: Record<string, string>): Promise<MainProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: ROOT,
    env: {
      ...process.env,
      TEMPORAL_ADDRESS: inject('temporalAddress'),
      TEMPORAL_NAMESPACE: 'default',
      PITSTOP_API_ADDRESS: 'off',
      PITSTOP_METRICS_ADDRESS: '127.0.0.1:0',
      PITSTOP_WORKFLOW_BUNDLE: inject('workflowBundlePath'),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const output: string[] = [];
  let stdout = '';
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    output.push(chunk);
    stdout += chunk;
    if (process.env.PITSTOP_TEST_VERBOSE) process.stdout.write(`[main ${child.pid}] ${chunk}`);
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    output.push(chunk);
    if (process.env.PITSTOP_TEST_VERBOSE) process.stderr.write(`[main ${child.pid}] ${chunk}`);
  });
  const logs = () =>
    stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  const polling = await Promise.race([
    eventually(
      'the worker polling',
      async () => logs().find((l) => String(l.msg).startsWith('pitstop worker polling')),
      60_000,
    ),
    exited.then(({ code, signal }) => {
      throw new Error(`src/main.ts exited (${code ?? signal}) before polling:\n${output.join('')}`);
    }),
  ]);
  const opsUrl = String(polling.metrics).replace(/\/metrics$/, '');
  return {
    child,
    output,
    logs,
    opsUrl,
    apiUrl: typeof polling.api === 'string' ? polling.api : undefined,
    exited,
    async kill() {
      if (child.exitCode === null && child.signalCode === null && child.pid) {
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      await exited;
    },
  };
}

/** One scrape of /metrics: `name{labels}` → value, for every sample line. */
export async function scrape(opsUrl: string): Promise<Map<string, number>> {
  const text = await (await fetch(`${opsUrl}/metrics`)).text();
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    samples.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return samples;
}

/** Sum of the samples of `name` whose labels include every `label="value"` given. */
export function sum(samples: Map<string, number>, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  for (const [key, value] of samples) {
    const brace = key.indexOf('{');
    const metric = brace < 0 ? key : key.slice(0, brace);
    if (metric !== name) continue;
    if (Object.entries(labels).every(([k, v]) => key.includes(`${k}="${v}"`))) total += value;
  }
  return total;
}
