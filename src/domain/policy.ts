/**
 * The maintenance policy: timeouts, parallelism and escalation choices, with their defaults. The input carries
 * durations as text ("15m"); the normalized MaintenancePolicy carries milliseconds, and converts back losslessly.
 */
import { z } from 'zod';
import { formatDuration, parseDuration } from './durations.js';
import { duration, flag, oneOf, wholeNumber } from './inputFields.js';

export const NON_MIGRATABLE_CHOICES = ['ask', 'shutdown', 'abort'] as const;
export const DECISION_TIMEOUT_CHOICES = ['abort', 'shutdown'] as const;
export const NO_ROOM_CHOICES = ['refuse', 'wait', 'shutdown'] as const;

/** What to do with a VM whose eviction strategy demands live migration but which cannot live-migrate. */
export type NonMigratableChoice = (typeof NON_MIGRATABLE_CHOICES)[number];
/** What happens when nobody answers an escalation before `escalation.decisionTimeout`. */
export type DecisionTimeoutChoice = (typeof DECISION_TIMEOUT_CHOICES)[number];
/** What a drain does with VMs that fit on no other node (docs/small-clusters.md). */
export type NoRoomChoice = (typeof NO_ROOM_CHOICES)[number];

/** The `policy` field of the input; every field has its default, so `{}` is the default policy. */
export const policySchema = z.strictObject({
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
  // The repair runbook (a failed node). notReadyFor: how long a node must be NotReady before `mode: auto` fences it
  // (Node Health Check's default unhealthy duration is 300s); recoverTimeout: how long each VM may take to run
  // again elsewhere; podsGoneTimeout: how long the out-of-service taint may take before Pitstop force-deletes the
  // fenced node's pods itself; startManual: start the node's Manual VMs elsewhere (KubeVirt does not).
  repair: z
    .strictObject({
      notReadyFor: duration('5m'),
      recoverTimeout: duration('15m'),
      podsGoneTimeout: duration('5m'),
      startManual: flag(true),
    })
    .prefault({}),
  escalation: z
    .strictObject({
      onNonMigratable: oneOf(NON_MIGRATABLE_CHOICES).default('ask'),
      decisionTimeout: duration('4h'),
      onTimeout: oneOf(DECISION_TIMEOUT_CHOICES).default('abort'),
    })
    .prefault({}),
  // A drain whose VMs fit on no other node: `refuse` at preflight, `wait` for room in the admission queue at most
  // waitTimeout, or `shutdown` what does not fit and start it again after maintenance (a one-worker cluster).
  capacity: z
    .strictObject({ onNoRoom: oneOf(NO_ROOM_CHOICES).default('refuse'), waitTimeout: duration('1h') })
    .prefault({}),
  overallTimeout: duration('7d'),
});

/** The policy as a user types it: a deep-partial override with durations as text. */
export type PolicyInput = z.input<typeof policySchema>;

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
  repair: { notReadyForMs: number; recoverTimeoutMs: number; podsGoneTimeoutMs: number; startManual: boolean };
  escalation: { onNonMigratable: NonMigratableChoice; decisionTimeoutMs: number; onTimeout: DecisionTimeoutChoice };
  capacity: { onNoRoom: NoRoomChoice; waitTimeoutMs: number };
  overallTimeoutMs: number;
}

/** The normalized policy of a parsed (already valid) policy input: durations in milliseconds. */
export function toPolicy(policy: z.output<typeof policySchema>): MaintenancePolicy {
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
    repair: {
      notReadyForMs: ms(policy.repair.notReadyFor),
      recoverTimeoutMs: ms(policy.repair.recoverTimeout),
      podsGoneTimeoutMs: ms(policy.repair.podsGoneTimeout),
      startManual: policy.repair.startManual,
    },
    escalation: {
      onNonMigratable: escalation.onNonMigratable,
      decisionTimeoutMs: ms(escalation.decisionTimeout),
      onTimeout: escalation.onTimeout,
    },
    capacity: { onNoRoom: policy.capacity.onNoRoom, waitTimeoutMs: ms(policy.capacity.waitTimeout) },
    overallTimeoutMs: ms(policy.overallTimeout),
  };
}

/** The input form of a normalized policy (durations written back as text); toPolicy of it gives the same policy. */
export function toPolicyInput(p: MaintenancePolicy): PolicyInput {
  const text = formatDuration;
  return {
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
    repair: {
      notReadyFor: text(p.repair.notReadyForMs),
      recoverTimeout: text(p.repair.recoverTimeoutMs),
      podsGoneTimeout: text(p.repair.podsGoneTimeoutMs),
      startManual: p.repair.startManual,
    },
    escalation: {
      onNonMigratable: p.escalation.onNonMigratable,
      decisionTimeout: text(p.escalation.decisionTimeoutMs),
      onTimeout: p.escalation.onTimeout,
    },
    capacity: { onNoRoom: p.capacity.onNoRoom, waitTimeout: text(p.capacity.waitTimeoutMs) },
    overallTimeout: text(p.overallTimeoutMs),
  };
}

/** The policy used when the input overrides nothing. */
export const DEFAULT_POLICY: MaintenancePolicy = toPolicy(policySchema.parse({}));
