// Small clusters as the runbook sees them (policy capacity.onNoRoom): a one-worker cluster maintained with its VMs
// shut down and brought back on the same node; refused by default; `wait` waits for room up to its deadline.
// (The decisions: test/domain/smallClusters.test.ts; on the sandbox: test/workflows/small-clusters.test.ts.)
import { describe, expect, it } from 'vitest';
import type { AdmissionVerdict } from '../../src/domain/admission.js';
import { failureOf, phases, progressOf, reach, useFastWorker } from './support/harness.js';
import { POWERED_RUNBOOK, expectPutBack, nodeWithTwoVms } from './support/scenes.js';
import type { World } from './support/world.js';

const env = useFastWorker();

/** The only worker, n1, with a VM that would live-migrate and one that is shut down anyway (None). */
const oneWorker = (world: World) =>
  world
    .node('n1', { pods: ['apps/web-1'] })
    .vm('mig', 'n1')
    .vm('stop', 'n1', { evictionStrategy: 'None' });

const NO_ROOM: AdmissionVerdict = {
  admit: false,
  code: 'NoRoom',
  reason: 'with no other node down, no room for vms/mig (4 GiB)',
  down: [],
  budget: 1,
};

describe.concurrent('capacity.onNoRoom', () => {
  it('shutdown: the one worker is maintained with its VMs shut down, and they come back on it', async () => {
    const { world, start } = env.fresh();
    oneWorker(world);
    const handle = await start({
      node: 'n1',
      power: 'metal3',
      hold: 'none',
      policy: { capacity: { onNoRoom: 'shutdown' } },
    });
    const result = await handle.result();
    expect(result.outcome).toBe('Completed');
    expect(result.summary).toEqual({ migrated: 0, restored: 2, leftOff: 0, deleted: 0, podsEvicted: 1 });
    expect(result.verdict.plan.map((p) => [p.vmi, p.action, p.restore])).toEqual([
      ['vms/mig', 'shutdown', 'afterMaintenance'],
      ['vms/stop', 'shutdown', 'afterMaintenance'],
    ]);
    expect(world.called('startMigration')).toEqual([]);
    expect(phases(await progressOf(handle))).toEqual(POWERED_RUNBOOK);
    // Stopped before the power-off, started again only once the node takes VMs again.
    const order = world.sequence();
    expect(order.lastIndexOf('stopVm')).toBeLessThan(order.indexOf('powerOff'));
    expect(order.indexOf('restoreVm')).toBeGreaterThan(order.indexOf('uncordon'));
    expect(world.vmNamed('mig')).toMatchObject({ node: 'n1', running: true });
    expect(world.vmNamed('stop')).toMatchObject({ node: 'n1', running: true });
    expectPutBack(world, 'n1');
  });

  it('refuse (the default): the one worker is refused at preflight, nothing changed', async () => {
    const { world, start } = env.fresh();
    oneWorker(world);
    const failed = await failureOf(await start({ node: 'n1', hold: 'none' }));
    expect(failed.type).toBe('PreflightRefused');
    expect(failed.message).toMatch(/vms\/mig \(4 GiB\) does not fit on the other nodes/);
    expect(world.called('cordon')).toEqual([]);
    expect(world.called('stopVm')).toEqual([]);
    expect(world.leases.size).toBe(0);
  });

  it('wait: waits for room up to capacity.waitTimeout, then ends refused with nothing changed', async () => {
    const { world, start } = env.fresh();
    oneWorker(world);
    world.on('admitMaintenance', async () => NO_ROOM);
    const handle = await start({
      node: 'n1',
      hold: 'none',
      policy: { capacity: { onNoRoom: 'wait', waitTimeout: '2s' } },
    });
    await reach(handle, 'WaitingForAdmission');
    expect((await progressOf(handle)).message).toBe(NO_ROOM.reason);
    const failed = await failureOf(handle);
    expect(failed.type).toBe('PreflightRefused');
    expect(failed.message).toBe(
      `maintenance of n1 refused: no room after waiting 2s (policy capacity.onNoRoom=wait): ${NO_ROOM.reason}`,
    );
    expect(world.called('admitMaintenance').length).toBeGreaterThan(1);
    expect(world.called('cordon')).toEqual([]);
    expect(world.leases.size).toBe(0);
  });

  it('wait: goes on once there is room, and migrates as planned', async () => {
    const { world, start } = env.fresh();
    nodeWithTwoVms(world);
    const room = { full: true };
    world.on('admitMaintenance', async (_input, real) => (room.full ? NO_ROOM : await real()));
    const handle = await start({
      node: 'n1',
      hold: 'none',
      policy: { capacity: { onNoRoom: 'wait', waitTimeout: '1h' } },
    });
    await reach(handle, 'WaitingForAdmission');
    room.full = false;
    expect((await handle.result()).outcome).toBe('Completed');
    expect(world.vmNamed('mig')).toMatchObject({ node: 'spare-1', running: true });
  });
});
