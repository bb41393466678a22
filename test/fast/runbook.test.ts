// The runbook from start to finish with stub activities: what it calls, in which order, and what it leaves.
import { describe, expect, it } from 'vitest';
import { phases, progressOf, useFastWorker } from './support/harness.js';
import { nodeWithTwoVms } from './support/scenes.js';

const env = useFastWorker();

describe.concurrent('a maintenance from start to finish', () => {
  it('cordons, moves the VMs off, drains, powers off and on, uncordons, restores, and releases the lease', async () => {
    const { world, start } = env.fresh();
    nodeWithTwoVms(world);
    const handle = await start({ node: 'n1', power: 'metal3', hold: 'none' });
    const result = await handle.result();
    expect(result).toMatchObject({ node: 'n1', outcome: 'Completed' });
    expect(result.summary).toEqual({ migrated: 1, restored: 1, leftOff: 0, deleted: 0, podsEvicted: 1 });
    const end = await progressOf(handle);
    expect(phases(end)).toEqual([
      'Preflight',
      'Cordon',
      'EvacuateVMs',
      'EvictPods',
      'PowerOff',
      'PowerOn',
      'WaitReady',
      'Uncordon',
      'RestoreVMs',
      'Done',
    ]);
    const n1 = world.nodeNamed('n1');
    expect(n1).toMatchObject({ unschedulable: false, power: 'on', ready: true, pods: [] });
    expect(n1.cordonedBy).toBeUndefined();
    expect(n1.phase).toBeUndefined();
    expect(world.leases.has('n1')).toBe(false);
    expect(world.vmNamed('mig')).toMatchObject({ running: true, node: 'spare-1' });
    expect(world.vmNamed('stop')).toMatchObject({ running: true, runStrategy: 'Always' });
    expect(world.callsFor('restoreVm', 'stop')).toBe(1);
  });
});
