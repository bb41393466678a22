// Once per test run: the binaries (built on first use), one Temporal dev server, the workflow bundle.
// At the end: stop everything and fail the run if any server process we started is still alive.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { ensureTools, type KubeBinary } from '../../src/tools/binaries.js';
import { startTemporalDevServer } from '../../src/devserver/temporal.js';
import { writeWorkflowBundle } from '../../src/worker/bundle.js';

declare module 'vitest' {
  export interface ProvidedContext {
    temporalAddress: string;
    kubeBinaries: Record<KubeBinary, string>;
    workflowBundlePath: string;
    runDir: string;
  }
}

/** Processes whose command line mentions `dir`: what we started and must have stopped. */
function processesUnder(dir: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (cmd.includes(dir)) found.push(`${pid}: ${cmd.slice(0, 120)}`);
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

export default async function setup(project: TestProject) {
  const started = Date.now();
  const runDir = mkdtempSync(join(tmpdir(), 'pitstop-test-'));
  mkdirSync(join(runDir, 'temporal'), { recursive: true });
  const tools = await ensureTools();
  // Bundling (webpack, seconds of CPU) while the dev server starts: every test file waits for both.
  const [temporal, workflowBundlePath] = await Promise.all([
    startTemporalDevServer({
      binary: tools.temporal,
      logDir: join(runDir, 'temporal'),
      // A file under runDir, so the leak check below also finds a dev server left running.
      dbFile: join(runDir, 'temporal', 'temporal.db'),
      // The run's database is thrown away afterwards: no write need wait for the disk (a quarter off the fast tier).
      sqlitePragmas: { journal_mode: 'wal', synchronous: 'off' },
    }),
    writeWorkflowBundle(join(runDir, 'workflow-bundle.js')),
  ]);
  project.provide('temporalAddress', temporal.address);
  project.provide('kubeBinaries', tools.kube);
  project.provide('workflowBundlePath', workflowBundlePath);
  project.provide('runDir', runDir);
  console.log(
    `[setup] tools, Temporal dev server (${temporal.address}) and workflow bundle ready in ${Date.now() - started} ms`,
  );

  return async () => {
    await temporal.stop();
    await new Promise((r) => setTimeout(r, 500));
    const leftovers = processesUnder(runDir);
    if (leftovers.length > 0) {
      for (const line of leftovers) {
        try {
          process.kill(Number(line.split(':')[0]), 'SIGKILL');
        } catch {
          // already gone
        }
      }
      throw new Error(`processes left behind after the tests:\n${leftovers.join('\n')}`);
    }
    if (!process.env.PITSTOP_KEEP_TEST_DIR) rmSync(runDir, { recursive: true, force: true });
  };
}
