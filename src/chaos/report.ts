// What a chaos run reports (its outcome, the invariants it broke, what was injected) and how runs add up to a
// summary, with the one-line and summary texts `npm run chaos` prints.
import type { FaultKind } from './faultProxy.js';

export type Outcome =
  | 'Completed'
  | 'RolledBack'
  /** Rolled back except the power-on: node left cordoned for the operator. */
  | 'RollbackIncomplete'
  /** The node failed and nothing repaired it: rolled back, node left cordoned for a repair. */
  | 'NodeFailed'
  /** A repair stopped after its fence: the node left off, cordoned and tainted. */
  | 'LeftFenced'
  | 'Cancelled'
  | 'Refused'
  | 'Failed'
  | 'Unfinished';

export interface RunReport {
  seed: number;
  outcome: Outcome;
  detail: string;
  violations: string[];
  faults: string[];
  ms: number;
  injected: Partial<Record<FaultKind, number>>;
  workerKills: number;
  temporalRestarts: number;
}

export interface ChaosSummary {
  runs: number;
  completed: number;
  rolledBack: number;
  /** Ended RollbackIncomplete: the node left cordoned for the operator (machine could not be powered on). */
  rollbackIncomplete: number;
  /** Ended NodeFailed or LeftFenced: a failed node left cordoned (and, once fenced, off) for a repair. */
  leftForRepair: number;
  refused: number;
  violations: number;
  violatingSeeds: number[];
  wallMs: number;
  reports: RunReport[];
}

/** The report of a run that could not be carried out at all (its world broke): one violation saying why. */
export function failedRun(seed: number, faults: string[], message: string): RunReport {
  return {
    seed,
    outcome: 'Failed',
    detail: message,
    violations: [`the run itself failed: ${message}`],
    faults,
    ms: 0,
    injected: {},
    workerKills: 0,
    temporalRestarts: 0,
  };
}

export function summarize(reports: RunReport[], wallMs: number): ChaosSummary {
  const violating = reports.filter((r) => r.violations.length > 0);
  return {
    runs: reports.length,
    completed: reports.filter((r) => r.outcome === 'Completed').length,
    rolledBack: reports.filter((r) => r.outcome === 'RolledBack' || r.outcome === 'Cancelled').length,
    rollbackIncomplete: reports.filter((r) => r.outcome === 'RollbackIncomplete').length,
    leftForRepair: reports.filter((r) => r.outcome === 'NodeFailed' || r.outcome === 'LeftFenced').length,
    refused: reports.filter((r) => r.outcome === 'Refused').length,
    violations: violating.reduce((n, r) => n + r.violations.length, 0),
    violatingSeeds: violating.map((r) => r.seed),
    wallMs,
    reports,
  };
}

export function formatReport(r: RunReport): string {
  const injected = Object.entries(r.injected)
    .map(([k, n]) => `${k}=${n}`)
    .join(' ');
  return (
    `seed ${r.seed}: ${r.outcome} in ${(r.ms / 1000).toFixed(1)} s` +
    (r.workerKills ? `, ${r.workerKills} worker kill(s)` : '') +
    (r.temporalRestarts ? `, ${r.temporalRestarts} Temporal restart(s)` : '') +
    (injected ? `, injected ${injected}` : '') +
    (r.faults.length ? ` [${r.faults.join('; ')}]` : '') +
    // A run that broke an invariant shows its whole account: what its notes name is what the judge accepted.
    (r.outcome !== 'Completed' ? ` — ${r.violations.length ? r.detail : r.detail.slice(0, 200)}` : '') +
    r.violations.map((v) => `\n  VIOLATION: ${v}`).join('')
  );
}

export function formatSummary(s: ChaosSummary): string {
  return [
    `runs: ${s.runs}`,
    `completed: ${s.completed}`,
    `rolled back: ${s.rolledBack}`,
    `roll-back incomplete (node left for the operator): ${s.rollbackIncomplete}`,
    `failed node left for a repair: ${s.leftForRepair}`,
    `refused: ${s.refused}`,
    `invariant violations: ${s.violations}${s.violatingSeeds.length ? ` (seeds: ${s.violatingSeeds.join(', ')})` : ''}`,
    `wall time: ${(s.wallMs / 1000).toFixed(0)} s`,
  ].join('\n');
}
