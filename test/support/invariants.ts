// docs/architecture.md's invariants, read from the cluster itself: the core lives in src/chaos/invariants.ts (the chaos
// runner uses it outside the tests too).
export { invariantViolations, recordBefore, MigrationMonitor, type ClusterBefore } from '../../src/chaos/invariants.js';
