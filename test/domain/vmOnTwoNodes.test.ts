// The judge of "no VM ever runs on two nodes" (src/chaos/twoNodes.ts), case by case: what runs where, from the
// sandbox's reality (launcher pods, the machines' power and crash state), and a migration's hand-off as one VM.
import { describe, expect, it } from 'vitest';
import { runsOn, vmsOnTwoNodes, type LauncherPod, type MachineState } from '../../src/chaos/twoNodes.js';

const on: MachineState = { poweredOn: true, crashed: false };
const off: MachineState = { poweredOn: false, crashed: false };
const crashed: MachineState = { poweredOn: true, crashed: true };

const pod = (name: string, node: string, extra: Partial<LauncherPod> = {}): LauncherPod => ({
  namespace: 'vms',
  name,
  vm: 'db',
  vmiUid: 'uid-old',
  node,
  phase: 'Running',
  ...extra,
});

const machines = (n1: MachineState, n2: MachineState = on) =>
  new Map([
    ['n1', n1],
    ['n2', n2],
  ]);

describe('no VM runs on two nodes', () => {
  const cases: [string, LauncherPod[], Map<string, MachineState>, number][] = [
    ['one pod on a live node', [pod('a', 'n1')], machines(on), 0],
    [
      'restarted elsewhere while the old node still runs it: violation',
      [pod('a', 'n1'), pod('b', 'n2', { vmiUid: 'uid-new' })],
      machines(on),
      1,
    ],
    [
      'restarted elsewhere after the old node was powered off (fenced)',
      [pod('a', 'n1'), pod('b', 'n2', { vmiUid: 'uid-new' })],
      machines(off),
      0,
    ],
    [
      'restarted elsewhere while the old node is crashed (OS dead, machine on): the old pod runs nothing',
      [pod('a', 'n1', { phase: 'Running' }), pod('b', 'n2', { vmiUid: 'uid-new' })],
      machines(crashed),
      0,
    ],
    [
      'the old pod force-deleted while its node is alive: it still runs, violation',
      [pod('a', 'n1', { forceDeleted: true }), pod('b', 'n2', { vmiUid: 'uid-new' })],
      machines(on),
      1,
    ],
    [
      'the old pod terminating (still in the API) on a live node: it still runs, violation',
      [pod('a', 'n1'), pod('b', 'n2', { vmiUid: 'uid-new' })],
      machines(on),
      1,
    ],
    [
      'the old pod finished (Succeeded) before the restart',
      [pod('a', 'n1', { phase: 'Succeeded' }), pod('b', 'n2', { vmiUid: 'uid-new' })],
      machines(on),
      0,
    ],
    [
      'a live migration: source and target pods of one VMI are a hand-off',
      [pod('a', 'n1'), pod('b', 'n2', { migrationUid: 'vmim-1' })],
      machines(on),
      0,
    ],
    [
      'one VMI on two nodes without a migration target pod: violation',
      [pod('a', 'n1'), pod('b', 'n2')],
      machines(on),
      1,
    ],
    [
      'two different VMs, one per node',
      [pod('a', 'n1'), pod('b', 'n2', { vm: 'web', vmiUid: 'uid-web' })],
      machines(on),
      0,
    ],
    [
      'same VM name in two namespaces',
      [pod('a', 'n1'), pod('b', 'n2', { namespace: 'other', vmiUid: 'uid-other' })],
      machines(on),
      0,
    ],
  ];
  it.each(cases)('%s', (_what, pods, m, count) => {
    const violations = vmsOnTwoNodes(pods, m);
    expect(violations).toHaveLength(count);
    if (count) expect(violations[0]).toMatch(/^VM vms\/db runs on 2 nodes at once: a on n1.*, b on n2$/);
  });

  it('a force-deleted pod names why it counts', () => {
    const [v] = vmsOnTwoNodes([pod('a', 'n1', { forceDeleted: true }), pod('b', 'n2', { vmiUid: 'x' })], machines(on));
    expect(v).toBe('VM vms/db runs on 2 nodes at once: a on n1 (force-deleted, node alive), b on n2');
  });

  it('a node the judge does not know runs nothing; a pod on a powered-off node runs nothing', () => {
    expect(runsOn(pod('a', 'n9'), machines(on))).toBe(false);
    expect(runsOn(pod('a', 'n1'), machines(off))).toBe(false);
    expect(runsOn(pod('a', 'n1', { phase: 'Failed', forceDeleted: true }), machines(on))).toBe(true);
  });
});
