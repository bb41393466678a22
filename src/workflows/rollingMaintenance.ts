// The rollingMaintenance workflow: many nodes, one child nodeMaintenance each (id maintenance-<node>, so a node is
// never in two maintenances), at most maxUnavailable at once, only inside the window, stopping after maxFailures.
// Decisions are pure (domain/rollingPlan.ts); this file waits, starts children and keeps the account.
//
// Children are started with ParentClosePolicy ABANDON, because a continue-as-new closes the run and must not cancel
// them. They report their phase, pending decisions and outcome with the childReport signal to the roll's workflow
// id, so the next run re-attaches to the children still running without starting them again. Cancelling the roll
// asks every running child to cancel (= roll back) and waits for them; terminating the roll leaves them running.
import {
  ApplicationFailure,
  CancellationScope,
  ChildWorkflowFailure,
  ParentClosePolicy,
  TerminatedFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  isCancellation,
  patched,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  startChild,
  workflowInfo,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import {
  parseRollingRequest,
  type RollingInput,
  type RollingNodeRow,
  type RollingProgress,
  type RollingResult,
  type RollingStatus,
} from '../domain/rolling.js';
import {
  FINISHED_STATES,
  failuresOf,
  nextCandidates,
  nextStep,
  orderNodes,
  type AdmissionCheck,
  type RollingSituation,
} from '../domain/rollingPlan.js';
import type { MaintenanceInput } from '../domain/request.js';
import type { Activities } from '../activities/index.js';
import type { nodeMaintenance } from './nodeMaintenance.js';
import { parseOrFail } from './input.js';
import {
  childReportSignal,
  rollingPauseUpdate,
  rollingProgressQuery,
  rollingResumeUpdate,
  skipUpdate,
  workflowIdFor,
  type ChildOutcome,
} from './messages.js';

const FLEET_RETRY = { initialInterval: '1s', maximumInterval: '30s', backoffCoefficient: 2, maximumAttempts: 10 };
const { listFleetNodes, checkFleetNode } = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: FLEET_RETRY,
});
/** A look at up to maxUnavailable (100) nodes reads each one's VMs: more time than a one-node check. */
const { checkFleetNodes } = proxyActivities<Activities>({ startToCloseTimeout: '5 minutes', retry: FLEET_RETRY });

/**
 * Runs that passed this point look at all their free slots' next nodes at once (checkFleetNodes) and start every
 * admitted node together; earlier runs (recorded histories) checked and started one node per look (checkFleetNode).
 */
const ADMIT_SEVERAL = 'rolling-admit-several';

/** A node someone else maintains is tried again after this long. */
const BUSY_RETRY_MS = 15_000;
/** Without room for a node's VMs, capacity is checked again after this long (or when a running node ends). */
const CAPACITY_RETRY_MS = 30_000;
/** How long a cancelled roll waits for its running children to roll back. */
const CANCEL_WAIT_MS = 60 * 60_000;

/** What a run hands to the next one on continue-as-new. */
export interface RollingCarry {
  rows: RollingNodeRow[];
  runs: number;
  paused: boolean;
  lastFinishedAt?: number;
  retryAt: Record<string, number>;
  /** The newest report seen from each running child (by node). */
  reportSeq?: Record<string, number>;
}

const iso = (ms = Date.now()) => new Date(ms).toISOString();

function invalid(message: string): ApplicationFailure {
  return ApplicationFailure.create({ type: 'InvalidInput', message, nonRetryable: true });
}

/** How a child's failure shows in the roll: refused by its preflight, or failed (rolled back, cancelled...). */
function outcomeOf(e: unknown): { outcome: ChildOutcome; message: string } {
  const cause = e instanceof ChildWorkflowFailure ? e.cause : e;
  if (cause instanceof ApplicationFailure && cause.type === 'PreflightRefused') {
    return { outcome: 'refused', message: cause.message };
  }
  if (isCancellation(cause)) return { outcome: 'failed', message: 'cancelled' };
  if (cause instanceof TerminatedFailure) return { outcome: 'failed', message: 'terminated' };
  return { outcome: 'failed', message: (cause as Error | undefined)?.message ?? String(cause) };
}

export async function rollingMaintenance(input: RollingInput, carried?: RollingCarry): Promise<RollingResult> {
  const request = parseOrFail(parseRollingRequest, input);
  const info = workflowInfo();
  const state: RollingCarry = carried ?? { rows: [], runs: 0, paused: false, retryAt: {} };
  let status: RollingStatus = 'Running';
  let message: string | undefined;
  let nextWindowAt: string | undefined;
  let finished = false;
  /** Bumped by everything that may change the next step: updates, children ending (not a child's phase report). */
  let decisions = 0;
  /** Bumped by the updates (pause, resume, skip): they invalidate a look at the next nodes taken meanwhile. */
  let updates = 0;

  const progress = (): RollingProgress => ({
    name: request.name,
    status,
    maxUnavailable: request.maxUnavailable,
    maxFailures: request.maxFailures,
    failures: failuresOf(state.rows),
    nodes: state.rows,
    ...(nextWindowAt !== undefined && { nextWindowAt }),
    runs: state.runs,
    ...(message !== undefined && { message }),
  });
  const show = () => setCurrentDetails(rollingMarkdown(progress()));
  const changed = () => {
    decisions++;
    show();
  };
  const rowOf = (node: string) => state.rows.find((r) => r.node === node);
  const running = () => state.rows.filter((r) => r.state === 'running');

  function finishRow(node: string, runId: string | undefined, outcome: ChildOutcome, text?: string) {
    const row = rowOf(node);
    if (!row || row.state !== 'running' || (runId && row.runId && row.runId !== runId)) return;
    row.state = outcome;
    row.finishedAt = iso();
    row.decisionsPending = [];
    if (text !== undefined) row.message = text;
    state.lastFinishedAt = Date.now();
    changed();
  }

  setHandler(rollingProgressQuery, progress);
  setHandler(childReportSignal, (report) => {
    const row = rowOf(report.node);
    if (!row || row.state !== 'running' || (row.runId && row.runId !== report.runId)) return;
    const seqs = (state.reportSeq ??= {});
    if (report.seq !== undefined) {
      if (report.seq <= (seqs[row.node] ?? 0)) return;
      seqs[row.node] = report.seq;
    }
    if (report.finished) {
      row.phase = report.phase;
      return finishRow(report.node, report.runId, report.finished.outcome, report.finished.message);
    }
    row.phase = report.phase;
    row.decisionsPending = report.decisionsPending;
    show();
  });
  setHandler(
    rollingPauseUpdate,
    () => setPaused(true, 'paused: no new node starts until resume; running nodes go on'),
    {
      validator: () => {
        if (finished) throw new Error(`the roll ${request.name} has ended`);
        if (state.paused) throw new Error(`the roll ${request.name} is already paused`);
      },
    },
  );
  setHandler(rollingResumeUpdate, () => setPaused(false, 'resumed'), {
    validator: () => {
      if (!state.paused) throw new Error(`the roll ${request.name} is not paused`);
    },
  });
  setHandler(
    skipUpdate,
    ({ node }) => {
      const row = rowOf(node);
      if (row) {
        row.state = 'skipped';
        row.finishedAt = iso();
        row.message = 'skipped by an operator';
      }
      updates++;
      changed();
      return `${node} skipped`;
    },
    {
      validator: (skip) => {
        const node = (skip as { node?: unknown } | undefined)?.node;
        if (typeof node !== 'string') throw new Error('skip: expected {"node": "<name>"}');
        const row = rowOf(node);
        if (!row) {
          throw new Error(
            `${node} is not in the roll ${request.name} (nodes: ${state.rows.map((r) => r.node).join(', ')})`,
          );
        }
        if (row.state === 'running') {
          throw new Error(`${node} is in maintenance right now; cancel ${row.workflowId} to stop it`);
        }
        if (FINISHED_STATES.includes(row.state)) throw new Error(`${node} is already ${row.state}`);
      },
    },
  );

  // The nodes are resolved once, at the start: a node that joins the selector later is not part of this roll.
  if (!carried) {
    const found = await listFleetNodes({
      ...(request.selector !== undefined && { selector: request.selector }),
      ...(request.nodes !== undefined && { nodes: request.nodes }),
    });
    if (found.missing.length > 0) {
      throw invalid(`nodes: ${found.missing.join(', ')} ${found.missing.length === 1 ? 'does' : 'do'} not exist`);
    }
    if (found.nodes.length === 0) throw invalid(`selector: "${request.selector}" matches no node`);
    state.rows = orderNodes(found.nodes, request.order).map((n) => ({
      node: n.name,
      state: 'pending',
      workflowId: workflowIdFor(n.name),
      decisionsPending: [],
      vmCount: n.vmCount,
    }));
  }
  show();

  try {
    for (;;) {
      if (continueAsNewDue()) {
        await condition(allHandlersFinished);
        await continueAsNew<typeof rollingMaintenance>(input, { ...state, runs: state.runs + 1 });
      }
      const step = nextStep(situation());
      if (step.kind === 'done') {
        finished = true;
        return end(step.stopped);
      }
      if (step.kind === 'wait') {
        status = step.status;
        message = step.message;
        nextWindowAt = step.status === 'WaitingForWindow' && step.until !== undefined ? iso(step.until) : undefined;
        await waitForChange(step.until);
        continue;
      }
      nextWindowAt = undefined;
      if (patched(ADMIT_SEVERAL)) {
        await admitNext();
        continue;
      }
      const seen = decisions;
      const row = rowOf(step.node);
      if (!row) continue;
      const check = await checkFleetNode({
        node: row.node,
        alsoDown: running().map((r) => r.node),
        policy: request.template.policy,
        // Whoever holds the node's lease, it is not this roll's: its own children are never checked while running.
        ownWorkflowId: info.workflowId,
      });
      // An update or a report during the check (pause, skip, a node ending): decide again.
      if (decisions !== seen) continue;
      if (goneOrBusy(row, check)) continue;
      if (!check.fits) {
        status = 'WaitingForCapacity';
        message = `${row.node} waits for capacity: ${check.message}`;
        await waitForChange(Date.now() + CAPACITY_RETRY_MS);
        continue;
      }
      await startNode(row);
    }
  } catch (e) {
    if (isCancellation(e)) await CancellationScope.nonCancellable(cancelRunning);
    throw e;
  }

  /** Pause or resume: an update, so a capacity look in flight is void. */
  function setPaused(paused: boolean, answer: string): string {
    state.paused = paused;
    updates++;
    changed();
    return answer;
  }

  /** Records a look's answer on the row; true when the node is gone or busy (nothing to start now). */
  function goneOrBusy(row: RollingNodeRow, check: { exists: boolean; vmCount: number; busyWith?: string }): boolean {
    if (!check.exists) {
      vanished(row);
      return true;
    }
    row.vmCount = check.vmCount;
    if (check.busyWith) {
      busy(row, `in maintenance by ${check.busyWith}`);
      return true;
    }
    return false;
  }

  /** A node deleted since the roll started: nothing to maintain, counted as refused. */
  function vanished(row: RollingNodeRow) {
    row.state = 'refused';
    row.finishedAt = iso();
    row.message = `node ${row.node} no longer exists`;
    changed();
  }

  function situation(): RollingSituation {
    return {
      rows: state.rows,
      maxUnavailable: request.maxUnavailable,
      maxFailures: request.maxFailures,
      paused: state.paused,
      ...(request.window && { window: request.window }),
      pauseBetweenNodesMs: request.pauseBetweenNodesMs,
      ...(state.lastFinishedAt !== undefined && { lastFinishedAt: state.lastFinishedAt }),
      retryAt: state.retryAt,
      now: Date.now(),
    };
  }

  /**
   * One look at the next nodes (as many as there are free slots), then every admitted node starts at once. Each
   * node's capacity is checked in that look, with the running nodes and the nodes admitted before it counted as
   * gone. An update during the look (pause, resume, skip) voids it. A node ending during it does not: the look
   * counted that node as gone, so its end only adds room; but it may pass maxFailures or begin the pause between
   * nodes, so `nextStep` is asked again before each start.
   */
  async function admitNext() {
    const seenUpdates = updates;
    const nodes = nextCandidates(situation());
    if (nodes.length === 0) return;
    const checks = await checkFleetNodes({
      nodes,
      alsoDown: running().map((r) => r.node),
      policy: request.template.policy,
      ownWorkflowId: info.workflowId,
      slots: nodes.length,
    });
    if (updates !== seenUpdates) return;
    const starts: Promise<void>[] = [];
    let waiting: AdmissionCheck | undefined;
    for (const check of checks) {
      const step = nextStep(situation());
      if (step.kind !== 'start' || step.node !== check.node) break;
      const row = rowOf(check.node);
      if (!row) break;
      if (goneOrBusy(row, check)) continue;
      if (!check.admit) {
        waiting = check;
        break;
      }
      // startNode marks the row running before its first await: the next nextStep counts it.
      starts.push(startNode(row));
    }
    await Promise.all(starts);
    if (waiting) {
      status = 'WaitingForCapacity';
      message = `${waiting.node} waits for capacity: ${waiting.message}`;
      await waitForChange(Date.now() + CAPACITY_RETRY_MS);
    }
  }

  function continueAsNewDue(): boolean {
    const now = workflowInfo();
    const limit = request.continueAsNewAfterEvents;
    return now.continueAsNewSuggested || (limit !== undefined && now.historyLength > limit);
  }

  /** Until something changes the next step, `until` passes, or the history is long enough to continue as new. */
  async function waitForChange(until?: number) {
    show();
    const seen = decisions;
    const woken = () => decisions !== seen || continueAsNewDue();
    if (until === undefined) await condition(woken);
    else await condition(woken, Math.max(until - Date.now(), 1));
  }

  function busy(row: RollingNodeRow, why: string) {
    state.retryAt[row.node] = Date.now() + BUSY_RETRY_MS;
    row.message = `${why}; tried again after the other nodes`;
    changed();
  }

  async function startNode(row: RollingNodeRow) {
    row.state = 'running';
    if (state.reportSeq) delete state.reportSeq[row.node];
    row.startedAt = iso();
    row.decisionsPending = [];
    delete row.phase;
    delete row.message;
    delete row.finishedAt;
    status = 'Running';
    message = undefined;
    const args: MaintenanceInput = {
      ...(input.template ?? {}),
      hold: request.template.hold,
      node: row.node,
      reason: request.template.reason ?? `rolling maintenance ${request.name}`,
      requestedBy: request.template.requestedBy ?? request.requestedBy ?? info.workflowId,
    };
    try {
      // Started outside the roll's cancellation scope: a cancelled roll cancels its children explicitly (below),
      // the same way whether this run started them or an earlier one did.
      const child = await CancellationScope.nonCancellable(() =>
        startChild<typeof nodeMaintenance>('nodeMaintenance', {
          workflowId: row.workflowId,
          args: [args],
          parentClosePolicy: ParentClosePolicy.ABANDON,
        }),
      );
      row.runId = child.firstExecutionRunId;
      changed();
      child.result().then(
        (result) => finishRow(row.node, child.firstExecutionRunId, 'completed', result.outcome),
        (e: unknown) => {
          const { outcome, message: text } = outcomeOf(e);
          finishRow(row.node, child.firstExecutionRunId, outcome, text);
        },
      );
    } catch (e) {
      if (!(e instanceof WorkflowExecutionAlreadyStartedError)) throw e;
      // Started by hand (or by another roll) meanwhile: never a second maintenance of the same node.
      row.state = 'pending';
      delete row.startedAt;
      busy(row, `${row.workflowId} is already running`);
    }
  }

  async function cancelRunning() {
    status = 'Stopped';
    message = 'cancelled: running nodes roll back';
    const children = running();
    await Promise.all(
      children.map((row) =>
        getExternalWorkflowHandle(row.workflowId, row.runId)
          .cancel()
          .catch(() => undefined),
      ),
    );
    show();
    await condition(() => running().length === 0, CANCEL_WAIT_MS);
    message = 'cancelled';
    show();
  }

  function end(stopped: boolean): RollingResult {
    const named = (s: RollingNodeRow['state']) => state.rows.filter((r) => r.state === s).map((r) => r.node);
    for (const row of state.rows) if (row.state === 'pending') row.message = 'not started: the roll stopped';
    const result: RollingResult = {
      name: request.name,
      status: stopped ? 'Stopped' : 'Completed',
      completed: named('completed'),
      failed: named('failed'),
      refused: named('refused'),
      skipped: named('skipped'),
      notStarted: named('pending'),
      runs: state.runs,
    };
    status = result.status;
    nextWindowAt = undefined;
    const failedNodes = [...result.failed, ...result.refused];
    message = stopped
      ? `stopped after ${failedNodes.length} failed (maxFailures ${request.maxFailures}): ${failedNodes.join(', ')}`
      : `${result.completed.length} of ${state.rows.length} nodes maintained`;
    show();
    if (stopped) {
      throw ApplicationFailure.create({
        type: 'RollingStopped',
        message: `rolling maintenance ${request.name} ${message}; not started: ${result.notStarted.join(', ') || 'none'}`,
        nonRetryable: true,
        details: [result],
      });
    }
    return result;
  }
}

const cell = (text: string | undefined) => (text ?? '').replace(/\|/g, '/').replace(/\n/g, ' ');

/** The progress as markdown for the Temporal UI's current details. */
export function rollingMarkdown(p: RollingProgress): string {
  const count = (s: RollingNodeRow['state']) => p.nodes.filter((r) => r.state === s).length;
  return [
    `## Rolling maintenance ${p.name}: ${p.status}`,
    ...(p.message ? [p.message] : []),
    ...(p.nextWindowAt ? [`Next window opens at ${p.nextWindowAt}.`] : []),
    '',
    `${count('completed')} completed, ${count('running')} running (max ${p.maxUnavailable}), ${count('pending')} pending, ` +
      `${p.failures} failed (max ${p.maxFailures}), ${count('skipped')} skipped; continued as new ${p.runs} times.`,
    '',
    '| node | state | phase | VMs | decisions pending | note |',
    '|---|---|---|---|---|---|',
    ...p.nodes.map(
      (r) =>
        `| ${r.node} | **${r.state}** | ${r.phase ?? ''} | ${r.vmCount ?? ''} | ` +
        `${r.decisionsPending.map((d) => d.vmi).join(', ')} | ${cell(r.message)} |`,
    ),
  ].join('\n');
}
