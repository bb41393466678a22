/**
 * The Temporal-facing service used by the HTTP API and the CLI: every verb on node maintenance, rolling maintenance
 * and schedules. Inputs are validated with the domain parsers BEFORE anything is started or sent; failures are
 * InvalidInputError (bad input), NotFoundError (no such workflow/schedule) or RefusedError (understood, refused).
 */
import { randomUUID } from 'node:crypto';
import {
  ScheduleAlreadyRunning,
  ScheduleNotFoundError,
  WorkflowExecutionAlreadyStartedError,
  WorkflowFailedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  type Client,
  type ScheduleDescription,
  type ScheduleSummary,
  type WorkflowExecutionInfo,
  type WorkflowHandle,
} from '@temporalio/client';
import { ApplicationFailure, CancelledFailure, TerminatedFailure, TimeoutFailure } from '@temporalio/common';
import { InvalidInputError } from '../domain/errors.js';
import { nameProblem } from '../domain/names.js';
import type { Decision } from '../domain/plan.js';
import { parseMaintenanceRequest, type MaintenanceInput, type MaintenanceRequest } from '../domain/request.js';
import type { DecideInput, MaintenanceResult, Progress, ReleaseInput } from '../domain/progress.js';
import { parseRollingRequest, rollingWorkflowIdFor } from '../domain/rolling.js';
import type { RollingProgress } from '../domain/rollingProgress.js';
import { parseScheduleRequest, type ScheduleRequest } from '../domain/schedule.js';
import { workflowIdFor, WORKFLOW_TYPES } from '../domain/workflowNames.js';
import { MAINTENANCE_NODE, MAINTENANCE_PHASE } from '../workflows/messages.js';
import { NotFoundError, RefusedError } from './errors.js';

export const NODE_WORKFLOW_TYPE = 'nodeMaintenance';
export const DECISIONS: readonly Decision[] = ['shutdown', 'retry', 'delete'];

export interface ServiceOptions {
  client: Client;
  taskQueue: string;
  /** When given, a start naming a node the cluster does not have is refused before anything starts. */
  nodeExists?: (node: string) => Promise<boolean>;
}

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

export interface Failure {
  /** ApplicationFailure type (InvalidInput, PreflightRefused, Aborted, MaintenanceFailed) or Cancelled/Terminated/TimedOut. */
  type: string;
  message: string;
}

export interface MaintenanceView extends RunSummary {
  /** Live progress (running workflows only). */
  progress?: Progress;
  result?: MaintenanceResult;
  failure?: Failure;
}

export interface RollingView extends RunSummary {
  progress?: RollingProgress;
  result?: unknown;
  failure?: Failure;
}

export interface StartOutcome {
  workflowId: string;
  runId: string;
  /** false: a run with this id was already running and is returned instead (idempotent start). */
  started: boolean;
}

export interface ScheduleView {
  name: string;
  paused: boolean;
  note?: string;
  every?: string;
  cron?: string;
  timeZone?: string;
  workflowType?: string;
  rollingName?: string;
  nextActionTimes: string[];
  recentActions: { scheduledAt: string; takenAt: string; workflowId: string }[];
  runningWorkflows: string[];
}

const STATUS: Record<string, RunStatus> = {
  RUNNING: 'Running',
  COMPLETED: 'Completed',
  FAILED: 'Failed',
  CANCELLED: 'Cancelled',
  TERMINATED: 'Terminated',
  TIMED_OUT: 'TimedOut',
  CONTINUED_AS_NEW: 'ContinuedAsNew',
};

/** A name used in an id lookup (node or rolling name): anything else is refused before any call. */
function checkNode(node: string): void {
  const problem = nameProblem(node, 'node');
  if (problem !== undefined) throw new InvalidInputError(`node: ${problem}`);
}

function checkRollingName(name: string): void {
  // Scheduled runs have ids like rolling-<name>-2026-11-24T22:00:00Z, so colons and dots are allowed here.
  if (!/^[a-z0-9][a-z0-9.:TZ-]{0,120}$/.test(name)) {
    throw new InvalidInputError(`name: ${JSON.stringify(name.slice(0, 60))} is not a rolling maintenance name`);
  }
}

function checkScheduleName(name: string): void {
  if (!/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(name)) {
    throw new InvalidInputError(`name: ${JSON.stringify(name.slice(0, 60))} is not a schedule name (a DNS label)`);
  }
}

/** The failure a closed run ended with, in one line (the cause's message: the reason a user needs). */
export function failureOf(error: unknown): Failure {
  const cause = error instanceof WorkflowFailedError ? error.cause : error;
  if (cause instanceof ApplicationFailure) return { type: cause.type ?? 'Failed', message: cause.message };
  if (cause instanceof CancelledFailure) return { type: 'Cancelled', message: 'cancelled' };
  if (cause instanceof TerminatedFailure) return { type: 'Terminated', message: cause.message || 'terminated' };
  if (cause instanceof TimeoutFailure) return { type: 'TimedOut', message: 'timed out' };
  return { type: 'Failed', message: (cause as Error)?.message ?? String(cause) };
}

function summaryOf(info: Omit<WorkflowExecutionInfo, 'raw'>): RunSummary {
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

const quote = (value: string) => `'${value.replace(/['\\]/g, '')}'`;

export class PitstopService {
  readonly client: Client;
  readonly taskQueue: string;
  private readonly nodeExists?: (node: string) => Promise<boolean>;

  constructor(options: ServiceOptions) {
    this.client = options.client;
    this.taskQueue = options.taskQueue;
    this.nodeExists = options.nodeExists;
  }

  // -------------------------------------------------------------------------------------------------------------
  // Node maintenance

  /** Validates the input (and, when the service can see the cluster, that the node exists). */
  async validateMaintenance(input: unknown): Promise<MaintenanceRequest> {
    const request = parseMaintenanceRequest(input);
    if (this.nodeExists && !(await this.nodeExists(request.node))) {
      throw new NotFoundError(`node ${request.node} does not exist in the cluster; nothing was started`);
    }
    return request;
  }

  /**
   * Starts `maintenance-<node>`; if one is running already it is returned instead (started: false), whatever input
   * it was started with. `memo` is shown in the Temporal UI (e.g. the alert that caused the start).
   */
  async startMaintenance(input: unknown, memo?: Record<string, unknown>): Promise<StartOutcome> {
    const request = await this.validateMaintenance(input);
    if (request.dryRun) throw new InvalidInputError('dryRun: use plan for a dry run (it does not take the node id)');
    return await this.startOrGet(NODE_WORKFLOW_TYPE, workflowIdFor(request.node), input, request.node, memo);
  }

  private async startOrGet(
    type: string,
    workflowId: string,
    input: unknown,
    node?: string,
    memo?: Record<string, unknown>,
  ): Promise<StartOutcome> {
    try {
      const handle = await this.client.workflow.start(type, {
        taskQueue: this.taskQueue,
        workflowId,
        args: [input],
        workflowIdConflictPolicy: 'FAIL',
        ...(node !== undefined && { typedSearchAttributes: [{ key: MAINTENANCE_NODE, value: node }] }),
        ...(memo !== undefined && { memo }),
      });
      return { workflowId, runId: handle.firstExecutionRunId, started: true };
    } catch (e) {
      if (!(e instanceof WorkflowExecutionAlreadyStartedError)) throw e;
      const description = await this.client.workflow.getHandle(workflowId).describe();
      return { workflowId, runId: description.runId, started: false };
    }
  }

  /** A dry run: the preflight verdict and per-VM plan, nothing changed. Runs under its own id, so it never blocks. */
  async planMaintenance(input: unknown): Promise<MaintenanceResult> {
    const request = await this.validateMaintenance(
      typeof input === 'object' && input !== null ? { ...input, dryRun: true } : input,
    );
    return (await this.client.workflow.execute(NODE_WORKFLOW_TYPE, {
      taskQueue: this.taskQueue,
      workflowId: `plan-${request.node}-${randomUUID().slice(0, 8)}`,
      args: [{ ...(input as MaintenanceInput), dryRun: true }],
      typedSearchAttributes: [{ key: MAINTENANCE_NODE, value: request.node }],
    })) as MaintenanceResult;
  }

  private async describeRun(workflowId: string, what: string) {
    const handle = this.client.workflow.getHandle(workflowId);
    try {
      return { handle, description: await handle.describe() };
    } catch (e) {
      if (e instanceof WorkflowNotFoundError) throw new NotFoundError(`no ${what} found (workflow ${workflowId})`);
      throw e;
    }
  }

  private async view<P, R>(handle: WorkflowHandle, summary: RunSummary) {
    if (summary.status === 'Running') {
      try {
        return { ...summary, progress: await handle.query<P>('progress') };
      } catch {
        return summary; // not yet picked up by a worker: no progress to show yet
      }
    }
    try {
      return { ...summary, result: (await handle.result()) as R };
    } catch (e) {
      return { ...summary, failure: failureOf(e) };
    }
  }

  async getMaintenance(node: string): Promise<MaintenanceView> {
    checkNode(node);
    const { handle, description } = await this.describeRun(workflowIdFor(node), `maintenance of ${node}`);
    return (await this.view<Progress, MaintenanceResult>(handle, summaryOf(description))) as MaintenanceView;
  }

  /** Waits for the latest run to end; returns its view. */
  async waitMaintenance(node: string): Promise<MaintenanceView> {
    checkNode(node);
    const { handle } = await this.describeRun(workflowIdFor(node), `maintenance of ${node}`);
    await handle.result().catch(() => undefined);
    return await this.getMaintenance(node);
  }

  private async update(workflowId: string, what: string, name: string, args: unknown[]): Promise<string> {
    const { handle, description } = await this.describeRun(workflowId, what);
    if (description.status.name !== 'RUNNING') {
      throw new RefusedError(`${what} is not running (${STATUS[description.status.name] ?? description.status.name})`);
    }
    try {
      return args.length > 0
        ? await handle.executeUpdate<string, [unknown]>(name, { args: [args[0]] })
        : await handle.executeUpdate<string, []>(name);
    } catch (e) {
      if (e instanceof WorkflowUpdateFailedError) {
        throw new RefusedError((e.cause as Error | undefined)?.message ?? e.message);
      }
      if (e instanceof WorkflowNotFoundError) throw new RefusedError(`${what} is not running`);
      throw e;
    }
  }

  async decide(node: string, input: unknown): Promise<string> {
    checkNode(node);
    const decision = parseDecision(input);
    return await this.update(workflowIdFor(node), `maintenance of ${node}`, 'decide', [decision]);
  }

  async release(node: string, input: unknown = {}): Promise<string> {
    checkNode(node);
    const release = parseRelease(input);
    return await this.update(workflowIdFor(node), `maintenance of ${node}`, 'release', [release]);
  }

  async pauseMaintenance(node: string): Promise<string> {
    checkNode(node);
    return await this.update(workflowIdFor(node), `maintenance of ${node}`, 'pause', []);
  }

  async resumeMaintenance(node: string): Promise<string> {
    checkNode(node);
    return await this.update(workflowIdFor(node), `maintenance of ${node}`, 'resume', []);
  }

  private async cancelRun(workflowId: string, what: string): Promise<string> {
    const { handle, description } = await this.describeRun(workflowId, what);
    if (description.status.name !== 'RUNNING') {
      throw new RefusedError(`${what} is not running (${STATUS[description.status.name] ?? description.status.name})`);
    }
    await handle.cancel();
    return `cancel requested: ${what} rolls back`;
  }

  async cancelMaintenance(node: string): Promise<string> {
    checkNode(node);
    return await this.cancelRun(workflowIdFor(node), `maintenance of ${node}`);
  }

  private async listRuns(
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
    return await this.listRuns(
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
    const runs = await this.listRuns(
      NODE_WORKFLOW_TYPE,
      [`WorkflowId = ${quote(workflowIdFor(node))}`, `StartTime >= ${quote(since.toISOString())}`],
      1,
    );
    return runs[0];
  }

  // -------------------------------------------------------------------------------------------------------------
  // Rolling maintenance

  async startRolling(input: unknown): Promise<StartOutcome> {
    const request = parseRollingRequest(input);
    if (this.nodeExists && request.nodes) {
      const missing: string[] = [];
      for (const node of request.nodes) if (!(await this.nodeExists(node))) missing.push(node);
      if (missing.length > 0) {
        throw new NotFoundError(`nodes not in the cluster: ${missing.join(', ')}; nothing was started`);
      }
    }
    return await this.startOrGet(WORKFLOW_TYPES.rollingMaintenance, rollingWorkflowIdFor(request.name), input);
  }

  async getRolling(name: string): Promise<RollingView> {
    checkRollingName(name);
    const { handle, description } = await this.describeRun(rollingWorkflowIdFor(name), `rolling maintenance ${name}`);
    return (await this.view<RollingProgress, unknown>(handle, summaryOf(description))) as RollingView;
  }

  async pauseRolling(name: string): Promise<string> {
    checkRollingName(name);
    return await this.update(rollingWorkflowIdFor(name), `rolling maintenance ${name}`, 'pause', []);
  }

  async resumeRolling(name: string): Promise<string> {
    checkRollingName(name);
    return await this.update(rollingWorkflowIdFor(name), `rolling maintenance ${name}`, 'resume', []);
  }

  async skipNode(name: string, input: unknown): Promise<string> {
    checkRollingName(name);
    const node =
      typeof input === 'object' && input !== null && !Array.isArray(input)
        ? (input as Record<string, unknown>).node
        : undefined;
    if (typeof node !== 'string')
      throw new InvalidInputError('node: required (the node to skip, e.g. {"node": "worker-3"})');
    const extra = Object.keys(input as object).filter((k) => k !== 'node');
    if (extra.length > 0) throw new InvalidInputError(`${extra.join(', ')}: unknown field`);
    checkNode(node);
    return await this.update(rollingWorkflowIdFor(name), `rolling maintenance ${name}`, 'skip', [{ node }]);
  }

  async cancelRolling(name: string): Promise<string> {
    checkRollingName(name);
    return await this.cancelRun(rollingWorkflowIdFor(name), `rolling maintenance ${name}`);
  }

  async listRolling(options: { running?: boolean; limit?: number } = {}): Promise<RunSummary[]> {
    const limit = checkLimit(options.limit);
    return await this.listRuns(
      WORKFLOW_TYPES.rollingMaintenance,
      options.running ? [`ExecutionStatus = 'Running'`] : [],
      limit,
    );
  }

  // -------------------------------------------------------------------------------------------------------------
  // Schedules

  async createSchedule(input: unknown): Promise<ScheduleView> {
    const request: ScheduleRequest = parseScheduleRequest(input);
    try {
      await this.client.schedule.create({
        scheduleId: request.name,
        spec: {
          ...(request.everyMs !== undefined && { intervals: [{ every: request.everyMs }] }),
          ...(request.cron !== undefined && { cronExpressions: [request.cron] }),
          timezone: request.timeZone,
        },
        action: {
          type: 'startWorkflow',
          workflowType: WORKFLOW_TYPES.rollingMaintenance,
          // Temporal appends the scheduled time: rolling-<name>-2026-11-24T22:00:00Z.
          workflowId: rollingWorkflowIdFor(request.rolling.name),
          taskQueue: this.taskQueue,
          args: [request.rollingInput],
        },
        policies: { overlap: 'SKIP' },
        state: { paused: request.paused, ...(request.note !== undefined && { note: request.note }) },
        // The description gives cron back as calendars: keep what the user typed for display.
        memo: { pitstop: 'rolling', ...(request.cron !== undefined && { cron: request.cron }) },
      });
    } catch (e) {
      if (e instanceof ScheduleAlreadyRunning) throw new RefusedError(`schedule ${request.name} already exists`);
      throw e;
    }
    return await this.getSchedule(request.name);
  }

  async getSchedule(name: string): Promise<ScheduleView> {
    checkScheduleName(name);
    let description: ScheduleDescription;
    try {
      description = await this.client.schedule.getHandle(name).describe();
    } catch (e) {
      if (e instanceof ScheduleNotFoundError) throw new NotFoundError(`no schedule ${name}`);
      throw e;
    }
    const action = description.action as { workflowType?: string; args?: unknown[] };
    const rollingName = (action.args?.[0] as { name?: string } | undefined)?.name;
    const interval = description.spec.intervals?.[0];
    return {
      name,
      paused: description.state.paused,
      ...(description.state.note ? { note: description.state.note } : {}),
      ...(interval && { every: formatMs(Number(interval.every)) }),
      ...(typeof description.memo?.cron === 'string' ? { cron: description.memo.cron } : {}),
      ...(description.spec.timezone ? { timeZone: description.spec.timezone } : {}),
      ...(action.workflowType !== undefined && { workflowType: action.workflowType }),
      ...(rollingName !== undefined && { rollingName }),
      nextActionTimes: description.info.nextActionTimes.map((t) => t.toISOString()),
      recentActions: description.info.recentActions.map((a) => ({
        scheduledAt: a.scheduledAt.toISOString(),
        takenAt: a.takenAt.toISOString(),
        workflowId: a.action.workflow.workflowId,
      })),
      runningWorkflows: description.info.runningActions.map((a) => a.workflow.workflowId),
    };
  }

  /** Pitstop's schedules: those whose action starts rollingMaintenance. */
  async listSchedules(): Promise<{ name: string; paused: boolean; note?: string; nextActionTimes: string[] }[]> {
    const found: { name: string; paused: boolean; note?: string; nextActionTimes: string[] }[] = [];
    for await (const s of this.client.schedule.list() as AsyncIterable<ScheduleSummary>) {
      if (s.action?.type !== 'startWorkflow' || s.action.workflowType !== WORKFLOW_TYPES.rollingMaintenance) continue;
      found.push({
        name: s.scheduleId,
        paused: s.state.paused,
        ...(s.state.note ? { note: s.state.note } : {}),
        nextActionTimes: s.info.nextActionTimes.map((t) => t.toISOString()),
      });
    }
    return found.sort((a, b) => a.name.localeCompare(b.name));
  }

  private async onSchedule(name: string, act: (handle: ReturnType<Client['schedule']['getHandle']>) => Promise<void>) {
    checkScheduleName(name);
    try {
      await act(this.client.schedule.getHandle(name));
    } catch (e) {
      if (e instanceof ScheduleNotFoundError) throw new NotFoundError(`no schedule ${name}`);
      throw e;
    }
  }

  async pauseSchedule(name: string, note?: string): Promise<ScheduleView> {
    await this.onSchedule(name, (h) => h.pause(note ?? 'paused through Pitstop'));
    return await this.getSchedule(name);
  }

  async unpauseSchedule(name: string, note?: string): Promise<ScheduleView> {
    await this.onSchedule(name, (h) => h.unpause(note ?? 'unpaused through Pitstop'));
    return await this.getSchedule(name);
  }

  async triggerSchedule(name: string): Promise<void> {
    await this.onSchedule(name, (h) => h.trigger());
  }

  async deleteSchedule(name: string): Promise<void> {
    await this.onSchedule(name, (h) => h.delete());
  }
}

function formatMs(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

function checkLimit(limit: number | undefined): number {
  if (limit === undefined) return 50;
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
    throw new InvalidInputError(`limit: expected a whole number from 1 to 1000, got ${String(limit)}`);
  }
  return limit;
}

function objectOrProblem(input: unknown, example: string): Record<string, unknown> {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new InvalidInputError(`input: expected a JSON object like ${example}`);
  }
  return input as Record<string, unknown>;
}

/** The `decide` update's input, checked before it is sent (the workflow's validator checks it against its state). */
export function parseDecision(input: unknown): DecideInput {
  const body = objectOrProblem(input, '{"vmi": "ns/name", "action": "shutdown"}');
  const problems: string[] = [];
  const { vmi, action, ...rest } = body;
  if (typeof vmi !== 'string') problems.push('vmi: required, "namespace/name" of the VM instance');
  else if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?\/[a-z0-9]([-.a-z0-9]*[a-z0-9])?$/.test(vmi)) {
    problems.push(`vmi: ${JSON.stringify(vmi.slice(0, 60))} is not "namespace/name"`);
  }
  if (typeof action !== 'string' || !(DECISIONS as readonly string[]).includes(action)) {
    problems.push(
      `action: ${action === undefined ? 'required' : `${JSON.stringify(action)} is not`} one of ${DECISIONS.join(', ')}`,
    );
  }
  for (const key of Object.keys(rest)) problems.push(`${key}: unknown field`);
  if (problems.length > 0) throw new InvalidInputError(problems);
  return { vmi: vmi as string, action: action as DecideInput['action'] };
}

export function parseRelease(input: unknown): ReleaseInput {
  const body = objectOrProblem(input ?? {}, '{"note": "DIMM replaced"}');
  const { note, ...rest } = body;
  const problems: string[] = Object.keys(rest).map((key) => `${key}: unknown field`);
  if (note !== undefined && (typeof note !== 'string' || note.length > 1024)) {
    problems.push('note: expected text of at most 1024 characters');
  }
  if (problems.length > 0) throw new InvalidInputError(problems);
  return note === undefined ? {} : { note: note as string };
}
