import { describe, expect, it } from 'vitest';
import { electionStep, mustStepDown, releasedSpec } from '../../src/domain/leaderElection.js';

const config = { identity: 'pod-a', leaseDurationSeconds: 15 };
const now = new Date('2026-12-03T12:00:00.000Z');
const held = (holderIdentity: string | null, renewTime: string, leaseTransitions = 2) => ({
  spec: { holderIdentity, leaseDurationSeconds: 15, renewTime, leaseTransitions },
});

describe('electionStep', () => {
  it('creates the Lease when there is none, held by this replica', () => {
    expect(electionStep(undefined, config, now)).toEqual({
      kind: 'create',
      spec: {
        holderIdentity: 'pod-a',
        leaseDurationSeconds: 15,
        acquireTime: '2026-12-03T12:00:00.000000Z',
        renewTime: '2026-12-03T12:00:00.000000Z',
        leaseTransitions: 0,
      },
    });
  });
  it('renews its own Lease, even one that expired meanwhile (nobody took it)', () => {
    expect(electionStep(held('pod-a', '2026-12-03T11:00:00.000000Z'), config, now)).toMatchObject({
      kind: 'renew',
      spec: { holderIdentity: 'pod-a', renewTime: '2026-12-03T12:00:00.000000Z' },
    });
  });
  it('follows a live holder until its Lease expires', () => {
    expect(electionStep(held('pod-b', '2026-12-03T11:59:50.000000Z'), config, now)).toEqual({
      kind: 'follow',
      holder: 'pod-b',
      until: Date.parse('2026-12-03T12:00:05.000Z'),
    });
  });
  it('takes over an expired or released Lease, counting the transition', () => {
    expect(electionStep(held('pod-b', '2026-12-03T11:59:40.000000Z'), config, now)).toMatchObject({
      kind: 'take',
      from: 'pod-b',
      spec: { holderIdentity: 'pod-a', leaseTransitions: 3 },
    });
    const released = { spec: { ...held('pod-b', '2026-12-03T11:59:59.000000Z').spec, ...releasedSpec() } };
    expect(electionStep(released, config, now)).toMatchObject({ kind: 'take', spec: { holderIdentity: 'pod-a' } });
  });
});

describe('mustStepDown', () => {
  it('keeps leading while the last renew is within two thirds of the duration, and stops after', () => {
    const renewed = now.getTime();
    expect(mustStepDown(renewed, renewed + 9_999, 15)).toBe(false);
    expect(mustStepDown(renewed, renewed + 10_000, 15)).toBe(true);
  });
});
