// describeNodes (the capacity facts of every preflight and of the rolling maintenance's look at its next nodes)
// reads every pod's memory request page by page; the facts must be the same whatever the page size.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubeClient, paths } from '../../src/k8s/client.js';
import { describeNodes } from '../../src/activities/kubernetes.js';
import type { Sandbox } from '../../src/sandbox/index.js';
import { startSandboxOnly } from '../support/env.js';
import { untilVmisRunning } from '../support/cluster.js';

let sandbox: Sandbox;
let kube: KubeClient;

beforeAll(async () => {
  sandbox = await startSandboxOnly({
    name: 'describe-nodes',
    nodes: [{ name: 'worker-{n}', count: 3, memory: '64Gi', bmc: 'none' }],
    vms: [
      { name: 'small-{n}', count: 3, node: 'worker-1', memory: '1Gi' },
      { name: 'big', node: 'worker-2', memory: '8Gi' },
    ],
    workloads: [{ kind: 'Deployment', name: 'web', replicas: 3 }],
  });
  kube = KubeClient.fromFile(sandbox.kubeconfigPath);
  await untilVmisRunning(kube, 4);
});

afterAll(async () => {
  await sandbox?.stop();
});

describe('describeNodes', () => {
  it('sums the same memory requests per node when the pod list comes in pages', async () => {
    const pods = await kube.list(paths.pods(), { fieldSelector: 'status.phase!=Succeeded,status.phase!=Failed' });
    expect(pods.items.length).toBeGreaterThanOrEqual(7);

    const whole = await describeNodes(kube);
    const before = kube.counter.total;
    const paged = await describeNodes(kube, 2);
    // One list of the nodes plus one request per page of two pods.
    expect(kube.counter.total - before).toBeGreaterThanOrEqual(1 + Math.ceil(pods.items.length / 2));

    expect(paged).toEqual(whole);
    const requested = Object.fromEntries(whole.map((n) => [n.name, n.requestedMemoryBytes]));
    // worker-1 holds three 1 GiB VMs and worker-2 one of 8 GiB: their launchers request at least that much.
    expect(requested['worker-1']).toBeGreaterThanOrEqual(3 * 2 ** 30);
    expect(requested['worker-2']).toBeGreaterThanOrEqual(8 * 2 ** 30);
  });
});
