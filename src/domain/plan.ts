/**
 * The per-VM plan: what maintenance does with each VirtualMachineInstance on the node (docs/architecture.md).
 *
 * A plan is chosen by a short list of rules, tried in order; the first that applies decides (like kubectl drain's
 * pod filters). Every plan carries one human sentence saying why, shown in the preflight verdict and in progress.
 *
 * Stopping and restarting: "shutdown" of a VM = record its runStrategy, set it to Halted, wait until its VMI is gone;
 * "restore" = put the recorded runStrategy back (see restoreSteps for Manual VMs, which do not start by themselves).
 * A VM already Halted is stopping on its own: it is left off. A standalone VMI (no VirtualMachine) has no
 * runStrategy: stopping it deletes it for good, so Pitstop never does that without an operator's `delete` decision.
 */
import { formatDuration } from './durations.js';
import type { MaintenancePolicy } from './request.js';
import { didYouMean } from './suggest.js';

/** Per-VM label that overrides the eviction strategy for maintenance. */
export const STRATEGY_LABEL = 'pitstop.io/maintenance-strategy';
export const STRATEGY_OVERRIDES = [
  'Migrate',
  'ShutdownRestartElsewhere',
  'ShutdownRestartAfter',
  'ShutdownStayOff',
] as const;
export type StrategyOverride = (typeof STRATEGY_OVERRIDES)[number];

export const EVICTION_STRATEGIES = ['None', 'LiveMigrate', 'LiveMigrateIfPossible', 'External'] as const;

export type VmAction = 'migrate' | 'shutdown' | 'escalate' | 'awaitExternal';
export const VM_ACTIONS: readonly VmAction[] = ['migrate', 'shutdown', 'escalate', 'awaitExternal'];
/** When a VM that ends up stopped (by plan, fallback or decision) comes back. */
export type RestoreMode = 'afterMaintenance' | 'elsewhere' | 'never';
/** Answers an operator may give to an escalation (the `decide` update). */
export type Decision = 'shutdown' | 'retry' | 'delete';

/** What the plan needs to know about one VMI on the node (gathered by activities, or built by tests). */
export interface VmFacts {
  namespace: string;
  name: string;
  nodeName: string;
  /** VMI status.phase: Pending | Scheduling | Scheduled | Running | Succeeded | Failed. */
  phase: string;
  /** The VMI has a VirtualMachine controller owner (else it is a standalone VMI). */
  ownedByVm: boolean;
  /** The VM's spec.runStrategy: Always | RerunOnFailure | Manual | Halted | Once (absent = Always). */
  runStrategy?: string;
  /** vmi.spec.evictionStrategy. */
  evictionStrategy?: string;
  /** VMI condition LiveMigratable is True. */
  liveMigratable: boolean;
  /** Reason of LiveMigratable=False, e.g. DisksNotLiveMigratable. */
  notMigratableReason?: string;
  notMigratableMessage?: string;
  /** Value of the label pitstop.io/maintenance-strategy on the VM (or VMI). */
  strategyLabel?: string;
  /** Memory the VM needs on another node: its virt-launcher pod's memory request (guest memory plus overhead). */
  memoryBytes: number;
  nodeSelector?: Record<string, string>;
  /** Name of a VirtualMachineInstanceMigration already in flight for this VMI (e.g. kubevirt-evacuation-x7k2p). */
  migrationInFlight?: string;
}

export interface VmPlan {
  /** "namespace/name". */
  vmi: string;
  action: VmAction;
  /** For 'migrate': what happens once the attempts or the deadline are used up. */
  onMigrationFailure?: 'escalate' | 'shutdown';
  /** For 'escalate': ask an operator, or roll the maintenance back at once (policy escalation.onNonMigratable=abort). */
  onEscalation?: 'ask' | 'abort';
  restore: RestoreMode;
  /** Decisions accepted if this VM escalates (now or after failed migration / external deadline); else empty. */
  allowedDecisions: Decision[];
  /** One sentence: why this action. */
  reason: string;
  /** Effective eviction strategy: the VMI's, else the cluster default, else None. */
  strategy: string;
  /** The label override that decided the plan, if any. */
  override?: StrategyOverride;
  /** An in-flight migration to wait for instead of starting a new one. */
  adoptMigration?: string;
}

export function vmiKey(vm: Pick<VmFacts, 'namespace' | 'name'>): string {
  return `${vm.namespace}/${vm.name}`;
}

/** vmi.spec.evictionStrategy, else the KubeVirt CR's default, else None (KubeVirt's own fallback). */
export function effectiveStrategy(vm: VmFacts, clusterEvictionStrategy: string | undefined): string {
  return vm.evictionStrategy || clusterEvictionStrategy || 'None';
}

/** A VMI that already ended holds nothing on the node: there is nothing to move. */
export function isFinished(vm: VmFacts): boolean {
  return vm.phase === 'Succeeded' || vm.phase === 'Failed';
}

/** Escalation answers that make sense for this VM. */
export function allowedDecisions(vm: VmFacts): Decision[] {
  const decisions: Decision[] = [];
  if (vm.ownedByVm) decisions.push('shutdown'); // a VM can be stopped and started again; a standalone VMI cannot
  if (vm.liveMigratable) decisions.push('retry'); // retrying a migration KubeVirt would refuse is pointless
  decisions.push('delete');
  return decisions;
}

/**
 * How to bring back a VM that maintenance stopped: put the recorded runStrategy back; a Manual VM is not started by
 * its controller, so it also needs an explicit start (the `start` subresource, what `virtctl start` does).
 */
export function restoreSteps(recordedRunStrategy: string | undefined): { runStrategy: string; start: boolean } {
  const runStrategy = recordedRunStrategy || 'Always';
  return { runStrategy, start: runStrategy === 'Manual' };
}

// ---------------------------------------------------------------------------------------------------------------
// Phrases

function strategyText(vm: VmFacts, strategy: string): string {
  return vm.evictionStrategy ? `evictionStrategy ${strategy}` : `evictionStrategy ${strategy} (cluster default)`;
}

/** Long condition messages are cut at a word boundary: the reason must stay one readable sentence. */
function shorten(text: string, max: number): string {
  if (text.length <= max) return text;
  const cut = text.slice(0, max - 3);
  const space = cut.lastIndexOf(' ');
  return `${space > max / 2 ? cut.slice(0, space) : cut}...`;
}

function notMigratableText(vm: VmFacts): string {
  const detail = vm.notMigratableMessage ? shorten(vm.notMigratableMessage, 100) : undefined;
  const why = [vm.notMigratableReason, detail].filter(Boolean).join(': ');
  return why ? `not live-migratable (${why})` : 'not live-migratable';
}

function listOr(words: readonly string[]): string {
  if (words.length <= 1) return words.join('');
  return `${words.slice(0, -1).join(', ')} or ${words[words.length - 1] ?? ''}`;
}

function askOperator(vm: VmFacts, policy: MaintenancePolicy): string {
  const then = policy.escalation.onTimeout === 'abort' ? 'roll back' : 'shut it down';
  const within = formatDuration(policy.escalation.decisionTimeoutMs);
  return `an operator must decide (${listOr(allowedDecisions(vm))}) within ${within}, else ${then}`;
}

function labelText(value: string): string {
  return `label ${STRATEGY_LABEL}=${value}`;
}

// ---------------------------------------------------------------------------------------------------------------
// Plan shapes

/** A plan before the fields every plan derives the same way (vmi, strategy, decisions, adoption). */
type Draft = Pick<VmPlan, 'action' | 'restore' | 'reason' | 'onMigrationFailure' | 'onEscalation' | 'override'>;

function migrate(onMigrationFailure: 'escalate' | 'shutdown', reason: string): Draft {
  return { action: 'migrate', onMigrationFailure, restore: 'afterMaintenance', reason };
}

function shutdown(restore: RestoreMode, reason: string): Draft {
  return { action: 'shutdown', restore, reason };
}

function escalate(
  reason: string,
  onEscalation: 'ask' | 'abort' = 'ask',
  restore: RestoreMode = 'afterMaintenance',
): Draft {
  return { action: 'escalate', onEscalation, restore, reason };
}

/** A VM that must not be shut down without asking, but cannot live-migrate: policy escalation.onNonMigratable. */
function cannotMigrate(vm: VmFacts, why: string, policy: MaintenancePolicy): Draft {
  switch (policy.escalation.onNonMigratable) {
    case 'shutdown':
      return shutdown(
        'afterMaintenance',
        `${why}; policy escalation.onNonMigratable=shutdown: shut it down and restart it after maintenance.`,
      );
    case 'abort':
      return escalate(`${why}; policy escalation.onNonMigratable=abort: maintenance cannot proceed.`, 'abort');
    case 'ask':
      return escalate(`${why}: it would block the drain forever; ${askOperator(vm, policy)}.`);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Rules, in order: the first that returns a draft decides.

interface PlanContext {
  strategy: string;
  policy: MaintenancePolicy;
}

type PlanRule = (vm: VmFacts, context: PlanContext) => Draft | undefined;

/** runStrategy Halted: the VM is already being stopped by its owner; it stays off. */
const alreadyHalted: PlanRule = (vm) =>
  vm.ownedByVm && vm.runStrategy === 'Halted'
    ? shutdown('never', 'runStrategy is Halted: the VM is already stopping; it stays off.')
    : undefined;

/** A label value we do not know: guessing could lose the VM or block the drain, so ask. */
const invalidLabel: PlanRule = (vm, { policy }) => {
  const value = vm.strategyLabel;
  if (value === undefined || STRATEGY_OVERRIDES.some((known) => known === value)) return undefined;
  const expected = `${STRATEGY_OVERRIDES.join(', ')}${didYouMean(value, STRATEGY_OVERRIDES)}`;
  return escalate(`${labelText(JSON.stringify(value))} is not one of ${expected}; ${askOperator(vm, policy)}.`);
};

/** External: another controller moves the VM; we wait, and escalate at the deadline. */
const externalController: PlanRule = (vm, { strategy, policy }) => {
  if (strategy !== 'External' || vm.strategyLabel !== undefined) return undefined;
  const wait = formatDuration(policy.external.timeoutMs);
  return {
    action: 'awaitExternal',
    restore: vm.ownedByVm ? 'afterMaintenance' : 'never',
    reason: `${strategyText(vm, strategy)}: wait up to ${wait} for its controller to move it, then ask an operator.`,
  };
};

/** A VMI without a VirtualMachine cannot be stopped and come back: migrate it if allowed, else ask. */
const standaloneVmi: PlanRule = (vm, { strategy, policy }) => {
  if (vm.ownedByVm) return undefined;
  const wantsMigration =
    vm.strategyLabel === 'Migrate' || strategy === 'LiveMigrate' || strategy === 'LiveMigrateIfPossible';
  if (wantsMigration && vm.liveMigratable) {
    return {
      ...migrate('escalate', 'standalone VMI (no VirtualMachine owns it): migrate it; if that fails, ask an operator.'),
      restore: 'never',
    };
  }
  const abort = policy.escalation.onNonMigratable === 'abort' && wantsMigration;
  const why = wantsMigration
    ? `standalone VMI, ${notMigratableText(vm)}`
    : 'standalone VMI (no VirtualMachine owns it)';
  return abort
    ? escalate(`${why}; policy escalation.onNonMigratable=abort: maintenance cannot proceed.`, 'abort', 'never')
    : escalate(`${why}: stopping it would lose it for good; ${askOperator(vm, policy)}.`, 'ask', 'never');
};

/** The VM's label overrides its eviction strategy. */
const labelOverride: PlanRule = (vm, { policy }) => {
  const value = vm.strategyLabel;
  const override = STRATEGY_OVERRIDES.find((known) => known === value);
  if (override === undefined) return undefined;
  const label = labelText(override);
  const draft = ((): Draft => {
    switch (override) {
      case 'Migrate':
        return vm.liveMigratable
          ? migrate('escalate', `${label}: migrate it; if that fails, ask an operator.`)
          : cannotMigrate(vm, `${label} but ${notMigratableText(vm)}`, policy);
      case 'ShutdownRestartElsewhere':
        return shutdown('elsewhere', `${label}: shut it down and restart it right away on another node.`);
      case 'ShutdownRestartAfter':
        return shutdown('afterMaintenance', `${label}: shut it down and restart it after maintenance.`);
      case 'ShutdownStayOff':
        return shutdown('never', `${label}: shut it down and leave it off.`);
    }
  })();
  return { ...draft, override };
};

/** The decision table by effective eviction strategy. */
const byEvictionStrategy: PlanRule = (vm, { strategy, policy }) => {
  const how = strategyText(vm, strategy);
  switch (strategy) {
    case 'LiveMigrate':
      return vm.liveMigratable
        ? migrate('escalate', `${how}: migrate it; if that fails for good, ask an operator.`)
        : cannotMigrate(vm, `${how} but ${notMigratableText(vm)}`, policy);
    case 'LiveMigrateIfPossible':
      return vm.liveMigratable
        ? migrate(
            'shutdown',
            `${how}: migrate it; if that fails for good, shut it down and restart it after maintenance.`,
          )
        : shutdown(
            'afterMaintenance',
            `${how}, ${notMigratableText(vm)}: shut it down and restart it after maintenance.`,
          );
    case 'None':
      return shutdown('afterMaintenance', `${how}: shut it down gracefully and restart it after maintenance.`);
    default:
      return escalate(`unknown evictionStrategy ${JSON.stringify(strategy)}; ${askOperator(vm, policy)}.`);
  }
};

const RULES: readonly PlanRule[] = [
  alreadyHalted,
  invalidLabel,
  externalController,
  standaloneVmi,
  labelOverride,
  byEvictionStrategy,
];

function canEscalate(draft: Draft): boolean {
  return draft.action === 'escalate' || draft.action === 'awaitExternal' || draft.onMigrationFailure === 'escalate';
}

/** The plan for one VMI. `policy` supplies escalation.onNonMigratable and the durations quoted in reasons. */
export function planVm(vm: VmFacts, clusterEvictionStrategy: string | undefined, policy: MaintenancePolicy): VmPlan {
  const strategy = effectiveStrategy(vm, clusterEvictionStrategy);
  const context: PlanContext = { strategy, policy };
  let draft: Draft | undefined;
  for (const rule of RULES) {
    draft = rule(vm, context);
    if (draft) break;
  }
  // byEvictionStrategy always answers; the fallback only satisfies the type checker.
  const decided = draft ?? escalate(`no rule matched; ${askOperator(vm, policy)}.`);
  return {
    vmi: vmiKey(vm),
    ...decided,
    allowedDecisions: canEscalate(decided) ? allowedDecisions(vm) : [],
    strategy,
    // An evacuation KubeVirt already started is adopted: a second migration of the same VMI would be refused.
    ...(decided.action === 'migrate' && vm.migrationInFlight ? { adoptMigration: vm.migrationInFlight } : {}),
  };
}

function byNamespaceAndName(a: VmFacts, b: VmFacts): number {
  if (a.namespace !== b.namespace) return a.namespace < b.namespace ? -1 : 1;
  if (a.name !== b.name) return a.name < b.name ? -1 : 1;
  return 0;
}

/** Plans for every VMI still active on the node (finished ones hold nothing), sorted by namespace/name. */
export function planNode(
  vms: readonly VmFacts[],
  clusterEvictionStrategy: string | undefined,
  policy: MaintenancePolicy,
): VmPlan[] {
  return vms
    .filter((vm) => !isFinished(vm))
    .sort(byNamespaceAndName)
    .map((vm) => planVm(vm, clusterEvictionStrategy, policy));
}

export interface PlanSummary {
  total: number;
  migrate: number;
  shutdown: number;
  escalate: number;
  awaitExternal: number;
  /** Escalations that roll the maintenance back without asking (policy escalation.onNonMigratable=abort). */
  willAbort: number;
  /** VMs shut down for good (ShutdownStayOff, or already Halted). */
  stayOff: number;
}

export function summarizePlan(plans: readonly VmPlan[]): PlanSummary {
  const count = (test: (plan: VmPlan) => boolean) => plans.filter(test).length;
  return {
    total: plans.length,
    migrate: count((p) => p.action === 'migrate'),
    shutdown: count((p) => p.action === 'shutdown'),
    escalate: count((p) => p.action === 'escalate'),
    awaitExternal: count((p) => p.action === 'awaitExternal'),
    willAbort: count((p) => p.action === 'escalate' && p.onEscalation === 'abort'),
    stayOff: count((p) => p.action === 'shutdown' && p.restore === 'never'),
  };
}

/** One line for humans: "5 VMs: 2 migrate, 1 shut down (1 stays off), 1 wait for external controller, 1 escalate". */
export function formatPlanSummary(summary: PlanSummary): string {
  if (summary.total === 0) return 'no VMs on the node';
  const parts: string[] = [];
  if (summary.migrate) parts.push(`${summary.migrate} migrate`);
  if (summary.shutdown)
    parts.push(`${summary.shutdown} shut down${summary.stayOff ? ` (${summary.stayOff} stay off)` : ''}`);
  if (summary.awaitExternal) parts.push(`${summary.awaitExternal} wait for external controller`);
  if (summary.escalate) {
    const abort = summary.willAbort ? ` (${summary.willAbort} abort the maintenance)` : '';
    parts.push(`${summary.escalate} need a decision${abort}`);
  }
  return `${summary.total} VM${summary.total === 1 ? '' : 's'}: ${parts.join(', ')}`;
}
