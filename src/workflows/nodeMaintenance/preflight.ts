// Step 1, before the node is taken: read the cluster once and decide with pure functions, resolve the power provider,
// take the node's lease. Up to the lease nothing has changed, so a refusal or a cancel leaves nothing to roll back.
import { CancellationScope, CancelledFailure, isCancellation } from '@temporalio/workflow';
import { preflight, type PreflightVerdict } from '../../domain/preflight.js';
import type { MaintenanceResult } from '../../domain/progress.js';
import { FAILURE_TYPES } from '../../domain/workflowNames.js';
import { workflowFailure } from '../failures.js';
import { quick } from './activities.js';
import type { MaintenanceRun } from './state.js';

/**
 * A step before the node is taken. Cancelled meanwhile, its failure (e.g. a try lost with a killed worker, timed out
 * instead of retried because of the cancel) ends the run as cancelled, which it is: nothing changed.
 */
export async function beforeLease<T>(step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (e) {
    if (!isCancellation(e) && CancellationScope.current().consideredCancelled) {
      throw new CancelledFailure('cancelled before the node was taken; nothing changed');
    }
    throw e;
  }
}

export function refuse(run: MaintenanceRun, why: string, details?: unknown[]): never {
  run.enter('Refused', why);
  throw workflowFailure(FAILURE_TYPES.preflightRefused, `maintenance of ${run.node} refused: ${why}`, details);
}

/** The preflight's verdict on the cluster as it is now. */
export async function checkCluster(run: MaintenanceRun): Promise<PreflightVerdict> {
  const { node, workflowId } = run;
  const snapshot = await beforeLease(() => quick.preflightSnapshot({ node, workflowId }));
  const verdict = (run.progress.verdict = preflight(snapshot, run.request));
  run.progress.runbook = verdict.runbook.runbook;
  return verdict;
}

/** A dry run ends with the verdict: the plan, or why the maintenance would be refused. */
export function dryRunResult(run: MaintenanceRun, verdict: PreflightVerdict): MaintenanceResult {
  run.enter('DryRun', verdict.ok ? 'plan computed, nothing changed' : 'preflight would refuse; nothing changed');
  return { node: run.node, outcome: 'DryRun', verdict };
}

/** Ends the run `PreflightRefused` unless the verdict lets the maintenance start. */
export function refuseUnlessAllowed(run: MaintenanceRun, verdict: PreflightVerdict): void {
  if (verdict.ok) return;
  refuse(run, verdict.refusals.map((r) => r.message).join('; '), [verdict.refusals]);
}

/** Which power provider switches the machine (`none`: the node is maintained without powering it off). */
export async function resolvePower(run: MaintenanceRun): Promise<void> {
  const { node, request } = run;
  const target = await beforeLease(() => quick.resolvePower({ node, power: request.power, redfish: request.redfish }));
  run.power = target;
  if (target.kind === 'none') {
    run.progress.power = 'unmanaged';
    return;
  }
  // As the BMC reports it, not assumed: a failed node may be off already, or on with a dead OS.
  const reading = await beforeLease(() => quick.readPower({ target }));
  run.progress.power = reading.poweredOn === undefined ? 'unknown' : reading.poweredOn ? 'on' : 'off';
}
