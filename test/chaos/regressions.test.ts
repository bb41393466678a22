// Failures the chaos runs found, each replayed from its seed (the same scenario, input and fault mix) after the fix.
import { describe, expect, it } from 'vitest';
import { generatePlan, withoutNodeFailures } from '../../src/chaos/generate.js';
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

  it('seed 35: a lease taken by a try that the worker crash lost is released when the run ends before cordon', async () => {
    const plan = generatePlan(35);
    expect(plan.actions.killWorkerAtMs?.[0]).toBeLessThan(1000); // the crash lands while the lease is taken
    // Found before node failures joined the generator: seed 35 now also crashes its node first; replayed without.
    const report = await run(35, withoutNodeFailures);
    expect(report.workerKills).toBeGreaterThanOrEqual(1);
    expect(report.violations).toEqual([]);
  });

  it('seed 51: cancelled while a killed worker had lost the power check: the run ends cancelled, not failed', async () => {
    const plan = generatePlan(51);
    expect(plan.actions.cancelAtMs).toBeDefined();
    const report = await run(51);
    expect(report.workerKills).toBeGreaterThanOrEqual(1);
    expect(report.outcome).not.toBe('Failed');
    expect(report.violations).toEqual([]);
  });

  it('seed 89: a cordon whose answer a killed worker lost is undone by the roll-back (node schedulable again)', async () => {
    const plan = generatePlan(89);
    expect(plan.actions.cancelAtMs).toBeDefined();
    // Found before alert storms joined the generator: seed 89 now also has one; replayed without.
    const report = await run(89, withoutNodeFailures);
    expect(report.violations).toEqual([]);
  });

  it('seed 34: a Redfish BMC that never answers: the run ends RollbackIncomplete, VMs run, node left for the operator', async () => {
    expect(generatePlan(34).faults).toContain('BMC unreachable');
    const report = await run(34);
    // It ends (before the fix the roll-back retried the power-on forever and the run was Unfinished), with the
    // failure type of its own; the invariants accept exactly that outcome: every VM runs, no migration in flight,
    // the lease released, the node still cordoned by this maintenance and marked NeedsAttention.
    expect(report.outcome).toBe('RollbackIncomplete');
    expect(report.detail).toContain('power the machine on by hand');
    expect(report.violations).toEqual([]);
    // Every roll-back step is bounded (the power-on by the power timeout, the others by their retry limit), which
    // with the worker kills makes this run take about two minutes.
  }, 300_000);

  it('seed 38: a guest that ignores shutdown: the run ends, its VM wanting to run, nothing recorded left', async () => {
    expect(generatePlan(38).faults).toContain('vm-3: guest ignores shutdown');
    const report = await run(38);
    // The sandbox's guest that ignores shutdown is destroyed at its grace period, as KubeVirt destroys the domain,
    // so the stop may now finish and the maintenance complete; either way nothing may be left recorded.
    expect(['RolledBack', 'Completed']).toContain(report.outcome);
    expect(report.violations).toEqual([]);
  });

  it('seed 20281 (intensity 1.5): a Manual VM whose guest ignores shutdown: the roll-back ends, lease released', async () => {
    const plan = generatePlan(20281, { intensity: 1.5 });
    expect(plan.faults).toContain('vm-2: guest ignores shutdown');
    const report = await run(20281, () => plan);
    // Before the fix the roll-back's restore of vm-2 waited for a VMI stuck deleting and was retried without limit:
    // the run was Unfinished, the lease, the node's annotation and the VM's record left behind. Now every roll-back
    // step is bounded: it ends RollbackIncomplete naming vm-2 and its record (node annotated NeedsAttention, lease
    // released), or, on a cluster where the hung stop ends with the grace period, rolled back in full.
    // Since the sandbox destroys a guest that ignores shutdown at its grace period (as KubeVirt does), the stop
    // finishes and this seed may complete; the unbounded wait itself is pinned by test/fast/rollback-bounded.test.ts.
    expect(['RollbackIncomplete', 'RolledBack', 'Completed']).toContain(report.outcome);
    if (report.outcome === 'RollbackIncomplete') {
      expect(report.detail).toContain('VM chaos-20281/vm-2 was not started again');
      expect(report.detail).toContain('the lease is released');
    }
    expect(report.violations).toEqual([]);
    // A worker kill at 340 ms costs a short step's 1-minute start-to-close: the run takes about two minutes. The
    // runner bounds it at 5 minutes (then it counts as Unfinished, a violation), so the test may take that long.
  }, 360_000);
});
