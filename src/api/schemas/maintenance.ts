// Response bodies of node maintenance: the preflight verdict and plan, live progress, the result.
import type { RefusalCode } from '../../domain/preflightRefusals.js';
import type { Decision, RestoreMode, VmAction, VmPlan } from '../../domain/plan.js';
import type { PlanSummary } from '../../domain/planSummary.js';
import type { StrategyOverride } from '../../domain/vmFacts.js';
import type { CapacityVerdict } from '../../domain/placement.js';
import type { PreflightVerdict } from '../../domain/preflight.js';
import type { Refusal } from '../../domain/preflightRefusals.js';
import type { Runbook, RunbookChoice } from '../../domain/repairMode.js';
import type { MaintenanceResult, PendingDecision, Phase, Progress, VmRow, VmState } from '../../domain/progress.js';
import type { AdmissionCode, AdmissionVerdict } from '../../domain/admission.js';
import { flag, list, number, object, oneOf, optional, text, time } from './json.js';

/** The cluster-wide admission's answer: why a run waits in WaitingForAdmission, or what a dry run would hear. */
export const admissionSchema = object<AdmissionVerdict>(
  {
    admit: flag(),
    code: oneOf<AdmissionCode>({ Admitted: true, BudgetExhausted: true, NoRoom: true, SuspectedPartition: true }),
    reason: text(),
    down: list(text(), 'The other nodes counted down, each with why'),
    budget: number('PITSTOP_MAX_NODES_DOWN resolved to a node count'),
  },
  'Cluster-wide admission',
);

export const phaseSchema = oneOf<Phase>(
  {
    Preflight: true,
    WaitingForAdmission: true,
    DryRun: true,
    Refused: true,
    Cordon: true,
    EvacuateVMs: true,
    EvictPods: true,
    PowerOff: true,
    Fence: true,
    ReleaseWorkloads: true,
    RecoverVMs: true,
    Hold: true,
    PowerOn: true,
    WaitReady: true,
    Uncordon: true,
    RestoreVMs: true,
    Done: true,
    RollingBack: true,
    RolledBack: true,
    NeedsAttention: true,
    Failed: true,
  },
  'Phase of the maintenance',
);

const runbookSchema = oneOf<Runbook>(
  { planned: true, repair: true },
  'planned: drain a healthy node (live migration first); repair: fence a failed node, its VMs restart elsewhere',
);
const decisionSchema = oneOf<Decision>({ shutdown: true, retry: true, delete: true, confirmFenced: true, abort: true });
const vmActionSchema = oneOf<VmAction>({
  migrate: true,
  shutdown: true,
  escalate: true,
  awaitExternal: true,
  restartElsewhere: true,
  startElsewhere: true,
  staysOff: true,
  lost: true,
});
const restoreSchema = oneOf<RestoreMode>({ afterMaintenance: true, elsewhere: true, never: true });

export const pendingDecisionSchema = object<PendingDecision>({
  vmi: text('"namespace/name" of the VM instance; "node/<node>" for the fence decision of a repair'),
  reason: text(),
  allowed: list(decisionSchema, 'Actions the decide endpoint accepts for it'),
  since: time(),
  deadline: optional(time('When the policy decides on its own (absent: only an operator answers)')),
});

const vmPlanSchema = object<VmPlan>({
  vmi: text('"namespace/name"'),
  action: vmActionSchema,
  onMigrationFailure: optional(oneOf<'escalate' | 'shutdown'>({ escalate: true, shutdown: true })),
  onEscalation: optional(oneOf<'ask' | 'abort'>({ ask: true, abort: true })),
  restore: restoreSchema,
  allowedDecisions: list(decisionSchema),
  reason: text('Why this action, in one sentence'),
  strategy: text('Effective eviction strategy'),
  override: optional(
    oneOf<StrategyOverride>({
      Migrate: true,
      ShutdownRestartElsewhere: true,
      ShutdownRestartAfter: true,
      ShutdownStayOff: true,
    }),
  ),
  adoptMigration: optional(text('An in-flight migration waited for instead of a new one')),
  vmiUid: optional(text('Repair: the uid of the VM instance on the failed node')),
});

const planSummarySchema = object<PlanSummary>({
  total: number(),
  migrate: number(),
  shutdown: number(),
  escalate: number(),
  awaitExternal: number(),
  willAbort: number('Escalations that roll the maintenance back without asking'),
  stayOff: number('VMs shut down for good'),
  restartElsewhere: number('Repair: VMs KubeVirt restarts on another node'),
  startElsewhere: number('Repair: Manual VMs Pitstop starts on another node'),
  lost: number('Repair: standalone VMIs, which nothing restarts'),
});

const refusalSchema = object<Refusal>({
  code: oneOf<RefusalCode>({
    NodeNotFound: true,
    AlreadyInMaintenance: true,
    SingleNodeCluster: true,
    QuorumAtRisk: true,
    InsufficientCapacity: true,
    NotMigratable: true,
  }),
  message: text(),
});

const capacitySchema = object<CapacityVerdict>({
  neededBytes: number('Memory of the VMs that must find room elsewhere'),
  freeBytes: number('Free memory on the nodes that can take them'),
  unplaced: list(text(), 'VMIs that fit on no other node'),
});

export const verdictSchema = object<PreflightVerdict>(
  {
    ok: flag(),
    node: text(),
    runbook: object<RunbookChoice>({ runbook: runbookSchema, reason: text() }),
    refusals: list(refusalSchema),
    plan: list(vmPlanSchema, 'What happens to each VM'),
    summary: planSummarySchema,
    capacity: capacitySchema,
    warnings: list(text()),
  },
  'Preflight verdict and per-VM plan',
);

const vmRowSchema = object<VmRow>({
  vmi: text(),
  action: vmActionSchema,
  restore: restoreSchema,
  state: oneOf<VmState>({
    pending: true,
    migrating: true,
    migrated: true,
    stopping: true,
    stopped: true,
    restoring: true,
    restored: true,
    awaitingDecision: true,
    awaitingExternal: true,
    movedExternally: true,
    deleted: true,
    left: true,
    failed: true,
    recovering: true,
    recovered: true,
    lost: true,
  }),
  attempts: number(),
  sourceNode: text(),
  targetNode: optional(text()),
  migration: optional(text()),
  newVmiUid: optional(text('Repair: the uid of the VM instance on its new node')),
  startedAt: optional(time()),
  finishedAt: optional(time()),
  message: optional(text()),
});

type Pods = Progress['pods'];
type Hold = NonNullable<Progress['hold']>;
type TimelineEntry = Progress['timeline'][number];

export const progressSchema = object<Progress>(
  {
    node: text(),
    runbook: optional(runbookSchema),
    phase: phaseSchema,
    dryRun: flag(),
    paused: flag(),
    startedAt: time(),
    verdict: optional(verdictSchema),
    admission: optional(admissionSchema),
    message: optional(text()),
    vms: list(vmRowSchema),
    pods: object<Pods>({ total: number(), evicted: number(), blocked: number(), blockers: list(text()) }),
    decisionsPending: list(pendingDecisionSchema, 'Escalations waiting for an answer (decide)'),
    power: oneOf<Progress['power']>({ on: true, off: true, unknown: true, unmanaged: true }),
    hold: optional(object<Hold>({ since: time(), deadline: time(), released: optional(time()) })),
    drainProgress: number("Share of the node's VMs and pods already off it (0-100)"),
    timeline: list(object<TimelineEntry>({ at: time(), phase: phaseSchema, message: optional(text()) })),
  },
  'Live progress (running maintenances only)',
);

type ResultSummary = NonNullable<MaintenanceResult['summary']>;

export const resultSchema = object<MaintenanceResult>(
  {
    node: text(),
    outcome: oneOf<MaintenanceResult['outcome']>({ DryRun: true, Refused: true, Completed: true }),
    verdict: verdictSchema,
    admission: optional(admissionSchema),
    summary: optional(
      object<ResultSummary>({
        migrated: number(),
        restored: number(),
        leftOff: number(),
        deleted: number(),
        podsEvicted: number(),
        recovered: optional(number('Repair: VMs running on another node')),
        notRecovered: optional(number('Repair: VMs lost or not running elsewhere in time')),
      }),
    ),
  },
  'What the maintenance did (or, for a plan, would do)',
);
