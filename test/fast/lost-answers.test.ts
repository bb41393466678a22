// Steps that landed but whose answer was lost (the try failed after the change was made: a killed worker, a
// dropped connection). The workflow cannot know they landed, so it counts them as done: the roll-back undoes them.
import { describe, expect, it } from 'vitest';
import { expectCancelled, failureOf, useFastWorker } from './support/harness.js';
import { expectPutBack, expectRolledBackFrom, nodeWithTwoVms } from './support/scenes.js';
import { landsThenFails, onlyFirst } from './support/world.js';

const env = useFastWorker();
const LOST = 'the answer was lost';

describe.concurrent('a step that landed but whose answer was lost', () => {
  it('the cordon: the roll-back still uncordons the node (chaos seed 89)', async () => {
    const { world, start } = env.fresh();
    nodeWithTwoVms(world).on('cordon', landsThenFails());
    const handle = await start({ node: 'n1', hold: 'none' });
    const failed = await failureOf(handle);
    expect(failed.type).toBe('MaintenanceFailed');
    expect(failed.message).toBe(`maintenance of n1 rolled back: ${LOST}`);
    await expectRolledBackFrom(handle, world, 'Cordon', LOST);
    expect(world.called('uncordon')).toEqual([{ node: 'n1', workflowId: handle.workflowId }]);
    expectPutBack(world, 'n1');
  });

  it('the cordon of a node an admin had cordoned: the roll-back leaves the admin’s cordon', async () => {
    const { world, start } = env.fresh();
    nodeWithTwoVms(world).on('cordon', landsThenFails());
    world.nodeNamed('n1').unschedulable = true;
    const handle = await start({ node: 'n1', hold: 'none' });
    expect((await failureOf(handle)).type).toBe('MaintenanceFailed');
    expect(world.nodeNamed('n1').unschedulable).toBe(true);
    expect(world.nodeNamed('n1').cordonedBy).toBeUndefined();
  });

  it('the lease: it is given back, and the run is refused with nothing else changed (chaos seed 35)', async () => {
    const { world, start } = env.fresh();
    nodeWithTwoVms(world).on('acquireLease', landsThenFails());
    const handle = await start({ node: 'n1', hold: 'none' });
    const failed = await failureOf(handle);
    expect(failed.type).toBe('PreflightRefused');
    expect(failed.message).toBe(`maintenance of n1 refused: ${LOST}`);
    expect(world.sequence()).toEqual([
      'preflightSnapshot',
      'resolvePower',
      'admitMaintenance',
      'acquireLease',
      'releaseLease',
    ]);
    expect(world.leases.size).toBe(0);
    expect(world.nodeNamed('n1').unschedulable).toBe(false);
  });

  it('the lease, taken while the run was cancelled: it is given back, and the run ends cancelled', async () => {
    const { world, start } = env.fresh();
    nodeWithTwoVms(world);
    const gate = world.gate();
    world.on('acquireLease', async (input, real) => {
      const taken = await real();
      await gate.pass();
      return taken;
    });
    const handle = await start({ node: 'n1', hold: 'none' });
    await gate.entered;
    expect(world.leases.get('n1')).toBe(handle.workflowId);
    await handle.cancel();
    await expectCancelled(handle);
    expect(world.leases.size).toBe(0);
    expect(world.called('cordon')).toEqual([]);
  });

  it('the power-off: the roll-back powers the machine on again (chaos seed 34)', async () => {
    const { world, start } = env.fresh();
    nodeWithTwoVms(world).on('powerOff', onlyFirst(landsThenFails()));
    const handle = await start({ node: 'n1', power: 'metal3', hold: 'none' });
    expect((await failureOf(handle)).message).toBe(`maintenance of n1 rolled back: ${LOST}`);
    await expectRolledBackFrom(handle, world, 'PowerOff', LOST);
    expect(world.called('powerOn')).toHaveLength(1);
    expectPutBack(world, 'n1');
  });

  it('a VM stop: the roll-back starts the VM again', async () => {
    const { world, start } = env.fresh();
    nodeWithTwoVms(world).on('stopVm', landsThenFails());
    const handle = await start({ node: 'n1', hold: 'none' });
    expect((await failureOf(handle)).type).toBe('MaintenanceFailed');
    expect(world.vmNamed('stop')).toMatchObject({ running: true, runStrategy: 'Always', starts: 1 });
    expectPutBack(world, 'n1');
  });

  it('the power-on: the roll-back asks again, and the machine is on', async () => {
    const { world, start } = env.fresh();
    nodeWithTwoVms(world).on('powerOn', onlyFirst(landsThenFails()));
    const handle = await start({ node: 'n1', power: 'metal3', hold: 'none' });
    expect((await failureOf(handle)).type).toBe('MaintenanceFailed');
    await expectRolledBackFrom(handle, world, 'PowerOn', LOST);
    expect(world.called('powerOn')).toHaveLength(2);
    expectPutBack(world, 'n1');
  });

  it('the uncordon: the roll-back uncordons again, which changes nothing more', async () => {
    const { world, start } = env.fresh();
    nodeWithTwoVms(world).on('uncordon', onlyFirst(landsThenFails()));
    const handle = await start({ node: 'n1', hold: 'none' });
    expect((await failureOf(handle)).type).toBe('MaintenanceFailed');
    await expectRolledBackFrom(handle, world, 'Uncordon', LOST);
    expect(world.called('uncordon')).toHaveLength(2);
    expectPutBack(world, 'n1');
  });

  it('a VM restore: no VM is started twice', async () => {
    const { world, start } = env.fresh();
    nodeWithTwoVms(world).on('restoreVm', onlyFirst(landsThenFails()));
    const handle = await start({ node: 'n1', hold: 'none' });
    expect((await failureOf(handle)).type).toBe('MaintenanceFailed');
    await expectRolledBackFrom(handle, world, 'RestoreVMs', LOST);
    expect(world.called('restoreVm')).toHaveLength(2);
    expect(world.vmNamed('stop')).toMatchObject({ running: true, starts: 1 });
    expectPutBack(world, 'n1');
  });
});
