/**
 * The input of the `nodeMaintenance` workflow: what a user types (MaintenanceInput, only `node` required) and its
 * normalized form (MaintenanceRequest: every default filled in, durations in milliseconds).
 *
 * zod checks the structure; the messages are our own, one short line per problem, each starting with the field
 * path, and all problems are reported at once (a user fixing a JSON object in the Temporal UI wants the full list).
 */
import { z } from 'zod';
import { durationProblem, formatDuration, parseDuration } from './durations.js';
import { InvalidInputError } from './errors.js';
import { nameProblem } from './names.js';
import { didYouMean } from './suggest.js';

export const POWER_PROVIDERS = ['auto', 'metal3', 'redfish', 'none'] as const;
export const HOLD_MODES = ['untilReleased', 'none'] as const;
export const NON_MIGRATABLE_CHOICES = ['ask', 'shutdown', 'abort'] as const;
export const DECISION_TIMEOUT_CHOICES = ['abort', 'shutdown'] as const;

export type PowerProvider = (typeof POWER_PROVIDERS)[number];
export type HoldMode = (typeof HOLD_MODES)[number];
/** What to do with a VM whose eviction strategy demands live migration but which cannot live-migrate. */
export type NonMigratableChoice = (typeof NON_MIGRATABLE_CHOICES)[number];
/** What happens when nobody answers an escalation before `escalation.decisionTimeout`. */
export type DecisionTimeoutChoice = (typeof DECISION_TIMEOUT_CHOICES)[number];

/** Longest accepted duration: anything above a year is a typo ("72000h"), not a maintenance window. */
const MAX_DURATION_MS = 366 * 86_400_000;

// ---------------------------------------------------------------------------------------------------------------
// Values shown in messages

/** A short, safe rendering of a value the user typed (long strings are cut). */
function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 37)}...` : value);
  return String(value);
}

const TYPE_NAMES: Readonly<Record<string, string>> = {
  string: 'text',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  object: 'an object',
};

// ---------------------------------------------------------------------------------------------------------------
// Field schemas (each carries its own message; the parse-wide error map below covers the rest)

function duration(defaultValue: string) {
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

function wholeNumber(min: number, max: number, defaultValue: number) {
  const outOfRange = (issue: { input?: unknown }) => `${describeValue(issue.input)} is out of range (${min} to ${max})`;
  return z
    .int({ error: (issue) => `expected a whole number from ${min} to ${max}, got ${describeValue(issue.input)}` })
    .min(min, { error: outOfRange })
    .max(max, { error: outOfRange })
    .default(defaultValue);
}

function flag(defaultValue: boolean) {
  return z.boolean().default(defaultValue);
}

function oneOf<const T extends readonly [string, ...string[]]>(values: T) {
  return z.enum(values, {
    error: (issue) => {
      const typed = typeof issue.input === 'string' ? didYouMean(issue.input, values) : '';
      return `${describeValue(issue.input)} is not one of ${values.join(', ')}${typed}`;
    },
  });
}

function text(maxLength: number) {
  return z.string().max(maxLength, { error: `must be at most ${maxLength} characters` });
}

function kubernetesName(kind: 'node' | 'namespace' | 'secret') {
  return z.string().superRefine((name, ctx) => {
    const problem = nameProblem(name, kind);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem, input: name });
  });
}

/** Why a BMC address is unusable; never repeats an address that carries credentials. */
function addressProblem(address: string): string | undefined {
  if (address.includes('@')) {
    return 'must not contain credentials: put them in the Secret named in redfish.credentialsSecret';
  }
  const match = /^([a-z][a-z0-9+.-]*):\/\/([^/?#]*)/i.exec(address);
  if (!match) return `${describeValue(address)} is not a URL (expected e.g. "https://10.0.0.5")`;
  if (match[1]?.toLowerCase() !== 'https')
    return `must use https, not ${match[1] ?? ''}: the BMC password travels over it`;
  const host = match[2] ?? '';
  if (!/^(\[[0-9a-f:.]+\]|[a-z0-9]([a-z0-9.-]*[a-z0-9])?)(:\d{1,5})?$/i.test(host)) {
    return `${describeValue(address)} has no valid host`;
  }
  return undefined;
}

const redfishSchema = z.strictObject({
  address: z.string().superRefine((address, ctx) => {
    const problem = addressProblem(address);
    // No `input` on this issue: an address may carry a password, and issues can end up in logs.
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
  }),
  systemId: z.string().min(1, { error: 'must not be empty (leave it out to use the only system)' }).optional(),
  credentialsSecret: z.strictObject({ namespace: kubernetesName('namespace'), name: kubernetesName('secret') }),
  insecureSkipVerify: flag(false),
});

const policySchema = z.strictObject({
  parallelMigrations: wholeNumber(1, 20, 2),
  migration: z
    .strictObject({
      attempts: wholeNumber(1, 20, 3),
      timeout: duration('15m'),
      pendingTimeout: duration('5m'),
      retryBackoff: duration('10s'),
    })
    .prefault({}),
  shutdown: z.strictObject({ timeout: duration('5m') }).prefault({}),
  external: z.strictObject({ timeout: duration('30m') }).prefault({}),
  drain: z
    .strictObject({
      timeout: duration('30m'),
      deleteEmptyDirData: flag(false),
      evictUnmanagedPods: flag(false),
      evictionRetryInterval: duration('5s'),
    })
    .prefault({}),
  power: z.strictObject({ offTimeout: duration('10m'), onTimeout: duration('15m') }).prefault({}),
  hold: z.strictObject({ deadline: duration('72h'), reminderEvery: duration('1h') }).prefault({}),
  ready: z.strictObject({ timeout: duration('20m') }).prefault({}),
  restore: z.strictObject({ timeout: duration('15m') }).prefault({}),
  escalation: z
    .strictObject({
      onNonMigratable: oneOf(NON_MIGRATABLE_CHOICES).default('ask'),
      decisionTimeout: duration('4h'),
      onTimeout: oneOf(DECISION_TIMEOUT_CHOICES).default('abort'),
    })
    .prefault({}),
  overallTimeout: duration('7d'),
});

/** The structure of the workflow input. Exported for the HTTP API's OpenAPI document (`z.toJSONSchema`). */
export const maintenanceInputSchema = z.strictObject({
  node: kubernetesName('node'),
  reason: text(1024).optional(),
  requestedBy: text(253).optional(),
  power: oneOf(POWER_PROVIDERS).default('auto'),
  redfish: redfishSchema.optional(),
  hold: oneOf(HOLD_MODES).default('untilReleased'),
  dryRun: flag(false),
  policy: policySchema.prefault({}),
});

/** What a user types: only `node` is required; `policy` is a deep-partial override with durations as text. */
export type MaintenanceInput = z.input<typeof maintenanceInputSchema>;
type ParsedInput = z.output<typeof maintenanceInputSchema>;

// ---------------------------------------------------------------------------------------------------------------
// Normalized request

export interface RedfishTarget {
  /** https URL of the BMC. */
  address: string;
  /** Redfish ComputerSystem id; absent = the BMC's only system. */
  systemId?: string;
  /** Secret with keys `username` and `password`, read by the power activity. */
  credentialsSecret: { namespace: string; name: string };
  insecureSkipVerify: boolean;
}

export interface MaintenancePolicy {
  parallelMigrations: number;
  migration: { attempts: number; timeoutMs: number; pendingTimeoutMs: number; retryBackoffMs: number };
  shutdown: { timeoutMs: number };
  external: { timeoutMs: number };
  drain: {
    timeoutMs: number;
    deleteEmptyDirData: boolean;
    evictUnmanagedPods: boolean;
    evictionRetryIntervalMs: number;
  };
  power: { offTimeoutMs: number; onTimeoutMs: number };
  hold: { deadlineMs: number; reminderEveryMs: number };
  ready: { timeoutMs: number };
  restore: { timeoutMs: number };
  escalation: { onNonMigratable: NonMigratableChoice; decisionTimeoutMs: number; onTimeout: DecisionTimeoutChoice };
  overallTimeoutMs: number;
}

export interface MaintenanceRequest {
  node: string;
  reason?: string;
  requestedBy?: string;
  power: PowerProvider;
  /** Present exactly when power is 'redfish'. */
  redfish?: RedfishTarget;
  hold: HoldMode;
  dryRun: boolean;
  policy: MaintenancePolicy;
}

function toPolicy(policy: ParsedInput['policy']): MaintenancePolicy {
  const ms = parseDuration;
  const { migration, drain, power, hold, escalation } = policy;
  return {
    parallelMigrations: policy.parallelMigrations,
    migration: {
      attempts: migration.attempts,
      timeoutMs: ms(migration.timeout),
      pendingTimeoutMs: ms(migration.pendingTimeout),
      retryBackoffMs: ms(migration.retryBackoff),
    },
    shutdown: { timeoutMs: ms(policy.shutdown.timeout) },
    external: { timeoutMs: ms(policy.external.timeout) },
    drain: {
      timeoutMs: ms(drain.timeout),
      deleteEmptyDirData: drain.deleteEmptyDirData,
      evictUnmanagedPods: drain.evictUnmanagedPods,
      evictionRetryIntervalMs: ms(drain.evictionRetryInterval),
    },
    power: { offTimeoutMs: ms(power.offTimeout), onTimeoutMs: ms(power.onTimeout) },
    hold: { deadlineMs: ms(hold.deadline), reminderEveryMs: ms(hold.reminderEvery) },
    ready: { timeoutMs: ms(policy.ready.timeout) },
    restore: { timeoutMs: ms(policy.restore.timeout) },
    escalation: {
      onNonMigratable: escalation.onNonMigratable,
      decisionTimeoutMs: ms(escalation.decisionTimeout),
      onTimeout: escalation.onTimeout,
    },
    overallTimeoutMs: ms(policy.overallTimeout),
  };
}

function toRedfishTarget(redfish: NonNullable<ParsedInput['redfish']>): RedfishTarget {
  const { address, systemId, credentialsSecret, insecureSkipVerify } = redfish;
  return { address, ...(systemId !== undefined && { systemId }), credentialsSecret, insecureSkipVerify };
}

function toRequest(input: ParsedInput): MaintenanceRequest {
  const { node, reason, requestedBy, power, redfish, hold, dryRun } = input;
  // Absent optional fields stay absent (not `undefined`), so the JSON in workflow history stays clean.
  return {
    node,
    ...(reason !== undefined && { reason }),
    ...(requestedBy !== undefined && { requestedBy }),
    power,
    ...(redfish !== undefined && { redfish: toRedfishTarget(redfish) }),
    hold,
    dryRun,
    policy: toPolicy(input.policy),
  };
}

/**
 * The input form of a normalized request (durations written back as text). parseMaintenanceRequest of it gives the
 * same request: used to hand a request on, e.g. from rolling maintenance to its per-node children.
 */
export function toMaintenanceInput(request: MaintenanceRequest): MaintenanceInput {
  const p = request.policy;
  const text = formatDuration;
  return {
    ...request,
    policy: {
      parallelMigrations: p.parallelMigrations,
      migration: {
        attempts: p.migration.attempts,
        timeout: text(p.migration.timeoutMs),
        pendingTimeout: text(p.migration.pendingTimeoutMs),
        retryBackoff: text(p.migration.retryBackoffMs),
      },
      shutdown: { timeout: text(p.shutdown.timeoutMs) },
      external: { timeout: text(p.external.timeoutMs) },
      drain: {
        timeout: text(p.drain.timeoutMs),
        deleteEmptyDirData: p.drain.deleteEmptyDirData,
        evictUnmanagedPods: p.drain.evictUnmanagedPods,
        evictionRetryInterval: text(p.drain.evictionRetryIntervalMs),
      },
      power: { offTimeout: text(p.power.offTimeoutMs), onTimeout: text(p.power.onTimeoutMs) },
      hold: { deadline: text(p.hold.deadlineMs), reminderEvery: text(p.hold.reminderEveryMs) },
      ready: { timeout: text(p.ready.timeoutMs) },
      restore: { timeout: text(p.restore.timeoutMs) },
      escalation: {
        onNonMigratable: p.escalation.onNonMigratable,
        decisionTimeout: text(p.escalation.decisionTimeoutMs),
        onTimeout: p.escalation.onTimeout,
      },
      overallTimeout: text(p.overallTimeoutMs),
    },
  };
}

/** The policy used when the input overrides nothing. */
export const DEFAULT_POLICY: MaintenancePolicy = toPolicy(policySchema.parse({}));

// ---------------------------------------------------------------------------------------------------------------
// Problems → messages

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

// Messages for the issues whose schema sets none (missing fields, wrong types).
const errorMap: z.core.$ZodErrorMap = (issue) => {
  if (issue.code === 'invalid_type') {
    if (issue.input === undefined) return 'required';
    return `expected ${TYPE_NAMES[issue.expected] ?? issue.expected}, got ${describeValue(issue.input)}`;
  }
  return undefined;
};

function formatIssues(input: unknown, issues: readonly z.core.$ZodIssue[]): string[] {
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

// ---------------------------------------------------------------------------------------------------------------
// Checks across fields (run on the raw input, so they are reported together with the structural problems)

function powerProblems(input: Record<string, unknown>): string[] {
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
function timeoutProblems(policy: MaintenancePolicy): string[] {
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

function notAnObject(input: unknown): string {
  const kind = input === undefined ? 'nothing' : Array.isArray(input) ? 'a list' : `${describeValue(input)}`;
  const asNode = typeof input === 'string' && nameProblem(input, 'node') === undefined;
  const hint = asNode ? ` (did you mean {"node": "${input}"}?)` : ' like {"node": "worker-3"}';
  return `input: expected a JSON object${hint}, got ${kind}`;
}

/**
 * Validates and normalizes the workflow input. Throws InvalidInputError listing every problem, one per line,
 * each starting with its field path.
 */
export function parseMaintenanceRequest(input: unknown): MaintenanceRequest {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new InvalidInputError(notAnObject(input));
  }
  const result = maintenanceInputSchema.safeParse(input, { error: errorMap });
  const problems = [
    ...(result.success ? [] : formatIssues(input, result.error.issues)),
    ...powerProblems(input as Record<string, unknown>),
  ];
  if (problems.length > 0 || !result.success) throw new InvalidInputError(problems);
  const request = toRequest(result.data);
  const late = timeoutProblems(request.policy);
  if (late.length > 0) throw new InvalidInputError(late);
  return request;
}
