// Response bodies of schedules: one schedule described, and the list entry.
import type { PitstopService, ScheduleView } from '../../client/service.js';
import { flag, list, object, optional, text, time } from './json.js';

type ScheduleListEntry = Awaited<ReturnType<PitstopService['listSchedules']>>[number];
type RecentAction = ScheduleView['recentActions'][number];

export const scheduleSchema = object<ScheduleView>(
  {
    name: text(),
    paused: flag(),
    note: optional(text()),
    every: optional(text('Interval, e.g. "24h"')),
    cron: optional(text('The cron expression as given')),
    timeZone: optional(text()),
    workflowType: optional(text()),
    rollingName: optional(text('Name of the rolling maintenance each action starts')),
    nextActionTimes: list(time()),
    recentActions: list(object<RecentAction>({ scheduledAt: time(), takenAt: time(), workflowId: text() })),
    runningWorkflows: list(text()),
  },
  'A schedule: spec, state, next and recent actions',
);

export const scheduleEntrySchema = object<ScheduleListEntry>({
  name: text(),
  paused: flag(),
  note: optional(text()),
  nextActionTimes: list(time()),
});
