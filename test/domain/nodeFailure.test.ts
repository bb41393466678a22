import { describe, expect, it } from 'vitest';
import { nodeFailure } from '../../src/domain/nodeFailure.js';
import { nodeReadiness } from '../../src/domain/nodeReadiness.js';
import { needsAttentionNote } from '../../src/domain/rollbackLeft.js';

describe('a node failure during a drain', () => {
  it('is no failure while the node is Ready', () => {
    expect(nodeFailure('w3', { status: 'True' })).toBeUndefined();
  });

  it('names the Ready status, since when and why, for Unknown and False alike', () => {
    expect(
      nodeFailure('w3', { status: 'Unknown', reason: 'NodeStatusUnknown', lastTransitionTime: '2026-12-03T11:50:00Z' }),
    ).toBe(
      'node w3 failed during the drain (Ready=Unknown since 2026-12-03T11:50:00Z, NodeStatusUnknown): its VMs can ' +
        'neither live-migrate nor stop from a dead node, and the drain stopped',
    );
    expect(nodeFailure('w3', { status: 'False' })).toMatch(/^node w3 failed during the drain \(Ready=False\)/);
    expect(nodeFailure('w3', { status: 'Missing' })).toBe('node w3 was deleted during the drain');
  });

  it('leaves the node cordoned and names the repair as the way to finish', () => {
    const note = needsAttentionNote('w3', [{ kind: 'nodeFailed', failure: 'node w3 failed during the drain (x)' }]);
    expect(note).toContain('node w3 failed during the drain (x); the node stays cordoned.');
    expect(note).toContain('Node w3 is left cordoned');
    expect(note).toContain('To finish: start nodeMaintenance {"node":"w3","mode":"repair"}');
  });
});

describe('nodeReadiness: the one reading of a Node Ready condition', () => {
  const node = (conditions?: { type: string; status?: string; reason?: string }[]) => ({ status: { conditions } });

  it('reads True and False as they are, with the reason', () => {
    expect(nodeReadiness('w1', node([{ type: 'Ready', status: 'True' }]))).toEqual({
      node: 'w1',
      ready: true,
      status: 'True',
    });
    expect(nodeReadiness('w1', node([{ type: 'Ready', status: 'False', reason: 'KubeletNotReady' }]))).toMatchObject({
      ready: false,
      status: 'False',
      reason: 'KubeletNotReady',
    });
  });

  it('counts a node whose kubelet never reported (no Ready condition) as Unknown, not Ready', () => {
    expect(nodeReadiness('w1', node([{ type: 'MemoryPressure', status: 'False' }]))).toMatchObject({
      ready: false,
      status: 'Unknown',
    });
    expect(nodeReadiness('w1', node())).toMatchObject({ ready: false, status: 'Unknown' });
  });

  it('says Missing for a node that does not exist', () => {
    expect(nodeReadiness('w1', undefined)).toEqual({ node: 'w1', ready: false, status: 'Missing' });
  });
});
