// The sandbox's subresources.kubevirt.io stop/start, through the real API server's aggregation layer: what
// `virtctl stop`/`virtctl start` would get from KubeVirt, and what the VM looks like afterwards.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type KubeClient, type KubeObject } from '../../src/k8s/client.js';
import type { Sandbox } from '../../src/sandbox/index.js';
import { eventually, startSandboxOnly } from '../support/env.js';
import { rejection, untilVmisRunning, vmOf, vmiOf } from '../support/cluster.js';
import { invariantViolations, recordBefore } from '../support/invariants.js';
import { restoreVm, stopVm } from '../../src/activities/kubevirt/lifecycle.js';

const NS = 'vms';
let sandbox: Sandbox;
let kube: KubeClient;

beforeAll(async () => {
  sandbox = await startSandboxOnly({
    name: 'kubevirt-subresources',
    nodes: [{ name: 'a' }, { name: 'b' }],
    vms: [
      { name: 'manual', node: 'a', runStrategy: 'Manual', terminationGracePeriodSeconds: 1 },
      { name: 'rerun', node: 'a', runStrategy: 'RerunOnFailure', terminationGracePeriodSeconds: 1 },
      { name: 'always', node: 'a', terminationGracePeriodSeconds: 1 },
    ],
  });
  kube = sandbox.cluster.client;
  await untilVmisRunning(kube, 3, NS);
});

afterAll(async () => {
  await sandbox?.stop();
});

const put = (name: string, action: 'stop' | 'start') =>
  kube.request('PUT', `/apis/subresources.kubevirt.io/v1/namespaces/${NS}/virtualmachines/${name}/${action}`, {});
const vm = async (name: string) => (await vmOf(kube, NS, name)) as KubeObject;
const untilVmiGone = (name: string) => eventually(`VMI ${name} gone`, async () => !(await vmiOf(kube, NS, name)));
const untilVmiRunning = (name: string) =>
  eventually(`VMI ${name} running`, async () => (await vmiOf(kube, NS, name))?.status?.phase === 'Running');

describe('subresources.kubevirt.io stop/start', () => {
  it('stops and starts a Manual VM without touching its spec; the requests are cleared once done', async () => {
    const before = await vm('manual');
    const uid = (await vmiOf(kube, NS, 'manual'))?.metadata.uid;
    await put('manual', 'stop');
    expect((await vm('manual')).status.stateChangeRequests?.[0]).toEqual({ action: 'Stop', uid });
    await untilVmiGone('manual');
    await eventually('stop request cleared', async () => !(await vm('manual')).status.stateChangeRequests);
    // Off it stays: Manual is not started by the controller.
    await new Promise((r) => setTimeout(r, 500));
    expect(await vmiOf(kube, NS, 'manual')).toBeUndefined();
    await put('manual', 'start');
    await untilVmiRunning('manual');
    await eventually('start request cleared', async () => !(await vm('manual')).status.stateChangeRequests);
    const after = await vm('manual');
    expect(after.spec).toEqual(before.spec);
    expect(after.metadata.generation).toBe(before.metadata.generation);
  });

  it('answers a stop of a stopped Manual VM with KubeVirt\'s 409 "VM is not running"', async () => {
    await put('manual', 'stop');
    await untilVmiGone('manual');
    expect(await rejection(put('manual', 'stop'))).toEqual({
      statusCode: 409,
      message: '409 Conflict: Operation cannot be fulfilled on virtualmachine.kubevirt.io "manual": VM is not running',
    });
    await put('manual', 'start');
    await untilVmiRunning('manual');
    expect(await rejection(put('manual', 'start'))).toEqual({
      statusCode: 409,
      message:
        '409 Conflict: Operation cannot be fulfilled on virtualmachine.kubevirt.io "manual": VM is already running',
    });
  });

  it('a body that is not StopOptions is a 400 BadRequest, and the VM keeps running', async () => {
    const uid = (await vmiOf(kube, NS, 'manual'))?.metadata.uid;
    const refused = await rejection(
      kube.request('PUT', `/apis/subresources.kubevirt.io/v1/namespaces/${NS}/virtualmachines/manual/stop`, '{'),
    );
    expect(refused.statusCode).toBe(400);
    expect(refused.message).toMatch(/^400 BadRequest: Can not unmarshal Request body to struct, error: /);
    expect((await vm('manual')).status.stateChangeRequests).toBeUndefined();
    await new Promise((r) => setTimeout(r, 300));
    expect((await vmiOf(kube, NS, 'manual'))?.metadata.uid).toBe(uid);
    expect((await vmiOf(kube, NS, 'manual'))?.metadata.deletionTimestamp).toBeUndefined();
  });

  it('a RerunOnFailure VM stopped through the subresource stays off and keeps its runStrategy', async () => {
    const generation = (await vm('rerun')).metadata.generation;
    await put('rerun', 'stop');
    await untilVmiGone('rerun');
    await new Promise((r) => setTimeout(r, 500));
    expect(await vmiOf(kube, NS, 'rerun')).toBeUndefined();
    expect((await vm('rerun')).spec.runStrategy).toBe('RerunOnFailure');
    await put('rerun', 'start');
    await untilVmiRunning('rerun');
    expect((await vm('rerun')).metadata.generation).toBe(generation);
  });

  it('an Always VM: stop sets runStrategy Halted, start sets it back; a start of an Always VM is refused', async () => {
    expect(await rejection(put('always', 'start'))).toMatchObject({ statusCode: 409 });
    await put('always', 'stop');
    expect((await vm('always')).spec.runStrategy).toBe('Halted');
    await untilVmiGone('always');
    expect(await rejection(put('always', 'stop'))).toEqual({
      statusCode: 409,
      message: '409 Conflict: Operation cannot be fulfilled on virtualmachine.kubevirt.io "always": VM is not running',
    });
    await put('always', 'start');
    expect((await vm('always')).spec.runStrategy).toBe('Always');
    await untilVmiRunning('always');
  });

  it('a VM that does not exist is a 404 naming it; the API server itself answers 404 once the API is gone', async () => {
    expect(await rejection(put('nope', 'stop'))).toEqual({
      statusCode: 404,
      message: '404 NotFound: virtualmachine.kubevirt.io "nope" not found',
    });
    await sandbox.subresources.unserve();
    try {
      expect(await rejection(put('manual', 'stop'))).toEqual({
        statusCode: 404,
        message: '404 error: 404 page not found\n',
      });
    } finally {
      await sandbox.subresources.serve();
    }
  });

  it('the invariants judge a Manual VM that maintenance stopped through the subresource as off (runStrategy Manual)', async () => {
    const before = await recordBefore(kube, NS);
    expect(before.running.has(`${NS}/manual`)).toBe(true);
    await stopVm(kube, { namespace: NS, name: 'manual' });
    await untilVmiGone('manual');
    expect((await vm('manual')).spec.runStrategy).toBe('Manual');
    const vmViolations = async (options: { rollbackIncomplete?: string }) =>
      (await invariantViolations(kube, before, 'a', [], { namespace: NS, ...options })).filter((v) =>
        v.startsWith(`VM ${NS}/manual`),
      );
    expect(await vmViolations({})).toEqual([
      `VM ${NS}/manual ran before and does not run now`,
      `VM ${NS}/manual still carries pitstop.io/previous-run-strategy=Manual`,
    ]);
    // Named as left for the operator, it is still off and nothing will start it: that is not "left running".
    expect(await vmViolations({ rollbackIncomplete: `VM ${NS}/manual was not started again` })).toEqual([
      `VM ${NS}/manual named as left for the operator, but it is off and Manual (stopped)`,
    ]);
    await restoreVm(kube, { namespace: NS, name: 'manual' });
    await untilVmiRunning('manual');
    expect(await vmViolations({})).toEqual([]);
  });
});
