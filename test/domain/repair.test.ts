// The repair runbook's decisions without Temporal or Kubernetes: which runbook a request gets from the node's state,
// what happens to each VM of a failed node, and what a repair's preflight refuses (much less than a drain's).
import { describe, expect, it } from 'vitest';
import { preflight, type ClusterSnapshot } from '../../src/domain/preflight.js';
import { chooseRunbook } from '../../src/domain/repairMode.js';
import { planRepair } from '../../src/domain/repairPlan.js';
import { parseMaintenanceRequest } from '../../src/domain/request.js';
import { GiB, node, rwoVm, vm } from './fixtures.js';

const NOW = '2026-12-03T10:00:00.000Z';
const minutesAgo = (m: number) => new Date(Date.parse(NOW) - m * 60_000).toISOString();
const failed = (minutes: number) => node({ name: 'worker-3', ready: false, notReadySince: minutesAgo(minutes) });
const request = (extra: Record<string, unknown> = {}) => parseMaintenanceRequest({ node: 'worker-3', ...extra });

describe('chooseRunbook', () => {
  it('auto fences a node NotReady for at least repair.notReadyFor (5m by default)', () => {
    expect(chooseRunbook(request(), failed(5), NOW)).toEqual({
      runbook: 'repair',
      reason: 'the node is NotReady for 5m (repair.notReadyFor 5m)',
    });
  });

  it('auto drains a node NotReady for less (it may be rebooting), and a Ready one', () => {
    expect(chooseRunbook(request(), failed(2), NOW)).toEqual({
      runbook: 'planned',
      reason: 'the node is NotReady for 2m, less than repair.notReadyFor (5m): drained, not fenced',
    });
    expect(chooseRunbook(request(), node({ name: 'worker-3' }), NOW).runbook).toBe('planned');
  });

  it('the threshold is the policy’s', () => {
    const quick = request({ policy: { repair: { notReadyFor: '1m' } } });
    expect(chooseRunbook(quick, failed(2), NOW).runbook).toBe('repair');
  });

  it('mode repair fences a NotReady node at once, but never a Ready one', () => {
    expect(chooseRunbook(request({ mode: 'repair' }), failed(0), NOW)).toEqual({
      runbook: 'repair',
      reason: 'mode repair and the node is NotReady for 0s',
    });
    expect(chooseRunbook(request({ mode: 'repair' }), node({ name: 'worker-3' }), NOW)).toEqual({
      runbook: 'planned',
      reason: 'repair was asked, but the node is Ready: drained with live migration, not fenced',
    });
  });

  it('mode planned drains even a long-dead node', () => {
    expect(chooseRunbook(request({ mode: 'planned' }), failed(60), NOW).runbook).toBe('planned');
  });
});

describe('planRepair', () => {
  const vms = [
    vm({ name: 'always', uid: 'u-1' }),
    vm({ name: 'rerun', runStrategy: 'RerunOnFailure' }),
    vm({ name: 'manual', runStrategy: 'Manual' }),
    vm({ name: 'once', runStrategy: 'Once' }),
    vm({ name: 'halted', runStrategy: 'Halted' }),
    vm({ name: 'bare', ownedByVm: false, runStrategy: undefined }),
    vm({ name: 'done', phase: 'Succeeded' }),
    vm({ name: 'crashed', phase: 'Failed' }),
  ];

  it('follows KubeVirt: Always and RerunOnFailure restart, Manual is started by Pitstop, the rest stay off or are lost', () => {
    const plan = planRepair(vms, 'LiveMigrate', request().policy);
    expect(plan.map((p) => [p.vmi, p.action, p.restore])).toEqual([
      ['apps/always', 'restartElsewhere', 'elsewhere'],
      ['apps/bare', 'lost', 'never'],
      // A VMI that already failed with its node still comes back: KubeVirt restarts it once the pods are gone.
      ['apps/crashed', 'restartElsewhere', 'elsewhere'],
      ['apps/halted', 'staysOff', 'never'],
      ['apps/manual', 'startElsewhere', 'elsewhere'],
      ['apps/once', 'staysOff', 'never'],
      ['apps/rerun', 'restartElsewhere', 'elsewhere'],
    ]);
    expect(plan[0]?.vmiUid).toBe('u-1');
    expect(plan.find((p) => p.vmi === 'apps/bare')?.reason).toMatch(/^a standalone VMI/);
  });

  it('chaos seeds 65 and 80: a VM an earlier maintenance stopped (Halted, its runStrategy recorded) is started again', () => {
    const policy = request({ policy: { repair: { startManual: false } } }).policy;
    const plans = planRepair(
      [
        vm({ name: 'stopped', runStrategy: 'Halted', previousRunStrategy: 'Manual' }),
        vm({ name: 'stopped-always', runStrategy: 'Halted', previousRunStrategy: 'Always' }),
        vm({ name: 'halted', runStrategy: 'Halted' }),
      ],
      undefined,
      policy,
    );
    expect(plans.map((p) => [p.vmi, p.action])).toEqual([
      ['apps/halted', 'staysOff'],
      ['apps/stopped', 'startElsewhere'],
      ['apps/stopped-always', 'startElsewhere'],
    ]);
    expect(plans[1]?.reason).toContain('stopped by an earlier maintenance (runStrategy Manual recorded)');
  });

  it('repair.startManual false leaves Manual VMs off, saying why', () => {
    const policy = request({ policy: { repair: { startManual: false } } }).policy;
    const manual = planRepair([vm({ name: 'manual', runStrategy: 'Manual' })], undefined, policy)[0];
    expect(manual).toMatchObject({
      action: 'staysOff',
      reason: expect.stringContaining('repair.startManual is false'),
    });
  });
});

describe('a repair’s preflight', () => {
  const snapshot = (overrides: Partial<ClusterSnapshot> = {}): ClusterSnapshot => ({
    node: failed(30),
    nodes: [failed(30), node({ name: 'worker-1', allocatableMemoryBytes: 8 * GiB })],
    vms: [vm({ name: 'big', memoryBytes: 16 * GiB }), rwoVm()],
    leases: [],
    workflowId: 'maintenance-worker-3',
    observedAt: NOW,
    ...overrides,
  });

  it('does not refuse for room or for VMs that cannot migrate: the node is dead, what fits restarts', () => {
    const verdict = preflight(snapshot(), request({ policy: { escalation: { onNonMigratable: 'abort' } } }));
    expect(verdict.ok).toBe(true);
    expect(verdict.runbook.runbook).toBe('repair');
    expect(verdict.warnings).toEqual([
      'node "worker-3" will be fenced (hard power-off): the node is NotReady for 30m (repair.notReadyFor 5m)',
      '16 GiB missing: apps/big (16 GiB) does not fit on the other nodes (20 GiB needed, 8 GiB free on 1 Ready ' +
        'schedulable node): those VMs stay Pending until room is made',
    ]);
    expect(verdict.summary).toMatchObject({ total: 2, restartElsewhere: 2 });
  });

  it('still refuses what a repair must not do: a node held by someone else', () => {
    const verdict = preflight(
      snapshot({ leases: [{ holder: 'self-node-remediation', source: 'medik8s' }] }),
      request(),
    );
    expect(verdict.refusals.map((r) => r.code)).toEqual(['AlreadyInMaintenance']);
  });
});
