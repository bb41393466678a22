// What reaches a running roll: the progress query, pause, resume and skip from operators, and the reports of the node
// maintenances it started (phase, pending decisions, outcome).
import { setHandler } from '@temporalio/workflow';
import { FINISHED_STATES } from '../../domain/rollingPlan.js';
import {
  childReportSignal,
  rollingPauseUpdate,
  rollingProgressQuery,
  rollingResumeUpdate,
  skipUpdate,
} from '../messages.js';
import { iso, type RollingRun } from './state.js';

export function setHandlers(roll: RollingRun): void {
  const { request, carry } = roll;
  setHandler(rollingProgressQuery, () => roll.progress());

  setHandler(childReportSignal, (report) => {
    const row = roll.rowOf(report.node);
    if (!row || row.state !== 'running' || (row.runId && row.runId !== report.runId)) return;
    const seqs = (carry.reportSeq ??= {});
    if (report.seq !== undefined) {
      if (report.seq <= (seqs[row.node] ?? 0)) return;
      seqs[row.node] = report.seq;
    }
    row.phase = report.phase;
    if (report.finished) {
      return roll.finishRow(report.node, report.runId, report.finished.outcome, report.finished.message);
    }
    row.decisionsPending = report.decisionsPending;
    roll.show();
  });

  /** Pause or resume: an update, so a capacity look in flight is void. */
  const setPaused = (paused: boolean, answer: string): string => {
    carry.paused = paused;
    roll.updates++;
    roll.changed();
    return answer;
  };
  setHandler(
    rollingPauseUpdate,
    () => setPaused(true, 'paused: no new node starts until resume; running nodes go on'),
    {
      validator: () => {
        if (roll.finished) throw new Error(`the roll ${request.name} has ended`);
        if (carry.paused) throw new Error(`the roll ${request.name} is already paused`);
      },
    },
  );
  setHandler(rollingResumeUpdate, () => setPaused(false, 'resumed'), {
    validator: () => {
      if (!carry.paused) throw new Error(`the roll ${request.name} is not paused`);
    },
  });

  setHandler(
    skipUpdate,
    ({ node }) => {
      const row = roll.rowOf(node);
      if (row) {
        row.state = 'skipped';
        row.finishedAt = iso();
        row.message = 'skipped by an operator';
      }
      roll.updates++;
      roll.changed();
      return `${node} skipped`;
    },
    {
      validator: (skip) => {
        const node = (skip as { node?: unknown } | undefined)?.node;
        if (typeof node !== 'string') throw new Error('skip: expected {"node": "<name>"}');
        const row = roll.rowOf(node);
        if (!row) {
          const nodes = roll.rows.map((r) => r.node).join(', ');
          throw new Error(`${node} is not in the roll ${request.name} (nodes: ${nodes})`);
        }
        if (row.state === 'running') {
          throw new Error(`${node} is in maintenance right now; cancel ${row.workflowId} to stop it`);
        }
        if (FINISHED_STATES.includes(row.state)) throw new Error(`${node} is already ${row.state}`);
      },
    },
  );
}
