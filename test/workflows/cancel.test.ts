// Temporal cancel (handle.cancel()) against the real cluster, where the roll-back meets real objects: a live
// migration KubeVirt aborts, and a machine the BMC is powering off. The cancel in every other phase, and the
// roll-back logic of each, are tested without a cluster in test/fast/cancel.test.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CancelledFailure, WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { MAINTENANCE_PHASE } from '../../src/workflows/messages.js';
import type { Phase, Progress } from '../../src/domain/progress.js';
import { paths, type KubeObject, kv } from '../../src/k8s/client.js';
import { PREVIOUS_RUN_STRATEGY, NODE_MARKS } from '../../src/domain/contract.js';
import { startTestEnv, eventually, type TestEnv, FAST_TIMING } from '../support/env.js';
import { bmhPathOf, migrationsOf, nodeReady, untilVmisRunning, vmOf, vmiOf } from '../support/cluster.js';
import { progressOf, reachPhase, startMaintenance, type Start } from '../support/maintenance.js';
import { invariantViolations, recordBefore } from '../support/invariants.js';

let env: TestEnv;
const BMH = bmhPathOf;
const none = { evictionStrategy: 'None' as const, terminationGracePeriodSeconds: 1 };

beforeAll(async () => {
  env = await startTestEnv({
    scenario: {
      name: 'cancel',
      timing: FAST_TIMING,
      kubevirt: { evictionStrategy: 'LiveMigrate' },
      nodes: [
        { name: 'cp-{n}', count: 3, controlPlane: true, memory: '64Gi' },
        { name: 'n-evacuate', memory: '256Gi' },
        { name: 'n-poweroff', memory: '256Gi', powerDelay: '5s' },
        { name: 'spare-{n}', count: 2, memory: '256Gi' },
      ],
      vms: [
        { name: 'evacuate-slow', node: 'n-evacuate', knobs: { migrationDuration: '10s' } },
        { name: 'evacuate-none', node: 'n-evacuate', ...none },
        { name: 'poweroff-none', node: 'n-poweroff', ...none },
      ],
      workloads: [{ kind: 'DaemonSet', name: 'agent' }],
    },
  });
  await untilVmisRunning(env.kube, 3);
});

afterAll(async () => {
  await env?.stop();
});

const start = (input: Start) => startMaintenance(env, input);

const reach = reachPhase;

/** Cancels the run and checks it ended as a cancellation after a full roll-back. */
async function cancelAndRollBack(handle: WorkflowHandle, from: Phase): Promise<Progress> {
  expect((await progressOf(handle)).phase).toBe(from);
  await handle.cancel();
  return await rolledBack(handle, from);
}

/** Waits for a run that was asked to cancel to end: cancelled, after a roll-back begun in phase `from`. */
async function rolledBack(handle: WorkflowHandle, from: Phase): Promise<Progress> {
  const failure = await handle.result().catch((e: unknown) => e);
  expect(failure).toBeInstanceOf(WorkflowFailedError);
  expect((failure as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);
  expect((await handle.describe()).status.name).toBe('CANCELLED');
  const end = await progressOf(handle);
  expect(end.phase).toBe('RolledBack');
  expect(end.timeline.map((t) => t.phase).slice(-3)).toEqual([from, 'RollingBack', 'RolledBack']);
  expect(end.timeline.at(-1)?.message).toBe('cancelled');
  // As the Temporal UI lists it, and as `kubectl describe node` tells it.
  expect((await handle.describe()).typedSearchAttributes.get(MAINTENANCE_PHASE)).toBe('RolledBack');
  const events = await env.kube.list(paths.events('default'), { fieldSelector: `involvedObject.name=${end.node}` });
  expect(events.items.map((e) => `${e.reason}: ${e.message}`)).toContain(
    `MaintenanceEnded: maintenance ${handle.workflowId} rolled back: cancelled`,
  );
  return end;
}

const bmh = (node: string) => env.kube.get(BMH(node));
const node = (name: string) => env.kube.get(paths.node(name));

/** The VMI runs now: the roll-back waits for each VM it restores, so no waiting here. */
async function runningVm(name: string): Promise<KubeObject> {
  const vmi = await vmiOf(env.kube, 'vms', name);
  expect(vmi?.status?.phase, `VMI vms/${name}`).toBe('Running');
  expect(vmi?.metadata.deletionTimestamp).toBeUndefined();
  return vmi as KubeObject;
}

/** A VM this maintenance stopped runs again under its own runStrategy, with no record of the stop left. */
async function expectRestored(name: string) {
  await runningVm(name);
  const vm = await vmOf(env.kube, 'vms', name);
  expect(vm?.spec.runStrategy).toBe('Always');
  expect(vm?.metadata.annotations?.[PREVIOUS_RUN_STRATEGY]).toBeUndefined();
}

async function expectNodeBackAndClean(name: string) {
  expect((await bmh(name)).spec.online).toBe(true);
  await eventually(`BMH ${name} reports powered on`, async () => (await bmh(name)).status?.poweredOn === true);
  await eventually(`${name} Ready`, async () => nodeReady(await node(name)), 20_000);
  const n = await node(name);
  expect(n.metadata.labels?.[NODE_MARKS.excludeFromRemediation]).toBeUndefined();
  expect(n.metadata.annotations?.[NODE_MARKS.cordonedBy]).toBeUndefined();
}

describe('cancel rolls back from every phase', () => {
  it('EvacuateVMs: the running migration is aborted, the VM stays on its node, the stopped VM runs again', async () => {
    const before = await recordBefore(env.kube);
    const handle = await start({ node: 'n-evacuate', hold: 'none' });
    const migrating = await eventually('evacuate-slow migrating and evacuate-none stopped', async () => {
      const p = await progressOf(handle);
      const slow = p.vms.find((r) => r.vmi === 'vms/evacuate-slow');
      const stopped = p.vms.find((r) => r.vmi === 'vms/evacuate-none')?.state === 'stopped';
      if (!slow?.migration || slow.state !== 'migrating' || !stopped) return undefined;
      const vmim = await env.kube.find(kv('virtualmachineinstancemigrations', 'vms', slow.migration));
      return vmim?.status?.phase === 'Running' ? { progress: p, name: slow.migration } : undefined;
    });
    expect(migrating.progress.phase).toBe('EvacuateVMs');
    expect(migrating.name).toMatch(/^pitstop-evacuate-slow-1-/);
    expect((await node('n-evacuate')).spec.unschedulable).toBe(true);
    expect((await vmOf(env.kube, 'vms', 'evacuate-none'))?.spec.runStrategy).toBe('Halted');
    expect(await vmiOf(env.kube, 'vms', 'evacuate-none')).toBeUndefined();

    await cancelAndRollBack(handle, 'EvacuateVMs');
    // Our migration was deleted (KubeVirt aborts it), and no other one took its place.
    expect(await env.kube.find(kv('virtualmachineinstancemigrations', 'vms', migrating.name))).toBeUndefined();
    expect(await migrationsOf(env.kube, 'vms', 'evacuate-slow')).toEqual([]);
    const vmi = await runningVm('evacuate-slow');
    expect(vmi.status.nodeName).toBe('n-evacuate');
    expect(vmi.status.migrationState).toMatchObject({ completed: false, failed: true });
    // No target launcher pod is left running anywhere else.
    const launchers = await env.kube.list(paths.pods('vms'), {
      labelSelector: `kubevirt.io/created-by=${vmi.metadata.uid}`,
    });
    expect(launchers.items.filter((p) => !p.metadata.deletionTimestamp).map((p) => p.spec?.nodeName as string)).toEqual(
      ['n-evacuate'],
    );
    await expectRestored('evacuate-none');
    expect(await invariantViolations(env.kube, before, 'n-evacuate')).toEqual([]);
  });

  it('PowerOff (while the machine is powering off): the host is online again and the node stays Ready', async () => {
    const before = await recordBefore(env.kube);
    const handle = await start({ node: 'n-poweroff' });
    await reach(handle, 'PowerOff');
    await eventually('BMH n-poweroff asked to power off', async () => (await bmh('n-poweroff')).spec.online === false);
    // Mid power-off: asked to, but the BMC has not turned the machine off yet (powerDelay 5s).
    expect((await bmh('n-poweroff')).status.poweredOn).toBe(true);
    expect(nodeReady(await node('n-poweroff'))).toBe(true);

    const end = await cancelAndRollBack(handle, 'PowerOff');
    expect(end.power).toBe('on');
    await expectRestored('poweroff-none');
    await expectNodeBackAndClean('n-poweroff');
    expect(await invariantViolations(env.kube, before, 'n-poweroff')).toEqual([]);
  });
});
