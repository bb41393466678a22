// The pure decisions of a rolling maintenance: order, what to do next, and the check before each node.
import { describe, expect, it } from 'vitest';
import {
  admitNodes,
  checkNode,
  compareNames,
  nextCandidates,
  nextStep,
  orderNodes,
  type RollingSituation,
} from '../../src/domain/rollingPlan.js';
import type { RollingNodeRow } from '../../src/domain/rollingProgress.js';
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

describe('nextCandidates', () => {
  it('offers the pending nodes in order, as many as there are free slots, passing over busy ones until their retry', () => {
    const rows = [row('w-1', 'completed'), row('w-2', 'running'), row('w-3'), row('w-4'), row('w-5'), row('w-6')];
    const s = situation({ rows, maxUnavailable: 3 });
    expect(nextCandidates(s)).toEqual(['w-3', 'w-4']);
    expect(nextCandidates({ ...s, retryAt: { 'w-3': s.now + 1 } })).toEqual(['w-4', 'w-5']);
    expect(nextCandidates({ ...s, retryAt: { 'w-3': s.now } })).toEqual(['w-3', 'w-4']);
    expect(nextCandidates({ ...s, maxUnavailable: 1 })).toEqual([]);
    expect(nextCandidates({ ...s, maxUnavailable: 20 })).toEqual(['w-3', 'w-4', 'w-5', 'w-6']);
    expect(nextCandidates(s)[0]).toBe((nextStep(s) as { node: string }).node);
  });
});

describe('admitNodes', () => {
  const base = {
    clusterEvictionStrategy: 'LiveMigrate',
    policy: DEFAULT_POLICY,
    ownWorkflowId: 'rolling-fw',
    alsoDown: [] as string[],
  };
  // Six 16 GiB nodes; each of w-1..w-4 runs one 10 GiB VM (already counted in its requests).
  const cluster = [1, 2, 3, 4, 5, 6].map((i) =>
    node({ name: `w-${i}`, allocatableMemoryBytes: 16 * GiB, requestedMemoryBytes: i <= 4 ? 10 * GiB : 0 }),
  );
  const candidate = (name: string, memoryBytes = 10 * GiB) => ({
    node: name,
    vms: [vm({ name: `${name}-vm`, nodeName: name, memoryBytes })],
    leases: [],
  });
  const admitted = (rows: { node: string; admit: boolean }[]) => rows.filter((r) => r.admit).map((r) => r.node);

  it('admits the next nodes while their VMs fit together, counting each admitted node as gone', () => {
    // Room for a 10 GiB VM: w-5 and w-6 only (w-4 has 6 GiB free). w-1 → w-5, w-2 → w-6; then w-3 fits nowhere.
    const rows = admitNodes({
      ...base,
      nodes: cluster,
      candidates: ['w-1', 'w-2', 'w-3', 'w-4'].map((n) => candidate(n)),
      slots: 4,
    });
    expect(admitted(rows)).toEqual(['w-1', 'w-2']);
    expect(rows.map((r) => r.node)).toEqual(['w-1', 'w-2', 'w-3']);
    expect(rows[2]).toMatchObject({ admit: false, fits: false, exists: true, vmCount: 1 });
    expect(rows[2]?.message).toMatch(
      /10 GiB missing: apps\/w-3-vm \(10 GiB\) would not fit on the 3 other usable nodes \(38 GiB free\) beside the VMs of w-1, w-2, starting now/,
    );
  });

  it("counts the roll's running nodes as gone", () => {
    const rows = admitNodes({
      ...base,
      alsoDown: ['w-5'],
      nodes: cluster,
      candidates: ['w-1', 'w-2'].map((n) => candidate(n)),
      slots: 2,
    });
    expect(admitted(rows)).toEqual(['w-1']);
    expect(rows[1]).toMatchObject({ node: 'w-2', fits: false });
  });

  it('never admits more than the free slots, and never lets a later node overtake one that does not fit', () => {
    const small = (n: string) => candidate(n, 1 * GiB);
    expect(
      admitted(admitNodes({ ...base, nodes: cluster, candidates: ['w-1', 'w-2', 'w-3'].map(small), slots: 2 })),
    ).toEqual(['w-1', 'w-2']);
    const rows = admitNodes({
      ...base,
      nodes: cluster,
      candidates: [candidate('w-1', 40 * GiB), small('w-2'), small('w-3')],
      slots: 3,
    });
    expect(admitted(rows)).toEqual([]);
    expect(rows.map((r) => r.node)).toEqual(['w-1']);
  });

  it('passes over a busy node and a node that no longer exists, and goes on with the next ones', () => {
    const rows = admitNodes({
      ...base,
      nodes: cluster,
      candidates: [
        { ...candidate('w-1'), leases: [{ holder: 'maintenance-w-1', source: 'pitstop' as const }] },
        { node: 'w-9', vms: [], leases: [] },
        candidate('w-2'),
      ],
      slots: 2,
    });
    expect(rows.map((r) => [r.node, r.admit, r.busyWith, r.exists])).toEqual([
      ['w-1', false, 'workflow maintenance-w-1', true],
      ['w-9', false, undefined, false],
      ['w-2', true, undefined, true],
    ]);
  });

  it('needs no room for VMs that stay on their node, and agrees with checkNode on a single node', () => {
    const rows = admitNodes({
      ...base,
      nodes: cluster,
      candidates: [
        { node: 'w-1', vms: [rwoVm({ nodeName: 'w-1', memoryBytes: 64 * GiB })], leases: [] },
        candidate('w-2'),
        candidate('w-3'),
      ],
      slots: 3,
    });
    expect(admitted(rows)).toEqual(['w-1', 'w-2', 'w-3']);
    const one = { ...base, nodes: cluster, vms: candidate('w-1').vms, leases: [], alsoDown: ['w-5'] };
    const [row1] = admitNodes({ ...one, candidates: [{ node: 'w-1', vms: one.vms, leases: [] }], slots: 1 });
    expect(checkNode({ ...one, node: 'w-1' })).toEqual({ ...row1, node: undefined, admit: undefined });
  });
});
