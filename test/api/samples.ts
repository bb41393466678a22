// What the service returns, with every optional field filled in at every depth (the type `Full` makes the compiler
// insist), so a test can check that serialization by the response schemas keeps every field.
import type { AdmissionVerdict } from '../../src/domain/admission.js';
import type { ScheduleView, MaintenanceView, RollingView, RunSummary, StartOutcome } from '../../src/client/service.js';
import type { PreflightVerdict } from '../../src/domain/preflight.js';
import type { RollingResult } from '../../src/domain/rollingProgress.js';
import type { MaintenanceResult } from '../../src/domain/progress.js';

/** T with every optional property required, at every depth. */
export type Full<T> = T extends (infer U)[] ? Full<U>[] : T extends object ? { [K in keyof T]-?: Full<T[K]> } : T;

const at = (minute: number) => `2026-11-24T22:${String(minute).padStart(2, '0')}:00.000Z`;

export const run: Full<RunSummary> = {
  workflowId: 'maintenance-worker-3',
  runId: '0192a3b4-run',
  type: 'nodeMaintenance',
  status: 'Completed',
  startTime: at(0),
  closeTime: at(40),
  node: 'worker-3',
  phase: 'Done',
};

const pending = {
  vmi: 'apps/db',
  reason: 'cannot live-migrate: its disk is ReadWriteOnce',
  allowed: ['shutdown' as const, 'retry' as const],
  since: at(3),
  deadline: at(33),
};

export const verdict: Full<PreflightVerdict> = {
  ok: true,
  node: 'worker-3',
  runbook: { runbook: 'planned', reason: 'the node is Ready: drained with live migration, not fenced' },
  refusals: [{ code: 'InsufficientCapacity', message: 'needs 16 GiB, 12.5 GiB free' }],
  plan: [
    {
      vmi: 'apps/web',
      action: 'migrate',
      onMigrationFailure: 'escalate',
      onEscalation: 'ask',
      restore: 'afterMaintenance',
      allowedDecisions: ['shutdown', 'retry', 'delete'],
      reason: 'live-migratable',
      strategy: 'LiveMigrate',
      override: 'Migrate',
      adoptMigration: 'kubevirt-evacuation-x7',
      vmiUid: '0c9d3f7e-uid',
    },
  ],
  summary: {
    total: 1,
    migrate: 1,
    shutdown: 0,
    escalate: 0,
    awaitExternal: 0,
    willAbort: 0,
    stayOff: 0,
    restartElsewhere: 0,
    startElsewhere: 0,
    lost: 0,
  },
  capacity: { neededBytes: 4294967296, freeBytes: 13421772800.5, unplaced: ['apps/huge'] },
  warnings: ['the cluster default eviction strategy is unset'],
};

export const admission: Full<AdmissionVerdict> = {
  admit: true,
  code: 'Admitted',
  reason: 'admitted: 2 of at most 2 node(s) down',
  down: ['worker-1 (cordoned)'],
  budget: 2,
};

export const result: Full<MaintenanceResult> = {
  node: 'worker-3',
  outcome: 'Completed',
  verdict,
  admission,
  summary: { migrated: 1, restored: 1, leftOff: 0, deleted: 0, podsEvicted: 7, recovered: 0, notRecovered: 0 },
};

export const runningMaintenance: Full<Omit<MaintenanceView, 'result' | 'failure'>> = {
  ...run,
  status: 'Running',
  phase: 'Hold',
  progress: {
    node: 'worker-3',
    runbook: 'planned',
    phase: 'Hold',
    dryRun: false,
    paused: true,
    startedAt: at(0),
    verdict,
    admission,
    message: 'held for the repair',
    vms: [
      {
        vmi: 'apps/web',
        action: 'migrate',
        restore: 'afterMaintenance',
        state: 'migrated',
        attempts: 2,
        sourceNode: 'worker-3',
        targetNode: 'worker-4',
        migration: 'pitstop-web-1',
        newVmiUid: '5d1c0e6a-uid',
        startedAt: at(1),
        finishedAt: at(2),
        message: 'migrated on the second attempt',
      },
    ],
    pods: { total: 9, evicted: 7, blocked: 1, blockers: ['kube-system/pdb-guarded'] },
    decisionsPending: [pending],
    power: 'off',
    hold: { since: at(5), deadline: at(59), released: at(30) },
    drainProgress: 87.5,
    timeline: [{ at: at(0), phase: 'Preflight', message: 'started' }],
  },
};

export const finishedMaintenance: Full<MaintenanceView> = {
  ...run,
  progress: runningMaintenance.progress,
  result,
  failure: { type: 'MaintenanceFailed', message: 'the node did not come back' },
};

export const startOutcome: Full<StartOutcome> = { workflowId: 'maintenance-worker-3', runId: 'r-1', started: true };

const rollingResult: Full<RollingResult> = {
  name: 'fw',
  status: 'Stopped',
  completed: ['worker-1'],
  failed: ['worker-2'],
  refused: [],
  skipped: ['worker-3'],
  notStarted: ['worker-4'],
  runs: 2,
};

export const rollingView: Full<RollingView> = {
  ...run,
  workflowId: 'rolling-fw',
  type: 'rollingMaintenance',
  progress: {
    name: 'fw',
    status: 'WaitingForWindow',
    maxUnavailable: 2,
    maxFailures: 1,
    failures: 1,
    nodes: [
      {
        node: 'worker-1',
        state: 'running',
        workflowId: 'maintenance-worker-1',
        runId: 'r-9',
        phase: 'EvacuateVMs',
        decisionsPending: [pending],
        vmCount: 3,
        startedAt: at(1),
        finishedAt: at(9),
        message: 'evacuating',
      },
    ],
    nextWindowAt: at(50),
    runs: 2,
    message: 'waiting for the window',
  },
  result: rollingResult,
  failure: { type: 'Stopped', message: 'maxFailures exceeded' },
};

export const schedule: Full<ScheduleView> = {
  name: 'weekly',
  paused: true,
  note: 'freeze',
  every: '168h',
  cron: '0 22 * * SAT',
  timeZone: 'Europe/Berlin',
  workflowType: 'rollingMaintenance',
  rollingName: 'weekly',
  nextActionTimes: [at(10)],
  recentActions: [{ scheduledAt: at(0), takenAt: at(1), workflowId: 'rolling-weekly-2026-11-24T22:00:00Z' }],
  runningWorkflows: ['rolling-weekly-2026-11-24T22:00:00Z'],
};

export const scheduleEntry = { name: 'weekly', paused: true, note: 'freeze', nextActionTimes: [at(10)] };
