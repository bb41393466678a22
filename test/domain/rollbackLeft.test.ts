// The NeedsAttention note of a roll-back that could not undo everything: it names each thing left, says what the
// node is left as, and how to finish; nothing left = no note.
import { describe, expect, it } from 'vitest';
import { needsAttentionNote, powerUnknown } from '../../src/domain/rollbackLeft.js';

describe('the NeedsAttention note', () => {
  it('nothing left: no note (the roll-back is complete)', () => {
    expect(needsAttentionNote('n1', [])).toBeUndefined();
  });

  it('a VM not started again: named with its record; the node is not said cordoned; the lease released', () => {
    const note = needsAttentionNote('n1', [{ kind: 'vm', vmi: 'vms/db', error: 'no VMI within 30s' }])!;
    expect(note).toContain('VM vms/db was not started again (no VMI within 30s)');
    expect(note).toContain('pitstop.io/previous-run-strategy');
    expect(note).toContain('Node n1 is left annotated NeedsAttention; the lease is released.');
    expect(note).not.toContain('cordoned (tainted');
    expect(note).toContain("then remove the node's annotation pitstop.io/maintenance-phase");
  });

  it('the power-on failed: cordoned, power the machine on by hand, then the follow-up', () => {
    const left = [{ kind: 'power' as const, error: 'BMC unreachable', acknowledged: true }];
    expect(powerUnknown(left)).toBe(true);
    const note = needsAttentionNote('n1', left)!;
    expect(note).toContain('the machine could not be powered on (BMC unreachable); it was powered off.');
    expect(note).toContain('Node n1 is left cordoned');
    expect(note).toContain('power the machine on by hand');
    expect(note).toContain('start nodeMaintenance {"node":"n1","power":"none","hold":"none"}');
  });

  it('several things left are each named, in order; a lease not released is said so', () => {
    const note = needsAttentionNote('n1', [
      { kind: 'migration', vmi: 'vms/a', migration: 'pitstop-a-1', error: '503' },
      { kind: 'uncordon', error: 'conflict' },
      { kind: 'lease', error: 'timeout' },
    ])!;
    expect(note.indexOf('migration pitstop-a-1 of VMI vms/a could not be cancelled (503)')).toBeLessThan(
      note.indexOf('node n1 could not be uncordoned (conflict)'),
    );
    expect(note).toContain('Node n1 is left cordoned');
    expect(note).toContain('the lease is still held');
  });
});
