// One chaos world per test file (its sandboxes behind a fault proxy, a worker it can kill, a dev server it can
// restart), opened before the file's tests and stopped after them, and a run helper that prints each report.
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, inject } from 'vitest';
import { formatReport, type RunReport } from '../../src/chaos/report.js';
import { openChaosWorld, type ChaosWorld } from '../../src/chaos/run.js';
import type { ChaosPlan } from '../../src/chaos/generate.js';

export interface ChaosRun {
  (seed: number, adjust?: (plan: ChaosPlan) => ChaosPlan): Promise<RunReport>;
  /** The maintenances of `seeds` at once on one cluster (`npm run chaos -- --concurrent N`). */
  group(seeds: number[]): Promise<RunReport[]>;
}

export function useChaosWorld(name: string): ChaosRun {
  let world: ChaosWorld;
  beforeAll(async () => {
    world = await openChaosWorld({
      workDir: mkdtempSync(join(inject('runDir'), `${name}-`)),
      workflowBundlePath: inject('workflowBundlePath'),
      log: (line) => {
        if (process.env.PITSTOP_TEST_VERBOSE) console.log(line);
      },
    });
  });
  afterAll(async () => {
    await world?.stop();
  });
  const run = async (seed: number, adjust?: (plan: ChaosPlan) => ChaosPlan) => {
    const report = await world.run(seed, adjust);
    console.log(`[chaos] ${formatReport(report)}`);
    return report;
  };
  return Object.assign(run, {
    async group(seeds: number[]) {
      const reports = await world.runGroup(seeds);
      for (const report of reports) console.log(`[chaos] ${formatReport(report)}`);
      return reports;
    },
  });
}
