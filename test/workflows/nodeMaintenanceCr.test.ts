// The NodeMaintenance controller end to end on the sandbox: the object the OpenShift console's "Start maintenance"
// creates drives a drain-only maintenance-<node> run through the client service (as the HTTP API starts them), its
// status follows the run, NMO's Events are recorded on it, and deleting it ("Stop maintenance") brings the node back
// before the finalizer lets the CR go.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kv, paths, type KubeObject } from '../../src/k8s/client.js';
import { PitstopService } from '../../src/client/service.js';
import { runNodeMaintenanceController } from '../../src/controller/nodeMaintenance/controller.js';
import { nmPath, NM_EVENT_NAMESPACE } from '../../src/controller/nodeMaintenance/kube.js';
import { NM_FINALIZER } from '../../src/domain/nodeMaintenance.js';
import { startTestEnv, eventually, FAST_TIMING, type TestEnv } from '../support/env.js';
import { bmhPathOf, nodeReady, untilVmisRunning } from '../support/cluster.js';

let env: TestEnv;
const stop = new AbortController();
let controller: Promise<void>;

beforeAll(async () => {
  env = await startTestEnv({
    scenario: {
      name: 'nodemaintenance-cr',
      timing: FAST_TIMING,
      kubevirt: { evictionStrategy: 'LiveMigrate' },
      nodes: [
        { name: 'cp-{n}', count: 3, controlPlane: true, memory: '64Gi' },
        { name: 'worker-1', memory: '256Gi' },
        { name: 'spare-{n}', count: 2, memory: '256Gi' },
      ],
      vms: [{ name: 'vm-{n}', count: 2, node: 'worker-1', storage: 'rwx' }],
    },
  });
  await untilVmisRunning(env.kube, 2);
  const service = new PitstopService({
    client: env.client,
    taskQueue: env.taskQueue,
    nodeExists: async (node) => (await env.kube.find(paths.node(node))) !== undefined,
  });
  controller = runNodeMaintenanceController({ kube: env.kube, service, signal: stop.signal });
});

afterAll(async () => {
  stop.abort();
  await controller;
  await env?.stop();
});

const vmisOn = async (node: string) =>
  (await env.kube.list(kv('virtualmachineinstances'), { labelSelector: `kubevirt.io/nodeName=${node}` })).items;
const eventReasons = async (cr: KubeObject) =>
  (
    await env.kube.list(paths.events(NM_EVENT_NAMESPACE), { fieldSelector: `involvedObject.uid=${cr.metadata.uid}` })
  ).items.map((e) => e.reason as string);

describe("the console's NodeMaintenance object", () => {
  let name = '';

  it('drains the node (drain-only) and reports Succeeded with drainProgress 100', async () => {
    const created = await env.kube.create(nmPath(), {
      apiVersion: 'nodemaintenance.medik8s.io/v1beta1',
      kind: 'NodeMaintenance',
      metadata: { generateName: 'worker-1-' },
      spec: { nodeName: 'worker-1', reason: 'firmware update' },
    });
    name = created.metadata.name;

    const done = await eventually(
      'the CR Succeeded',
      async () => {
        const cr = await env.kube.get(nmPath(name));
        return cr.status?.phase === 'Succeeded' ? cr : undefined;
      },
      120_000,
    );
    expect(done.status.drainProgress).toBe(100);
    expect(done.status.lastError).toBeUndefined();
    expect(done.metadata.finalizers).toContain(NM_FINALIZER);
    const worker = await env.kube.get(paths.node('worker-1'));
    expect(done.metadata.ownerReferences).toEqual([
      expect.objectContaining({ kind: 'Node', name: 'worker-1', uid: worker.metadata.uid }),
    ]);
    expect(worker.spec.unschedulable).toBe(true);
    expect(await vmisOn('worker-1')).toEqual([]);
    expect((await vmisOn('spare-1')).length + (await vmisOn('spare-2')).length).toBe(2);
    // Drain-only: the machine was not powered off (its host stays online, the node Ready). Not the node's
    // pitstop.io/maintenance-phase annotation: the run enters Hold before an activity writes that mirror.
    expect((await env.kube.get(bmhPathOf('worker-1'))).spec.online).toBe(true);
    expect(nodeReady(worker)).toBe(true);
    expect(await eventReasons(done)).toEqual(expect.arrayContaining(['BeginMaintenance', 'SucceedMaintenance']));
    const run = await env.client.workflow.getHandle('maintenance-worker-1').describe();
    expect(run.status.name).toBe('RUNNING');
  });

  it('deleting it releases the run: the node is uncordoned, then the CR is gone', async () => {
    const cr = await env.kube.get(nmPath(name));
    await env.kube.delete(nmPath(name));
    await eventually('the CR is gone', async () => (await env.kube.find(nmPath(name))) === undefined, 120_000);
    const worker = await env.kube.get(paths.node('worker-1'));
    expect(worker.spec.unschedulable).toBeFalsy();
    const run = await env.client.workflow.getHandle('maintenance-worker-1').describe();
    expect(run.status.name).toBe('COMPLETED');
    expect(await eventReasons(cr)).toEqual(
      expect.arrayContaining(['BeginMaintenance', 'SucceedMaintenance', 'UncordonNode', 'RemovedMaintenance']),
    );
  });
});
