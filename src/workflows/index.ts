// Workflow entry point for the worker's bundle: every workflow type Pitstop registers.
export { nodeMaintenance } from './nodeMaintenance/workflow.js';
export { rollingMaintenance } from './rollingMaintenance/workflow.js';
