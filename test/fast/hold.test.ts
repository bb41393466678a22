// The hold: it waits for the release update, reminds on the node while it waits, and rolls back at its deadline.
// Pause and resume hold the runbook at its step boundaries.
import { describe, expect, it } from 'vitest';
import { failureOf, phases, progressOf, reach, refusal, until, useFastWorker } from './support/harness.js';
import { expectPutBack, expectRolledBackFrom, nodeWithTwoVms, startHeld } from './support/scenes.js';
import { pauseUpdate, resumeUpdate, releaseUpdate } from '../../src/workflows/messages.js';

const env = useFastWorker();

describe.concurrent('the hold', () => {
  it('waits for the release, then powers on and finishes; a second release is refused', async () => {
    const { world, start } = env.fresh();
    nodeWithTwoVms(world);
    const handle = await start({ node: 'n1', power: 'metal3', reason: 'DIMM replacement' });
    const held = await reach(handle, 'Hold');
    expect(held.power).toBe('off');
    expect(Date.parse(held.hold?.deadline ?? '') - Date.parse(held.hold?.since ?? '')).toBe(60_000);
    expect(world.nodeNamed('n1')).toMatchObject({ power: 'off', unschedulable: true });
    // The node's mark follows the phase (an activity after it).
    await until(
      'the Hold mark',
      async () => world.nodeNamed('n1').events,
      (e) => e.includes('MaintenanceHold: waiting for release'),
    );
    expect(world.nodeNamed('n1').phase).toBe('Hold');

    expect(await handle.executeUpdate(releaseUpdate, { args: [{ note: 'DIMM replaced' }] })).toBe(
      'released n1: DIMM replaced',
    );
    expect(await refusal(handle.executeUpdate(releaseUpdate, { args: [{}] }))).toBe('n1 is already released');
    expect((await handle.result()).outcome).toBe('Completed');
    const end = await progressOf(handle);
    expect(end.hold?.released).toBeDefined();
    expect(phases(end).slice(4, 7)).toEqual(['PowerOff', 'Hold', 'PowerOn']);
    expectPutBack(world, 'n1');
  });

  it('not released before its deadline: reminds meanwhile, then rolls back, Aborted', async () => {
    const { world, start } = env.fresh();
    nodeWithTwoVms(world);
    const handle = await start({
      node: 'n1',
      power: 'metal3',
      policy: { hold: { deadline: '3s', reminderEvery: '400ms' } },
    });
    const failed = await failureOf(handle);
    expect(failed.type).toBe('Aborted');
    expect(failed.message).toMatch(/^maintenance of n1 rolled back: not released before the hold deadline \(20\d\d-/);
    const reminders = world.called('markNode').filter((m) => m.phase === 'Hold' && m.message?.startsWith('still'));
    expect(reminders.length).toBeGreaterThanOrEqual(2);
    expect(reminders[0]?.message).toMatch(/^still waiting for release since 20\d\d-/);
    await expectRolledBackFrom(handle, world, 'Hold', 'not released before the hold deadline');
    expectPutBack(world, 'n1');
  });

  it('a release sent before the hold is kept: the run does not stop there', async () => {
    const { world, gate, handle } = await startHeld(env, 'waitForMigration', { node: 'n1', power: 'metal3' });
    expect(await handle.executeUpdate(releaseUpdate, { args: [{ note: 'quick fix' }] })).toBe('released n1: quick fix');
    gate.open();
    expect((await handle.result()).outcome).toBe('Completed');
    expect(world.called('markNode').filter((m) => m.message?.startsWith('still'))).toEqual([]);
  });

  it('a release of a maintenance without a hold is refused', async () => {
    const { gate, handle } = await startHeld(env, 'drainRound', { node: 'n1', hold: 'none' });
    expect(await refusal(handle.executeUpdate(releaseUpdate, { args: [{}] }))).toBe(
      'the maintenance of n1 does not hold (hold: none)',
    );
    gate.open();
    expect((await handle.result()).outcome).toBe('Completed');
  });
});

describe.concurrent('pause and resume (refused when already so, or when the run has ended)', () => {
  it('paused, no new VM starts; resumed, the run goes on', async () => {
    // One lane: the second VM waits for the first.
    const held = { node: 'n1', hold: 'none', policy: { parallelMigrations: 1 } } as const;
    const { world, gate, handle } = await startHeld(env, 'waitForMigration', held);
    expect(await refusal(handle.executeUpdate(resumeUpdate))).toBe('the maintenance of n1 is not paused');
    expect(await handle.executeUpdate(pauseUpdate)).toBe('paused: no new step starts until resume');
    expect(await refusal(handle.executeUpdate(pauseUpdate))).toBe('the maintenance of n1 is already paused');
    gate.open();
    await until(
      'vms/mig migrated',
      () => progressOf(handle),
      (p) => p.vms[0]?.state === 'migrated',
    );
    await new Promise((r) => setTimeout(r, 300));
    const paused = await progressOf(handle);
    expect(paused).toMatchObject({ phase: 'EvacuateVMs', paused: true });
    expect(world.called('stopVm')).toEqual([]);

    expect(await handle.executeUpdate(resumeUpdate)).toBe('resumed');
    expect((await handle.result()).outcome).toBe('Completed');
    expect((await progressOf(handle)).paused).toBe(false);
  });

  it('a pause or resume of a run that is rolling back is refused, naming its phase', async () => {
    const { world, gate, handle } = await startHeld(env, 'waitForMigration', { node: 'n1', hold: 'none' });
    const rollingBack = world.gate();
    world.on('uncordon', rollingBack.hold);
    await handle.cancel();
    gate.open();
    await rollingBack.entered;
    expect(await refusal(handle.executeUpdate(pauseUpdate))).toBe(
      'nothing to pause: the maintenance of n1 is RollingBack',
    );
    expect(await refusal(handle.executeUpdate(resumeUpdate))).toBe(
      'nothing to resume: the maintenance of n1 is RollingBack',
    );
    rollingBack.open();
    await expect(handle.result()).rejects.toThrow();
  });
});
