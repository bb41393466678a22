// Step 1b: the cluster-wide admission (src/domain/admission.ts). Asked after preflight, it takes the node's lease
// when it admits. Not admitted, the run waits in phase WaitingForAdmission with the reason as its message, asking
// again on a growing timer, or ends refused when the request said `admission: "refuse"`, or when it waited for room
// longer than policy capacity.waitTimeout (capacity.onNoRoom=wait). Nothing is changed while waiting, so a cancel
// then ends the run with nothing to roll back.
import {
  ActivityCancellationType,
  CancellationScope,
  isCancellation,
  proxyActivities,
  sleep,
} from '@temporalio/workflow';
import type { Activities } from '../../activities/index.js';
import type { AdmissionKind, AdmissionVerdict } from '../../domain/admission.js';
import { formatDuration } from '../../domain/durations.js';
import { needsRoomElsewhere } from '../../domain/placement.js';
import type { PreflightVerdict } from '../../domain/preflight.js';
import { persistent } from './activities.js';
import { beforeLease, refuse } from './preflight.js';
import type { MaintenanceRun } from './state.js';

/**
 * One admission try. "Another admission is deciding" (AdmissionBusy) is retried by Temporal with backoff; a try lost
 * with its worker times out in a minute and is asked again (the activity is idempotent for one workflow id).
 * Cancelled, the run waits until a running try has ended (it is short): a try that took the lease after the run
 * had already given it back would hold the node for nobody (chaos seed 22: a storm-started run cancelled during
 * its admission left the lease held).
 */
const door = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  retry: { initialInterval: '200ms', maximumInterval: '5s', backoffCoefficient: 2, maximumAttempts: 30 },
});

/** Asking again: soon at first, then every minute (each ask is one activity in history). */
const nextAskMs = (asked: number) => Math.min(60_000, 5_000 * 2 ** Math.min(asked, 4));

function admissionInput(run: MaintenanceRun, verdict: PreflightVerdict, dryRun: boolean) {
  return {
    node: run.node,
    workflowId: run.workflowId,
    kind: verdict.runbook.runbook satisfies AdmissionKind,
    moving: verdict.plan.filter(needsRoomElsewhere).map((plan) => plan.vmi),
    durationSeconds: Math.ceil(run.policy.overallTimeoutMs / 1000),
    dryRun,
  };
}

/** A dry run: what the admission would say now (nothing taken). */
export async function admissionPreview(run: MaintenanceRun, verdict: PreflightVerdict): Promise<AdmissionVerdict> {
  const answer = await beforeLease(() => door.admitMaintenance(admissionInput(run, verdict, true)));
  return (run.progress.admission = answer);
}

/**
 * policy capacity.onNoRoom=wait: how long the run may still wait for room (ms), counted from the first NoRoom
 * answer; past it the run ends refused. Undefined: no deadline (other answers, or another onNoRoom: the queue
 * waits for them as long as it takes).
 */
function roomLeftMs(run: MaintenanceRun, answer: AdmissionVerdict, since: { at?: number }): number | undefined {
  const { onNoRoom, waitTimeoutMs } = run.policy.capacity;
  if (answer.code !== 'NoRoom' || onNoRoom !== 'wait') return undefined;
  since.at ??= Date.now();
  const left = since.at + waitTimeoutMs - Date.now();
  if (left > 0) return left;
  const waited = formatDuration(waitTimeoutMs);
  refuse(run, `no room after waiting ${waited} (policy capacity.onNoRoom=wait): ${answer.reason}`, [answer]);
}

/** Waits until admitted (the node's lease is then ours), or ends the run refused. */
export async function admit(run: MaintenanceRun, verdict: PreflightVerdict): Promise<void> {
  const input = admissionInput(run, verdict, false);
  const noRoomSince: { at?: number } = {};
  for (let asked = 0; ; asked++) {
    let answer: AdmissionVerdict;
    try {
      answer = await beforeLease(() => door.admitMaintenance(input));
    } catch (e) {
      // A try that timed out or was cancelled may have taken the lease on the server: give it back.
      await CancellationScope.nonCancellable(() =>
        persistent.releaseLease({ node: run.node, workflowId: run.workflowId }),
      );
      if (isCancellation(e)) throw e;
      refuse(run, (e as { cause?: Error }).cause?.message ?? (e as Error).message);
    }
    run.progress.admission = answer;
    if (answer.admit) {
      run.changed.lease = true;
      return;
    }
    if (run.request.admission === 'refuse') refuse(run, `not admitted: ${answer.reason}`, [answer]);
    const roomLeft = roomLeftMs(run, answer, noRoomSince);
    if (run.progress.phase !== 'WaitingForAdmission' || run.progress.message !== answer.reason) {
      run.enter('WaitingForAdmission', answer.reason);
    }
    await sleep(Math.min(nextAskMs(asked), roomLeft ?? Infinity));
  }
}
