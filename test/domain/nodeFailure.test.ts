import { describe, expect, it } from 'vitest';
import { nodeFailure } from '../../src/domain/nodeFailure.js';
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
