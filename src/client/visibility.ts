// Listing runs through Temporal visibility: the one-line summary of a run (status, node, phase from the search
// attributes) and the lists of node maintenances and rolls, newest first.
import type { Client, WorkflowExecutionInfo } from '@temporalio/client';
import { MAINTENANCE_DECISIONS_PENDING, MAINTENANCE_NODE, MAINTENANCE_PHASE } from '../workflows/messages.js';
import { WORKFLOW_TYPES, workflowIdFor } from '../domain/workflowNames.js';
import { checkLimit, checkNode } from './inputs.js';

export const NODE_WORKFLOW_TYPE = WORKFLOW_TYPES.nodeMaintenance;

export type RunStatus = 'Running' | 'Completed' | 'Failed' | 'Cancelled' | 'Terminated' | 'TimedOut' | 'ContinuedAsNew';

export interface RunSummary {
  workflowId: string;
  runId: string;
  type: string;
  status: RunStatus;
  startTime: string;
  closeTime?: string;
  node?: string;
  phase?: string;
}

/**
 * The runs waiting for an operator's decision, as a visibility query: the README's saved query for the Temporal UI,
 * and what the pitstop_decisions_pending gauge counts.
 */
export const DECISIONS_PENDING_QUERY =
  `WorkflowType='${WORKFLOW_TYPES.nodeMaintenance}' AND ExecutionStatus='Running' AND ` +
  `${MAINTENANCE_DECISIONS_PENDING.name} > 0`;

/** Temporal's execution status names, as Pitstop shows them. */
export const STATUS: Record<string, RunStatus> = {
  RUNNING: 'Running',
  COMPLETED: 'Completed',
  FAILED: 'Failed',
  CANCELLED: 'Cancelled',
  TERMINATED: 'Terminated',
  TIMED_OUT: 'TimedOut',
  CONTINUED_AS_NEW: 'ContinuedAsNew',
};

export function summaryOf(info: Omit<WorkflowExecutionInfo, 'raw'>): RunSummary {
  const node = info.typedSearchAttributes.get(MAINTENANCE_NODE);
  const phase = info.typedSearchAttributes.get(MAINTENANCE_PHASE);
  return {
    workflowId: info.workflowId,
    runId: info.runId,
    type: info.type,
    status: STATUS[info.status.name] ?? 'Running',
    startTime: info.startTime.toISOString(),
    ...(info.closeTime && { closeTime: info.closeTime.toISOString() }),
    ...(node !== undefined && { node }),
    ...(phase !== undefined && { phase }),
  };
}

/** A value in a visibility query: quotes and backslashes dropped, so a name can never end the string early. */
const quote = (value: string) => `'${value.replace(/['\\]/g, '')}'`;

export class RunListing {
  constructor(private readonly client: Client) {}

  private async list(
    type: string,
    filters: string[],
    limit: number,
    keep: (run: RunSummary) => boolean = () => true,
  ): Promise<RunSummary[]> {
    const query = [`WorkflowType = ${quote(type)}`, ...filters].join(' AND ');
    const runs: RunSummary[] = [];
    for await (const info of this.client.workflow.list({ query, pageSize: Math.min(limit, 100) })) {
      const run = summaryOf(info);
      if (keep(run)) runs.push(run);
      if (runs.length >= limit) break;
    }
    return runs;
  }

  /** Running and recent node maintenances, newest first (Temporal visibility); dry runs (plan-*) left out. */
  async listMaintenances(options: { node?: string; running?: boolean; limit?: number } = {}): Promise<RunSummary[]> {
    if (options.node !== undefined) checkNode(options.node);
    const limit = checkLimit(options.limit);
    return await this.list(
      NODE_WORKFLOW_TYPE,
      [
        ...(options.node !== undefined ? [`MaintenanceNode = ${quote(options.node)}`] : []),
        ...(options.running ? [`ExecutionStatus = 'Running'`] : []),
      ],
      limit,
      (run) => !run.workflowId.startsWith('plan-'),
    );
  }

  /** Runs of `maintenance-<node>` started at or after `since` (the alert hook's memory of what it already did). */
  async maintenanceStartedSince(node: string, since: Date): Promise<RunSummary | undefined> {
    checkNode(node);
    const runs = await this.list(
      NODE_WORKFLOW_TYPE,
      [`WorkflowId = ${quote(workflowIdFor(node))}`, `StartTime >= ${quote(since.toISOString())}`],
      1,
    );
    return runs[0];
  }

  /** How many running maintenances wait for an operator's decision (Temporal visibility, eventually consistent). */
  async countDecisionsPending(): Promise<number> {
    return (await this.client.workflow.count(DECISIONS_PENDING_QUERY)).count;
  }

  async listRolling(options: { running?: boolean; limit?: number } = {}): Promise<RunSummary[]> {
    const limit = checkLimit(options.limit);
    return await this.list(
      WORKFLOW_TYPES.rollingMaintenance,
      options.running ? [`ExecutionStatus = 'Running'`] : [],
      limit,
    );
  }
}
