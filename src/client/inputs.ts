// Checks of what a caller sends the service (names in ids, list limits, update inputs), made before anything is
// started or sent; each problem is an InvalidInputError (400 / exit 2).
import { InvalidInputError } from '../domain/errors.js';
import { nameProblem } from '../domain/names.js';
import { DECISIONS } from '../domain/vmPlan.js';
import type { DecideInput, ReleaseInput } from '../domain/progress.js';

export { DECISIONS };

/** A name used in an id lookup (node or rolling name): anything else is refused before any call. */
export function checkNode(node: string): void {
  const problem = nameProblem(node, 'node');
  if (problem !== undefined) throw new InvalidInputError(`node: ${problem}`);
}

export function checkRollingName(name: string): void {
  // Scheduled runs have ids like rolling-<name>-2026-11-24T22:00:00Z, so colons and dots are allowed here.
  if (!/^[a-z0-9][a-z0-9.:TZ-]{0,120}$/.test(name)) {
    throw new InvalidInputError(`name: ${JSON.stringify(name.slice(0, 60))} is not a rolling maintenance name`);
  }
}

export function checkScheduleName(name: string): void {
  if (!/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(name)) {
    throw new InvalidInputError(`name: ${JSON.stringify(name.slice(0, 60))} is not a schedule name (a DNS label)`);
  }
}

export function checkLimit(limit: number | undefined): number {
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

/** The `skip` update's input: `{"node": "worker-3"}` and nothing else. */
export function parseSkip(input: unknown): { node: string } {
  const node =
    typeof input === 'object' && input !== null && !Array.isArray(input)
      ? (input as Record<string, unknown>).node
      : undefined;
  if (typeof node !== 'string')
    throw new InvalidInputError('node: required (the node to skip, e.g. {"node": "worker-3"})');
  const extra = Object.keys(input as object).filter((k) => k !== 'node');
  if (extra.length > 0) throw new InvalidInputError(`${extra.join(', ')}: unknown field`);
  checkNode(node);
  return { node };
}
