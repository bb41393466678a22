// Workflow entry point for the worker's bundle: every workflow type Pitstop registers, with its versioning behaviour
// (docs/versioning.md). A maintenance stays on the build that started it: its history only ever meets the code that
// wrote it. A roll is pinned too, and moves to the current build at each continue-as-new (rollingMaintenance asks
// for that when it continues).
import { setWorkflowOptions } from '@temporalio/workflow';
import { nodeMaintenance } from './nodeMaintenance/workflow.js';
import { rollingMaintenance } from './rollingMaintenance/workflow.js';

setWorkflowOptions({ versioningBehavior: 'PINNED' }, nodeMaintenance);
setWorkflowOptions({ versioningBehavior: 'PINNED' }, rollingMaintenance);

export { nodeMaintenance, rollingMaintenance };
