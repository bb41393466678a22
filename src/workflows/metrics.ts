// Pitstop's own metrics, recorded from workflow code through the SDK's workflow metric meter: the worker's runtime
// exports them with the SDK's metrics (Prometheus), they are not recorded while a history is replayed (so a worker
// restart never counts a maintenance twice), and they add nothing to the history (replay-safe by construction).
import { metricMeter } from '@temporalio/workflow';
import { isTerminalPhase, type Phase } from '../domain/progress.js';

export const METRICS = {
  maintenances: 'pitstop_maintenances',
  phaseDuration: 'pitstop_phase_duration_seconds',
  migrations: 'pitstop_migrations',
  escalations: 'pitstop_escalations',
} as const;

const maintenances = metricMeter.createCounter(
  METRICS.maintenances,
  undefined,
  'Node maintenances ended, by outcome (Done, RolledBack, Refused, DryRun)',
);
const phaseDuration = metricMeter.createHistogram(
  METRICS.phaseDuration,
  'float',
  undefined,
  'Time a maintenance spent in each phase (workflow time), in seconds',
);
const migrations = metricMeter.createCounter(
  METRICS.migrations,
  undefined,
  'Live migrations Pitstop waited for, by outcome (Succeeded, Failed, Stuck, TimedOut, …)',
);
const escalations = metricMeter.createCounter(
  METRICS.escalations,
  undefined,
  'VMs escalated (a decision asked of an operator, or the policy aborting), by policy answer',
);

/** Called on each phase change: the previous phase's duration, and the outcome when the run ends. */
export function phaseChanged(previous: { phase: Phase; since: number } | undefined, next: Phase, now: number): void {
  if (previous) phaseDuration.record((now - previous.since) / 1000, { phase: previous.phase });
  if (isTerminalPhase(next)) maintenances.add(1, { outcome: next });
}

export function migrationEnded(outcome: string): void {
  migrations.add(1, { outcome });
}

export function escalated(handling: 'ask' | 'abort'): void {
  escalations.add(1, { handling });
}
