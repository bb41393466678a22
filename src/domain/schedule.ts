/**
 * A Pitstop schedule: a Temporal Schedule that starts `rollingMaintenance` (overlap SKIP) every interval or on a
 * cron expression. Validated like the other inputs: every problem at once, one line each, starting with the field.
 */
import { z } from 'zod';
import { durationProblem, parseDuration } from './durations.js';
import { InvalidInputError } from './errors.js';
import { parseRollingRequest, validTimeZone, type RollingInput, type RollingRequest } from './rolling.js';

const NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

export const scheduleInputSchema = z.strictObject({
  /** The Temporal Schedule id; the rolling maintenance it starts is named after it unless `rolling.name` is set. */
  name: z.string().regex(NAME, { error: 'expected a DNS label like "weekly-firmware"' }),
  /** Start every this long (Go-style duration, at least 1s). Exactly one of every, cron. */
  every: z.string().optional(),
  /** A standard 5-field cron expression ("0 22 * * SAT"). Exactly one of every, cron. */
  cron: z.string().optional(),
  /** IANA time zone of the cron expression (default UTC). */
  timeZone: z.string().optional(),
  paused: z.boolean().default(false),
  note: z.string().max(1024).optional(),
  /** The rolling maintenance input each action starts (`name` defaults to the schedule's name). */
  rolling: z.record(z.string(), z.unknown()),
});

export type ScheduleInput = z.input<typeof scheduleInputSchema>;

export interface ScheduleRequest {
  name: string;
  everyMs?: number;
  cron?: string;
  timeZone: string;
  paused: boolean;
  note?: string;
  /** The validated rolling input, passed as the workflow argument (the workflow parses it again). */
  rollingInput: RollingInput;
  rolling: RollingRequest;
}

// The cron grammar Temporal's scheduler accepts for each field (service/worker/scheduler/calendar.go: makeRange,
// parseValue): `*`, a value, a range `a-b` (b not before a), lists of those, each with an optional step `/n`; months
// and weekdays also by name (a prefix of at least three, resp. two, letters). The server rejects anything else, and
// an out-of-range value, with a bare gRPC error: checked here, every field is named in the answer.
interface CronField {
  name: string;
  min: number;
  max: number;
  names?: { words: readonly string[]; first: number; shortest: number };
}

const MONTHS = [
  'january',
  'february',
  'march',
  'april',
  'may',
  'june',
  'july',
  'august',
  'september',
  'october',
  'november',
  'december',
];
const WEEKDAYS = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'];

const CRON_FIELDS: readonly CronField[] = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: { words: MONTHS, first: 1, shortest: 3 } },
  // 0 and 7 are both Sunday.
  { name: 'day of week', min: 0, max: 7, names: { words: WEEKDAYS, first: 0, shortest: 2 } },
];

/** A single value of a field (a number or, for month and weekday, a name), or a problem naming the field. */
function cronValue(text: string, field: CronField): number | string {
  const named = field.names;
  if (named && text.length >= named.shortest && /^[a-z]+$/i.test(text)) {
    const index = named.words.findIndex((word) => word.startsWith(text.toLowerCase()));
    if (index >= 0) return index + named.first;
  }
  if (!/^\d+$/.test(text)) {
    return `field '${field.name}' has ${JSON.stringify(text)}: expected a number${named ? ' or a name' : ''}`;
  }
  const value = Number(text);
  if (value < field.min || value > field.max) {
    return `field '${field.name}' is ${value}, allowed ${field.min}-${field.max}`;
  }
  return value;
}

/** The problems of one field: `*`, values, ranges, lists, steps. */
function cronFieldProblems(text: string, field: CronField): string[] {
  const problems: string[] = [];
  for (const part of text.split(',')) {
    const [base = '', step, ...more] = part.split('/');
    if (more.length > 0 || (step !== undefined && !/^\d+$/.test(step)) || step === '0') {
      problems.push(`field '${field.name}' has ${JSON.stringify(part)}: a step is "/" and a whole number from 1`);
      continue;
    }
    if (base === '*') continue;
    const ends = base.split('-');
    if (ends.length > 2) {
      problems.push(`field '${field.name}' has ${JSON.stringify(part)}: a range is "a-b"`);
      continue;
    }
    const values = ends.map((end) => cronValue(end, field));
    const bad = values.filter((v): v is string => typeof v === 'string');
    problems.push(...bad);
    const [start, end] = values;
    if (bad.length === 0 && typeof start === 'number' && typeof end === 'number' && end < start) {
      problems.push(`field '${field.name}' range ${JSON.stringify(base)} ends before it starts`);
    }
  }
  return problems;
}

const SHORTHANDS = ['@yearly', '@monthly', '@weekly', '@daily', '@hourly'];

/** Every problem of a cron expression, one line each (empty: Temporal will accept it). */
export function cronProblems(cron: string): string[] {
  const trimmed = cron.trim();
  if (trimmed.startsWith('@')) {
    return SHORTHANDS.includes(trimmed)
      ? []
      : [`${JSON.stringify(cron)} is not a known shorthand (@hourly, @daily, @weekly, @monthly, @yearly)`];
  }
  const fields = trimmed.split(/\s+/);
  if (fields.length !== 5) return [`${JSON.stringify(cron)} has ${fields.length} fields; expected 5 (m h dom mon dow)`];
  return fields.flatMap((text, index) => cronFieldProblems(text, CRON_FIELDS[index] as CronField));
}

/** Validates a schedule; throws InvalidInputError listing every problem (the rolling input's ones as `rolling.*`). */
export function parseScheduleRequest(input: unknown): ScheduleRequest {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new InvalidInputError(
      'input: expected a JSON object like {"name": "weekly", "every": "168h", "rolling": {"selector": "role=worker"}}',
    );
  }
  const result = scheduleInputSchema.safeParse(input);
  if (!result.success) {
    throw new InvalidInputError(
      result.error.issues.map((issue) => {
        if (issue.code === 'unrecognized_keys') return `${issue.keys.join(', ')}: unknown field`;
        const where = issue.path.length ? issue.path.join('.') : 'input';
        const value = (input as Record<string, unknown>)[String(issue.path[0])];
        return `${where}: ${value === undefined && issue.code === 'invalid_type' ? 'required' : issue.message}`;
      }),
    );
  }
  const data = result.data;
  const problems: string[] = [];
  if ((data.every === undefined) === (data.cron === undefined)) problems.push('every, cron: give exactly one of them');
  let everyMs: number | undefined;
  if (data.every !== undefined) {
    const problem = durationProblem(data.every);
    if (problem !== undefined) problems.push(`every: ${problem}`);
    else {
      everyMs = parseDuration(data.every);
      if (everyMs < 1000) problems.push('every: must be at least 1s');
    }
  }
  if (data.cron !== undefined) {
    problems.push(...cronProblems(data.cron).map((problem) => `cron: ${problem}`));
  }
  const timeZone = data.timeZone ?? 'UTC';
  if (!validTimeZone(timeZone)) problems.push(`timeZone: ${JSON.stringify(timeZone)} is not an IANA time zone`);
  const rollingInput = { name: data.name, ...data.rolling } as RollingInput;
  let rolling: RollingRequest | undefined;
  try {
    rolling = parseRollingRequest(rollingInput);
  } catch (e) {
    if (!(e instanceof InvalidInputError)) throw e;
    problems.push(...e.issues.map((issue) => `rolling.${issue}`));
  }
  if (problems.length > 0 || rolling === undefined) throw new InvalidInputError(problems);
  return {
    name: data.name,
    ...(everyMs !== undefined && { everyMs }),
    ...(data.cron !== undefined && { cron: data.cron.trim() }),
    timeZone,
    paused: data.paused,
    ...(data.note !== undefined && { note: data.note }),
    rollingInput,
    rolling,
  };
}
