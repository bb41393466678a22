// The activity proxies of nodeMaintenance, one per kind of step: how long each may take and how it is retried.
import { ActivityCancellationType, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../../activities/index.js';

const RETRY = { initialInterval: '1s', maximumInterval: '30s', backoffCoefficient: 2 };

/**
 * Short steps. On cancel the workflow waits for them to finish (they take milliseconds and do not heartbeat),
 * so a roll-back never races a step still landing, e.g. a VM stop arriving after its restore.
 */
export const quick = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: { ...RETRY, maximumAttempts: 10 },
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
});

/**
 * Roll-back steps: retried for a while (a lost answer, an API hiccup, a worker restart), but bounded in attempts and
 * in time, so a roll-back always ends: a step that gives up is named in the run's NeedsAttention note instead of
 * being retried forever (chaos seeds 34 and 20281).
 */
export const persistent = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  scheduleToCloseTimeout: '3 minutes',
  retry: { ...RETRY, maximumAttempts: 10 },
});

/**
 * A roll-back step that waits inside itself for up to `timeoutMs` (a VM's restore waits for its new VMI): a try that
 * waited the whole time and saw nothing (VmNotStarted) is an answer, not retried; lost tries are, within twice the
 * wait.
 */
export const boundedWait = (timeoutMs: number) =>
  proxyActivities<Activities>({
    startToCloseTimeout: timeoutMs + 30_000,
    scheduleToCloseTimeout: 2 * timeoutMs + 60_000,
    retry: { ...RETRY, maximumAttempts: 3, nonRetryableErrorTypes: ['VmNotStarted'] },
  });

/**
 * Power commands, bounded by the policy's power timeout: an unreachable BMC fails the step within that time (and at
 * most 10 tries) instead of retrying for minutes, or forever in a roll-back.
 */
export const powerCommands = (timeoutMs: number) =>
  proxyActivities<Activities>({
    scheduleToCloseTimeout: Math.max(timeoutMs, 30_000),
    startToCloseTimeout: '1 minute',
    retry: { ...RETRY, maximumAttempts: 10 },
  });

/** Long waits heartbeat; a restarted worker resumes them within the heartbeat timeout. */
export const waiting = (timeoutMs: number) =>
  proxyActivities<Activities>({
    startToCloseTimeout: timeoutMs + 60_000,
    heartbeatTimeout: '30 seconds',
    retry: { ...RETRY, maximumAttempts: 5 },
  });

/** Where the node's power is switched: the answer of the resolvePower activity (no secrets, a Secret's name). */
export type PowerTarget = Awaited<ReturnType<Activities['resolvePower']>>;
