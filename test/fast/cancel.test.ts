// Temporal cancel (handle.cancel()) in every phase: the run ends cancelled after a full roll-back, and the node,
// its lease and its VMs are as they were before. Each run is held in its phase by a stub waiting at a gate.
import { describe, expect, it } from 'vitest';
import type { WorkflowHandle } from '@temporalio/client';
import { expectCancelled, progressOf, reach, until, useFastWorker } from './support/harness.js';
import { expectPutBack, expectRolledBackFrom, nodeWithTwoVms, startHeld } from './support/scenes.js';
import { failure, onlyFirst, type Gate, type World } from './support/world.js';
import { pauseUpdate } from '../../src/workflows/messages.js';

const env = useFastWorker();

/** Until the workflow has asked the server to cancel its running activity (it has seen the cancel). */
async function cancelSeen(handle: WorkflowHandle) {
  await until(
    'the activity cancel requested',
    async () => (await handle.fetchHistory()).events ?? [],
    (events) => events.some((e) => e.activityTaskCancelRequestedEventAttributes),
  );
}

interface Case {
  phase: string;
  hold?: 'untilReleased';
  /** Holds the run in its phase (at `gate`). */
  script: (world: World, gate: Gate) => void;
  /** What the test checks once the run stands in the phase, before the cancel. */
  before?: (world: World, handle: WorkflowHandle) => Promise<void>;
  after?: (world: World, handle: WorkflowHandle) => void;
}

const cases: Case[] = [
  {
    phase: 'EvacuateVMs',
    script: (w, gate) => w.on('waitForMigration', gate.hold),
    before: async (w, handle) => {
      await until(
        'vms/stop stopped',
        () => progressOf(handle),
        (p) => p.vms.find((r) => r.vmi === 'vms/stop')?.state === 'stopped',
      );
      expect(w.vmNamed('stop').running).toBe(false);
    },
    after: (w) => {
      // The running migration is cancelled, the VM stays on its node; the stopped VM runs again.
      expect(w.called('cancelMigration')).toEqual([{ namespace: 'vms', name: 'pitstop-mig-1' }]);
      expect(w.vmNamed('mig').node).toBe('n1');
      expect(w.vmNamed('stop').starts).toBe(1);
    },
  },
  {
    phase: 'EvictPods',
    script: (w, gate) => w.on('drainRound', gate.hold),
    after: (w) => {
      expect(w.vmNamed('mig').node).toBe('spare-1'); // a finished migration is not undone
      expect(w.vmNamed('stop').starts).toBe(1);
    },
  },
  {
    phase: 'PowerOff',
    script: (w, gate) =>
      w.on('waitForPower', async (input, real) => (input.on ? await real() : await gate.hold(input, real))),
    before: async (w) => expect(w.nodeNamed('n1').power).toBe('off'),
    after: (w) => expect(w.called('powerOn')).toHaveLength(1),
  },
  {
    phase: 'PowerOn',
    script: (w, gate) => {
      const first = onlyFirst(gate.hold);
      w.on('waitForPower', async (input, real) => (input.on ? await first(input, real) : await real()));
    },
    // The power-on asked for may not have taken: the roll-back asks again.
    after: (w) => expect(w.called('powerOn')).toHaveLength(2),
  },
  {
    phase: 'WaitReady',
    script: (w, gate) =>
      w.on('waitForNodeReady', async (input, real) => (input.ready ? await gate.hold(input, real) : await real())),
    after: (w) => expect(w.called('powerOn')).toHaveLength(1),
  },
  {
    phase: 'Uncordon',
    script: (w, gate) => w.on('uncordon', onlyFirst(gate.hold)),
    after: (w) => expect(w.called('uncordon')).toHaveLength(2),
  },
  {
    phase: 'RestoreVMs',
    script: (w, gate) => w.on('waitForVmiRunning', onlyFirst(gate.hold)),
    // Restored once: the roll-back's restore finds nothing left to do, and waits until the VM runs.
    after: (w) => expect(w.vmNamed('stop')).toMatchObject({ running: true, starts: 1 }),
  },
];

describe.concurrent('cancel rolls back from every phase', () => {
  it.each(cases)('$phase: ends cancelled, the node put back', async ({ phase, hold, script, before, after }) => {
    const { world, start } = env.fresh();
    nodeWithTwoVms(world);
    const gate = world.gate();
    script(world, gate);
    const handle = await start({ node: 'n1', power: 'metal3', hold: hold ?? 'none' });
    await gate.entered;
    expect((await progressOf(handle)).phase).toBe(phase);
    await before?.(world, handle);
    await handle.cancel();
    await expectCancelled(handle);
    await expectRolledBackFrom(handle, world, phase, 'cancelled');
    expectPutBack(world, 'n1');
    after?.(world, handle);
  });

  it('Preflight: ends cancelled, and nothing was ever changed', async () => {
    const { world, handle } = await startHeld(env, 'preflightSnapshot', { node: 'n1', hold: 'none' });
    await handle.cancel();
    await expectCancelled(handle);
    expect((await progressOf(handle)).phase).toBe('Preflight');
    expect(world.sequence()).toEqual(['preflightSnapshot']);
    expect(world.leases.size).toBe(0);
  });

  it('Preflight, its try failing after the cancel (seed 51): ends cancelled, not failed, nothing changed', async () => {
    const { world, start } = env.fresh();
    nodeWithTwoVms(world);
    const gate = world.gate();
    // A try that does not hear the cancel and then fails (a killed worker's lost try ends so).
    world.on('preflightSnapshot', async () => {
      await gate.pass({ heartbeat: false });
      throw failure('the try was lost');
    });
    const handle = await start({ node: 'n1', hold: 'none' });
    await gate.entered;
    await handle.cancel();
    await cancelSeen(handle);
    gate.open();
    await expectCancelled(handle);
    expect(world.sequence()).toEqual(['preflightSnapshot']);
  });

  it('Cordon (paused at the step boundary): the lease is given back and the node was never cordoned', async () => {
    const { world, gate, handle } = await startHeld(env, 'preflightSnapshot', { node: 'n1', hold: 'none' });
    await handle.executeUpdate(pauseUpdate);
    gate.open();
    const paused = await reach(handle, 'Cordon');
    expect(paused.paused).toBe(true);
    expect(world.leases.get('n1')).toBe(handle.workflowId);
    await new Promise((r) => setTimeout(r, 300));
    expect((await progressOf(handle)).phase).toBe('Cordon'); // it really waits
    expect(world.called('cordon')).toEqual([]);

    await handle.cancel();
    await expectCancelled(handle);
    await expectRolledBackFrom(handle, world, 'Cordon', 'cancelled');
    expectPutBack(world, 'n1');
    expect(world.called('uncordon')).toEqual([]);
  });

  it('Hold, on a node an admin had cordoned: powered on, still cordoned, the stay-off VM left off', async () => {
    const { world, start } = env.fresh();
    nodeWithTwoVms(world).vm('off', 'n1', { strategyLabel: 'ShutdownStayOff' });
    world.nodeNamed('n1').unschedulable = true;
    const handle = await start({ node: 'n1', power: 'metal3' });
    const held = await reach(handle, 'Hold');
    expect(held.vms.map((r) => [r.vmi, r.state])).toEqual([
      ['vms/mig', 'migrated'],
      ['vms/off', 'left'],
      ['vms/stop', 'stopped'],
    ]);
    expect(world.nodeNamed('n1').power).toBe('off');

    await handle.cancel();
    await expectCancelled(handle);
    const end = await expectRolledBackFrom(handle, world, 'Hold', 'cancelled');
    expect(end.power).toBe('on');
    const n1 = world.nodeNamed('n1');
    expect(n1).toMatchObject({ unschedulable: true, power: 'on' }); // the admin's cordon stays
    expect(n1.cordonedBy).toBeUndefined();
    expect(world.leases.size).toBe(0);
    expect(world.vmNamed('off')).toMatchObject({ running: false, runStrategy: 'Halted', starts: 0 });
    expect(world.vmNamed('stop')).toMatchObject({ running: true, runStrategy: 'Always', starts: 1 });
  });

  it('RestoreVMs, the VM not yet running: the roll-back waits until it runs before it ends', async () => {
    const { world, start } = env.fresh();
    nodeWithTwoVms(world);
    const restoring = world.gate();
    const rollingBack = world.gate();
    let waits = 0;
    world.on('waitForVmiRunning', async (input, real) =>
      (waits += 1) === 1 ? await restoring.hold(input, real) : await rollingBack.hold(input, real),
    );
    const handle = await start({ node: 'n1', hold: 'none' });
    await restoring.entered;
    await handle.cancel();
    await rollingBack.entered;
    await new Promise((r) => setTimeout(r, 500));
    expect((await progressOf(handle)).phase).toBe('RollingBack');
    rollingBack.open();
    await expectCancelled(handle);
    await expectRolledBackFrom(handle, world, 'RestoreVMs', 'cancelled');
    expect(world.vmNamed('stop')).toMatchObject({ running: true, starts: 1 });
  });
});
