// Workflow entry point for the worker's bundle: every workflow type Pitstop registers.
export { nodeMaintenance } from './nodeMaintenance.js';
export { rollingMaintenance } from './rollingMaintenance.js';
