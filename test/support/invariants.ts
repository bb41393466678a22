// docs/architecture.md's invariants, read from the cluster itself: the core lives in src/chaos/invariants.ts (the chaos
// runner uses it outside the tests too). invariantViolations includes "no VM runs on two nodes" (vmsOnTwoNodesNow);
// MigrationMonitor also samples it while a run goes; vmsOnTwoNodes is the pure judge (src/chaos/twoNodes.ts).
export {
  invariantViolations,
  recordBefore,
  MigrationMonitor,
  vmsOnTwoNodesNow,
  type ClusterBefore,
} from '../../src/chaos/invariants.js';
export { vmsOnTwoNodes, type LauncherPod, type MachineState } from '../../src/chaos/twoNodes.js';
