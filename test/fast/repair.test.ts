// The repair runbook on a failed node: fence, release the workloads, recover the VMs, hold, return to service; the
// fence decision when the BMC cannot fence; and the rule that a fenced node is never put back into service by
// anything but the release.
import { describe, expect, it } from 'vitest';
import type { WorkflowHandle } from '@temporalio/client';
import { FAILURE_TYPES } from '../../src/domain/workflowNames.js';
import { decideUpdate, releaseUpdate } from '../../src/workflows/messages.js';
import { failureOf, phases, progressOf, reach, refusal, until, useFastWorker } from './support/harness.js';
import { fails, type Gate, type World } from './support/world.js';

const env = useFastWorker();

/**
 * n1 has crashed: NotReady for long, its machine still on as its BMC sees it. One VM of each kind: Always,
 * RerunOnFailure, Manual, Once, a standalone VMI; two spares take what restarts.
 */
function crashedNode(world: World, options: { bmc?: boolean } = {}): World {
  return world
    .node('n1', { ready: false, bmc: options.bmc ?? true, pods: ['apps/web-1'] })
    .node('spare-1')
    .node('spare-2')
    .vm('always', 'n1')
    .vm('rerun', 'n1', { runStrategy: 'RerunOnFailure' })
    .vm('manual', 'n1', { runStrategy: 'Manual' })
    .vm('once', 'n1', { runStrategy: 'Once' })
    .vm('bare', 'n1', { standalone: true });
}

/** A script: the real stub acts, then the answer waits at the gate (a step that landed, its answer not yet back). */
const actThenHold =
  (gate: Gate) =>
  async <T>(_input: unknown, real: () => Promise<T>): Promise<T> => {
    const out = await real();
    await gate.pass();
    return out;
  };

const decideFence = (handle: WorkflowHandle, action: 'confirmFenced' | 'abort') =>
  handle.executeUpdate(decideUpdate, { args: [{ vmi: 'node/n1', action }] });

const fenceAsked = (handle: WorkflowHandle) =>
  until(
    'the fence decision',
    () => progressOf(handle),
    (p) => p.decisionsPending.some((d) => d.vmi === 'node/n1'),
  );

/** Nothing of the fenced node was put back: off, cordoned, tainted out-of-service, NeedsAttention, lease free. */
function expectLeftFenced(world: World): void {
  expect(world.nodeNamed('n1')).toMatchObject({ power: 'off', unschedulable: true, outOfService: true });
  expect(world.nodeNamed('n1').phase).toBe('NeedsAttention');
  expect(world.leases.get('n1')).toBeUndefined();
  expect(world.called('powerOn')).toEqual([]);
  expect(world.called('uncordon')).toEqual([]);
}

describe.concurrent('the repair runbook', () => {
  it('fences a crashed node, its VMs restart elsewhere by run strategy, and the release returns it to service', async () => {
    const { world, start } = env.fresh();
    crashedNode(world);
    const handle = await start({ node: 'n1', reason: 'KubeNodeNotReady' });
    const held = await reach(handle, 'Hold');
    expect(held.runbook).toBe('repair');
    expect(held.verdict?.runbook.reason).toMatch(/^the node is NotReady for .* \(repair\.notReadyFor 5m\)$/);
    expect(phases(held)).toEqual(
      expect.arrayContaining(['Preflight', 'Cordon', 'Fence', 'ReleaseWorkloads', 'RecoverVMs', 'Hold']),
    );
    const rows = Object.fromEntries(held.vms.map((r) => [r.vmi, r]));
    expect(rows['vms/always']).toMatchObject({ action: 'restartElsewhere', state: 'recovered', newVmiUid: 'always-2' });
    expect(rows['vms/always']?.targetNode).toMatch(/^spare-/);
    expect(rows['vms/rerun']).toMatchObject({ action: 'restartElsewhere', state: 'recovered' });
    expect(rows['vms/manual']).toMatchObject({ action: 'startElsewhere', state: 'recovered' });
    expect(rows['vms/once']).toMatchObject({ action: 'staysOff', state: 'left' });
    expect(rows['vms/bare']).toMatchObject({ action: 'lost', state: 'lost' });
    // A hard power-off, confirmed off, before anything lets a VM start elsewhere.
    expect(world.called('powerOff')).toEqual([expect.objectContaining({ graceful: false })]);
    const order = world.sequence();
    expect(order.indexOf('waitForPower')).toBeLessThan(order.indexOf('setOutOfService'));
    expect(order.indexOf('setOutOfService')).toBeLessThan(order.indexOf('waitForVmRecovered'));
    expect(world.nodeNamed('n1')).toMatchObject({ power: 'off', unschedulable: true, outOfService: true });
    // The Manual VM runs elsewhere and is Manual again.
    expect(world.vmNamed('manual')).toMatchObject({ runStrategy: 'Manual', running: true });
    expect(world.vmNamed('manual').previousRunStrategy).toBeUndefined();

    await handle.executeUpdate(releaseUpdate, { args: [{ note: 'mainboard replaced' }] });
    const result = await handle.result();
    expect(result.summary).toMatchObject({ recovered: 3, notRecovered: 1, leftOff: 1 });
    expect(world.nodeNamed('n1')).toMatchObject({ power: 'on', unschedulable: false, outOfService: false });
    expect(world.nodeNamed('n1').phase).toBeUndefined();
    expect(world.leases.get('n1')).toBeUndefined();
    // The VMs stay where they now run.
    expect(world.vmNamed('always').node).not.toBe('n1');
    expect(world.called('waitForNodeReady').at(-1)).toMatchObject({ ready: true, kubevirtSchedulable: true });
  });

  it('without power control, waits for an operator to confirm the fence, however long, and only then releases', async () => {
    const { world, start } = env.fresh();
    crashedNode(world, { bmc: false });
    const handle = await start({ node: 'n1' });
    const asked = await fenceAsked(handle);
    expect(asked.phase).toBe('Fence');
    expect(asked.decisionsPending).toEqual([
      expect.objectContaining({ vmi: 'node/n1', allowed: ['confirmFenced', 'abort'] }),
    ]);
    expect(asked.decisionsPending[0]?.deadline).toBeUndefined();
    expect(await refusal(handle.executeUpdate(decideUpdate, { args: [{ vmi: 'node/n1', action: 'shutdown' }] }))).toBe(
      '"shutdown" is not allowed for node/n1; allowed: confirmFenced, abort',
    );
    // Still nothing released while it waits: no VM may start elsewhere before the machine is known to be off.
    await new Promise((r) => setTimeout(r, 500));
    expect(world.called('setOutOfService')).toEqual([]);
    expect(world.vmNamed('always').node).toBe('n1');
    expect(await decideFence(handle, 'confirmFenced')).toBe('confirmFenced recorded for node/n1');
    const held = await reach(handle, 'Hold');
    expect(held.vms.find((r) => r.vmi === 'vms/always')?.state).toBe('recovered');
    expect(held.timeline.map((t) => t.message)).toContain('fenced: an operator confirmed the machine is off');
  });

  it('a BMC that does not confirm the power-off asks the operator; abort rolls back but leaves the failed node cordoned', async () => {
    const { world, start } = env.fresh();
    crashedNode(world);
    // The BMC never reports Off (it does report On again, so the roll-back can finish).
    world.on('waitForPower', (input, real) => (input.on ? real() : fails('BMC unreachable')()));
    const handle = await start({ node: 'n1' });
    const asked = await fenceAsked(handle);
    expect(asked.decisionsPending[0]?.reason).toContain('the BMC did not confirm n1 off: BMC unreachable');
    // The power as the BMC last read it at preflight (a crashed machine is on), not assumed.
    expect(asked.power).toBe('on');
    await decideFence(handle, 'abort');
    const failure = await failureOf(handle);
    // Rolled back, but the node failed and nothing repaired it: it stays cordoned, the note names the repair.
    expect(failure.type).toBe(FAILURE_TYPES.nodeFailed);
    expect(failure.message).toContain('n1 failed and was not repaired (the repair stopped before the fence: the fence');
    expect(failure.message).toContain('To finish: start nodeMaintenance {"node":"n1","mode":"repair"}');
    expect(world.called('setOutOfService')).toEqual([]);
    const end = await progressOf(handle);
    expect(end.phase).toBe('NeedsAttention');
    expect(world.nodeNamed('n1')).toMatchObject({ unschedulable: true, power: 'on' });
    expect(world.called('uncordon')).toEqual([]);
    expect(world.leases.get('n1')).toBeUndefined();
  });

  it('a hold deadline on a fenced node ends NeedsAttention: never powered on, never uncordoned', async () => {
    const { world, start } = env.fresh();
    crashedNode(world);
    const handle = await start({ node: 'n1', policy: { hold: { deadline: '1s', reminderEvery: '1m' } } });
    const failure = await failureOf(handle);
    expect(failure.type).toBe(FAILURE_TYPES.leftFenced);
    expect(failure.message).toMatch(/^n1 was fenced and is left powered off, cordoned, tainted node\.kubernetes\.io/);
    expect(failure.message).toContain('not released before the hold deadline');
    expectLeftFenced(world);
    expect((await progressOf(handle)).phase).toBe('NeedsAttention');
  });

  it('a cancel after the fence leaves the node fenced; a cancel while the fence waits rolls back, node still cordoned', async () => {
    const fencedRun = env.fresh();
    crashedNode(fencedRun.world);
    const held = await fencedRun.start({ node: 'n1' });
    await reach(held, 'Hold');
    await held.cancel();
    expect((await failureOf(held)).type).toBe(FAILURE_TYPES.leftFenced);
    expectLeftFenced(fencedRun.world);

    const waitingRun = env.fresh();
    crashedNode(waitingRun.world, { bmc: false });
    const asking = await waitingRun.start({ node: 'n1' });
    await fenceAsked(asking);
    await asking.cancel();
    expect((await failureOf(asking)).type).toBe(FAILURE_TYPES.nodeFailed);
    expect((await progressOf(asking)).phase).toBe('NeedsAttention');
    expect(waitingRun.world.nodeNamed('n1')).toMatchObject({ unschedulable: true });
    expect(waitingRun.world.nodeNamed('n1').outOfService).toBeUndefined();
  });

  // Each phase of the runbook, cancelled while one of its activities has acted but not yet answered (held at a gate
  // after the real stub ran): before the fence the failed node is rolled back but stays cordoned; from the fence on
  // nothing is undone, and nothing is powered on or uncordoned unless the release asked for it.
  it.each([
    ['Cordon', 'cordon', FAILURE_TYPES.nodeFailed],
    ['Fence', 'waitForPower', FAILURE_TYPES.nodeFailed],
    ['ReleaseWorkloads', 'waitForPodsGone', FAILURE_TYPES.leftFenced],
    ['RecoverVMs', 'waitForVmRecovered', FAILURE_TYPES.leftFenced],
  ] as const)('a cancel in %s (in %s) ends %s with the node cordoned', async (phase, activity, type) => {
    const { world, start } = env.fresh();
    crashedNode(world);
    const gate = world.gate();
    // Only the fence's wait for Off: the roll-back's wait for On must go through.
    world.on(activity, (input, real) =>
      'on' in input && input.on ? real() : actThenHold(gate)(input, real as () => Promise<never>),
    );
    const handle = await start({ node: 'n1' });
    await gate.entered;
    expect((await progressOf(handle)).phase).toBe(phase);
    await handle.cancel();
    expect((await failureOf(handle)).type).toBe(type);
    expect((await progressOf(handle)).phase).toBe('NeedsAttention');
    expect(world.nodeNamed('n1').unschedulable).toBe(true);
    expect(world.leases.get('n1')).toBeUndefined();
    expect(world.called('uncordon')).toEqual([]);
    if (type === FAILURE_TYPES.leftFenced) expectLeftFenced(world);
  });

  it('a cancel while a released repair powers the node on leaves it cordoned: it is not yet back in service', async () => {
    const { world, start } = env.fresh();
    crashedNode(world);
    const gate = world.gate();
    world.on('waitForNodeReady', gate.hold);
    const handle = await start({ node: 'n1' });
    await reach(handle, 'Hold');
    await handle.executeUpdate(releaseUpdate, { args: [{ note: 'board replaced' }] });
    await gate.entered;
    await handle.cancel();
    const failure = await failureOf(handle);
    expect(failure.type).toBe(FAILURE_TYPES.leftFenced);
    expect(failure.message).toContain('n1 was fenced and is left powered on, cordoned');
    expect(world.nodeNamed('n1')).toMatchObject({ unschedulable: true, outOfService: true });
    expect(world.called('uncordon')).toEqual([]);
  });

  it('mode repair on a node that is Ready goes the planned way (it can live-migrate)', async () => {
    const { world, start } = env.fresh();
    world.node('n1').node('spare-1').vm('always', 'n1');
    const handle = await start({ node: 'n1', mode: 'repair', hold: 'none' });
    const result = await handle.result();
    expect(result.verdict.runbook).toEqual({
      runbook: 'planned',
      reason: 'repair was asked, but the node is Ready: drained with live migration, not fenced',
    });
    expect(result.summary?.migrated).toBe(1);
    expect(world.called('powerOff')).toEqual([]);
  });

  it('auto on a node NotReady for less than repair.notReadyFor drains it, and says why', async () => {
    const { world, start } = env.fresh();
    world
      .node('n1', { ready: false, notReadySince: new Date(Date.now() - 30_000).toISOString() })
      .node('spare-1')
      .vm('always', 'n1');
    const handle = await start({ node: 'n1', hold: 'none', dryRun: true });
    const result = await handle.result();
    expect(result.verdict.runbook.runbook).toBe('planned');
    expect(result.verdict.runbook.reason).toMatch(/less than repair\.notReadyFor \(5m\): drained, not fenced$/);
  });
});
