/** Builders for domain test facts: a healthy default, overridden per test. */
import type { VmFacts } from '../../src/domain/plan.js';
import type { NodeFacts } from '../../src/domain/preflight.js';
import { DEFAULT_POLICY, type MaintenancePolicy } from '../../src/domain/request.js';

export const GiB = 1024 ** 3;

export function vm(overrides: Partial<VmFacts> = {}): VmFacts {
  return {
    namespace: 'apps',
    name: 'web',
    nodeName: 'worker-3',
    phase: 'Running',
    ownedByVm: true,
    runStrategy: 'Always',
    evictionStrategy: 'LiveMigrate',
    liveMigratable: true,
    memoryBytes: 4 * GiB,
    ...overrides,
  };
}

/** A VM that cannot live-migrate because its disk is on a ReadWriteOnce PVC. */
export function rwoVm(overrides: Partial<VmFacts> = {}): VmFacts {
  return vm({
    name: 'db',
    liveMigratable: false,
    notMigratableReason: 'DisksNotLiveMigratable',
    notMigratableMessage:
      'cannot migrate VMI: PVC db-root is not shared, live migration requires that all PVCs must be shared (using ReadWriteMany access mode)',
    ...overrides,
  });
}

export function node(overrides: Partial<NodeFacts> = {}): NodeFacts {
  return {
    name: 'worker-1',
    unschedulable: false,
    ready: true,
    controlPlane: false,
    allocatableMemoryBytes: 64 * GiB,
    requestedMemoryBytes: 0,
    taints: [],
    ...overrides,
    // virt-handler's label on every node that runs KubeVirt: a node without it takes no VM.
    labels: { 'kubevirt.io/schedulable': 'true', ...overrides.labels },
  };
}

export function policyWith(escalation: Partial<MaintenancePolicy['escalation']>): MaintenancePolicy {
  return { ...DEFAULT_POLICY, escalation: { ...DEFAULT_POLICY.escalation, ...escalation } };
}
