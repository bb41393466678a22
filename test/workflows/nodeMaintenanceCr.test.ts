// The NodeMaintenance controller end to end on the sandbox: the object the OpenShift console's "Start maintenance"
// creates drives a drain-only maintenance-<node> run through the client service (as the HTTP API starts them), its
// status follows the run, NMO's Events are recorded on it, and deleting it ("Stop maintenance") brings the node back
// before the finalizer lets the CR go.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kv, paths } from '../../src/k8s/client.js';
import { nmPath } from '../../src/controller/nodeMaintenance/kube.js';
import { NM_FINALIZER } from '../../src/domain/nodeMaintenance.js';
import { FAST_TIMING, type TestEnv } from '../support/env.js';
import { bmhPathOf, nodeReady, untilVmisRunning } from '../support/cluster.js';
import {
  createNm,
  eventReasons,
  startControllerEnv,
  untilNm,
  untilNmGone,
  type ControllerEnv,
} from '../support/nodeMaintenance.js';

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
        { name: 'spare-{n}', count: 2, memory: '256Gi' },
      ],
      vms: [{ name: 'vm-{n}', count: 2, node: 'worker-1', storage: 'rwx' }],
    },
  });
  env = world.env;
  await untilVmisRunning(env.kube, 2);
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
    expect((await vmisOn('spare-1')).length + (await vmisOn('spare-2')).length).toBe(2);
    // Drain-only: the machine was not powered off (its host stays online, the node Ready). Not the node's
    // pitstop.io/maintenance-phase annotation: the run enters Hold before an activity writes that mirror.
    expect((await env.kube.get(bmhPathOf('worker-1'))).spec.online).toBe(true);
    expect(nodeReady(worker)).toBe(true);
    expect(await eventReasons(env, done)).toEqual(expect.arrayContaining(['BeginMaintenance', 'SucceedMaintenance']));
    const run = await env.client.workflow.getHandle('maintenance-worker-1').describe();
    expect(run.status.name).toBe('RUNNING');
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
  });
});
