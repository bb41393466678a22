// The fault proxy between Pitstop's KubeClient and the sandbox API server: each fault kind really happens, and
// Pitstop's client and error classification handle it as docs/architecture.md says (retry, with the server's delay for
// 429; a lost answer leaves a request that did happen; a cut watch is resumed).
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApplicationFailure } from '@temporalio/common';
import { isAlreadyExists, KubeApiError, KubeClient, paths, kv } from '../../src/k8s/client.js';
import { classify } from '../../src/activities/errors.js';
import { waitForVmiGone } from '../../src/activities/kubevirt/lifecycle.js';
import { startFaultProxy, type FaultProxy, type FaultProxyOptions } from '../../src/chaos/faultProxy.js';
import type { Sandbox } from '../../src/sandbox/index.js';
import { startSandboxOnly } from '../support/env.js';
import { untilVmisRunning } from '../support/cluster.js';

let sandbox: Sandbox;
const open: { proxy: FaultProxy; kube: KubeClient }[] = [];

beforeAll(async () => {
  sandbox = await startSandboxOnly(
    {
      name: 'fault-proxy',
      nodes: [{ name: 'node-{n}', count: 2, memory: '64Gi', bmc: 'none' }],
      vms: [{ name: 'vm-1', node: 'node-1', terminationGracePeriodSeconds: 1 }],
    },
    { vmStopMs: 200 },
  );
  await untilVmisRunning(sandbox.cluster.client, 1);
});

afterAll(async () => {
  for (const { proxy, kube } of open) {
    kube.close();
    await proxy.close();
  }
  await sandbox?.stop();
});

/** A proxy with these options in front of the sandbox, and a KubeClient made from the kubeconfig it writes. */
async function through(options: Partial<FaultProxyOptions>): Promise<{ proxy: FaultProxy; kube: KubeClient }> {
  const proxy = await startFaultProxy({
    upstream: sandbox.cluster.server,
    upstreamCa: sandbox.cluster.ca.cert,
    serving: sandbox.cluster.serving,
    seed: 7,
    ...options,
  });
  const file = proxy.writeKubeconfig(
    join(sandbox.cluster.dir, `kubeconfig-proxy-${open.length}`),
    sandbox.cluster.adminToken,
  );
  const kube = KubeClient.fromFile(file);
  open.push({ proxy, kube });
  return { proxy, kube };
}

async function failureOf(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected the request to fail, but it succeeded');
}

const namespaceBody = (name: string) => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });

describe('fault proxy', () => {
  it('without faults it is transparent: the same answers as the API server itself', async () => {
    const { proxy, kube } = await through({});
    const viaProxy = await kube.list(paths.nodes());
    const direct = await sandbox.cluster.client.list(paths.nodes());
    expect(viaProxy.items.map((n) => n.metadata.name).sort()).toEqual(direct.items.map((n) => n.metadata.name).sort());
    expect(proxy.counts.passed).toBe(1);
  });

  it('5xx: a KubeApiError 503 (after the read was tried 3 times), classified retryable', async () => {
    const { proxy, kube } = await through({ rates: { error5xx: 1 } });
    const e = await failureOf(kube.get(paths.node('node-1')));
    expect(e).toBeInstanceOf(KubeApiError);
    expect((e as KubeApiError).statusCode).toBe(503);
    const classified = classify(e, 'reading node-1');
    expect(classified).toBeInstanceOf(ApplicationFailure);
    expect((classified as ApplicationFailure).nonRetryable).toBe(false);
    expect((classified as ApplicationFailure).type).toBe('Kubernetes503');
    expect(proxy.counts.error5xx).toBe(3);
  });

  it('a write that meets a 503 is not retried by the client (the activity retry re-reads first)', async () => {
    const { proxy, kube } = await through({ rates: { error5xx: 1 } });
    const e = await failureOf(kube.create(paths.namespaces(), namespaceBody('never-created')));
    expect((e as KubeApiError).statusCode).toBe(503);
    expect(proxy.counts.error5xx).toBe(1);
  });

  it("429 with Retry-After: retried after the server's delay", async () => {
    const { proxy, kube } = await through({ rates: { throttle429: 1 }, retryAfterSeconds: 3 });
    const e = await failureOf(kube.get(paths.node('node-1')));
    expect(e).toMatchObject({ statusCode: 429, retryAfterSeconds: 3 });
    const classified = classify(e, 'reading node-1') as ApplicationFailure;
    expect(classified.nonRetryable).toBe(false);
    expect(classified.nextRetryDelay).toBe('3s');
    expect(proxy.counts.throttle429).toBe(3);
  });

  for (const kind of ['error5xx', 'throttle429', 'reset'] as const) {
    it(`seed 1: a read that meets one ${kind} is retried in place and answered (preflight no longer fails on a blip)`, async () => {
      const { proxy, kube } = await through({ rates: { [kind]: 1 }, retryAfterSeconds: 1 });
      const injected = () =>
        proxy.counts.error5xx + proxy.counts.throttle429 + proxy.counts.resetBefore + proxy.counts.resetAfter;
      const read = kube.get(paths.node('node-2'));
      // The fault lasts exactly one answer: off again as soon as it was injected.
      while (injected() === 0) await new Promise((r) => setTimeout(r, 5));
      proxy.setRates({ [kind]: 0 });
      expect((await read).metadata.name).toBe('node-2');
      expect(injected()).toBe(1);
    });
  }

  it('connection reset before the request reaches the server: a network error (retried), nothing changed', async () => {
    // A seed whose first draw resets before forwarding (the proxy decides before/after by its PRNG).
    let attempt: { proxy: FaultProxy; kube: KubeClient } | undefined;
    for (let seed = 1; !attempt; seed++) {
      const candidate = await through({ rates: { reset: 1 }, seed });
      const e = await failureOf(candidate.kube.create(paths.namespaces(), namespaceBody(`reset-before-${seed}`)));
      expect(e).not.toBeInstanceOf(KubeApiError);
      expect(classify(e, 'creating a namespace')).not.toBeInstanceOf(ApplicationFailure); // Temporal retries it
      if (candidate.proxy.counts.resetBefore === 1) {
        attempt = candidate;
        expect(await sandbox.cluster.client.find(paths.namespace(`reset-before-${seed}`))).toBeUndefined();
      }
    }
  });

  it('connection reset after the server acted: the answer is lost, the retry meets AlreadyExists', async () => {
    let found = false;
    for (let seed = 1; !found; seed++) {
      const { proxy, kube } = await through({ rates: { reset: 1 }, seed });
      const name = `reset-after-${seed}`;
      const e = await failureOf(kube.create(paths.namespaces(), namespaceBody(name)));
      expect(e).not.toBeInstanceOf(KubeApiError);
      if (proxy.counts.resetAfter === 1) {
        found = true;
        expect(await sandbox.cluster.client.find(paths.namespace(name))).toBeDefined();
        proxy.setRates({ reset: 0 });
        expect(isAlreadyExists(await failureOf(kube.create(paths.namespaces(), namespaceBody(name))))).toBe(true);
      }
    }
  });

  it('slow responses: the request is held, then answered', async () => {
    const { proxy, kube } = await through({ rates: { slow: 1 }, slowMs: [300, 300] });
    const node = await kube.get(paths.node('node-2'));
    expect(node.metadata.name).toBe('node-2');
    expect(proxy.counts.slow).toBe(1);
  });

  it('dropped watch: the stream is cut mid-way and the watch call ends', async () => {
    const { proxy, kube } = await through({ rates: { watchDrop: 1 }, watchDropAfterMs: [200, 200] });
    const events: string[] = [];
    // The server would keep this watch open for 60 s; the proxy cuts it.
    await kube.watch(paths.nodes(), { timeoutSeconds: 60 }, (e) => events.push(e.type));
    expect(events).toContain('ADDED'); // it was a live stream before the cut
    expect(proxy.counts.watchDrop).toBe(1);
  });

  it("a wait that loses its watch again and again still sees the VMI go (Pitstop's waits resume)", async () => {
    const { proxy, kube } = await through({ rates: { watchDrop: 1 }, watchDropAfterMs: [100, 400] });
    const waiting = waitForVmiGone(kube, { namespace: 'vms', name: 'vm-1', timeoutMs: 60_000 });
    // Stop the VM once the wait has lost a few watches.
    while (proxy.counts.watchDrop < 3) await new Promise((r) => setTimeout(r, 100));
    await sandbox.cluster.client.patch(kv('virtualmachines', 'vms', 'vm-1'), { spec: { runStrategy: 'Halted' } });
    expect(await waiting).toMatchObject({ outcome: 'Gone' });
    expect(proxy.counts.watchDrop).toBeGreaterThanOrEqual(3);
  });
});
