/**
 * The shape of a per-VM plan: what maintenance does with one VMI, how it comes back, and which decisions an
 * operator may give if it escalates.
 *
 * Stopping and restarting: "shutdown" of a VM = record its runStrategy, set it to Halted, wait until its VMI is gone;
 * "restore" = put the recorded runStrategy back (see restoreSteps for Manual VMs, which do not start by themselves).
 */
import type { StrategyOverride, VmFacts } from './vmFacts.js';

export type VmAction = 'migrate' | 'shutdown' | 'escalate' | 'awaitExternal';
export const VM_ACTIONS: readonly VmAction[] = ['migrate', 'shutdown', 'escalate', 'awaitExternal'];
/** When a VM that ends up stopped (by plan, fallback or decision) comes back. */
export type RestoreMode = 'afterMaintenance' | 'elsewhere' | 'never';
/** Answers an operator may give to an escalation (the `decide` update). */
export type Decision = 'shutdown' | 'retry' | 'delete';

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
