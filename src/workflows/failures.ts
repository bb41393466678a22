// How the workflows end when they do not succeed: a non-retryable ApplicationFailure whose type is one of the
// domain's FAILURE_TYPES, so clients can tell a refusal from a roll-back without reading messages.
import { ActivityFailure, ApplicationFailure } from '@temporalio/workflow';
import type { FailureType } from '../domain/workflowNames.js';

export function workflowFailure(type: FailureType, message: string, details?: unknown[]): ApplicationFailure {
  return ApplicationFailure.create({ type, message, nonRetryable: true, ...(details && { details }) });
}

/** A step stopped the maintenance on purpose (the policy, a deadline): the run rolls back and ends `Aborted`. */
export class Aborted extends Error {
  override readonly name = 'Aborted';
}

/** The drain stopped because its node failed (src/domain/nodeFailure.ts); the roll-back keeps the node cordoned. */
export class NodeFailed extends Error {
  override readonly name = 'NodeFailed';
}

/** What went wrong, in words: an activity's own failure (e.g. the API server's 403), not "Activity task failed". */
export function failureMessage(e: unknown): string {
  let error: unknown = e;
  while (error instanceof ActivityFailure && error.cause) error = error.cause;
  return error instanceof Error ? error.message : String(error);
}
