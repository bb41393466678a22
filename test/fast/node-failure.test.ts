// A node that fails in the middle of a planned drain: its migrations fail because virt-handler on it answers nothing.
// The drain stops and says the node failed (NodeFailed), instead of retrying, asking an operator or rolling the dead
// node back into service; the note names the repair that finishes the job.
import { describe, expect, it } from 'vitest';
import { FAILURE_TYPES } from '../../src/domain/workflowNames.js';
import { failureOf, progressOf, reach, until, useFastWorker } from './support/harness.js';
import { nodeWithTwoVms } from './support/scenes.js';
import type { World } from './support/world.js';

const env = useFastWorker();

/** n1 with two VMs and a spare; the first migration off n1 fails because n1 has just crashed. */
function crashesMidDrain(world: World): World {
  world.node('n1').node('spare-1').vm('web-1', 'n1').vm('web-2', 'n1');
  return world.on('waitForMigration', async () => {
    const n1 = world.nodeNamed('n1');
    n1.ready = false;
    n1.notReadySince = '2026-12-03T11:50:00Z';
    return { outcome: 'Failed', phase: 'Failed', failureReason: 'source virt-handler did not answer' };
  });
}

describe.concurrent('a node that fails during a planned drain', () => {
  it('stops the drain with NodeFailed, keeps the node cordoned, releases the lease and names the repair', async () => {
    const { world, start } = env.fresh();
    crashesMidDrain(world);
    const handle = await start({ node: 'n1', hold: 'none', policy: { migration: { attempts: 1 } } });
    const failed = await failureOf(handle);
    expect(failed.type).toBe(FAILURE_TYPES.nodeFailed);
    expect(failed.message).toContain('node n1 failed during the drain (Ready=Unknown since 2026-12-03T11:50:00Z');
    expect(failed.message).toContain('its VMs can neither live-migrate nor stop from a dead node');
    expect(failed.message).toContain('start nodeMaintenance {"node":"n1","mode":"repair"}');
    expect(world.nodeNamed('n1')).toMatchObject({ unschedulable: true, phase: 'NeedsAttention' });
    expect(world.called('uncordon')).toEqual([]);
    expect(world.leases.size).toBe(0);
    const progress = await progressOf(handle);
    expect(progress.phase).toBe('NeedsAttention');
    expect(progress.decisionsPending).toEqual([]);
  });

  it('chaos seed 3: an escalation that times out while the node crashed keeps the node cordoned (NodeFailed)', async () => {
    const { world, start } = env.fresh();
    // web-1 cannot migrate (RWO disk): the run asks; n1 crashes while nobody answers; the abort that follows
    // must not uncordon a node that is not Ready.
    world.node('n1').node('spare-1').vm('web-1', 'n1', { liveMigratable: false });
    const handle = await start({
      node: 'n1',
      hold: 'none',
      policy: { escalation: { onNonMigratable: 'ask', decisionTimeout: '2s', onTimeout: 'abort' } },
    });
    await until(
      'the question about web-1',
      () => progressOf(handle),
      (p) => p.decisionsPending.length > 0,
    );
    const n1 = world.nodeNamed('n1');
    n1.ready = false;
    n1.notReadySince = '2026-12-03T11:50:00Z';
    const failed = await failureOf(handle);
    expect(failed.type).toBe(FAILURE_TYPES.nodeFailed);
    expect(failed.message).toContain('node n1 failed during the drain (Ready=Unknown');
    expect(world.nodeNamed('n1')).toMatchObject({ unschedulable: true, phase: 'NeedsAttention' });
    expect(world.called('uncordon')).toEqual([]);
  });

  it('chaos seed 25: a node whose crash shows only during the roll-back of a cancel stays cordoned (NodeFailed)', async () => {
    const { world, start } = env.fresh();
    // n1 crashed just before the cancel, still Ready when the roll-back began: its Ready=Unknown shows only while
    // the roll-back cancels the migration in flight. The uncordon that would follow must not happen.
    world.node('n1').node('spare-1').vm('web-1', 'n1');
    const gate = world.gate();
    world.on('waitForMigration', gate.hold);
    world.on('cancelMigration', async (input, real) => {
      const n1 = world.nodeNamed('n1');
      n1.ready = false;
      n1.notReadySince = '2026-12-03T17:14:19Z';
      return await real();
    });
    const handle = await start({ node: 'n1', hold: 'none' });
    await gate.entered;
    await handle.cancel();
    const failed = await failureOf(handle);
    expect(failed.type).toBe(FAILURE_TYPES.nodeFailed);
    expect(failed.message).toContain('node n1 failed during the drain (Ready=Unknown since 2026-12-03T17:14:19Z');
    expect(world.nodeNamed('n1')).toMatchObject({ unschedulable: true, phase: 'NeedsAttention' });
    expect(world.called('uncordon')).toEqual([]);
    expect(world.leases.size).toBe(0);
  });

  it('chaos seed 30: a node that does not come back after the roll-back powers it on stays cordoned (NodeFailed)', async () => {
    const { world, start } = env.fresh();
    nodeWithTwoVms(world);
    // The machine powers on but its OS stays dead (it had crashed; its BMC ignored the power cycle).
    world.on('powerOn', async (_input, real) => {
      const answer = await real();
      world.nodeNamed('n1').ready = false;
      return answer;
    });
    const handle = await start({ node: 'n1', power: 'metal3', hold: 'untilReleased' });
    await reach(handle, 'Hold');
    await handle.cancel();
    const failed = await failureOf(handle);
    expect(failed.type).toBe(FAILURE_TYPES.nodeFailed);
    expect(failed.message).toContain('n1 did not come back after the roll-back powered it on');
    expect(world.nodeNamed('n1')).toMatchObject({ unschedulable: true, phase: 'NeedsAttention', power: 'on' });
    expect(world.called('uncordon')).toEqual([]);
    expect(world.leases.size).toBe(0);
  });

  it('a migration that fails on a node still Ready is escalated as before, not called a node failure', async () => {
    const { world, start } = env.fresh();
    world.node('n1').node('spare-1').vm('web-1', 'n1');
    world.on('waitForMigration', async () => ({ outcome: 'Failed', phase: 'Failed' }));
    const handle = await start({ node: 'n1', hold: 'none', policy: { migration: { attempts: 1 } } });
    const asked = await until(
      'a pending decision',
      () => progressOf(handle),
      (p) => p.decisionsPending.length > 0,
    );
    expect(asked.decisionsPending[0]?.reason).toMatch(/^live migration failed 1 time/);
    await handle.cancel();
  });
});
