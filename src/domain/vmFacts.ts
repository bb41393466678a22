/**
 * What maintenance knows about one VirtualMachineInstance on the node (gathered by activities, or built by tests),
 * and the facts derived from it that every part of the plan reads the same way.
 */

/** Values of the per-VM label (contract.ts STRATEGY_LABEL) that override the eviction strategy for maintenance. */
export const STRATEGY_OVERRIDES = [
  'Migrate',
  'ShutdownRestartElsewhere',
  'ShutdownRestartAfter',
  'ShutdownStayOff',
] as const;
export type StrategyOverride = (typeof STRATEGY_OVERRIDES)[number];

export const EVICTION_STRATEGIES = ['None', 'LiveMigrate', 'LiveMigrateIfPossible', 'External'] as const;

export interface VmFacts {
  namespace: string;
  name: string;
  nodeName: string;
  /** The VMI's uid: the repair runbook tells the VM's new VMI (another uid) from the old one by it. */
  uid?: string;
  /** VMI status.phase: Pending | Scheduling | Scheduled | Running | Succeeded | Failed. */
  phase: string;
  /** The VMI has a VirtualMachine controller owner (else it is a standalone VMI). */
  ownedByVm: boolean;
  /** The VM's spec.runStrategy: Always | RerunOnFailure | Manual | Halted | Once (absent = Always). */
  runStrategy?: string;
  /**
   * The runStrategy an earlier maintenance recorded when it stopped the VM (annotation pitstop.io/previous-run-strategy):
   * the owner's intent while the VM is Halted by Pitstop.
   */
  previousRunStrategy?: string;
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
