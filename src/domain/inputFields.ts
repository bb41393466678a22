/**
 * zod field builders for the workflow input. Each field carries its own message, one short sentence without the
 * field path (the caller prefixes it), so the user reads what is wrong and what would be right.
 */
import { z } from 'zod';
import { durationProblem, parseDuration } from './durations.js';
import { nameProblem } from './names.js';
import { didYouMean } from './suggest.js';

/** Longest accepted duration: anything above a year is a typo ("72000h"), not a maintenance window. */
const MAX_DURATION_MS = 366 * 86_400_000;

/** A short, safe rendering of a value the user typed (long strings are cut). */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 37)}...` : value);
  return String(value);
}

/** A duration as text ("30s", "1h30m"), longer than 0 and at most a year. */
export function duration(defaultValue: string) {
  return z
    .string({ error: (issue) => durationProblem(issue.input) })
    .superRefine((text, ctx) => {
      const problem = durationProblem(text);
      const ms = problem === undefined ? parseDuration(text) : 0;
      const message =
        problem ??
        (ms === 0
          ? 'must be longer than 0s'
          : ms > MAX_DURATION_MS
            ? `${JSON.stringify(text)} is longer than a year`
            : undefined);
      if (message !== undefined) ctx.addIssue({ code: 'custom', message, input: text });
    })
    .default(defaultValue)
    .describe(`duration such as 30s, 5m, 1h30m, 7d (default ${defaultValue})`);
}

export function wholeNumber(min: number, max: number, defaultValue: number) {
  const outOfRange = (issue: { input?: unknown }) => `${describeValue(issue.input)} is out of range (${min} to ${max})`;
  return z
    .int({ error: (issue) => `expected a whole number from ${min} to ${max}, got ${describeValue(issue.input)}` })
    .min(min, { error: outOfRange })
    .max(max, { error: outOfRange })
    .default(defaultValue);
}

export function flag(defaultValue: boolean) {
  return z.boolean().default(defaultValue);
}

/** One of a fixed list of words, with a "did you mean" for a near miss. */
export function oneOf<const T extends readonly [string, ...string[]]>(values: T) {
  return z.enum(values, {
    error: (issue) => {
      const typed = typeof issue.input === 'string' ? didYouMean(issue.input, values) : '';
      return `${describeValue(issue.input)} is not one of ${values.join(', ')}${typed}`;
    },
  });
}

export function text(maxLength: number) {
  return z.string().max(maxLength, { error: `must be at most ${maxLength} characters` });
}

export function kubernetesName(kind: 'node' | 'namespace' | 'secret') {
  return z.string().superRefine((name, ctx) => {
    const problem = nameProblem(name, kind);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem, input: name });
  });
}
