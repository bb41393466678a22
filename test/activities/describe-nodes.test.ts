// describeNodes gives the capacity facts of every preflight and of a roll's look at its next nodes. The memory the
// pods on each node request comes from a paged list of every pod, or from the worker's watch-fed cache; both must
// give the same sums, and the cache must follow pods coming and going without listing them again.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubeClient, paths } from '../../src/k8s/client.js';
import { describeNodes } from '../../src/activities/node/facts.js';
import { PodRequestCache, listRequestedMemory } from '../../src/activities/podRequests.js';
import type { Sandbox } from '../../src/sandbox/index.js';
import { eventually, startSandboxOnly } from '../support/env.js';
import { untilVmisRunning } from '../support/cluster.js';

let sandbox: Sandbox;
let kube: KubeClient;
const GiB = 2 ** 30;

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
  kube?.close();
  await sandbox?.stop();
});

const requestedOf = async (source?: () => Promise<Map<string, number>>) =>
  Object.fromEntries((await describeNodes(kube, source)).map((n) => [n.name, n.requestedMemoryBytes]));

describe('describeNodes', () => {
  it('sums the same memory requests per node when the pod list comes in pages', async () => {
    const pods = await kube.list(paths.pods(), { fieldSelector: 'status.phase!=Succeeded,status.phase!=Failed' });
    expect(pods.items.length).toBeGreaterThanOrEqual(7);

    const whole = await describeNodes(kube);
    const before = kube.counter.total;
    const paged = await describeNodes(kube, () => listRequestedMemory(kube, 2));
    // One list of the nodes plus one request per page of two pods.
    expect(kube.counter.total - before).toBeGreaterThanOrEqual(1 + Math.ceil(pods.items.length / 2));

    expect(paged).toEqual(whole);
    const requested = Object.fromEntries(whole.map((n) => [n.name, n.requestedMemoryBytes]));
    // worker-1 holds three 1 GiB VMs and worker-2 one of 8 GiB: their launchers request at least that much.
    expect(requested['worker-1']).toBeGreaterThanOrEqual(3 * 2 ** 30);
    expect(requested['worker-2']).toBeGreaterThanOrEqual(8 * 2 ** 30);
  });

  it("answers from the worker's cache with the same sums, follows pods coming and going, and lists no pods", async () => {
    const cache = new PodRequestCache(kube, { pageSize: 2 });
    try {
      expect(await requestedOf(cache.requestedMemory)).toEqual(await requestedOf());

      // A look once the cache is in step costs the node list only.
      const before = kube.counter.total;
      await describeNodes(kube, cache.requestedMemory);
      expect(kube.counter.total - before).toBe(1);

      const listed = await requestedOf();
      await kube.create(paths.pods('default'), {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'cache-probe' },
        spec: {
          nodeName: 'worker-3',
          containers: [{ name: 'c', image: 'busybox', resources: { requests: { memory: '5Gi' } } }],
        },
      });
      await eventually('the cache to count the new pod', async () => {
        const cached = await requestedOf(cache.requestedMemory);
        return cached['worker-3'] === (listed['worker-3'] ?? 0) + 5 * GiB;
      });

      await kube.delete(paths.pod('default', 'cache-probe'), { gracePeriodSeconds: 0 });
      await eventually('the cache to drop the deleted pod', async () => {
        const cached = await requestedOf(cache.requestedMemory);
        return cached['worker-3'] === (listed['worker-3'] ?? 0);
      });
      expect(cache.answered.byList).toBe(0);
      expect(cache.answered.fromCache).toBeGreaterThanOrEqual(4);
    } finally {
      cache.stop();
    }
  });

  it('lists the pods itself while the cache has not caught up', async () => {
    const cache = new PodRequestCache(kube, { syncTimeoutMs: 0 });
    try {
      expect(await requestedOf(cache.requestedMemory)).toEqual(await requestedOf());
      expect(cache.answered).toEqual({ fromCache: 0, byList: 1 });
    } finally {
      cache.stop();
    }
  });
});
