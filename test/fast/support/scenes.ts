// The worlds most fast-tier tests start from, and what a user checks on the cluster after a roll-back.
import { expect } from 'vitest';
import type { WorkflowHandle } from '@temporalio/client';
import { phases, progressOf, type FastEnv, type MaintenanceStart } from './harness.js';
import type { ActivityName, World } from './world.js';

/**
 * Node `node` with two VMs — `mig` live-migrates, `stop` (evictionStrategy None) is shut down and started again
 * after the maintenance — and a pod to drain; two spare nodes take what leaves it.
 */
export function nodeWithTwoVms(world: World, node = 'n1'): World {
  return world
    .node(node, { pods: ['apps/web-1'] })
    .node('spare-1')
    .node('spare-2')
    .vm('mig', node)
    .vm('stop', node, { evictionStrategy: 'None' });
}

/** The phases of a whole maintenance with power and no hold, in order. */
export const POWERED_RUNBOOK = [
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
];

/** The node is as before the maintenance: schedulable, unmarked, powered on, its lease free; every VM runs. */
export function expectPutBack(world: World, node: string): void {
  const n = world.nodeNamed(node);
  expect(n).toMatchObject({ unschedulable: false, power: 'on', ready: true });
  expect(n.cordonedBy).toBeUndefined();
  expect(n.phase).toBeUndefined();
  expect(world.leases.get(node)).toBeUndefined();
  for (const vm of world.vms.values()) {
    expect(vm, `${vm.name} runs again, started at most once`).toMatchObject({ running: true, runStrategy: 'Always' });
    expect(vm.starts).toBeLessThanOrEqual(1);
  }
}

/** The run's progress ends RolledBack after a roll-back begun in `from`, with `why` as its last word. */
export async function expectRolledBackFrom(handle: WorkflowHandle, world: World, from: string, why: string) {
  const end = await progressOf(handle);
  expect(end.phase).toBe('RolledBack');
  expect(phases(end).slice(-3)).toEqual([from, 'RollingBack', 'RolledBack']);
  expect(end.timeline.at(-1)?.message).toContain(why);
  // As `kubectl describe node` tells it.
  expect(world.nodeNamed(end.node).events.at(-1)).toContain(
    `MaintenanceEnded: maintenance ${handle.workflowId} rolled back: ${why}`,
  );
  return end;
}

/** Starts a maintenance of n1 in `nodeWithTwoVms`, held at a gate in activity `name` once a stub waits there. */
export async function startHeld(env: FastEnv, name: ActivityName, input: MaintenanceStart) {
  const { world, start } = env.fresh();
  nodeWithTwoVms(world);
  const gate = world.gate();
  world.on(name, gate.hold);
  const handle = await start(input);
  await gate.entered;
  return { world, gate, handle };
}
