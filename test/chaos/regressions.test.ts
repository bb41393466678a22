// Failures the chaos runs found whose fix only the real cluster shows, each replayed from its seed (the same
// scenario, input and fault mix): seed 1's reads retried under real API faults through the proxy, seed 38's guest
// that ignores shutdown as the sandbox's KubeVirt leaves it. A fix that is a branch of the workflow is pinned by a
// fast-tier test named after its seed instead (seeds 34, 35, 51, 89 and 20281 in test/fast; seed 34 also on the
// cluster in test/workflows/rollback-incomplete.test.ts): their replays took 6 minutes of the suite, mostly waiting
// out a lost try's 1-minute start-to-close after each worker kill, for branches a stub that acts and then throws
// reaches in a second. Every seed still replays with `npm run chaos -- --seed N --runs 1` (docs/reliability.md).
import { describe, expect, it } from 'vitest';
import { generatePlan } from '../../src/chaos/generate.js';
import { useChaosWorld } from '../support/chaos.js';

const run = useChaosWorld('chaos-regressions');

describe('chaos regressions', () => {
  it('seed 1: preflight under 5% API faults and two worker kills no longer fails on a socket hang-up', async () => {
    expect(generatePlan(1).rates.error5xx).toBeGreaterThan(0);
    const report = await run(1);
    expect(report.workerKills).toBe(2);
    expect(report.outcome).not.toBe('Failed');
    expect(report.violations).toEqual([]);
    // Its bounded roll-back after two worker kills takes about two minutes on a loaded machine (116 s at 2026-12-03).
  }, 300_000);

  it('seed 38: a guest that ignores shutdown: the run ends, its VM wanting to run, nothing recorded left', async () => {
    expect(generatePlan(38).faults).toContain('vm-3: guest ignores shutdown');
    const report = await run(38);
    // The sandbox's guest that ignores shutdown is destroyed at its grace period, as KubeVirt destroys the domain,
    // so the stop may now finish and the maintenance complete; either way nothing may be left recorded.
    expect(['RolledBack', 'Completed']).toContain(report.outcome);
    expect(report.violations).toEqual([]);
  });
});
