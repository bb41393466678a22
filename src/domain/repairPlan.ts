/**
 * The repair runbook's per-VM plan. The node is dead: nothing can be migrated off it or stopped on it, so each VM's
 * fate is what KubeVirt does once the machine is fenced and the VM's launcher pod is gone (the VMI then fails with
 * reason NodeUnresponsive): its VirtualMachine controller starts a new VMI elsewhere for runStrategy Always and
 * RerunOnFailure, and nothing for Manual, Once and Halted (kubevirt/kubevirt pkg/virt-controller/watch/vm/vm.go,
 * the run-strategy switch of `syncRunStrategy`). A standalone VMI has no controller: it is lost.
 *
 * Rules in the manner of kubectl drain's filters: tried in order, one concern each, the first answer decides.
 */
import type { MaintenancePolicy } from './policy.js';
import { effectiveStrategy, vmiKey, type VmFacts } from './vmFacts.js';
import type { VmPlan } from './vmPlan.js';

type Draft = Pick<VmPlan, 'action' | 'restore' | 'reason'>;
type RepairRule = (vm: VmFacts, policy: MaintenancePolicy) => Draft | undefined;

const lost = (reason: string): Draft => ({ action: 'lost', restore: 'never', reason });
const staysOff = (reason: string): Draft => ({ action: 'staysOff', restore: 'never', reason });

/** No VirtualMachine owns it: nothing restarts it (KubeVirt's own docs call standalone VMIs "not restarted"). */
export const standalone: RepairRule = (vm) =>
  vm.ownedByVm ? undefined : lost('a standalone VMI (no VirtualMachine): nothing restarts it once its node is fenced.');

/**
 * Stopped by an earlier maintenance whose roll-back could not start it again (its guest hung on the node that then
 * failed: chaos seeds 65 and 80): its runStrategy is Halted by Pitstop, not by its owner. It is started elsewhere
 * with the runStrategy recorded, and the record goes.
 */
export const stoppedByMaintenance: RepairRule = (vm) => {
  const recorded = vm.previousRunStrategy;
  if (recorded === undefined || recorded === 'Halted') return undefined;
  return {
    action: 'startElsewhere',
    restore: 'elsewhere',
    reason:
      `stopped by an earlier maintenance (runStrategy ${recorded} recorded): Pitstop starts it on another node ` +
      `with runStrategy ${recorded}.`,
  };
};

/** Always (the default) and RerunOnFailure: KubeVirt starts a new VMI on another node once the old one failed. */
export const restartedByKubevirt: RepairRule = (vm) => {
  const strategy = vm.runStrategy ?? 'Always';
  if (strategy !== 'Always' && strategy !== 'RerunOnFailure') return undefined;
  return {
    action: 'restartElsewhere',
    restore: 'elsewhere',
    reason: `runStrategy ${strategy}: KubeVirt restarts it on another node once the fenced node's pods are gone.`,
  };
};

/** Manual: KubeVirt leaves it off; Pitstop starts it elsewhere when policy.repair.startManual says so. */
export const manualStart: RepairRule = (vm, policy) => {
  if (vm.runStrategy !== 'Manual') return undefined;
  if (!policy.repair.startManual) {
    return staysOff(
      'runStrategy Manual and policy repair.startManual is false: it stays off until its owner starts it.',
    );
  }
  return {
    action: 'startElsewhere',
    restore: 'elsewhere',
    reason: 'runStrategy Manual: KubeVirt does not restart it; Pitstop starts it on another node (repair.startManual).',
  };
};

/** Once and Halted: the owner asked for no restart. */
export const noRestart: RepairRule = (vm) =>
  staysOff(`runStrategy ${vm.runStrategy ?? 'unknown'}: KubeVirt does not restart it after a failure; it stays off.`);

const RULES: readonly RepairRule[] = [standalone, stoppedByMaintenance, restartedByKubevirt, manualStart, noRestart];

export function planRecovery(
  vm: VmFacts,
  clusterEvictionStrategy: string | undefined,
  policy: MaintenancePolicy,
): VmPlan {
  const draft = RULES.reduce<Draft | undefined>((found, rule) => found ?? rule(vm, policy), undefined)!;
  return {
    vmi: vmiKey(vm),
    ...draft,
    allowedDecisions: [],
    strategy: effectiveStrategy(vm, clusterEvictionStrategy),
    ...(vm.uid && { vmiUid: vm.uid }),
  };
}

/** Plans for every VMI on the failed node but those that Succeeded (a guest that shut down holds nothing). */
export function planRepair(
  vms: readonly VmFacts[],
  clusterEvictionStrategy: string | undefined,
  policy: MaintenancePolicy,
): VmPlan[] {
  return vms
    .filter((vm) => vm.phase !== 'Succeeded')
    .map((vm) => planRecovery(vm, clusterEvictionStrategy, policy))
    .sort((a, b) => (a.vmi < b.vmi ? -1 : a.vmi > b.vmi ? 1 : 0));
}
