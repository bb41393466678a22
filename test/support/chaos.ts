// One chaos world per test file (its sandboxes behind a fault proxy, a worker it can kill, a dev server it can
// restart), opened before the file's tests and stopped after them, and a run helper that prints each report.
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, inject } from 'vitest';
import { formatReport, type RunReport } from '../../src/chaos/report.js';
import { openChaosWorld, type ChaosWorld } from '../../src/chaos/run.js';
import type { ChaosPlan } from '../../src/chaos/generate.js';

export function useChaosWorld(
  name: string,
): (seed: number, adjust?: (plan: ChaosPlan) => ChaosPlan) => Promise<RunReport> {
  let world: ChaosWorld;
  beforeAll(async () => {
    world = await openChaosWorld({
      workDir: mkdtempSync(join(inject('runDir'), `${name}-`)),
      log: (line) => {
        if (process.env.PITSTOP_TEST_VERBOSE) console.log(line);
      },
    });
  });
  afterAll(async () => {
    await world?.stop();
  });
  return async (seed, adjust) => {
    const report = await world.run(seed, adjust);
    console.log(`[chaos] ${formatReport(report)}`);
    return report;
  };
}
