// The NodeMaintenance controller end to end on the sandbox, as a user sees it through `kubectl get nm -o yaml`,
// `kubectl describe nm` and the cluster. The object the OpenShift console's "Start maintenance" creates drives a
// drain-only maintenance-<node> run through the client service (as the HTTP API starts them), its status follows the
// run, NMO's Events are recorded on it, and deleting it ("Stop maintenance") brings the node back before the finalizer
// lets the CR go. Then, each on its own node: an escalation answered with an annotation on the CR, a delete before
// the hold (the run rolls back, the CR goes only after it ended), the opt-in annotations for the full runbook, and
// the refusals (a second CR for a node, an unknown node, spec.nodeName changed).
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WorkflowNotFoundError } from '@temporalio/client';
import { kv, paths, type KubeObject } from '../../src/k8s/client.js';
import { nmPath, RUN_ANNOTATION } from '../../src/controller/nodeMaintenance/kube.js';
import { memoFor, NM_FINALIZER } from '../../src/domain/nodeMaintenance.js';
import { eventually, FAST_TIMING, type TestEnv } from '../support/env.js';
import { bmhPathOf, nodeReady, rejection, untilVmisRunning, vmiOf } from '../support/cluster.js';
import { progressOf } from '../support/maintenance.js';
import {
  createNm,
  eventReasons,
  nodeEventReasons,
  startControllerEnv,
  untilNm,
  untilNmGone,
  type ControllerEnv,
} from '../support/nodeMaintenance.js';

const VMS = 5;
const NS = 'vms';
let world: ControllerEnv;
let env: TestEnv;

beforeAll(async () => {
  world = await startControllerEnv({
    scenario: {
      name: 'nodemaintenance-cr',
      timing: FAST_TIMING,
      kubevirt: { evictionStrategy: 'LiveMigrate' },
      nodes: [
        { name: 'cp-{n}', count: 3, controlPlane: true, memory: '64Gi' },
        { name: 'worker-1', memory: '256Gi' },
        { name: 'esc-{n}', count: 2, memory: '256Gi' },
        { name: 'full-1', memory: '256Gi' },
        { name: 'spare-{n}', count: 2, memory: '256Gi' },
      ],
      vms: [
        { name: 'vm-{n}', count: 2, node: 'worker-1', storage: 'rwx' },
        // LiveMigrate on a ReadWriteOnce disk: cannot move, the run asks an operator.
        { name: 'db-1', node: 'esc-1', storage: 'rwo' },
        { name: 'db-2', node: 'esc-2', storage: 'rwo' },
        { name: 'web-1', node: 'full-1', storage: 'rwx' },
      ],
    },
  });
  env = world.env;
  await untilVmisRunning(env.kube, VMS);
});

afterAll(async () => {
  await world?.stop();
});

const vmisOn = async (node: string) =>
  (await env.kube.list(kv('virtualmachineinstances'), { labelSelector: `kubevirt.io/nodeName=${node}` })).items;

describe("the console's NodeMaintenance object", () => {
  let name = '';

  it('drains the node (drain-only) and reports Succeeded with drainProgress 100', async () => {
    name = (await createNm(env, 'worker-1', 'firmware update')).metadata.name;

    const done = await untilNm(env, name, 'Succeeded', (cr) => cr.status?.phase === 'Succeeded');
    expect(done.status.drainProgress).toBe(100);
    expect(done.status.lastError).toBeUndefined();
    expect(done.metadata.finalizers).toContain(NM_FINALIZER);
    const worker = await env.kube.get(paths.node('worker-1'));
    expect(done.metadata.ownerReferences).toEqual([
      expect.objectContaining({ kind: 'Node', name: 'worker-1', uid: worker.metadata.uid }),
    ]);
    expect(worker.spec.unschedulable).toBe(true);
    expect(await vmisOn('worker-1')).toEqual([]);
    for (const vm of ['vm-1', 'vm-2']) {
      const vmi = await vmiOf(env.kube, NS, vm);
      expect(vmi?.status).toMatchObject({ phase: 'Running', nodeName: expect.not.stringMatching(/^worker-1$/) });
    }
    // Drain-only: the machine was not powered off (its host stays online, the node Ready). Not the node's
    // pitstop.io/maintenance-phase annotation: the run enters Hold before an activity writes that mirror.
    expect((await env.kube.get(bmhPathOf('worker-1'))).spec.online).toBe(true);
    expect(nodeReady(worker)).toBe(true);
    expect(await eventReasons(env, done)).toEqual(expect.arrayContaining(['BeginMaintenance', 'SucceedMaintenance']));
    expect((await nodeEventReasons(env, 'worker-1')).sort()).toEqual(['BeginMaintenance', 'SucceedMaintenance']);
    const run = await env.client.workflow.getHandle('maintenance-worker-1').describe();
    expect(run.status.name).toBe('RUNNING');
    // What the Temporal UI lists the run by: the node, the CR's reason, the CR that started it.
    expect(await run.staticSummary()).toBe(`worker-1: firmware update — NodeMaintenance/${name}`);
  });

  it('deleting it releases the run: the node is uncordoned, then the CR is gone', async () => {
    const cr = await env.kube.get(nmPath(name));
    await env.kube.delete(nmPath(name));
    await untilNmGone(env, name);
    const worker = await env.kube.get(paths.node('worker-1'));
    expect(worker.spec.unschedulable).toBeFalsy();
    const run = await env.client.workflow.getHandle('maintenance-worker-1').describe();
    expect(run.status.name).toBe('COMPLETED');
    expect(await eventReasons(env, cr)).toEqual(
      expect.arrayContaining(['BeginMaintenance', 'SucceedMaintenance', 'UncordonNode', 'RemovedMaintenance']),
    );
    // NMO records UncordonNode on the Node; Pitstop records each of its Events on both.
    expect(await nodeEventReasons(env, 'worker-1')).toEqual(
      expect.arrayContaining(['BeginMaintenance', 'SucceedMaintenance', 'UncordonNode', 'RemovedMaintenance']),
    );
  });
});

const run = (node: string) => env.client.workflow.getHandle(`maintenance-${node}`);
const node = (name: string) => env.kube.get(paths.node(name));
const asking = (cr: KubeObject) => /waiting for a decision on vms\/db-\d/.test(cr.status?.lastError ?? '');

describe('an escalation', () => {
  it('is shown in lastError, with the annotation that answers it; answered so, the drain goes on to Succeeded', async () => {
    const { name } = (await createNm(env, 'esc-1', 'disk swap')).metadata;
    const waiting = await untilNm(env, name, 'asks about db-1', asking);
    expect(waiting.status).toMatchObject({ phase: 'Running' });
    expect(waiting.status.lastError).toMatch(/\(answer with the annotation pitstop\.io\/decide\.vms\.db-1: .*shutdown/);
    // The VM's virt-launcher pod is what is still to go, named as NMO names pending pods.
    const launcher = expect.stringMatching(/^virt-launcher-db-1-/);
    expect(waiting.status).toMatchObject({
      pendingPods: [launcher],
      pendingPodsRefs: [{ namespace: NS, name: launcher }],
      evictionPods: 1,
    });
    expect(waiting.status.errorOnLeaseCount).toBeUndefined();

    await env.kube.patch(nmPath(name), { metadata: { annotations: { 'pitstop.io/decide.vms.db-1': 'shutdown' } } });
    const done = await untilNm(env, name, 'Succeeded', (cr) => cr.status?.phase === 'Succeeded');
    expect(done.status.lastError).toBeUndefined();
    expect(done.status.pendingPodsRefs).toBeUndefined();
    expect(await vmiOf(env.kube, NS, 'db-1')).toBeUndefined(); // shut down for the maintenance

    await env.kube.delete(nmPath(name));
    await untilNmGone(env, name);
    expect((await run('esc-1').describe()).status.name).toBe('COMPLETED');
    expect((await node('esc-1')).spec.unschedulable).toBeFalsy();
    // Restored after the maintenance, as the run's `shutdown` answer promises.
    await untilVmisRunning(env.kube, VMS);
    expect((await vmiOf(env.kube, NS, 'db-1'))?.status?.nodeName).toBeDefined();
  });
});

describe('a delete before the hold ("Stop maintenance" mid-drain)', () => {
  it('cancels the run, which rolls back; the CR goes only once the run has ended', async () => {
    const created = await createNm(env, 'esc-2', 'disk swap');
    const { name } = created.metadata;
    await untilNm(env, name, 'asks about db-2', asking);
    expect((await node('esc-2')).spec.unschedulable).toBe(true);

    await env.kube.delete(nmPath(name));
    // While the CR is still there, it is being deleted and keeps the finalizer; once it is gone, the run has ended
    // (read in that order: a run that ended stays ended).
    await eventually(
      'the CR gone',
      async () => {
        const cr = await env.kube.find(nmPath(name));
        if (cr) {
          expect(cr.metadata.deletionTimestamp).toBeDefined();
          expect(cr.metadata.finalizers).toContain(NM_FINALIZER);
          return false;
        }
        expect((await run('esc-2').describe()).status.name).not.toBe('RUNNING');
        return true;
      },
      120_000,
    );
    expect((await run('esc-2').describe()).status.name).toBe('CANCELLED');
    const esc2 = await node('esc-2');
    expect(esc2.spec.unschedulable).toBeFalsy();
    expect(nodeReady(esc2)).toBe(true);
    // Rolled back: the VM the run asked about was never touched.
    expect(await vmiOf(env.kube, NS, 'db-2')).toMatchObject({ status: { phase: 'Running', nodeName: 'esc-2' } });
    expect(await eventReasons(env, created)).toEqual(
      expect.arrayContaining(['BeginMaintenance', 'UncordonNode', 'RemovedMaintenance']),
    );
  });
});

describe('the opt-in annotations pitstop.io/power and pitstop.io/hold', () => {
  let first = '';

  it('run the full runbook: drained, powered off and held for the given time', async () => {
    const cr = await createNm(env, 'full-1', 'PSU swap', { 'pitstop.io/power': 'auto', 'pitstop.io/hold': '30m' });
    first = cr.metadata.name;
    await untilNm(env, first, 'Succeeded', (c) => c.status?.phase === 'Succeeded');
    expect((await env.kube.get(bmhPathOf('full-1'))).spec.online).toBe(false);
    await eventually('full-1 NotReady (its machine is off)', async () => !nodeReady(await node('full-1')));
    expect((await vmiOf(env.kube, NS, 'web-1'))?.status).toMatchObject({
      phase: 'Running',
      nodeName: expect.not.stringMatching(/^full-1$/),
    });
    const { hold } = await progressOf(run('full-1'));
    expect(Date.parse(hold!.deadline) - Date.parse(hold!.since)).toBe(30 * 60_000);
  });

  it('a second CR for the same node is refused, naming the holder, and leaves the first one alone', async () => {
    const second = await createNm(env, 'full-1', 'again');
    const refused = await untilNm(env, second.metadata.name, 'Failed', (c) => c.status?.phase === 'Failed');
    const { runId } = await run('full-1').describe();
    expect(refused.status.lastError).toBe(
      `node full-1 is already in maintenance: run ${runId} of maintenance-full-1, started by NodeMaintenance ${first}`,
    );
    expect(await eventReasons(env, second)).toContain('FailedMaintenance');
    await env.kube.delete(nmPath(second.metadata.name));
    await untilNmGone(env, second.metadata.name);
    expect((await progressOf(run('full-1'))).phase).toBe('Hold');
    expect((await env.kube.get(nmPath(first))).status.phase).toBe('Succeeded');
  });

  it('deleting the first releases the run: powered on, Ready, uncordoned, then the CR is gone', async () => {
    await env.kube.delete(nmPath(first));
    await untilNmGone(env, first);
    expect((await run('full-1').describe()).status.name).toBe('COMPLETED');
    const full1 = await node('full-1');
    expect((await env.kube.get(bmhPathOf('full-1'))).spec.online).toBe(true);
    expect(nodeReady(full1)).toBe(true);
    expect(full1.spec.unschedulable).toBeFalsy();
  });
});

describe('refusals a user sees on the CR', () => {
  let unknown = '';

  it('an unknown node: Failed, with the reason, and nothing started', async () => {
    const cr = await createNm(env, 'no-such-node', 'typo');
    unknown = cr.metadata.name;
    const failed = await untilNm(env, unknown, 'Failed', (c) => c.status?.phase === 'Failed');
    expect(failed.status.lastError).toBe('node no-such-node does not exist in the cluster; nothing was started');
    expect(await eventReasons(env, cr)).toEqual(['FailedMaintenance']);
    await expect(run('no-such-node').describe()).rejects.toBeInstanceOf(WorkflowNotFoundError);
  });

  it('spec.nodeName changed: refused by the shipped ValidatingAdmissionPolicy', async () => {
    const file = new URL('../../deploy/nodemaintenance-admission.yaml', import.meta.url);
    for (const doc of parseAllDocuments(readFileSync(file, 'utf8'))) {
      const object = doc.toJS() as KubeObject;
      const plural =
        object.kind === 'ValidatingAdmissionPolicy'
          ? 'validatingadmissionpolicies'
          : 'validatingadmissionpolicybindings';
      await env.kube.create(paths.resource('admissionregistration.k8s.io', 'v1', plural), object);
    }
    const rename = (query?: Record<string, string>) =>
      env.kube.patch(nmPath(unknown), { spec: { nodeName: 'esc-1' } }, 'merge', query);
    // The API server takes the new policy in asynchronously: a dry run until it does, then the real change.
    await eventually('the policy in force', async () => (await rejection(rename({ dryRun: 'All' }))).statusCode > 0);
    const refused = await rejection(rename());
    expect(refused.statusCode).toBe(422);
    expect(refused.message).toMatch(/spec\.nodeName is immutable/);
    expect((await env.kube.get(nmPath(unknown))).spec.nodeName).toBe('no-such-node');
    await env.kube.delete(nmPath(unknown));
    await untilNmGone(env, unknown);
  });
});

describe('a run the controller started but did not get to record (it stopped between the start and the annotation)', () => {
  const name = 'spare-2-unrecorded';
  const cr = { apiVersion: 'nodemaintenance.medik8s.io/v1beta1', kind: 'NodeMaintenance' };
  // The input the controller starts such a CR's run with, and the CR's spec.
  const start = { node: 'spare-2', mode: 'planned', reason: 'NIC firmware', power: 'none' };
  const spec = { nodeName: 'spare-2', reason: 'NIC firmware' };

  /** What happens while the controller is down, as after a crash; it is started again whatever happens. */
  async function whileControllerStopped<T>(act: () => Promise<T>): Promise<T> {
    await world.stopController();
    try {
      return await act();
    } finally {
      await world.startController();
    }
  }

  it('deleted meanwhile: the CR stays until the run it started has ended, and the node is back', async () => {
    // What the cluster holds after such a stop: the run, started with the CR's memo, and the adopted CR without the
    // run id. Then the user deletes the CR, before the controller is back.
    await whileControllerStopped(async () => {
      await world.service.startMaintenance(start, memoFor({ metadata: { name }, spec: { nodeName: 'spare-2' } }));
      await eventually('the run held', async () => (await progressOf(run('spare-2'))).phase === 'Hold');
      await env.kube.create(nmPath(), { ...cr, metadata: { name, finalizers: [NM_FINALIZER] }, spec });
      await env.kube.delete(nmPath(name));
    });
    await untilNmGone(env, name);
    expect((await run('spare-2').describe()).status.name).toBe('COMPLETED');
    expect((await node('spare-2')).spec.unschedulable).toBeFalsy();
  });

  it('not deleted: the run is recorded on the CR and followed, not started again', async () => {
    const { runId } = await whileControllerStopped(async () => {
      const started = await world.service.startMaintenance(
        start,
        memoFor({ metadata: { name }, spec: { nodeName: 'spare-2' } }),
      );
      await env.kube.create(nmPath(), { ...cr, metadata: { name }, spec });
      return started;
    });
    const held = await untilNm(env, name, 'Succeeded', (c) => c.status?.phase === 'Succeeded');
    expect(held.metadata.annotations?.[RUN_ANNOTATION]).toBe(runId);
    expect((await run('spare-2').describe()).runId).toBe(runId);
    expect((await eventReasons(env, held)).filter((r) => r === 'BeginMaintenance')).toHaveLength(1);
    await env.kube.delete(nmPath(name));
    await untilNmGone(env, name);
    expect((await run('spare-2').describe()).status.name).toBe('COMPLETED');
  });
});
