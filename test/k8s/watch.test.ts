// The one watch primitive against the real API server: a wait already true answers from its list alone; a
// stale version (410 Gone) is re-listed; a cut stream is resumed from the last version (no re-list, nothing
// missed); a silent stream is noticed by the idle timeout and reconnected; a resumed wait keeps its clock.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  KubeClient,
  WatchStalledError,
  paths,
  type KubeList,
  type KubeObject,
  type Query,
  type WatchEvent,
  type WatchStreamOptions,
} from '../../src/k8s/client.js';
import { BACKOFF, listWatch, reconnectDelay, waitFor, type Verdict, type WaitDetails } from '../../src/k8s/watch.js';
import { startFaultProxy, type FaultProxy } from '../../src/chaos/faultProxy.js';
import type { Sandbox } from '../../src/sandbox/index.js';
import { startSandboxOnly } from '../support/env.js';

const NS = 'watch-primitive';
const configMaps = `/api/v1/namespaces/${NS}/configmaps`;
let sandbox: Sandbox;
let kube: KubeClient;
const closers: (() => Promise<void> | void)[] = [];

beforeAll(async () => {
  sandbox = await startSandboxOnly();
  kube = KubeClient.fromFile(sandbox.kubeconfigPath);
  await kube.create(paths.namespaces(), { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
});

afterAll(async () => {
  for (const close of closers.reverse()) await close();
  kube?.close();
  await sandbox?.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const dataOf = (o: KubeObject | undefined) => (o?.data ?? {}) as Record<string, string | undefined>;
const configMap = (name: string, data: Record<string, string>) =>
  kube.create(configMaps, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data });
const setData = (name: string, data: Record<string, string>) => kube.patch(`${configMaps}/${name}`, { data });

/** How the API server answers a watch from `resourceVersion`: its first event type, or the failure. */
async function firstWatchAnswer(client: KubeClient, resourceVersion: string): Promise<string> {
  const stop = new AbortController();
  const timer = setTimeout(() => stop.abort(), 3000);
  let first = 'nothing within 3 s';
  try {
    await client.watch(
      configMaps,
      { resourceVersion },
      (e) => {
        first = e.type === 'ERROR' ? `${e.object.code} ${e.object.message}` : e.type;
        stop.abort();
      },
      stop.signal,
    );
  } catch (e) {
    first = (e as Error).message;
  } finally {
    clearTimeout(timer);
  }
  return first;
}

/** listWatch on one config map, recording its lists, the states it sees and every retried failure. */
function follow(client: KubeClient, name: string) {
  const stop = new AbortController();
  const run = {
    lists: 0,
    states: [] as string[],
    retries: [] as string[],
    stop: () => stop.abort(),
    async until(done: () => boolean, ms = 10_000) {
      const started = Date.now();
      while (!done()) {
        if (Date.now() - started > ms) throw new Error(`not so after ${ms} ms: ${JSON.stringify(run)}`);
        await sleep(50);
      }
    },
  };
  const record = (o: KubeObject) => run.states.push(dataOf(o).state ?? 'unset');
  const following = listWatch(client, configMaps, {
    fieldSelector: `metadata.name=${name}`,
    signal: stop.signal,
    onPage: (items) => items.forEach(record),
    onListed: () => (run.lists += 1),
    onChange: (_type, o) => record(o),
    onRetry: (e) => run.retries.push((e as Error).message),
  });
  closers.push(async () => {
    stop.abort();
    await following;
  });
  return run;
}

/** Compacts the sandbox's etcd up to `revision`: older versions are gone for good (a watch from one gets 410). */
async function compactEtcd(revision: string): Promise<void> {
  const etcd = sandbox.cluster.processes.find((p) => p.name === 'etcd');
  const url = etcd?.child.spawnargs.find((a) => a.startsWith('--listen-client-urls='))?.split('=')[1];
  if (!url) throw new Error('no etcd client URL in the sandbox');
  const answer = await fetch(`${url}/v3/kv/compaction`, {
    method: 'POST',
    body: JSON.stringify({ revision, physical: true }),
  });
  expect(answer.ok).toBe(true);
}

/** A client of its own, so its requests can be counted. */
function freshClient(kubeconfig = sandbox.kubeconfigPath): KubeClient {
  const client = KubeClient.fromFile(kubeconfig);
  closers.push(() => client.close());
  return client;
}

/** Waits until the config map's `key` is `value`; resolves with the version seen. */
const untilData = (client: KubeClient, name: string, key: string, value: string, controls = {}) =>
  waitFor<string>(
    client,
    {
      collection: configMaps,
      name,
      since: () => Date.now(),
      phaseOf: (o) => dataOf(o)[key] ?? 'unset',
      decide: (o): Verdict<string> => (o && dataOf(o)[key] === value ? { done: o.metadata.resourceVersion ?? '' } : {}),
    },
    controls,
  );

describe('reconnectDelay', () => {
  it('is one jittered exponential schedule: doubling from the base, capped, never below half its ceiling', () => {
    const ceilings = [1, 2, 3, 4, 5, 6, 7, 12].map((n) => reconnectDelay(n, () => 1));
    expect(ceilings).toEqual([200, 400, 800, 1600, 3200, 5000, 5000, 5000]);
    expect(reconnectDelay(1, () => 0)).toBe(BACKOFF.baseMs / 2);
    expect(reconnectDelay(9, () => 0)).toBe(BACKOFF.maxMs / 2);
    const spread = new Set(Array.from({ length: 20 }, () => reconnectDelay(3)));
    expect(spread.size).toBeGreaterThan(1);
  });
});

describe('waitFor', () => {
  it('answers from the initial list when the object already is as asked: one list, no watch', async () => {
    await configMap('ready-at-once', { state: 'done' });
    const client = freshClient();
    const started = Date.now();
    expect(await untilData(client, 'ready-at-once', 'state', 'done')).toMatch(/^\d+$/);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(client.counter.byVerb).toEqual({ GET: 1 });
  });

  it('re-lists after 410 Gone: a stream refused for a version too old starts over from a fresh list', async () => {
    await configMap('gone', { state: 'waiting' });
    await compactEtcd((await kube.list(configMaps)).metadata.resourceVersion ?? '');
    // kube-apiserver 1.36 still serves a watch from a compacted version (it answers ADDED), so the refusal it
    // sends for a version too old, an ERROR event with a 410 Status, is given to the first stream here.
    expect(await firstWatchAnswer(kube, '1')).toBe('ADDED');
    class StaleFirstList extends KubeClient {
      lists = 0;
      watches = 0;
      override async list<T extends KubeObject>(path: string, query?: Query): Promise<KubeList<T>> {
        this.lists += 1;
        return await super.list<T>(path, query);
      }
      override async watch<T extends KubeObject>(
        path: string,
        query: Query,
        onEvent: (event: WatchEvent<T>) => void,
        ...rest: [AbortSignal?, WatchStreamOptions?]
      ): Promise<void> {
        this.watches += 1;
        if (this.watches > 1) return await super.watch<T>(path, query, onEvent, ...rest);
        onEvent({ type: 'ERROR', object: { code: 410, message: 'too old resource version: 1 (9999)' } });
      }
    }
    const client = new StaleFirstList(freshClient().kubeConfig);
    closers.push(() => client.close());
    const run = follow(client, 'gone');
    await run.until(() => client.lists === 2);
    await setData('gone', { state: 'done' });
    await run.until(() => run.states.includes('done'));
    run.stop();
    expect(client.lists).toBe(2); // the stale list, then the re-list after 410
  });

  it('resumes a cut stream from the last version it saw: no re-list, and the change after the cuts is seen', async () => {
    await configMap('cut', { state: 'waiting' });
    const proxy: FaultProxy = await startFaultProxy({
      upstream: sandbox.cluster.server,
      upstreamCa: sandbox.cluster.ca.cert,
      serving: sandbox.cluster.serving,
      seed: 11,
      rates: { watchDrop: 1 },
      watchDropAfterMs: [1100, 1300],
    });
    closers.push(() => proxy.close());
    const file = proxy.writeKubeconfig(join(sandbox.cluster.dir, 'kubeconfig-watch-cut'), sandbox.cluster.adminToken);
    const client = freshClient(file);
    const run = follow(client, 'cut');
    // Three streams cut and each resumed by the next.
    await run.until(() => (client.counter.byVerb.WATCH ?? 0) >= 4);
    await setData('cut', { state: 'done' });
    await run.until(() => run.states.includes('done'));
    run.stop();
    expect(run.retries).toEqual([]);
    expect(run.lists).toBe(1);
    expect(client.counter.byVerb.GET).toBe(1);
    expect(proxy.counts.watchDrop).toBeGreaterThanOrEqual(4);
  });

  it('heartbeats with the clock of the try it resumes, not its own', async () => {
    await configMap('resumed', { state: 'waiting' });
    const since = Date.now() - 60_000;
    const beats: WaitDetails[] = [];
    const result = waitFor(
      kube,
      {
        collection: configMaps,
        name: 'resumed',
        since: () => since,
        phaseOf: (o) => dataOf(o).state ?? 'unset',
        decide: (o, now): Verdict<string | undefined> =>
          dataOf(o).state === 'done' || now - since > 61_000 ? { done: dataOf(o).state } : {},
      },
      { heartbeat: (d) => beats.push(d), heartbeatIntervalMs: 100 },
    );
    await sleep(300);
    await setData('resumed', { state: 'done' });
    expect(await result).toBe('done');
    expect(beats.map((b) => b.phase)).toEqual(expect.arrayContaining(['waiting', 'done']));
    expect(new Set(beats.map((b) => b.since))).toEqual(new Set([since]));
  });
});

describe('listWatch', () => {
  it('takes a stream silent past its idle timeout for a dead one: backs off, reconnects, and re-lists after three', async () => {
    await configMap('quiet', { state: 'still' });
    const client = freshClient();
    const stop = new AbortController();
    const retries: unknown[] = [];
    let lists = 0;
    const following = listWatch(client, configMaps, {
      fieldSelector: 'metadata.name=quiet',
      signal: stop.signal,
      // Far below the API server's bookmark interval (about a minute): every stream goes silent.
      idleTimeoutMs: 400,
      onPage: () => {},
      onListed: () => (lists += 1),
      onChange: () => {},
      onRetry: (e) => retries.push(e),
    });
    const started = Date.now();
    while (lists < 2 && Date.now() - started < 10_000) await sleep(50);
    stop.abort();
    await following;
    expect(retries.length).toBeGreaterThanOrEqual(3);
    for (const e of retries) expect(e).toBeInstanceOf(WatchStalledError);
    expect(client.counter.byVerb.WATCH).toBeGreaterThanOrEqual(3);
    expect(lists).toBeGreaterThanOrEqual(2); // the first list, and the re-list after three failures in a row
  });
});
