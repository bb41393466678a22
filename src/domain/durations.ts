/**
 * Durations as Kubernetes users write them (Go's time.ParseDuration syntax): "500ms", "30s", "5m", "1h30m", "1.5h",
 * plus "d" for days ("7d"), which Go lacks but maintenance windows need. Values are milliseconds.
 */
import { InvalidInputError } from './errors.js';

const MS_PER: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

// "ms" comes before "m" in the alternation so "5ms" is not read as 5 minutes followed by garbage.
const NUMBER_AND_UNIT = /(\d+(?:\.\d*)?|\.\d+)(ms|s|m|h|d)/y;
const EXAMPLES = 'use e.g. 30s, 5m, 1h30m';

/** Milliseconds for a well-formed, non-negative duration, or undefined. */
function tryParseDuration(text: string): number | undefined {
  const trimmed = text.trim();
  if (trimmed === '') return undefined;
  let total = 0;
  const part = new RegExp(NUMBER_AND_UNIT); // own copy: a sticky regex carries state in lastIndex
  while (part.lastIndex < trimmed.length) {
    const match = part.exec(trimmed);
    if (!match) return undefined;
    total += Number(match[1]) * (MS_PER[match[2] ?? ''] ?? Number.NaN);
  }
  return Number.isSafeInteger(Math.round(total)) ? Math.round(total) : undefined;
}

function describe(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}

/**
 * Why `value` is not a duration (a sentence without the field path), or undefined when it is one.
 * Used by request validation, which collects every problem instead of stopping at the first.
 */
export function durationProblem(value: unknown): string | undefined {
  if (typeof value === 'string' && tryParseDuration(value) !== undefined) return undefined;
  const shown = describe(value);
  const text = typeof value === 'string' ? value.trim() : value;
  if (typeof text === 'number' || (typeof text === 'string' && /^\d+(\.\d+)?$/.test(text))) {
    // A bare number is the most common slip: say which units exist rather than guess seconds.
    return `${shown} is not a duration: add a unit (e.g. ${String(text)}s, ${String(text)}m or ${String(text)}h)`;
  }
  if (typeof text === 'string' && text.startsWith('-')) return `${shown} is not a duration: it must not be negative`;
  return `${shown} is not a duration (${EXAMPLES})`;
}

/**
 * Parses a duration ("30s", "1h30m", "1.5h", "7d") into milliseconds (rounded to whole ms).
 * Throws InvalidInputError naming `field` for anything else: empty, negative, bare numbers, words.
 */
export function parseDuration(text: string, field?: string): number {
  const problem = durationProblem(text);
  if (problem !== undefined) throw new InvalidInputError(field ? `${field}: ${problem}` : problem);
  return tryParseDuration(text) ?? 0;
}

const FORMAT_UNITS: readonly [string, number][] = [
  ['d', 86_400_000],
  ['h', 3_600_000],
  ['m', 60_000],
];

/** The shortest readable form that parseDuration reads back: 5400000 → "1h30m", 1500 → "1.5s", 250 → "250ms". */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return String(ms);
  if (ms < 0) return `-${formatDuration(-ms)}`;
  let rest = Math.round(ms);
  if (rest === 0) return '0s';
  if (rest < 1000) return `${rest}ms`;
  let text = '';
  for (const [unit, size] of FORMAT_UNITS) {
    const count = Math.floor(rest / size);
    if (count > 0) text += `${count}${unit}`;
    rest -= count * size;
  }
  if (rest > 0) text += `${rest / 1000}s`;
  return text;
}
