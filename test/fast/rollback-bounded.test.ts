// A roll-back step that never finishes (chaos seed 20281: a Manual VM whose old VMI is stuck deleting never gets a
// new one, and its restore was retried without limit). Every roll-back step is bounded: the run ends
// RollbackIncomplete naming what is left, the node annotated NeedsAttention, and the lease released.
import { ApplicationFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { failureOf, phases, progressOf, reach, useFastWorker } from './support/harness.js';
import { nodeWithTwoVms } from './support/scenes.js';
import { fails } from './support/world.js';

const env = useFastWorker();

/** A try that fails as a retryable error (Temporal would retry it for ever if nothing bounded it). */
const alwaysFailsRetryably = (type: string, message: string) => async (): Promise<never> => {
  throw ApplicationFailure.create({ type, message, nonRetryable: false, nextRetryDelay: '10ms' });
};

describe.concurrent('a roll-back step that never finishes', () => {
  it('seed 20281: a VM whose restore never sees its new VMI: RollbackIncomplete names the VM and its record', async () => {
    const { world, start } = env.fresh();
    nodeWithTwoVms(world)
      .on('drainRound', fails('eviction of apps/web-1: 500'))
      .on('restoreVm', alwaysFailsRetryably('VmNotStarted', 'restoring VM vms/stop: no VMI within 5s'));
    const handle = await start({ node: 'n1', power: 'metal3', hold: 'none' });

    const failed = await failureOf(handle);
    expect(failed.type).toBe('RollbackIncomplete');
    expect(failed.message).toContain('maintenance of n1 rolled back incompletely (eviction of apps/web-1: 500)');
    expect(failed.message).toContain('VM vms/stop was not started again (restoring VM vms/stop: no VMI within 5s)');
    expect(failed.message).toContain('pitstop.io/previous-run-strategy');
    expect(failed.message).toContain('the lease is released');
    // A try that waited its whole time and saw no VMI is an answer: not retried.
    expect(world.callsFor('restoreVm', 'stop')).toBe(1);

    const end = await progressOf(handle);
    expect(end.phase).toBe('NeedsAttention');
    expect(phases(end).slice(-2)).toEqual(['RollingBack', 'NeedsAttention']);
    const n1 = world.nodeNamed('n1');
    // The machine is on: the node is uncordoned; its annotation says NeedsAttention, its Event says what is left.
    expect(n1).toMatchObject({ unschedulable: false, phase: 'NeedsAttention' });
    expect(n1.events.at(-1)).toMatch(/^Warning MaintenanceNeedsAttention: VM vms\/stop was not started again/);
    expect(world.leases.size).toBe(0);
    expect(world.vmNamed('stop')).toMatchObject({ running: false, previousRunStrategy: 'Always' });
  });

  it('a migration that can never be cancelled: bounded retries, named, and the rest of the roll-back still done', async () => {
    const { world, start } = env.fresh();
    nodeWithTwoVms(world);
    const gate = world.gate();
    world
      .on('waitForMigration', gate.hold)
      .on('cancelMigration', alwaysFailsRetryably('Kubernetes503', 'cancelling migration: 503'));
    const handle = await start({ node: 'n1', power: 'metal3', hold: 'none' });
    await gate.entered;
    await reach(handle, 'EvacuateVMs');
    await handle.cancel();

    const failed = await failureOf(handle);
    expect(failed.type).toBe('RollbackIncomplete');
    expect(failed.message).toMatch(/migration pitstop-mig-1 of VMI vms\/mig could not be cancelled \(cancelling/);
    expect(world.called('cancelMigration').length).toBe(10); // the attempt limit, not for ever
    expect(world.nodeNamed('n1')).toMatchObject({ unschedulable: false, phase: 'NeedsAttention' });
    expect(world.leases.size).toBe(0);
  });
});
