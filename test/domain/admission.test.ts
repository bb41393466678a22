import { describe, expect, it } from 'vitest';
import {
  DEFAULT_ADMISSION_LIMITS,
  decideAdmission,
  parseNodeCount,
  resolveNodeCount,
  type AdmissionFacts,
} from '../../src/domain/admission.js';
import { GiB, node, vm } from './fixtures.js';

const workers = (n: number, free = 64) =>
  Array.from({ length: n }, (_, i) =>
    node({ name: `worker-${i + 1}`, allocatableMemoryBytes: free * GiB, requestedMemoryBytes: 0 }),
  );

function facts(overrides: Partial<AdmissionFacts> = {}): AdmissionFacts {
  return {
    target: 'worker-1',
    workflowId: 'nm-worker-1',
    kind: 'planned',
    nodes: workers(4),
    holders: {},
    moving: [],
    leaving: [],
    ...overrides,
  };
}

describe('node counts', () => {
  it('parses a count or a percentage and refuses anything else', () => {
    expect(parseNodeCount('2')).toEqual({ count: 2 });
    expect(parseNodeCount('25%')).toEqual({ percent: 25 });
    expect(parseNodeCount('150%')).toBeUndefined();
    expect(parseNodeCount('two')).toBeUndefined();
    expect(parseNodeCount('-1')).toBeUndefined();
  });
  it('rounds a percentage down', () => {
    expect(resolveNodeCount({ percent: 49 }, 4)).toBe(1);
    expect(resolveNodeCount({ percent: 50 }, 4)).toBe(2);
  });
});

describe('decideAdmission', () => {
  it('admits the first node of an idle cluster', () => {
    const verdict = decideAdmission(facts(), DEFAULT_ADMISSION_LIMITS);
    expect(verdict).toMatchObject({ admit: true, code: 'Admitted', down: [] });
  });

  it('counts a node held by another Pitstop run against the budget and names it', () => {
    const verdict = decideAdmission(
      facts({ holders: { 'worker-2': { holder: 'nm-worker-2', source: 'pitstop' } } }),
      DEFAULT_ADMISSION_LIMITS,
    );
    expect(verdict.admit).toBe(false);
    expect(verdict.code).toBe('BudgetExhausted');
    expect(verdict.reason).toContain('worker-2 (held by nm-worker-2)');
  });

  it('counts nodes cordoned or NotReady for other reasons, and medik8s leases', () => {
    const nodes = workers(4);
    nodes[1] = { ...nodes[1]!, unschedulable: true };
    nodes[2] = { ...nodes[2]!, ready: false };
    const limits = { ...DEFAULT_ADMISSION_LIMITS, maxNodesDown: { count: 3 } };
    const verdict = decideAdmission(
      facts({ nodes, holders: { 'worker-4': { holder: 'nhc', source: 'medik8s' } } }),
      limits,
    );
    expect(verdict.down).toEqual(['worker-2 (cordoned)', 'worker-3 (NotReady)', 'worker-4 (held by medik8s (nhc))']);
    expect(verdict.code).toBe('BudgetExhausted');
  });

  it('does not count the target itself, nor control-plane nodes', () => {
    const nodes = [...workers(2), node({ name: 'cp-1', controlPlane: true, unschedulable: true })];
    nodes[0] = { ...nodes[0]!, unschedulable: true };
    expect(decideAdmission(facts({ nodes }), DEFAULT_ADMISSION_LIMITS).admit).toBe(true);
  });

  it('a percentage budget is of the worker nodes, and at least one node may go', () => {
    const limits = { ...DEFAULT_ADMISSION_LIMITS, maxNodesDown: { percent: 10 } };
    expect(decideAdmission(facts(), limits)).toMatchObject({ admit: true, budget: 1 });
    const half = { ...DEFAULT_ADMISSION_LIMITS, maxNodesDown: { percent: 50 } };
    const held = { 'worker-2': { holder: 'nm-worker-2', source: 'pitstop' as const } };
    expect(decideAdmission(facts({ holders: held }), half)).toMatchObject({ admit: true, budget: 2 });
  });

  it('judges capacity with the other down nodes counted as gone', () => {
    // Two workers of 16 GiB free; worker-2 is already down with a 12 GiB VM on its way to worker-3.
    const nodes = workers(3, 16);
    const limits = { ...DEFAULT_ADMISSION_LIMITS, maxNodesDown: { count: 2 } };
    const holders = { 'worker-2': { holder: 'nm-worker-2', source: 'pitstop' as const } };
    const leaving = [vm({ name: 'big', nodeName: 'worker-2', memoryBytes: 12 * GiB })];
    const moving = [vm({ name: 'mine', nodeName: 'worker-1', memoryBytes: 8 * GiB })];
    const alone = decideAdmission(facts({ nodes, moving }), limits);
    expect(alone.admit).toBe(true);
    const together = decideAdmission(facts({ nodes, holders, leaving, moving }), limits);
    expect(together.code).toBe('NoRoom');
    expect(together.reason).toContain('apps/mine (8 GiB)');
  });

  it('storm guard: a repair with more NotReady workers than maxUnhealthy is not admitted (suspected partition)', () => {
    const nodes = workers(4).map((n) => ({ ...n, ready: false }));
    const limits = { ...DEFAULT_ADMISSION_LIMITS, maxNodesDown: { count: 4 } };
    const repair = decideAdmission(facts({ nodes, kind: 'repair' }), limits);
    expect(repair.code).toBe('SuspectedPartition');
    expect(repair.reason).toContain('4 of 4 nodes are NotReady');
    // A planned maintenance is not fencing: the budget decides.
    expect(decideAdmission(facts({ nodes }), limits).code).not.toBe('SuspectedPartition');
  });

  it('storm guard lets one unhealthy node of four be repaired by default', () => {
    const nodes = workers(4);
    nodes[0] = { ...nodes[0]!, ready: false };
    expect(decideAdmission(facts({ nodes, kind: 'repair' }), DEFAULT_ADMISSION_LIMITS).admit).toBe(true);
  });
});
