// The nodeMaintenance workflow: one JSON object in (what the Temporal UI's start form takes), the runbook out.
// Preflight → cordon → evacuate VMs → evict pods → power off → hold → power on → wait Ready → uncordon → restore.
// Any failure, abort or cancel after the lease is taken rolls back everything this run changed.
// A failed node takes the repair runbook instead (repair.ts): the preflight chooses it (src/domain/repairMode.ts).
import { CancellationScope, isCancellation, workflowInfo } from '@temporalio/workflow';
import type { MaintenanceResult } from '../../domain/progress.js';
import { parseMaintenanceRequest, type MaintenanceInput } from '../../domain/request.js';
import { FAILURE_TYPES, workflowIdProblem } from '../../domain/workflowNames.js';
import { Aborted, NodeFailed, failureMessage, workflowFailure } from '../failures.js';
import { parseOrFail } from '../input.js';
import { cordon, evictPods } from './drain.js';
import { evacuate } from './evacuation.js';
import { setHandlers } from './handlers.js';
import { hold } from './hold.js';
import { parentReporter, type ParentReporter } from './parentReport.js';
import { powerOff, powerOn } from './power.js';
import { admissionPreview, admit } from './admission.js';
import { checkCluster, dryRunResult, refuseUnlessAllowed, resolvePower } from './preflight.js';
import { repair } from './repair.js';
import { releaseNode, restoreVms, uncordon, waitReady } from './restore.js';
import { rollBack } from './rollBack.js';
import { MaintenanceRun } from './state.js';

export async function nodeMaintenance(input: MaintenanceInput): Promise<MaintenanceResult> {
  // Started by a rolling maintenance: the roll follows this run through its reports.
  const reporter = parentReporter(input);
  if (reporter) return await reporter.reportOutcome(() => maintain(input, reporter));
  return await maintain(input);
}

/** The runbook: the ten steps in one try; the catch rolls back whatever they changed. */
async function maintain(input: MaintenanceInput, reporter?: ParentReporter): Promise<MaintenanceResult> {
  const request = parseOrFail(parseMaintenanceRequest, input);
  const idProblem = workflowIdProblem(workflowInfo().workflowId, request.node, request.dryRun);
  if (idProblem) throw workflowFailure(FAILURE_TYPES.invalidInput, idProblem);
  const run = new MaintenanceRun(request, workflowInfo(), reporter);
  const { node } = run;
  setHandlers(run);

  // 1. Preflight: read the cluster once, decide with pure functions. A refused preflight changes nothing.
  run.enter('Preflight');
  const verdict = await checkCluster(run);
  if (request.dryRun) return { ...dryRunResult(run, verdict), admission: await admissionPreview(run, verdict) };
  refuseUnlessAllowed(run, verdict);
  await resolvePower(run);
  // The cluster-wide admission: waits (or refuses) while the budget or the room is taken; admitted = node leased.
  await admit(run, verdict);
  if (verdict.runbook.runbook === 'repair') return await repair(run, verdict);

  try {
    // 2. Cordon (remembering whether it already was), taint, exclude from remediation.
    await cordon(run);
    // 3. Evacuate the VMs per plan, at most policy.parallelMigrations at once.
    await evacuate(run, verdict.plan);
    // 4. Evict the remaining pods (re-listed each round; PodDisruptionBudget refusals retried with backoff).
    await evictPods(run);
    // 5. Power off and wait until the machine is off and the node NotReady.
    if (run.power.kind !== 'none') await powerOff(run);
    // 6. Hold until released (the repair), with reminders and a deadline.
    if (request.hold === 'untilReleased') await hold(run);
    // 7. Power on.
    if (run.power.kind !== 'none') await powerOn(run);
    // 8. Wait until the node is Ready.
    await waitReady(run);
    // 9. Uncordon (only what this run cordoned): taint, label and annotation go too.
    await uncordon(run);
    // 10. Bring back every VM this run stopped, then give the node back.
    await restoreVms(run);
    await releaseNode(run);
    return { node, outcome: 'Completed', verdict, summary: run.summary() };
  } catch (e) {
    const why = isCancellation(e) ? 'cancelled' : e instanceof Aborted ? e.message : failureMessage(e);
    // A node that failed mid-drain is not rolled back into service: it stays cordoned and a repair finishes it.
    const failed = e instanceof NodeFailed ? e.message : undefined;
    const { note: left, nodeFailed } = await CancellationScope.nonCancellable(() => rollBack(run, why, failed));
    if (nodeFailed) throw workflowFailure(FAILURE_TYPES.nodeFailed, `maintenance of ${node} stopped: ${left}`);
    // The machine could not be powered on: whatever started the roll-back (a cancel too), the operator must hear
    // that the node is left cordoned and what to do.
    if (left) {
      throw workflowFailure(
        FAILURE_TYPES.rollbackIncomplete,
        `maintenance of ${node} rolled back incompletely (${why}): ${left}`,
      );
    }
    if (isCancellation(e)) throw e;
    const type = e instanceof Aborted ? FAILURE_TYPES.aborted : FAILURE_TYPES.maintenanceFailed;
    throw workflowFailure(type, `maintenance of ${node} rolled back: ${why}`);
  }
}
