/**
 * The per-VM plan: what maintenance does with each VirtualMachineInstance on the node (docs: the plan table).
 *
 * The entry for callers. The facts about a VM are in vmFacts.ts, the plan's shape in vmPlan.ts, the rules that
 * choose it in planRules.ts, and the counts in planSummary.ts.
 */
import type { MaintenancePolicy } from './policy.js';
import { draftPlan, type Draft } from './planRules.js';
import { effectiveStrategy, isFinished, vmiKey, type VmFacts } from './vmFacts.js';
import { allowedDecisions, type VmPlan } from './vmPlan.js';

// The plan's vocabulary, so a caller imports the plan from one place.
export type { VmFacts } from './vmFacts.js';
export { restoreSteps, stopsByRequest, type Decision, type RestoreMode, type VmAction, type VmPlan } from './vmPlan.js';

function canEscalate(draft: Draft): boolean {
  return draft.action === 'escalate' || draft.action === 'awaitExternal' || draft.onMigrationFailure === 'escalate';
}

/** The plan for one VMI. `policy` supplies escalation.onNonMigratable and the durations quoted in reasons. */
export function planVm(vm: VmFacts, clusterEvictionStrategy: string | undefined, policy: MaintenancePolicy): VmPlan {
  const strategy = effectiveStrategy(vm, clusterEvictionStrategy);
  const draft = draftPlan(vm, { strategy, policy });
  return {
    vmi: vmiKey(vm),
    ...draft,
    allowedDecisions: canEscalate(draft) ? allowedDecisions(vm) : [],
    strategy,
    // An evacuation KubeVirt already started is adopted: a second migration of the same VMI would be refused.
    ...(draft.action === 'migrate' && vm.migrationInFlight ? { adoptMigration: vm.migrationInFlight } : {}),
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
