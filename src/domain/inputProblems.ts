/**
 * Problems in a workflow input, as messages: one short line per problem, each starting with the field path, so a
 * user fixing a JSON object in the Temporal UI sees the full list at once. Covers what zod finds (formatIssues) and
 * the checks across fields that no single field schema can make.
 */
import { z } from 'zod';
import { formatDuration } from './durations.js';
import { describeValue } from './inputFields.js';
import { nameProblem } from './names.js';
import type { MaintenancePolicy } from './policy.js';
import { maintenanceInputSchema, POWER_PROVIDERS } from './requestSchema.js';
import { didYouMean } from './suggest.js';

const TYPE_NAMES: Readonly<Record<string, string>> = {
  string: 'text',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  object: 'an object',
};

const REQUIRED_HINTS: Readonly<Record<string, string>> = {
  node: 'the name of the Node to maintain, e.g. {"node": "worker-3"}',
  'redfish.address': 'the BMC URL, e.g. "https://10.0.0.5"',
  'redfish.credentialsSecret': 'the Secret with the BMC username and password: {"namespace": "...", "name": "..."}',
};

// Keys that look like credentials get a pointed answer instead of "unknown field": invariant 4, no secret in input.
const CREDENTIAL_KEY =
  /^(pass|user|username|login|secret|credentials?|auth|authorization|apikey|api_key)$|pas+w|pwd|token/i;

function pathText(path: readonly PropertyKey[]): string {
  return path.length === 0 ? 'input' : path.map(String).join('.');
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let value = root;
  for (const key of path) {
    if (typeof value !== 'object' || value === null) return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}

/** The field names an object accepts at `path` of the input, read from the schema itself. */
function fieldsAt(path: readonly PropertyKey[]): string[] {
  let schema: z.ZodType | undefined = maintenanceInputSchema;
  for (const key of [...path, undefined]) {
    while (schema instanceof z.ZodDefault || schema instanceof z.ZodPrefault || schema instanceof z.ZodOptional) {
      schema = schema.unwrap() as z.ZodType;
    }
    if (!(schema instanceof z.ZodObject)) return [];
    const shape = schema.shape as Record<string, z.ZodType>;
    if (key === undefined) return Object.keys(shape);
    schema = shape[String(key)];
  }
  return [];
}

function unknownFieldMessage(path: readonly PropertyKey[], key: string): string {
  const where = pathText([...path, key]);
  if (CREDENTIAL_KEY.test(key)) {
    return `${where}: not accepted: credentials never go in the input; put them in a Secret and name it in redfish.credentialsSecret`;
  }
  return `${where}: unknown field${didYouMean(key, fieldsAt(path))}`;
}

/** Messages for the issues whose schema sets none (missing fields, wrong types): pass to zod's parse. */
export const inputErrorMap: z.core.$ZodErrorMap = (issue) => {
  if (issue.code === 'invalid_type') {
    if (issue.input === undefined) return 'required';
    return `expected ${TYPE_NAMES[issue.expected] ?? issue.expected}, got ${describeValue(issue.input)}`;
  }
  return undefined;
};

/** zod's issues as our lines, "field.path: what is wrong". */
export function formatIssues(input: unknown, issues: readonly z.core.$ZodIssue[]): string[] {
  return issues.flatMap((issue) => {
    if (issue.code === 'unrecognized_keys') return issue.keys.map((key) => unknownFieldMessage(issue.path, key));
    const where = pathText(issue.path);
    if (issue.code === 'invalid_type' && valueAt(input, issue.path) === undefined) {
      const hint = REQUIRED_HINTS[where];
      return [`${where}: required${hint ? ` (${hint})` : ''}`];
    }
    return [`${where}: ${issue.message}`];
  });
}

/** `power` and `redfish` must agree; run on the raw input, so reported together with the structural problems. */
export function powerProblems(input: Record<string, unknown>): string[] {
  const power = input.power ?? 'auto';
  if (power === 'redfish' && input.redfish === undefined) {
    return ['redfish: required when power is "redfish" ({"address": "https://...", "credentialsSecret": {...}})'];
  }
  if (input.redfish !== undefined && power !== 'redfish' && POWER_PROVIDERS.some((p) => p === power)) {
    return [`redfish: only used when power is "redfish" (power is "${String(power)}")`];
  }
  return [];
}

/** Waits that could never end before the overall timeout cuts the maintenance short. */
export function timeoutProblems(policy: MaintenancePolicy): string[] {
  const overall = policy.overallTimeoutMs;
  const limited: [string, number][] = [
    ['policy.hold.deadline', policy.hold.deadlineMs],
    ['policy.escalation.decisionTimeout', policy.escalation.decisionTimeoutMs],
  ];
  return limited
    .filter(([, ms]) => ms > overall)
    .map(
      ([field, ms]) =>
        `${field}: ${formatDuration(ms)} is longer than policy.overallTimeout (${formatDuration(overall)})`,
    );
}

/** The message for an input that is not a JSON object at all; a bare node name gets the object it meant. */
export function notAnObjectProblem(input: unknown): string {
  const kind = input === undefined ? 'nothing' : Array.isArray(input) ? 'a list' : `${describeValue(input)}`;
  const asNode = typeof input === 'string' && nameProblem(input, 'node') === undefined;
  const hint = asNode ? ` (did you mean {"node": "${input}"}?)` : ' like {"node": "worker-3"}';
  return `input: expected a JSON object${hint}, got ${kind}`;
}
