// Small clusters: policy capacity.onNoRoom (refuse, wait, shutdown) in the preflight and the roll's capacity look,
// and the single-node cluster's refusal.
import { describe, expect, it } from 'vitest';
import { preflight, type ClusterSnapshot } from '../../src/domain/preflight.js';
import { parseMaintenanceRequest } from '../../src/domain/request.js';
import { checkNode } from '../../src/domain/rollingPlan.js';
import { GiB, node, rwoVm, vm } from './fixtures.js';

const onNoRoom = (choice: string, more: Record<string, unknown> = {}) =>
  parseMaintenanceRequest({ node: 'worker-1', ...more, policy: { capacity: { onNoRoom: choice } } });

/** A one-worker cluster: worker-1 runs every VM; three control-plane nodes, tainted NoSchedule, take none. */
function oneWorker(overrides: Partial<ClusterSnapshot> = {}): ClusterSnapshot {
  const controlPlane = ['cp-1', 'cp-2', 'cp-3'].map((name) =>
    node({
      name,
      controlPlane: true,
      taints: [{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }],
    }),
  );
  const target = node({ name: 'worker-1' });
  return {
    node: target,
    nodes: [...controlPlane, target],
    vms: [
      vm({ name: 'web' }),
      vm({ name: 'batch', evictionStrategy: 'None' }),
      vm({ name: 'cache', strategyLabel: 'ShutdownRestartElsewhere' }),
      vm({ name: 'ext', evictionStrategy: 'External' }),
    ],
    clusterEvictionStrategy: 'LiveMigrate',
    leases: [],
    workflowId: 'maintenance-worker-1',
    ...overrides,
  };
}

describe('capacity.onNoRoom on a one-worker cluster', () => {
  it('refuse (the default): InsufficientCapacity, naming every VM that has nowhere to go', () => {
    const verdict = preflight(oneWorker(), parseMaintenanceRequest({ node: 'worker-1' }));
    expect(verdict.ok).toBe(false);
    expect(verdict.refusals.map((r) => r.code)).toEqual(['InsufficientCapacity']);
    expect(verdict.refusals[0]?.message).toMatch(/apps\/cache .*apps\/ext .*apps\/web .* do not fit/);
  });

  it('shutdown: every VM that needed room is shut down and restarted after maintenance, and it may start', () => {
    const verdict = preflight(oneWorker(), onNoRoom('shutdown'));
    expect(verdict.ok).toBe(true);
    expect(verdict.plan.map((p) => [p.vmi, p.action, p.restore])).toEqual([
      ['apps/batch', 'shutdown', 'afterMaintenance'],
      ['apps/cache', 'shutdown', 'afterMaintenance'],
      ['apps/ext', 'shutdown', 'afterMaintenance'],
      ['apps/web', 'shutdown', 'afterMaintenance'],
    ]);
    const web = verdict.plan.find((p) => p.vmi === 'apps/web');
    expect(web?.reason).toMatch(/fits on no other node; policy capacity.onNoRoom=shutdown/);
    expect(web).not.toHaveProperty('onMigrationFailure');
    expect(web?.allowedDecisions).toEqual([]);
    // batch (evictionStrategy None) was a shutdown anyway, with its own reason.
    expect(verdict.plan[0]?.reason).toMatch(/evictionStrategy None/);
    expect(verdict.capacity).toEqual({ neededBytes: 0, freeBytes: 0, unplaced: [] });
    expect(verdict.summary).toMatchObject({ total: 4, shutdown: 4, migrate: 0, stayOff: 0 });
    expect(verdict.warnings).toEqual([
      'apps/cache (4 GiB), apps/ext (4 GiB), apps/web (4 GiB) fit on no other node: shut down and restarted after ' +
        'maintenance (policy capacity.onNoRoom=shutdown)',
    ]);
  });

  it('shutdown stops only what does not fit: the rest still migrates', () => {
    const spare = node({ name: 'worker-2', allocatableMemoryBytes: 10 * GiB });
    const snapshot = oneWorker({
      nodes: [node({ name: 'worker-1' }), spare],
      vms: [vm({ name: 'big', memoryBytes: 8 * GiB }), vm({ name: 'small', memoryBytes: 4 * GiB })],
    });
    const verdict = preflight(snapshot, onNoRoom('shutdown'));
    expect(verdict.ok).toBe(true);
    // First-fit decreasing places the biggest first: big fits, small is what is left over.
    expect(verdict.plan.map((p) => [p.vmi, p.action])).toEqual([
      ['apps/big', 'migrate'],
      ['apps/small', 'shutdown'],
    ]);
    expect(verdict.capacity.neededBytes).toBe(8 * GiB);
  });

  it('shutdown never stops a standalone VMI (it would be gone for good): still refused for it alone', () => {
    const snapshot = oneWorker({ vms: [vm({ name: 'web' }), vm({ name: 'solo', ownedByVm: false })] });
    const verdict = preflight(snapshot, onNoRoom('shutdown'));
    expect(verdict.ok).toBe(false);
    expect(verdict.refusals.map((r) => r.message)).toEqual([
      '4 GiB missing: apps/solo (4 GiB) does not fit on the other nodes (no other node is Ready, schedulable, ' +
        'kubevirt.io/schedulable=true and untainted)',
    ]);
    expect(verdict.plan.find((p) => p.vmi === 'apps/web')?.action).toBe('shutdown');
    expect(verdict.plan.find((p) => p.vmi === 'apps/solo')?.action).toBe('migrate');
  });

  it('shutdown leaves the plan alone when everything fits, and an escalation stays an escalation', () => {
    const snapshot = oneWorker({
      nodes: [node({ name: 'worker-1' }), node({ name: 'worker-2' })],
      vms: [vm(), rwoVm()],
    });
    const verdict = preflight(snapshot, onNoRoom('shutdown'));
    expect(verdict.plan.map((p) => [p.vmi, p.action])).toEqual([
      ['apps/db', 'escalate'],
      ['apps/web', 'migrate'],
    ]);
    expect(verdict.warnings.join('\n')).not.toMatch(/onNoRoom/);
  });

  it('wait: not refused; the warning says the run waits for room, and for how long', () => {
    const request = parseMaintenanceRequest({
      node: 'worker-1',
      policy: { capacity: { onNoRoom: 'wait', waitTimeout: '30m' } },
    });
    const verdict = preflight(oneWorker({ vms: [vm({ name: 'web' })] }), request);
    expect(verdict.ok).toBe(true);
    expect(verdict.plan.map((p) => p.action)).toEqual(['migrate']);
    expect(verdict.capacity.unplaced).toEqual(['apps/web']);
    expect(verdict.warnings).toEqual([
      '4 GiB missing: apps/web (4 GiB) does not fit on the other nodes (no other node is Ready, schedulable, ' +
        'kubevirt.io/schedulable=true and untainted): the run waits for room up to 30m (policy capacity.onNoRoom=wait)',
    ]);
  });

  it('a repair shuts nothing down for room (its VMs are down already): what does not fit stays a warning', () => {
    const dead = node({ name: 'worker-1', ready: false, notReadySince: '2026-01-01T00:00:00Z' });
    const snapshot = oneWorker({ node: dead, nodes: [dead], vms: [vm({ name: 'web' })] });
    const verdict = preflight(snapshot, onNoRoom('shutdown', { mode: 'repair' }));
    expect(verdict.runbook.runbook).toBe('repair');
    expect(verdict.plan.map((p) => p.action)).toEqual(['restartElsewhere']);
    expect(verdict.warnings.join('\n')).toMatch(/stay Pending until room is made/);
  });
});

describe('capacity.onNoRoom in a roll', () => {
  const base = {
    node: 'worker-1',
    leases: [],
    ownWorkflowId: 'rolling-r',
    alsoDown: [],
    clusterEvictionStrategy: 'LiveMigrate',
  };
  const { nodes, vms } = oneWorker();

  it('the roll waits for room by default, and starts the node at once when its VMs will be shut down', () => {
    const refuse = parseMaintenanceRequest({ node: 'worker-1' }).policy;
    expect(checkNode({ ...base, nodes, vms, policy: refuse }).fits).toBe(false);
    expect(checkNode({ ...base, nodes, vms, policy: onNoRoom('shutdown').policy })).toMatchObject({ fits: true });
  });

  it('a standalone VMI still keeps the roll waiting', () => {
    const solo = [vm({ name: 'solo', ownedByVm: false })];
    expect(checkNode({ ...base, nodes, vms: solo, policy: onNoRoom('shutdown').policy }).fits).toBe(false);
  });
});

describe('single-node cluster', () => {
  const sno = node({ name: 'sno', controlPlane: true });
  const snapshot = (overrides: Partial<ClusterSnapshot> = {}): ClusterSnapshot => ({
    node: sno,
    nodes: [sno],
    vms: [vm({ name: 'web', nodeName: 'sno' })],
    clusterEvictionStrategy: 'LiveMigrate',
    leases: [],
    workflowId: 'maintenance-sno',
    ...overrides,
  });
  const message =
    'node "sno" is the cluster\'s only node (control plane and worker): the API server and etcd go down with it, so ' +
    'nothing in the cluster could bring it back into service or restart its VMs; maintain it from outside the ' +
    'cluster (docs/small-clusters.md#single-node-openshift)';

  it('is refused with the reason and the way out, even with capacity.onNoRoom=shutdown', () => {
    const verdict = preflight(
      snapshot(),
      parseMaintenanceRequest({ node: 'sno', policy: { capacity: { onNoRoom: 'shutdown' } } }),
    );
    expect(verdict.refusals).toEqual([{ code: 'SingleNodeCluster', message }]);
  });

  it('the default policy adds what else refuses (no room), but not a quorum sentence that says less', () => {
    const codes = preflight(snapshot(), parseMaintenanceRequest({ node: 'sno' })).refusals.map((r) => r.code);
    expect(codes).toEqual(['SingleNodeCluster', 'InsufficientCapacity']);
  });

  it('a repair of the only node is refused too: nothing could fence and recover it from inside', () => {
    const dead = { ...sno, ready: false, notReadySince: '2026-01-01T00:00:00Z' };
    const request = parseMaintenanceRequest({ node: 'sno', mode: 'repair' });
    const verdict = preflight(snapshot({ node: dead, nodes: [dead] }), request);
    expect(verdict.runbook.runbook).toBe('repair');
    expect(verdict.refusals.map((r) => r.code)).toEqual(['SingleNodeCluster']);
  });

  it('a one-worker cluster with its own control plane is not single-node', () => {
    const { nodes } = oneWorker();
    const verdict = preflight(oneWorker({ nodes }), onNoRoom('shutdown'));
    expect(verdict.refusals).toEqual([]);
  });
});
