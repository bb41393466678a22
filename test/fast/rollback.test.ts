// A failure at each step of the runbook rolls back everything the run changed: the run fails MaintenanceFailed
// naming the step's own error, and the node, its lease and its VMs are as they were before.
import { describe, expect, it } from 'vitest';
import { failureOf, useFastWorker } from './support/harness.js';
import { expectPutBack, expectRolledBackFrom, nodeWithTwoVms } from './support/scenes.js';
import { fails, failsFirst, failsOnceWhen, onlyFirst, returns, type World } from './support/world.js';

const env = useFastWorker();

const cases: [step: string, phase: string, message: string, script: (w: World) => void][] = [
  [
    'the cordon',
    'Cordon',
    'cordon: the API server said 403',
    (w) => w.on('cordon', fails('cordon: the API server said 403')),
  ],
  [
    'a migration',
    'EvacuateVMs',
    'cannot migrate vms/mig: NotMigratable',
    (w) => w.on('startMigration', fails('cannot migrate vms/mig: NotMigratable')),
  ],
  ['a VM shutdown', 'EvacuateVMs', 'stop vms/stop: conflict', (w) => w.on('stopVm', fails('stop vms/stop: conflict'))],
  [
    'the drain',
    'EvictPods',
    'eviction of apps/web-1: 500',
    (w) => w.on('drainRound', fails('eviction of apps/web-1: 500')),
  ],
  ['the power-off command', 'PowerOff', 'BMC refused ForceOff', (w) => w.on('powerOff', fails('BMC refused ForceOff'))],
  [
    'the wait for NotReady',
    'PowerOff',
    'n1 stayed Ready',
    (w) =>
      w.on(
        'waitForNodeReady',
        failsOnceWhen((i: { ready: boolean }) => i.ready === false, 'n1 stayed Ready'),
      ),
  ],
  ['the power-on command', 'PowerOn', 'BMC busy', (w) => w.on('powerOn', failsFirst(1, 'BMC busy'))],
  [
    'the wait for power on',
    'PowerOn',
    'n1 is not powered on',
    (w) =>
      w.on(
        'waitForPower',
        failsOnceWhen((i: { on: boolean }) => i.on === true, 'n1 is not powered on'),
      ),
  ],
  [
    'the wait for Ready',
    'WaitReady',
    'n1 did not become Ready',
    (w) =>
      w.on(
        'waitForNodeReady',
        failsOnceWhen((i: { ready: boolean }) => i.ready === true, 'n1 did not become Ready'),
      ),
  ],
  ['the uncordon', 'Uncordon', 'uncordon: conflict', (w) => w.on('uncordon', onlyFirst(fails('uncordon: conflict')))],
  [
    'a restore',
    'RestoreVMs',
    'vms/stop is not running 5s after its restore',
    (w) => w.on('waitForVmiRunning', onlyFirst(returns({ outcome: 'TimedOut', phase: 'Pending' }))),
  ],
];

describe.concurrent('a failure at each step rolls back', () => {
  it.each(cases)(
    '%s fails (%s): the run fails MaintenanceFailed and the node is put back',
    async (_step, phase, message, script) => {
      const { world, start } = env.fresh();
      nodeWithTwoVms(world);
      script(world);
      const handle = await start({ node: 'n1', power: 'metal3', hold: 'none' });
      const failed = await failureOf(handle);
      expect(failed.type).toBe('MaintenanceFailed');
      expect(failed.message).toBe(`maintenance of n1 rolled back: ${message}`);
      await expectRolledBackFrom(handle, world, phase, message);
      expectPutBack(world, 'n1');
    },
  );

  it('a failure after power-on does not power on again: one power-on, one uncordon of our own', async () => {
    const { world, start } = env.fresh();
    nodeWithTwoVms(world);
    world.on(
      'waitForNodeReady',
      failsOnceWhen((i: { ready: boolean }) => i.ready === true, 'n1 did not become Ready'),
    );
    const handle = await start({ node: 'n1', power: 'metal3', hold: 'none' });
    expect((await failureOf(handle)).type).toBe('MaintenanceFailed');
    expect(world.called('powerOn')).toHaveLength(1);
    expect(world.called('uncordon')).toEqual([{ node: 'n1', workflowId: handle.workflowId }]);
  });

  it('a migration started when a lane fails is cancelled by the roll-back, and the VM stays where it was', async () => {
    const { world, start } = env.fresh();
    nodeWithTwoVms(world);
    world.on('stopVm', fails('stop vms/stop: conflict'));
    // The migration is under way (never ends by itself) when the other lane fails.
    const gate = world.gate();
    world.on('waitForMigration', gate.hold);
    const handle = await start({ node: 'n1', power: 'none', hold: 'none' });
    expect((await failureOf(handle)).message).toContain('stop vms/stop: conflict');
    expect(world.called('cancelMigration')).toEqual([{ namespace: 'vms', name: 'pitstop-mig-1' }]);
    expect(world.migrations.get('pitstop-mig-1')?.state).toBe('Cancelled');
    expect(world.vmNamed('mig')).toMatchObject({ node: 'n1', running: true });
    expectPutBack(world, 'n1');
  });
});
