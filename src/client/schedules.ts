// Temporal Schedules that start rolling maintenance: create (overlap SKIP), describe, list Pitstop's own, pause,
// unpause, trigger, delete.
import { WORKFLOW_TYPES } from '../domain/workflowNames.js';
import {
  ScheduleAlreadyRunning,
  ScheduleNotFoundError,
  type Client,
  type ScheduleDescription,
  type ScheduleHandle,
  type ScheduleSummary,
} from '@temporalio/client';
import { rollingWorkflowIdFor } from '../domain/rolling.js';
import { parseScheduleRequest } from '../domain/schedule.js';
import { rollingStartText } from '../domain/startText.js';
import type { rollingMaintenance } from '../workflows/index.js';
import { NotFoundError, RefusedError } from './errors.js';
import { checkScheduleName } from './inputs.js';

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

export interface ScheduleListEntry {
  name: string;
  paused: boolean;
  note?: string;
  nextActionTimes: string[];
}

function formatMs(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

function viewOf(name: string, description: ScheduleDescription): ScheduleView {
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

export class ScheduleService {
  constructor(
    private readonly client: Client,
    private readonly taskQueue: string,
  ) {}

  async createSchedule(input: unknown): Promise<ScheduleView> {
    const request = parseScheduleRequest(input);
    try {
      await this.client.schedule.create<typeof rollingMaintenance>({
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
          ...rollingStartText(request.rolling),
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
    let description: ScheduleDescription | undefined;
    await this.onSchedule(name, async (h) => {
      description = await h.describe();
    });
    return viewOf(name, description!);
  }

  /** Pitstop's schedules: those whose action starts rollingMaintenance. */
  async listSchedules(): Promise<ScheduleListEntry[]> {
    const found: ScheduleListEntry[] = [];
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

  /** Acts on schedule `name`; NotFoundError when there is none. */
  private async onSchedule(name: string, act: (handle: ScheduleHandle) => Promise<void>) {
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
