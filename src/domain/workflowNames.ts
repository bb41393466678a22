/**
 * The names the workflows, the worker and every client must agree on: workflow types, the task queue, workflow ids
 * and the types of the failures a workflow ends with. One table each, so a typo is a type error, not a lost run.
 */

/** The workflow types the worker registers (each is the name of its exported workflow function). */
export const WORKFLOW_TYPES = {
  nodeMaintenance: 'nodeMaintenance',
  rollingMaintenance: 'rollingMaintenance',
} as const;
export type WorkflowType = (typeof WORKFLOW_TYPES)[keyof typeof WORKFLOW_TYPES];

/** The default task queue of the worker and of the workflows the API and the CLI start. */
export const TASK_QUEUE = 'pitstop';

/** A node's maintenance has this id, so a node is never in two maintenances at once. */
export const workflowIdFor = (node: string) => `maintenance-${node}`;

/**
 * A tag after `#` marks a run that Pitstop's clients will not address (test harnesses run many maintenances of the
 * same node name side by side). `#` cannot be part of a node name, so `maintenance-worker-1#x` is never mistaken for
 * the run of a node called `worker-1-x`, as a `-` tag would be.
 */
export const TAG_SEPARATOR = '#';

/**
 * Why a maintenance of `node` may not run under this workflow id, or undefined. The API, the CLI, the Alertmanager
 * hook's de-duplication and rolls find a node's run by `maintenance-<node>`: a run started from the Temporal UI under
 * another id would be invisible to them. A dry run changes nothing and may run under any id.
 */
export function workflowIdProblem(workflowId: string, node: string, dryRun: boolean): string | undefined {
  const expected = workflowIdFor(node);
  if (dryRun || workflowId === expected || workflowId.startsWith(`${expected}${TAG_SEPARATOR}`)) return undefined;
  return (
    `workflow id "${workflowId}": a maintenance of ${node} runs as workflow id "${expected}" ` +
    '(the API, CLI, alerts and rolls find its run by that id); start it again with that id; nothing was changed'
  );
}

/** The `type` of the ApplicationFailure a workflow ends with; clients match on it. */
export const FAILURE_TYPES = {
  /** The input could not be used; nothing was started or changed. */
  invalidInput: 'InvalidInput',
  /** The preflight (or someone else holding the node's lease) refused; nothing changed. */
  preflightRefused: 'PreflightRefused',
  /** A step failed; everything this run changed was rolled back. */
  maintenanceFailed: 'MaintenanceFailed',
  /** The policy or a deadline stopped the run (no decision, hold deadline, drain forbidden); rolled back. */
  aborted: 'Aborted',
  /** The roll-back could not finish (the machine did not power on): the node is left for the operator. */
  rollbackIncomplete: 'RollbackIncomplete',
  /**
   * A repair stopped after its node was fenced (a hold deadline, a cancel, a step that failed): the node is left
   * off, cordoned and tainted for the operator, never put back into service unrepaired.
   */
  leftFenced: 'LeftFenced',
  /**
   * The node failed and nothing repaired it: it failed during a planned drain (NotReady: nothing migrates or stops
   * off it), or a repair stopped before its fence (abort, cancel, a failure). The roll-back left the node cordoned,
   * and a repair (mode repair) is what finishes it.
   */
  nodeFailed: 'NodeFailed',
  /** A rolling maintenance stopped after more than maxFailures nodes failed. */
  rollingStopped: 'RollingStopped',
} as const;
export type FailureType = (typeof FAILURE_TYPES)[keyof typeof FAILURE_TYPES];
