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

const CRON_FIELD = /^[0-9A-Za-z*,/?#LW-]+$/;

function cronProblem(cron: string): string | undefined {
  const fields = cron.trim().split(/\s+/);
  if (cron.trim().startsWith('@')) {
    return ['@yearly', '@monthly', '@weekly', '@daily', '@hourly'].includes(cron.trim())
      ? undefined
      : `${JSON.stringify(cron)} is not a known shorthand (@hourly, @daily, @weekly, @monthly, @yearly)`;
  }
  if (fields.length !== 5) return `${JSON.stringify(cron)} has ${fields.length} fields; expected 5 (m h dom mon dow)`;
  if (!fields.every((f) => CRON_FIELD.test(f))) return `${JSON.stringify(cron)} has characters cron does not use`;
  return undefined;
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
    const problem = cronProblem(data.cron);
    if (problem !== undefined) problems.push(`cron: ${problem}`);
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
