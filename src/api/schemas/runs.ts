// Response bodies about workflow runs: a run as Temporal lists it, a start's outcome, and the views of one run.
import type {
  RollingNodeRow,
  RollingNodeState,
  RollingProgress,
  RollingResult,
  RollingStatus,
} from '../../domain/rollingProgress.js';
import type {
  Failure,
  MaintenanceView,
  RollingView,
  RunStatus,
  RunSummary,
  StartOutcome,
} from '../../client/service.js';
import { flag, list, number, object, oneOf, optional, text, time, type Fields } from './json.js';
import { pendingDecisionSchema, phaseSchema, progressSchema, resultSchema } from './maintenance.js';

const runFields: Fields<RunSummary> = {
  workflowId: text(),
  runId: text(),
  type: text('Workflow type'),
  status: oneOf<RunStatus>({
    Running: true,
    Completed: true,
    Failed: true,
    Cancelled: true,
    Terminated: true,
    TimedOut: true,
    ContinuedAsNew: true,
  }),
  startTime: time(),
  closeTime: optional(time()),
  node: optional(text('The node (node maintenances)')),
  phase: optional(text('The phase last published (node maintenances)')),
};

export const runSummarySchema = object<RunSummary>(runFields, 'A run (Temporal visibility)');

const failureSchema = object<Failure>(
  {
    type: text('InvalidInput, PreflightRefused, Aborted, MaintenanceFailed, Cancelled, Terminated or TimedOut'),
    message: text(),
  },
  'How a closed run failed',
);

export const startOutcomeSchema = object<StartOutcome>({
  workflowId: text(),
  runId: text(),
  started: flag('false: a run with this id was already running and is returned instead'),
});

export const maintenanceViewSchema = object<MaintenanceView>(
  {
    ...runFields,
    progress: optional(progressSchema),
    result: optional(resultSchema),
    failure: optional(failureSchema),
  },
  'The latest maintenance of a node: live progress while it runs, then its result or failure',
);

const rollingNodeSchema = object<RollingNodeRow>({
  node: text(),
  state: oneOf<RollingNodeState>({
    pending: true,
    running: true,
    completed: true,
    failed: true,
    refused: true,
    skipped: true,
  }),
  workflowId: text('The child maintenance (maintenance-<node>)'),
  runId: optional(text()),
  phase: optional(phaseSchema),
  decisionsPending: list(pendingDecisionSchema),
  vmCount: optional(number()),
  startedAt: optional(time()),
  finishedAt: optional(time()),
  message: optional(text()),
});

const rollingProgressSchema = object<RollingProgress>(
  {
    name: text(),
    status: oneOf<RollingStatus>({
      Running: true,
      Paused: true,
      WaitingForWindow: true,
      WaitingForCapacity: true,
      Stopped: true,
      Completed: true,
    }),
    maxUnavailable: number(),
    maxFailures: number(),
    failures: number(),
    nodes: list(rollingNodeSchema),
    nextWindowAt: optional(time('When the next window opens, if the roll waits for one')),
    runs: number('How many times the roll has continued as new'),
    message: optional(text()),
  },
  'Live progress (running rolls only)',
);

export const rollingResultSchema = object<RollingResult>(
  {
    name: text(),
    status: oneOf<RollingResult['status']>({ Completed: true, Stopped: true }),
    completed: list(text()),
    failed: list(text()),
    refused: list(text()),
    skipped: list(text()),
    notStarted: list(text(), 'Nodes never started because the roll stopped'),
    runs: number(),
  },
  'What the roll did',
);

export const rollingViewSchema = object<RollingView>(
  {
    ...runFields,
    progress: optional(rollingProgressSchema),
    result: optional(rollingResultSchema),
    failure: optional(failureSchema),
  },
  'A rolling maintenance: progress per node while it runs, then its result or failure',
);
