import { describe, expect, it } from 'vitest';
import { formatBytes, keepSelectedLabels, preflight, type ClusterSnapshot } from '../../src/domain/preflight.js';
import { parseMaintenanceRequest } from '../../src/domain/request.js';
import { GiB, node, rwoVm, vm } from './fixtures.js';

const request = parseMaintenanceRequest({ node: 'worker-3' });
const target = node({ name: 'worker-3' });

/** A healthy cluster: worker-3 to maintain, two other workers with 64 GiB free each, three control-plane nodes. */
function snapshot(overrides: Partial<ClusterSnapshot> = {}): ClusterSnapshot {
  const controlPlane = ['cp-1', 'cp-2', 'cp-3'].map((name) =>
    node({
      name,
      controlPlane: true,
      taints: [{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }],
    }),
  );
  return {
    node: target,
    nodes: [...controlPlane, node({ name: 'worker-1' }), node({ name: 'worker-2' }), target],
    vms: [vm({ name: 'web' }), vm({ name: 'batch', evictionStrategy: 'None' })],
    clusterEvictionStrategy: 'LiveMigrate',
    leases: [],
    workflowId: 'maintenance-worker-3',
    ...overrides,
  };
}

describe('preflight: a healthy cluster', () => {
  it('passes, with the plan, its summary and the capacity it counted', () => {
    const verdict = preflight(snapshot(), request);
    expect(verdict.ok).toBe(true);
    expect(verdict.node).toBe('worker-3');
    expect(verdict.refusals).toEqual([]);
    expect(verdict.warnings).toEqual([]);
    expect(verdict.plan.map((p) => [p.vmi, p.action])).toEqual([
      ['apps/batch', 'shutdown'],
      ['apps/web', 'migrate'],
    ]);
    expect(verdict.summary).toMatchObject({ total: 2, migrate: 1, shutdown: 1 });
    // Only the migrating VM needs room; the control-plane nodes are tainted NoSchedule and do not count.
    expect(verdict.capacity).toEqual({ neededBytes: 4 * GiB, freeBytes: 128 * GiB, unplaced: [] });
  });

  it('is fine with a lease our own workflow holds', () => {
    const verdict = preflight(snapshot({ leases: [{ holder: 'maintenance-worker-3', source: 'pitstop' }] }), request);
    expect(verdict.ok).toBe(true);
  });

  it('lets a control-plane node go when quorum survives', () => {
    const cp = node({ name: 'cp-1', controlPlane: true });
    const nodes = [cp, node({ name: 'cp-2', controlPlane: true }), node({ name: 'cp-3', controlPlane: true })];
    const verdict = preflight(snapshot({ node: cp, nodes, vms: [] }), parseMaintenanceRequest({ node: 'cp-1' }));
    expect(verdict.refusals).toEqual([]);
  });
});

describe('preflight: refusals', () => {
  it('NodeNotFound', () => {
    const verdict = preflight(snapshot({ node: undefined, vms: [] }), parseMaintenanceRequest({ node: 'worker-9' }));
    expect(verdict.ok).toBe(false);
    expect(verdict.refusals).toEqual([{ code: 'NodeNotFound', message: 'node "worker-9" does not exist' }]);
  });

  it('AlreadyInMaintenance by another workflow', () => {
    const verdict = preflight(
      snapshot({ leases: [{ holder: 'maintenance-worker-3-v1', source: 'pitstop' }] }),
      request,
    );
    expect(verdict.refusals).toEqual([
      {
        code: 'AlreadyInMaintenance',
        message: 'node "worker-3" is already in maintenance: its lease is held by workflow maintenance-worker-3-v1',
      },
    ]);
  });

  it('AlreadyInMaintenance by medik8s (node-maintenance-operator)', () => {
    const verdict = preflight(snapshot({ leases: [{ holder: 'node-maintenance', source: 'medik8s' }] }), request);
    expect(verdict.refusals).toEqual([
      {
        code: 'AlreadyInMaintenance',
        message: 'node "worker-3" is already in maintenance: its lease is held by medik8s holder "node-maintenance"',
      },
    ]);
  });

  it('QuorumAtRisk when another control-plane node is already down', () => {
    const cp = node({ name: 'cp-1', controlPlane: true });
    const nodes = [
      cp,
      node({ name: 'cp-2', controlPlane: true, ready: false }),
      node({ name: 'cp-3', controlPlane: true }),
    ];
    const verdict = preflight(snapshot({ node: cp, nodes, vms: [] }), parseMaintenanceRequest({ node: 'cp-1' }));
    expect(verdict.refusals).toEqual([
      {
        code: 'QuorumAtRisk',
        message:
          'node "cp-1" is a control-plane node: taking it down leaves 1 of 3 control-plane nodes Ready, and quorum needs 2',
      },
    ]);
  });

  it('QuorumAtRisk on the only control-plane node of a cluster with workers', () => {
    const cp = node({ name: 'cp-1', controlPlane: true });
    const nodes = [cp, node({ name: 'worker-1' })];
    const verdict = preflight(snapshot({ node: cp, nodes, vms: [] }), parseMaintenanceRequest({ node: 'cp-1' }));
    expect(verdict.refusals.map((r) => r.message)).toEqual([
      'node "cp-1" is a control-plane node: taking it down leaves 0 of 1 control-plane nodes Ready, and quorum needs 1',
    ]);
  });

  it('InsufficientCapacity names what is missing and which VMs do not fit', () => {
    const nodes = [node({ name: 'worker-1', allocatableMemoryBytes: 16 * GiB, requestedMemoryBytes: 6 * GiB }), target];
    const vms = [
      vm({ name: 'a', memoryBytes: 8 * GiB }),
      vm({ name: 'b', memoryBytes: 4 * GiB }),
      vm({ name: 'c', memoryBytes: 2 * GiB }),
      vm({ name: 'd', memoryBytes: 32 * GiB, evictionStrategy: 'None' }), // restarts after maintenance: needs no room
    ];
    const verdict = preflight(snapshot({ nodes, vms }), request);
    expect(verdict.ok).toBe(false);
    expect(verdict.capacity).toEqual({ neededBytes: 14 * GiB, freeBytes: 10 * GiB, unplaced: ['apps/b'] });
    expect(verdict.refusals).toEqual([
      {
        code: 'InsufficientCapacity',
        message:
          '4 GiB missing: apps/b (4 GiB) does not fit on the other nodes (14 GiB needed, 10 GiB free on 1 Ready schedulable node)',
      },
    ]);
  });

  it('InsufficientCapacity when no other node can take VMs', () => {
    const nodes = [
      node({ name: 'worker-1', unschedulable: true }),
      node({ name: 'worker-2', ready: false }),
      node({ name: 'worker-4', taints: [{ key: 'maintenance', effect: 'NoExecute' }] }),
      target,
    ];
    const verdict = preflight(snapshot({ nodes, vms: [vm({ name: 'a' }), vm({ name: 'b' })] }), request);
    expect(verdict.refusals.map((r) => r.message)).toEqual([
      '8 GiB missing: apps/a (4 GiB), apps/b (4 GiB) do not fit on the other nodes (no other node is Ready, schedulable, kubevirt.io/schedulable=true and untainted)',
    ]);
  });

  it('NotMigratable when policy would abort on a VM that cannot live-migrate', () => {
    const abortRequest = parseMaintenanceRequest({
      node: 'worker-3',
      policy: { escalation: { onNonMigratable: 'abort' } },
    });
    const verdict = preflight(snapshot({ vms: [vm(), rwoVm()] }), abortRequest);
    expect(verdict.refusals).toEqual([
      {
        code: 'NotMigratable',
        message:
          'policy escalation.onNonMigratable is abort and 1 VM cannot live-migrate: apps/db (DisksNotLiveMigratable)',
      },
    ]);
    expect(verdict.summary.willAbort).toBe(1);
  });

  it('reports every refusal at once', () => {
    const cp = node({ name: 'worker-3', controlPlane: true, allocatableMemoryBytes: 64 * GiB });
    const verdict = preflight(
      snapshot({
        node: cp,
        nodes: [cp, node({ name: 'worker-1', allocatableMemoryBytes: 2 * GiB })],
        leases: [{ holder: 'node-maintenance', source: 'medik8s' }],
      }),
      request,
    );
    expect(verdict.refusals.map((r) => r.code)).toEqual([
      'AlreadyInMaintenance',
      'QuorumAtRisk',
      'InsufficientCapacity',
    ]);
  });
});

describe('preflight: capacity', () => {
  it('honours nodeSelector: a VM only fits on matching nodes', () => {
    const nodes = [
      node({ name: 'worker-1', allocatableMemoryBytes: 64 * GiB }),
      node({
        name: 'worker-2',
        labels: { gpu: 'true' },
        allocatableMemoryBytes: 16 * GiB,
        requestedMemoryBytes: 10 * GiB,
      }),
      target,
    ];
    const gpuVm = vm({ name: 'trainer', memoryBytes: 8 * GiB, nodeSelector: { gpu: 'true' } });
    const verdict = preflight(snapshot({ nodes, vms: [gpuVm] }), request);
    expect(verdict.capacity.unplaced).toEqual(['apps/trainer']);
    expect(verdict.refusals[0]?.message).toBe(
      '8 GiB missing: apps/trainer (8 GiB) does not fit on the other nodes (8 GiB needed, 70 GiB free on 2 Ready schedulable nodes)',
    );

    const fits = preflight(snapshot({ nodes, vms: [{ ...gpuVm, memoryBytes: 6 * GiB }] }), request);
    expect(fits.ok).toBe(true);
  });

  it('keeps only the labels a VM selects on, and decides the same with them', () => {
    const nodes = [
      node({ name: 'worker-1', labels: { gpu: 'true', 'topology.kubernetes.io/zone': 'a', rack: 'r1' } }),
      node({ name: 'worker-2', labels: { gpu: 'false', 'kubernetes.io/hostname': 'worker-2' } }),
      target,
    ];
    const vms = [vm({ name: 'trainer', memoryBytes: 8 * GiB, nodeSelector: { gpu: 'true' } }), vm({ name: 'web' })];
    const kept = keepSelectedLabels(nodes, vms);
    const schedulable = { 'kubevirt.io/schedulable': 'true' };
    expect(kept.map((n) => n.labels)).toEqual([
      { gpu: 'true', ...schedulable },
      { gpu: 'false', ...schedulable },
      schedulable,
    ]);
    expect(preflight(snapshot({ nodes: kept, vms }), request)).toEqual(preflight(snapshot({ nodes, vms }), request));
    // Without a nodeSelector only KubeVirt's schedulable label is kept: every launcher pod selects on it.
    expect(keepSelectedLabels(nodes, [vm({ name: 'web' })]).map((n) => n.labels)).toEqual([
      schedulable,
      schedulable,
      schedulable,
    ]);
  });

  it('counts no room on a node KubeVirt does not mark kubevirt.io/schedulable=true, however free it is', () => {
    // virt-handler gone or its heartbeat stale: the node is Ready and uncordoned, yet no launcher pod lands there.
    const stale = node({ name: 'worker-2', labels: { 'kubevirt.io/schedulable': 'false' } });
    const unlabelled = { ...node({ name: 'worker-1' }), labels: {} };
    const verdict = preflight(snapshot({ nodes: [unlabelled, stale, target] }), request);
    expect(verdict.ok).toBe(false);
    expect(verdict.capacity).toMatchObject({ freeBytes: 0, unplaced: ['apps/web'] });
    expect(verdict.refusals[0]?.message).toContain(
      'no other node is Ready, schedulable, kubevirt.io/schedulable=true and untainted',
    );
    // The same cluster with virt-handler healthy on worker-1 fits.
    const healthy = preflight(snapshot({ nodes: [node({ name: 'worker-1' }), stale, target] }), request);
    expect(healthy.ok).toBe(true);
    expect(healthy.capacity.freeBytes).toBe(64 * GiB);
  });

  it('keeps the kubevirt.io/schedulable label through keepSelectedLabels, so the snapshot decides as the cluster', () => {
    const nodes = [
      node({ name: 'worker-1' }),
      node({ name: 'worker-2', labels: { 'kubevirt.io/schedulable': 'false' } }),
      target,
    ];
    const vms = [vm({ name: 'web', memoryBytes: 8 * GiB })];
    const kept = keepSelectedLabels(nodes, vms);
    expect(preflight(snapshot({ nodes: kept, vms }), request).capacity.freeBytes).toBe(64 * GiB);
  });

  it('says when a nodeSelector matches no usable node at all', () => {
    const vms = [vm({ name: 'ssd', nodeSelector: { disk: 'ssd' } })];
    const verdict = preflight(snapshot({ vms }), request);
    expect(verdict.refusals[0]?.message).toContain('apps/ssd (4 GiB, nodeSelector disk=ssd matches no usable node)');
  });

  it('places the biggest VMs first so they fit where a naive order would not', () => {
    const nodes = [
      node({ name: 'worker-1', allocatableMemoryBytes: 5 * GiB }),
      node({ name: 'worker-2', allocatableMemoryBytes: 3 * GiB }),
      target,
    ];
    const vms = [vm({ name: 'a-small', memoryBytes: 3 * GiB }), vm({ name: 'b-big', memoryBytes: 5 * GiB })];
    expect(preflight(snapshot({ nodes, vms }), request).ok).toBe(true);
  });

  it('counts VMs that restart elsewhere or wait for an external controller, not those restored afterwards', () => {
    const vms = [
      vm({ name: 'elsewhere', strategyLabel: 'ShutdownRestartElsewhere', memoryBytes: 1 * GiB }),
      vm({ name: 'ext', evictionStrategy: 'External', memoryBytes: 2 * GiB }),
      vm({ name: 'after', strategyLabel: 'ShutdownRestartAfter', memoryBytes: 4 * GiB }),
      vm({ name: 'off', strategyLabel: 'ShutdownStayOff', memoryBytes: 8 * GiB }),
      rwoVm({ memoryBytes: 16 * GiB }),
    ];
    expect(preflight(snapshot({ vms }), request).capacity.neededBytes).toBe(3 * GiB);
  });
});

describe('preflight: warnings', () => {
  it('warns about what the user should know before saying yes', () => {
    const cordoned = node({ name: 'worker-3', unschedulable: true, ready: false });
    const vms = [
      vm({ name: 'moving', migrationInFlight: 'kubevirt-evacuation-x7k2p' }),
      vm({ name: 'old', phase: 'Failed' }),
      rwoVm(),
      vm({ name: 'scratch', strategyLabel: 'ShutdownStayOff' }),
    ];
    const verdict = preflight(snapshot({ node: cordoned, vms }), request);
    expect(verdict.ok).toBe(true);
    expect(verdict.warnings).toEqual([
      'node "worker-3" is already cordoned: it will stay cordoned afterwards',
      'node "worker-3" is NotReady: live migrations from it will likely fail',
      'apps/moving: migration kubevirt-evacuation-x7k2p is already in flight; it will be adopted',
      'apps/old: VMI already Failed, nothing to move',
      "1 VM needs an operator's decision (decide update): apps/db",
      'apps/scratch will be shut down and left off',
    ]);
    expect(verdict.plan.map((p) => p.vmi)).not.toContain('apps/old');
  });
});

describe('formatBytes', () => {
  it.each([
    [0, '0 B'],
    [512, '512 B'],
    [1536, '1.5 KiB'],
    [16 * GiB, '16 GiB'],
    [1.5 * GiB, '1.5 GiB'],
    [2048 * GiB, '2 TiB'],
  ])('%d bytes → %s', (bytes, text) => {
    expect(formatBytes(bytes)).toBe(text);
  });
});
