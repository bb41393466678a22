// A roll-back that cannot power the machine on (chaos seed 34): it ends RollbackIncomplete, bounded; every VM it
// stopped runs again elsewhere; the node stays cordoned, marked NeedsAttention, its lease released; and the
// follow-up the message names (power on by hand, then a maintenance with power none) puts the node back.
import { describe, expect, it } from 'vitest';
import { failureOf, phases, progressOf, reach, useFastWorker } from './support/harness.js';
import { expectPutBack, nodeWithTwoVms } from './support/scenes.js';
import { fails, landsThenFails, onlyFirst } from './support/world.js';

const env = useFastWorker();

describe.concurrent('the machine cannot be powered on in the roll-back', () => {
  it('cancelled in the hold: RollbackIncomplete, VMs elsewhere, the node left cordoned; the follow-up finishes', async () => {
    const { world, start } = env.fresh();
    nodeWithTwoVms(world);
    const handle = await start({ node: 'n1', power: 'metal3' });
    await reach(handle, 'Hold');
    world.on('powerOn', fails('BMC unreachable'));
    await handle.cancel();

    // A cancel too: the operator must hear what is left.
    const failed = await failureOf(handle);
    expect(failed.type).toBe('RollbackIncomplete');
    expect(failed.message).toContain('maintenance of n1 rolled back incompletely (cancelled): ');
    expect(failed.message).toContain('the machine could not be powered on (BMC unreachable); it was powered off.');
    expect(failed.message).toContain('Node n1 is left cordoned');
    expect(failed.message).toContain('power the machine on by hand');
    expect(failed.message).toContain('start nodeMaintenance {"node":"n1","power":"none","hold":"none"}');
    expect((await handle.describe()).status.name).toBe('FAILED');
    const end = await progressOf(handle);
    expect(end).toMatchObject({ phase: 'NeedsAttention', power: 'unknown' });
    expect(phases(end).slice(-3)).toEqual(['Hold', 'RollingBack', 'NeedsAttention']);

    // Never schedule onto a machine whose power is unknown: still cordoned by this run, marked; lease released.
    const n1 = world.nodeNamed('n1');
    expect(n1).toMatchObject({ unschedulable: true, cordonedBy: handle.workflowId, phase: 'NeedsAttention' });
    expect(n1.events.at(-1)).toMatch(/^Warning MaintenanceNeedsAttention: the machine could not be powered on/);
    expect(world.called('uncordon')).toEqual([]);
    expect(world.leases.size).toBe(0);
    expect(world.vmNamed('stop')).toMatchObject({ running: true, node: 'spare-1', starts: 1 });
    expect(world.vmNamed('mig')).toMatchObject({ running: true, node: 'spare-1' });

    // The operator powers the machine on by hand and runs the follow-up under the same workflow id.
    Object.assign(n1, { power: 'on', ready: true });
    const followUp = await start({ node: 'n1', power: 'none', hold: 'none' }, { workflowId: handle.workflowId });
    expect((await followUp.result()).outcome).toBe('Completed');
    expectPutBack(world, 'n1');
  });

  it('after a power-off whose answer was lost: the message says the power state is unknown', async () => {
    const { world, start } = env.fresh();
    nodeWithTwoVms(world).on('powerOff', onlyFirst(landsThenFails())).on('powerOn', fails('BMC unreachable'));
    const handle = await start({ node: 'n1', power: 'metal3', hold: 'none' });
    const failed = await failureOf(handle);
    expect(failed.type).toBe('RollbackIncomplete');
    expect(failed.message).toContain('maintenance of n1 rolled back incompletely (the answer was lost)');
    expect(failed.message).toContain('its power state is unknown (the power-off was never acknowledged)');
    expect(world.nodeNamed('n1')).toMatchObject({ unschedulable: true, phase: 'NeedsAttention' });
    expect(world.leases.size).toBe(0);
  });
});
