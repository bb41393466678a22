/**
 * The shape of a per-VM plan: what maintenance does with one VMI, how it comes back, and which decisions an
 * operator may give if it escalates.
 *
 * Stopping and restarting: "shutdown" of a VM = record its runStrategy, stop it (KubeVirt's `stop` subresource for
 * Manual and RerunOnFailure, which keeps runStrategy; runStrategy Halted otherwise, see stopsByRequest), wait until
 * its VMI is gone; "restore" = start it again and put the recorded runStrategy back (see restoreSteps).
 */
import type { StrategyOverride, VmFacts } from './vmFacts.js';

/**
 * The planned runbook's actions (migrate, shutdown, escalate, awaitExternal), then the repair runbook's, where the
 * node is dead and nothing can be asked of it (src/domain/repairPlan.ts): KubeVirt restarts the VM elsewhere, Pitstop
 * starts a Manual one elsewhere, the VM stays off, or a standalone VMI is lost.
 */
export type VmAction =
  'migrate' | 'shutdown' | 'escalate' | 'awaitExternal' | 'restartElsewhere' | 'startElsewhere' | 'staysOff' | 'lost';
export const VM_ACTIONS: readonly VmAction[] = [
  'migrate',
  'shutdown',
  'escalate',
  'awaitExternal',
  'restartElsewhere',
  'startElsewhere',
  'staysOff',
  'lost',
];
/** When a VM that ends up stopped (by plan, fallback or decision) comes back. */
export type RestoreMode = 'afterMaintenance' | 'elsewhere' | 'never';
/**
 * Answers an operator may give to an escalation (the `decide` update): for a VM, shutdown / retry / delete; for a
 * repair whose machine could not be fenced through its BMC (the decision is keyed by the node's name),
 * confirmFenced ("it is off: I pulled the power") or abort.
 */
export type Decision = 'shutdown' | 'retry' | 'delete' | 'confirmFenced' | 'abort';
export const DECISIONS: readonly Decision[] = ['shutdown', 'retry', 'delete', 'confirmFenced', 'abort'];

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
  /** The repair runbook: the uid of the VMI on the failed node, so its successor (another uid) is told apart. */
  vmiUid?: string;
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
 * Whether maintenance stops a VM of this runStrategy through KubeVirt's `stop` subresource rather than by setting
 * runStrategy Halted. For Manual and RerunOnFailure virt-api queues a Stop request in the VM's status and leaves
 * spec.runStrategy as it is (kubevirt/kubevirt pkg/virt-api/rest/lifecycle.go `StopVMRequestHandler`), so a GitOps
 * tool that owns the spec sees nothing change; for Always (or Once) virt-api itself would patch runStrategy Halted,
 * so Pitstop does that directly.
 */
export function stopsByRequest(runStrategy: string): boolean {
  return runStrategy === 'Manual' || runStrategy === 'RerunOnFailure';
}

/**
 * How to bring back a VM that maintenance stopped, from the recorded runStrategy and the one the VM has now.
 * - byRequest: it was stopped through the `stop` subresource (its runStrategy is still the recorded Manual or
 *   RerunOnFailure), so it is started through the `start` subresource (`virtctl start`): nothing else restarts it.
 * - otherwise it was set to Halted (an Always VM, or the subresource was not served) and the recorded runStrategy
 *   goes back; a Manual VM is not started by its controller, so it also needs a start (`start`), which is done by
 *   runStrategy Always until its VMI exists (works without the subresource too).
 */
export function restoreSteps(
  recordedRunStrategy: string | undefined,
  currentRunStrategy?: string,
): { runStrategy: string; start: boolean; byRequest: boolean } {
  const runStrategy = recordedRunStrategy || 'Always';
  const byRequest = stopsByRequest(runStrategy) && currentRunStrategy === runStrategy;
  return { runStrategy, start: byRequest || runStrategy === 'Manual', byRequest };
}
