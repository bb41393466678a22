// The generator's node-failure choices, without a cluster.
import { describe, expect, it } from 'vitest';
import { fenceAnswerFor, generateCrash } from '../../src/chaos/generateCrash.js';
import { generatePlan } from '../../src/chaos/generate.js';

const seeds = Array.from({ length: 400 }, (_, i) => i + 1);

describe('chaos generator: node crashes and BMC faults', () => {
  it('is deterministic from the seed', () => {
    for (const seed of [1, 7, 20281]) expect(generateCrash(seed, 'metal3')).toEqual(generateCrash(seed, 'metal3'));
  });

  it('draws both crash kinds over many seeds, none at intensity 0', () => {
    const kinds = new Set(seeds.map((s) => generateCrash(s, 'metal3').failure.kind));
    expect(kinds).toEqual(new Set(['none', 'crashedBefore', 'crashDuringDrain']));
    expect(seeds.every((s) => generateCrash(s, 'metal3', 0).failure.kind === 'none')).toBe(true);
  });

  it('a crash mid-drain has a moment; a crash before asks auto or repair', () => {
    for (const s of seeds) {
      const { failure } = generateCrash(s, 'redfish');
      if (failure.kind === 'crashDuringDrain') expect(failure.atMs).toBeGreaterThanOrEqual(300);
      if (failure.kind === 'crashedBefore') expect(['auto', 'repair']).toContain(failure.mode);
    }
  });

  it('BMC faults only with a BMC and a crash; confirmFenced only when the machine can be known off', () => {
    for (const s of seeds) {
      const none = generateCrash(s, 'none');
      expect(none.bmcFault).toBe('none');
      expect(none.fenceAnswer).toBe('abort');
      const plan = generateCrash(s, 'metal3');
      if (plan.failure.kind === 'none') expect(plan.bmcFault).toBe('none');
      if (plan.bmcFault !== 'none') expect(plan.fenceAnswer).toBe('abort');
    }
    expect(fenceAnswerFor({ kind: 'crashedBefore', mode: 'auto' }, 'none', 'metal3')).toBe('confirmFenced');
    expect(fenceAnswerFor({ kind: 'crashedBefore', mode: 'auto' }, 'unreachable', 'metal3')).toBe('abort');
  });

  it('joins the plan: its crash, its faults, and the mode a node crashed before the start is repaired in', () => {
    for (const s of seeds.slice(0, 100)) {
      const plan = generatePlan(s);
      expect(plan.crash).toEqual(generateCrash(s, plan.bmc));
      for (const f of plan.crash.faults) expect(plan.faults).toContain(f);
      const { failure } = plan.crash;
      expect(plan.input.mode).toBe(failure.kind === 'crashedBefore' ? failure.mode : 'auto');
    }
    const storms = seeds.filter((s) => generatePlan(s).stormAtMs !== undefined);
    expect(storms.length).toBeGreaterThan(0);
    expect(seeds.filter((s) => generatePlan(s, { intensity: 0 }).stormAtMs !== undefined)).toEqual([]);
  });
});
