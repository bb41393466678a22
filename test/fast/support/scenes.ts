// The worlds most fast-tier tests start from.
import type { World } from './world.js';

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
