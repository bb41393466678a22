// Workflow entry point for the worker's bundle: every workflow type Pitstop registers. Both are pinned to the build
// that started them by the versioned worker's default behaviour (src/worker/versioning.ts, docs/versioning.md); the
// roll moves to the current build at each continue-as-new. The behaviour is not set per workflow here: the server
// refuses a workflow task that names one from an unversioned worker (PITSTOP_WORKER_VERSIONING=off, the tests).
export { nodeMaintenance } from './nodeMaintenance/workflow.js';
export { rollingMaintenance } from './rollingMaintenance/workflow.js';
