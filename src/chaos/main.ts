// `npm run chaos -- --runs 100 [--seed N] [--sandbox-every K] [--intensity X] [--concurrent N]`: seeded chaos runs; prints each run
// and the summary; exits 1 when any invariant was violated. `--seed N --runs 1` reproduces one run.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { formatReport, formatSummary } from './report.js';
import { runChaos } from './run.js';

function number(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new Error(`--${name} must be a non-negative number, got "${value}"`);
  return n;
}

async function main() {
  const { values } = parseArgs({
    options: {
      runs: { type: 'string' },
      seed: { type: 'string' },
      'sandbox-every': { type: 'string' },
      concurrency: { type: 'string' },
      concurrent: { type: 'string' },
      intensity: { type: 'string' },
      keep: { type: 'boolean', default: false },
      verbose: { type: 'boolean', default: false },
    },
    strict: true,
  });
  const runs = Math.floor(number(values.runs, 'runs', 10));
  const seed = Math.floor(number(values.seed, 'seed', 1));
  if (runs < 1) throw new Error('--runs must be at least 1');
  const workDir = mkdtempSync(join(tmpdir(), 'pitstop-chaos-'));
  console.log(`chaos: ${runs} runs from seed ${seed} (work directory ${workDir})`);
  const summary = await runChaos({
    runs,
    seed,
    workDir,
    sandboxEvery: Math.max(1, Math.floor(number(values['sandbox-every'], 'sandbox-every', 10))),
    intensity: number(values.intensity, 'intensity', 1),
    concurrency: Math.max(1, Math.floor(number(values.concurrency, 'concurrency', 1))),
    concurrent: Math.max(1, Math.floor(number(values.concurrent, 'concurrent', 1))),
    log: (line) => console.log(`  ${line}`),
    onRun: (report, i) => console.log(`[${i + 1}/${runs}] ${formatReport(report)}`),
  });
  console.log(`\n${formatSummary(summary)}`);
  if (!values.keep && summary.violations === 0) rmSync(workDir, { recursive: true, force: true });
  process.exit(summary.violations === 0 ? 0 : 1);
}

// Ctrl-C / kill: exit through process.exit, so the 'exit' handlers stop every server and worker started.
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));

main().catch((e: unknown) => {
  console.error(`chaos: ${(e as Error).message ?? String(e)}`);
  process.exit(2);
});
