// Evacuation and drain outcomes that end a run or shape it: a VM that does not stop, a VM restarted elsewhere at
// once, pods the drain policy forbids evicting, and pods a PodDisruptionBudget holds back.
import { describe, expect, it } from 'vitest';
import { failureOf, progressOf, useFastWorker } from './support/harness.js';
import { expectPutBack, expectRolledBackFrom, nodeWithTwoVms } from './support/scenes.js';
import { returns } from './support/world.js';

const env = useFastWorker();

const blocked = (pod: string, reason: string, by: 'policy' | 'eviction') => ({
  total: 1,
  evicted: [],
  blocked: [{ pod, reason, by }],
  skipped: [],
  terminating: [],
  remaining: 1,
});

describe.concurrent('evacuating the VMs', () => {
  it('a VM that does not stop within the shutdown timeout aborts the run, which rolls back', async () => {
    const { world, start } = env.fresh();
    nodeWithTwoVms(world).on('waitForVmiGone', returns({ outcome: 'TimedOut', phase: 'Running' }));
    const handle = await start({ node: 'n1', hold: 'none' });
    const failed = await failureOf(handle);
    expect(failed.type).toBe('Aborted');
    expect(failed.message).toBe('maintenance of n1 rolled back: vms/stop did not stop within 5s');
    await expectRolledBackFrom(handle, world, 'EvacuateVMs', 'vms/stop did not stop within 5s');
    expectPutBack(world, 'n1');
  });

  it('ShutdownRestartElsewhere: restarted at once on another node, and not again after the maintenance', async () => {
    const { world, start } = env.fresh();
    world.node('n1').node('spare-1').vm('away', 'n1', { strategyLabel: 'ShutdownRestartElsewhere' });
    const handle = await start({ node: 'n1', hold: 'none' });
    expect((await handle.result()).summary).toMatchObject({ restored: 1 });
    expect((await progressOf(handle)).vms[0]).toMatchObject({
      state: 'restored',
      message: 'restarted on another node',
    });
    expect(world.vmNamed('away')).toMatchObject({ running: true, node: 'spare-1', starts: 1 });
    expect(world.called('restoreVm')).toHaveLength(1);
  });
});

describe.concurrent('draining the pods', () => {
  it('a pod the drain policy forbids evicting aborts at once (no waiting), and the run rolls back', async () => {
    const { world, start } = env.fresh();
    const reason = 'uses emptyDir (policy.drain.deleteEmptyDirData)';
    nodeWithTwoVms(world).on('drainRound', returns(blocked('apps/scratch', reason, 'policy')));
    const handle = await start({ node: 'n1', hold: 'none' });
    const failed = await failureOf(handle);
    expect(failed.type).toBe('Aborted');
    expect(failed.message).toBe(
      `maintenance of n1 rolled back: pods the drain policy does not allow to evict: apps/scratch (${reason})`,
    );
    expect(world.called('drainRound')).toHaveLength(1);
    expectPutBack(world, 'n1');
  });

  it('a pod a disruption budget holds back is tried again each round until the drain timeout', async () => {
    const { world, start } = env.fresh();
    nodeWithTwoVms(world).on('drainRound', returns(blocked('apps/web-1', 'PodDisruptionBudget web', 'eviction')));
    const handle = await start({
      node: 'n1',
      hold: 'none',
      policy: { drain: { timeout: '2s', evictionRetryInterval: '100ms' } },
    });
    const failed = await failureOf(handle);
    expect(failed.type).toBe('Aborted');
    expect(failed.message).toBe(
      'maintenance of n1 rolled back: pods still on the node after 2s: apps/web-1: PodDisruptionBudget web',
    );
    expect(world.called('drainRound').length).toBeGreaterThanOrEqual(2);
    expectPutBack(world, 'n1');
  });

  it('a pod let go in a later round: the drain finishes, the phase mark rides along with the first round only', async () => {
    const { world, start } = env.fresh();
    nodeWithTwoVms(world);
    let rounds = 0;
    world.on('drainRound', async (input, real) =>
      (rounds += 1) === 1 ? blocked('apps/web-1', 'PodDisruptionBudget web', 'eviction') : await real(),
    );
    const handle = await start({ node: 'n1', hold: 'none' });
    expect((await handle.result()).summary).toMatchObject({ podsEvicted: 1 });
    expect(world.called('drainRound').map((r) => r.mark)).toEqual([{ phase: 'EvictPods' }, undefined]);
    expect((await progressOf(handle)).drainProgress).toBe(100);
  });
});
