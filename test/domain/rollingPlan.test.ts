// The pure decisions of a rolling maintenance: order, what to do next, and the check before each node.
import { describe, expect, it } from 'vitest';
import { checkNode, compareNames, nextStep, orderNodes, type RollingSituation } from '../../src/domain/rollingPlan.js';
import type { RollingNodeRow } from '../../src/domain/rolling.js';
import { DEFAULT_POLICY } from '../../src/domain/request.js';
import { GiB, node, rwoVm, vm } from './fixtures.js';

const row = (name: string, state: RollingNodeRow['state'] = 'pending'): RollingNodeRow => ({
  node: name,
  state,
  workflowId: `maintenance-${name}`,
  decisionsPending: [],
});

const situation = (overrides: Partial<RollingSituation>): RollingSituation => ({
  rows: [row('w-1'), row('w-2'), row('w-3')],
  maxUnavailable: 1,
  maxFailures: 0,
  paused: false,
  pauseBetweenNodesMs: 0,
  retryAt: {},
  now: Date.parse('2026-11-24T10:00:00Z'),
  ...overrides,
});

describe('order', () => {
  it('sorts names naturally: worker-2 before worker-10', () => {
    expect(['worker-10', 'worker-2', 'worker-1', 'rack-b'].sort(compareNames)).toEqual([
      'rack-b',
      'worker-1',
      'worker-2',
      'worker-10',
    ]);
  });

  it('takes the nodes with the fewest VMs first, ties by name', () => {
    const nodes = [
      { name: 'w-3', vmCount: 0 },
      { name: 'w-1', vmCount: 5 },
      { name: 'w-2', vmCount: 0 },
    ];
    expect(orderNodes(nodes, 'fewestVms').map((n) => n.name)).toEqual(['w-2', 'w-3', 'w-1']);
    expect(orderNodes(nodes, 'name').map((n) => n.name)).toEqual(['w-1', 'w-2', 'w-3']);
  });
});

describe('nextStep', () => {
  it('starts the first pending node while there is room, then waits for one to end', () => {
    expect(nextStep(situation({}))).toEqual({ kind: 'start', node: 'w-1' });
    expect(nextStep(situation({ rows: [row('w-1', 'running'), row('w-2')] }))).toEqual({
      kind: 'wait',
      status: 'Running',
    });
    expect(nextStep(situation({ maxUnavailable: 2, rows: [row('w-1', 'running'), row('w-2')] }))).toEqual({
      kind: 'start',
      node: 'w-2',
    });
  });

  it('stops starting nodes past maxFailures, lets the running ones finish, then ends stopped', () => {
    const rows = [row('w-1', 'failed'), row('w-2', 'running'), row('w-3')];
    expect(nextStep(situation({ rows, maxUnavailable: 3 }))).toMatchObject({ kind: 'wait', status: 'Stopped' });
    expect(nextStep(situation({ rows, maxFailures: 1, maxUnavailable: 3 }))).toEqual({ kind: 'start', node: 'w-3' });
    expect(nextStep(situation({ rows: [row('w-1', 'refused'), row('w-2')] }))).toEqual({ kind: 'done', stopped: true });
  });

  it('is done when no node is pending or running; skipped nodes are not failures', () => {
    expect(nextStep(situation({ rows: [row('w-1', 'completed'), row('w-2', 'skipped')] }))).toEqual({
      kind: 'done',
      stopped: false,
    });
  });

  it('holds back new nodes while paused', () => {
    expect(nextStep(situation({ paused: true }))).toMatchObject({ kind: 'wait', status: 'Paused' });
  });

  it('waits outside the window until it opens', () => {
    const window = { days: ['Tue' as const], start: '22:00', end: '02:00', timeZone: 'UTC' };
    expect(nextStep(situation({ window }))).toMatchObject({
      kind: 'wait',
      status: 'WaitingForWindow',
      until: Date.parse('2026-11-24T22:00:00Z'),
    });
    expect(nextStep(situation({ window, now: Date.parse('2026-11-25T01:00:00Z') }))).toEqual({
      kind: 'start',
      node: 'w-1',
    });
  });

  it('keeps the pause between nodes after the last one ended', () => {
    const now = Date.parse('2026-11-24T10:00:00Z');
    expect(nextStep(situation({ pauseBetweenNodesMs: 60_000, lastFinishedAt: now - 10_000 }))).toMatchObject({
      kind: 'wait',
      until: now + 50_000,
    });
    expect(nextStep(situation({ pauseBetweenNodesMs: 60_000, lastFinishedAt: now - 60_000 }))).toEqual({
      kind: 'start',
      node: 'w-1',
    });
  });

  it('passes over a busy node until its retry time, and waits when every pending node is busy', () => {
    const now = Date.parse('2026-11-24T10:00:00Z');
    expect(nextStep(situation({ retryAt: { 'w-1': now + 5000 } }))).toEqual({ kind: 'start', node: 'w-2' });
    const rows = [row('w-1')];
    expect(nextStep(situation({ rows, retryAt: { 'w-1': now + 5000 } }))).toMatchObject({
      kind: 'wait',
      until: now + 5000,
    });
  });
});

describe('checkNode', () => {
  const base = {
    node: 'worker-3',
    leases: [],
    clusterEvictionStrategy: 'LiveMigrate',
    policy: DEFAULT_POLICY,
    ownWorkflowId: 'rolling-fw',
    alsoDown: [] as string[],
  };
  const cluster = [
    node({ name: 'worker-1', allocatableMemoryBytes: 16 * GiB }),
    node({ name: 'worker-2', allocatableMemoryBytes: 16 * GiB }),
    node({ name: 'worker-3', allocatableMemoryBytes: 16 * GiB }),
  ];

  it('fits when the VMs that must move find room on the other nodes', () => {
    const check = checkNode({ ...base, nodes: cluster, vms: [vm({ memoryBytes: 12 * GiB })] });
    expect(check).toMatchObject({ fits: true, vmCount: 1, exists: true });
    expect(check.busyWith).toBeUndefined();
  });

  it('counts the nodes the roll has in maintenance as gone, cordoned yet or not', () => {
    const vms = [vm({ name: 'a', memoryBytes: 12 * GiB }), vm({ name: 'b', memoryBytes: 12 * GiB })];
    expect(checkNode({ ...base, nodes: cluster, vms }).fits).toBe(true);
    const check = checkNode({ ...base, nodes: cluster, vms, alsoDown: ['worker-2'] });
    expect(check.fits).toBe(false);
    expect(check.message).toMatch(/12 GiB missing: apps\/(a|b) \(12 GiB\) would not fit on the 1 other usable nodes/);
  });

  it('needs no room for VMs that are shut down and restored on the node afterwards', () => {
    const check = checkNode({
      ...base,
      nodes: cluster,
      vms: [rwoVm({ memoryBytes: 64 * GiB })],
      alsoDown: ['worker-1', 'worker-2'],
    });
    expect(check.fits).toBe(true);
  });

  it('reports a node whose lease someone else holds as busy', () => {
    const check = checkNode({
      ...base,
      nodes: cluster,
      vms: [],
      leases: [{ holder: 'maintenance-worker-3', source: 'pitstop' }],
    });
    expect(check.busyWith).toBe('workflow maintenance-worker-3');
    expect(
      checkNode({ ...base, nodes: cluster, vms: [], leases: [{ holder: 'nmo', source: 'medik8s' }] }).busyWith,
    ).toBe('medik8s holder "nmo"');
  });

  it('notices a node that no longer exists', () => {
    expect(checkNode({ ...base, node: 'worker-9', nodes: cluster, vms: [] }).exists).toBe(false);
  });
});
