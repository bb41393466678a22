/**
 * The rules that choose a VM's plan, tried in order; the first that answers decides (in the manner of kubectl
 * drain's pod filters: one concern per small function). Each answers a draft with one human sentence saying why,
 * or undefined to let the next rule look.
 *
 * A VM already Halted is stopping on its own: it is left off. A standalone VMI (no VirtualMachine) has no
 * runStrategy: stopping it deletes it for good, so Pitstop never does that without an operator's `delete` decision.
 */
import { formatDuration } from './durations.js';
import { askOperator, labelText, notMigratableText, strategyText } from './planPhrases.js';
import type { MaintenancePolicy } from './policy.js';
import { didYouMean } from './suggest.js';
import { STRATEGY_OVERRIDES, type StrategyOverride, type VmFacts } from './vmFacts.js';
import type { RestoreMode, VmPlan } from './vmPlan.js';

/** A plan before the fields every plan derives the same way (vmi, strategy, decisions, adoption). */
export type Draft = Pick<VmPlan, 'action' | 'restore' | 'reason' | 'onMigrationFailure' | 'onEscalation' | 'override'>;

export interface PlanContext {
  /** The effective eviction strategy. */
  strategy: string;
  policy: MaintenancePolicy;
}

export type PlanRule = (vm: VmFacts, context: PlanContext) => Draft | undefined;

// ---------------------------------------------------------------------------------------------------------------
// Drafts

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
// Rules

/** runStrategy Halted: the VM is already being stopped by its owner; it stays off. */
export const alreadyHalted: PlanRule = (vm) =>
  vm.ownedByVm && vm.runStrategy === 'Halted'
    ? shutdown('never', 'runStrategy is Halted: the VM is already stopping; it stays off.')
    : undefined;

/** A label value we do not know: guessing could lose the VM or block the drain, so ask. */
export const unknownLabel: PlanRule = (vm, { policy }) => {
  const value = vm.strategyLabel;
  if (value === undefined || STRATEGY_OVERRIDES.some((known) => known === value)) return undefined;
  const expected = `${STRATEGY_OVERRIDES.join(', ')}${didYouMean(value, STRATEGY_OVERRIDES)}`;
  return escalate(`${labelText(JSON.stringify(value))} is not one of ${expected}; ${askOperator(vm, policy)}.`);
};

/** External (and no label): another controller moves the VM; we wait, and escalate at the deadline. */
export const externalController: PlanRule = (vm, { strategy, policy }) => {
  if (strategy !== 'External' || vm.strategyLabel !== undefined) return undefined;
  const wait = formatDuration(policy.external.timeoutMs);
  return {
    action: 'awaitExternal',
    restore: vm.ownedByVm ? 'afterMaintenance' : 'never',
    reason: `${strategyText(vm, strategy)}: wait up to ${wait} for its controller to move it, then ask an operator.`,
  };
};

function wantsMigration(vm: VmFacts, strategy: string): boolean {
  return vm.strategyLabel === 'Migrate' || strategy === 'LiveMigrate' || strategy === 'LiveMigrateIfPossible';
}

/** A standalone VMI that should and can live-migrate: migrate it; it never comes back if stopped. */
export const standaloneMigratable: PlanRule = (vm, { strategy }) =>
  !vm.ownedByVm && wantsMigration(vm, strategy) && vm.liveMigratable
    ? {
        ...migrate(
          'escalate',
          'standalone VMI (no VirtualMachine owns it): migrate it; if that fails, ask an operator.',
        ),
        restore: 'never',
      }
    : undefined;

/** Any other standalone VMI: stopping it would lose it for good, so ask (or abort, if policy says so). */
export const standaloneStuck: PlanRule = (vm, { strategy, policy }) => {
  if (vm.ownedByVm) return undefined;
  const wants = wantsMigration(vm, strategy);
  const why = wants ? `standalone VMI, ${notMigratableText(vm)}` : 'standalone VMI (no VirtualMachine owns it)';
  return policy.escalation.onNonMigratable === 'abort' && wants
    ? escalate(`${why}; policy escalation.onNonMigratable=abort: maintenance cannot proceed.`, 'abort', 'never')
    : escalate(`${why}: stopping it would lose it for good; ${askOperator(vm, policy)}.`, 'ask', 'never');
};

/** The rule for one value of the strategy label, which overrides the eviction strategy. */
function labelRule(value: StrategyOverride, plan: (vm: VmFacts, label: string, policy: MaintenancePolicy) => Draft) {
  const rule: PlanRule = (vm, { policy }) =>
    vm.strategyLabel === value ? { ...plan(vm, labelText(value), policy), override: value } : undefined;
  return rule;
}

export const migrateLabel = labelRule('Migrate', (vm, label, policy) =>
  vm.liveMigratable
    ? migrate('escalate', `${label}: migrate it; if that fails, ask an operator.`)
    : cannotMigrate(vm, `${label} but ${notMigratableText(vm)}`, policy),
);

export const restartElsewhereLabel = labelRule('ShutdownRestartElsewhere', (_vm, label) =>
  shutdown('elsewhere', `${label}: shut it down and restart it right away on another node.`),
);

export const restartAfterLabel = labelRule('ShutdownRestartAfter', (_vm, label) =>
  shutdown('afterMaintenance', `${label}: shut it down and restart it after maintenance.`),
);

export const stayOffLabel = labelRule('ShutdownStayOff', (_vm, label) =>
  shutdown('never', `${label}: shut it down and leave it off.`),
);

/** The rule for one effective eviction strategy (the VMI's, else the cluster's). */
function strategyRule(name: string, plan: (vm: VmFacts, how: string, policy: MaintenancePolicy) => Draft) {
  const rule: PlanRule = (vm, { strategy, policy }) =>
    strategy === name ? plan(vm, strategyText(vm, strategy), policy) : undefined;
  return rule;
}

export const liveMigrateStrategy = strategyRule('LiveMigrate', (vm, how, policy) =>
  vm.liveMigratable
    ? migrate('escalate', `${how}: migrate it; if that fails for good, ask an operator.`)
    : cannotMigrate(vm, `${how} but ${notMigratableText(vm)}`, policy),
);

export const liveMigrateIfPossibleStrategy = strategyRule('LiveMigrateIfPossible', (vm, how) =>
  vm.liveMigratable
    ? migrate('shutdown', `${how}: migrate it; if that fails for good, shut it down and restart it after maintenance.`)
    : shutdown('afterMaintenance', `${how}, ${notMigratableText(vm)}: shut it down and restart it after maintenance.`),
);

export const noEvictionStrategy = strategyRule('None', (_vm, how) =>
  shutdown('afterMaintenance', `${how}: shut it down gracefully and restart it after maintenance.`),
);

/** What no rule decided: a strategy this version does not know. Ask rather than guess. */
export function unknownStrategy(vm: VmFacts, { strategy, policy }: PlanContext): Draft {
  return escalate(`unknown evictionStrategy ${JSON.stringify(strategy)}; ${askOperator(vm, policy)}.`);
}

/** In order: the first that answers decides. */
export const PLAN_RULES: readonly PlanRule[] = [
  alreadyHalted,
  unknownLabel,
  externalController,
  standaloneMigratable,
  standaloneStuck,
  migrateLabel,
  restartElsewhereLabel,
  restartAfterLabel,
  stayOffLabel,
  liveMigrateStrategy,
  liveMigrateIfPossibleStrategy,
  noEvictionStrategy,
];

/** The draft of the first rule that answers; unknownStrategy when none does. */
export function draftPlan(vm: VmFacts, context: PlanContext, rules = PLAN_RULES): Draft {
  for (const rule of rules) {
    const draft = rule(vm, context);
    if (draft) return draft;
  }
  return unknownStrategy(vm, context);
}
