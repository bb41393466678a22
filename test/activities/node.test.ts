// The Kubernetes-side node activities (cordon, phase, lease, events, waiting for Ready) against the sandbox,
// judged by what an administrator sees on the cluster afterwards.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubeClient, paths, type KubeObject, type WatchEvent } from '../../src/k8s/client.js';
import { NODE_LEASE, NODE_MARKS } from '../../src/domain/contract.js';
import {
  acquireNodeLease,
  microTime,
  nodeLeaseHolders,
  releaseNodeLease,
  renewNodeLease,
} from '../../src/activities/node/lease.js';
import { cordonNode, uncordonNode } from '../../src/activities/node/cordon.js';
import { recordNodeEvent, removeNodePhase, setNodePhase } from '../../src/activities/node/events.js';
import { waitForNodeReady } from '../../src/activities/node/readiness.js';
import { bmhPath } from '../../src/sandbox/context.js';
import type { Sandbox } from '../../src/sandbox/index.js';
import { startSandboxOnly, eventually } from '../support/env.js';
import { applicationFailureOf, nodeReady } from '../support/cluster.js';

const WF = 'maintenance-plain';
let sandbox: Sandbox;
let kube: KubeClient;

beforeAll(async () => {
  sandbox = await startSandboxOnly({
    name: 'node-activities',
    timing: { bootDelay: '300ms', powerDelay: '100ms', podStop: '100ms', notReadyDelay: '100ms' },
    nodes: [
      { name: 'plain', bmc: 'none' },
      { name: 'admin-cordoned', bmc: 'none' },
      { name: 'racy', bmc: 'none' },
      { name: 'taken', bmc: 'none' },
      { name: 'power' },
    ],
  });
  kube = sandbox.cluster.client;
  await eventually('every node Ready', async () => {
    const nodes = await kube.list(paths.nodes());
    return nodes.items.length === 5 && nodes.items.every(nodeReady);
  });
});

afterAll(async () => {
  await sandbox?.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const nodeOf = (name: string) => kube.get(paths.node(name));
type Taint = { key: string; effect: string; value?: string };
const taintsOf = (node: KubeObject): Taint[] => node.spec?.taints ?? [];
const pitstopAnnotations = (node: KubeObject) =>
  Object.keys(node.metadata.annotations ?? {}).filter((k) => k.startsWith('pitstop.io/'));

const failureOf = applicationFailureOf;

/** Every version of a node the API server publishes while `action` runs. */
async function versionsDuring(name: string, action: () => Promise<unknown>): Promise<KubeObject[]> {
  const start = await nodeOf(name);
  const seen: KubeObject[] = [];
  const stop = new AbortController();
  const watching = kube.watch(
    paths.nodes(),
    { fieldSelector: `metadata.name=${name}`, resourceVersion: start.metadata.resourceVersion },
    (e: WatchEvent<KubeObject>) => {
      if (e.type === 'MODIFIED') seen.push(e.object);
    },
    stop.signal,
  );
  await action();
  const after = await nodeOf(name);
  await eventually('the watch to catch up', async () =>
    seen.some((n) => n.metadata.resourceVersion === after.metadata.resourceVersion),
  );
  stop.abort();
  await watching;
  return seen;
}

describe('cordonNode and uncordonNode', () => {
  it('cordons a schedulable node in one change: unschedulable, NoSchedule taint, remediation exclusion, who and what before', async () => {
    await kube.patch(paths.node('plain'), {
      spec: { taints: [{ key: 'example.com/disk-check', value: 'pending', effect: 'NoSchedule' }] },
    });
    let result: { wasUnschedulable: boolean } | undefined;
    const versions = await versionsDuring('plain', async () => {
      result = await cordonNode(kube, { node: 'plain', workflowId: WF });
    });
    expect(result).toEqual({ wasUnschedulable: false });

    const node = await nodeOf('plain');
    expect(node.spec.unschedulable).toBe(true);
    expect(taintsOf(node)).toEqual([
      { key: 'example.com/disk-check', value: 'pending', effect: 'NoSchedule' },
      { key: 'pitstop.io/maintenance', effect: 'NoSchedule' },
    ]);
    expect(node.metadata.labels?.['remediation.medik8s.io/exclude-from-remediation']).toBe('true');
    expect(node.metadata.annotations).toMatchObject({
      'pitstop.io/cordoned-by': WF,
      'pitstop.io/was-unschedulable': 'false',
    });
    // Nobody watching the node ever saw it half-cordoned.
    const marks = (n: KubeObject) => [
      n.spec?.unschedulable === true,
      taintsOf(n).some((t) => t.key === NODE_MARKS.taint),
      n.metadata.labels?.[NODE_MARKS.excludeFromRemediation] === 'true',
      n.metadata.annotations?.[NODE_MARKS.cordonedBy] === WF,
      n.metadata.annotations?.[NODE_MARKS.wasUnschedulable] === 'false',
    ];
    expect(versions.length).toBeGreaterThan(0);
    for (const v of versions) expect(new Set(marks(v)).size, JSON.stringify(marks(v))).toBe(1);
  });

  it('answers the state from before the first attempt when the same workflow retries, without writing again', async () => {
    const before = await nodeOf('plain');
    expect(before.spec.unschedulable).toBe(true);
    expect(await cordonNode(kube, { node: 'plain', workflowId: WF })).toEqual({ wasUnschedulable: false });
    expect((await nodeOf('plain')).metadata.resourceVersion).toBe(before.metadata.resourceVersion);
  });

  it('uncordons only for the workflow that cordoned: schedulable again, its marks gone, the rest kept', async () => {
    expect(await uncordonNode(kube, { node: 'plain', workflowId: 'maintenance-someone-else' })).toEqual({
      ours: false,
      uncordoned: false,
    });
    expect((await nodeOf('plain')).spec.unschedulable).toBe(true);

    expect(await uncordonNode(kube, { node: 'plain', workflowId: WF })).toEqual({ ours: true, uncordoned: true });
    const node = await nodeOf('plain');
    expect(node.spec.unschedulable).toBeFalsy();
    expect(taintsOf(node)).toEqual([{ key: 'example.com/disk-check', value: 'pending', effect: 'NoSchedule' }]);
    expect(node.metadata.labels).not.toHaveProperty('remediation.medik8s.io/exclude-from-remediation');
    expect(node.metadata.labels?.['kubernetes.io/hostname']).toBe('plain');
    expect(pitstopAnnotations(node)).toEqual([]);

    // A retry finds nothing of ours and changes nothing.
    expect(await uncordonNode(kube, { node: 'plain', workflowId: WF })).toEqual({ ours: false, uncordoned: false });
    expect((await nodeOf('plain')).metadata.resourceVersion).toBe(node.metadata.resourceVersion);
  });

  it('never uncordons a node an administrator had cordoned, nor drops an exclusion label that was there', async () => {
    await kube.patch(paths.node('admin-cordoned'), {
      metadata: { labels: { [NODE_MARKS.excludeFromRemediation]: 'true' } },
      spec: { unschedulable: true },
    });
    const wf = 'maintenance-admin-cordoned';
    expect(await cordonNode(kube, { node: 'admin-cordoned', workflowId: wf })).toEqual({ wasUnschedulable: true });
    expect(await cordonNode(kube, { node: 'admin-cordoned', workflowId: wf })).toEqual({ wasUnschedulable: true });
    expect(taintsOf(await nodeOf('admin-cordoned')).map((t) => t.key)).toContain(NODE_MARKS.taint);

    expect(await uncordonNode(kube, { node: 'admin-cordoned', workflowId: wf })).toEqual({
      ours: true,
      uncordoned: false,
    });
    const node = await nodeOf('admin-cordoned');
    expect(node.spec.unschedulable).toBe(true);
    expect(node.metadata.labels?.[NODE_MARKS.excludeFromRemediation]).toBe('true');
    expect(taintsOf(node).map((t) => t.key)).not.toContain(NODE_MARKS.taint);
    expect(pitstopAnnotations(node)).toEqual([]);
  });

  it('re-reads and tries again when the node changes between its read and its write (409), losing nothing', async () => {
    let patches = 0;
    // A client whose first node patch is overtaken by another writer adding a taint (as the kubelet or the
    // node lifecycle controller would).
    const racy = Object.assign(Object.create(kube) as KubeClient, {
      patch: async (path: string, body: unknown, type?: 'merge') => {
        patches += 1;
        if (patches === 1) {
          const node = await nodeOf('racy');
          await kube.patch(path, {
            spec: { taints: [...taintsOf(node), { key: 'example.com/overtaken', effect: 'NoSchedule' }] },
          });
        }
        return await kube.patch(path, body, type);
      },
    });
    expect(await cordonNode(racy, { node: 'racy', workflowId: 'maintenance-racy' })).toEqual({
      wasUnschedulable: false,
    });
    expect(patches).toBe(2);
    const node = await nodeOf('racy');
    expect(node.spec.unschedulable).toBe(true);
    expect(taintsOf(node).map((t) => t.key)).toEqual(['example.com/overtaken', NODE_MARKS.taint]);
  });

  it('fails for good, in a short message, on a node that does not exist; uncordoning it is a no-op', async () => {
    const failure = await failureOf(cordonNode(kube, { node: 'no-such-node', workflowId: 'maintenance-x' }));
    expect(failure.nonRetryable).toBe(true);
    expect(failure.type).toBe('NodeNotFound');
    expect(failure.message).toBe('node no-such-node not found');
    expect(await uncordonNode(kube, { node: 'no-such-node', workflowId: 'maintenance-x' })).toEqual({
      ours: false,
      uncordoned: false,
    });
  });
});

describe('maintenance phase on the node', () => {
  it('shows the phase as an annotation, updates it, and removes it (twice is fine)', async () => {
    await setNodePhase(kube, { node: 'plain', phase: 'Cordon' });
    expect((await nodeOf('plain')).metadata.annotations?.[NODE_MARKS.phase]).toBe('Cordon');
    await setNodePhase(kube, { node: 'plain', phase: 'EvacuateVMs' });
    expect((await nodeOf('plain')).metadata.annotations?.[NODE_MARKS.phase]).toBe('EvacuateVMs');
    await removeNodePhase(kube, { node: 'plain' });
    await removeNodePhase(kube, { node: 'plain' });
    expect((await nodeOf('plain')).metadata.annotations).not.toHaveProperty(NODE_MARKS.phase);
    await removeNodePhase(kube, { node: 'no-such-node' });
    const failure = await failureOf(setNodePhase(kube, { node: 'no-such-node', phase: 'Cordon' }));
    expect([failure.type, failure.nonRetryable]).toEqual(['NodeNotFound', true]);
  });
});

describe('node lease (medik8s-leases/node-<node>)', () => {
  const leaseOf = (node: string) => kube.find(paths.lease(NODE_LEASE.namespace, NODE_LEASE.name(node)));
  const MICRO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/;

  it('creates the lease (and its namespace) for the workflow, as medik8s tools expect to find it', async () => {
    expect(await kube.find(paths.namespace('medik8s-leases'))).toBeUndefined();
    const result = await acquireNodeLease(kube, { node: 'plain', workflowId: WF, durationSeconds: 60 });
    expect(result.outcome).toBe('created');
    const lease = await leaseOf('plain');
    expect(lease?.metadata.labels?.['app.kubernetes.io/managed-by']).toBe('pitstop');
    expect(lease?.spec).toMatchObject({ holderIdentity: WF, leaseDurationSeconds: 60 });
    expect(lease?.spec.acquireTime).toMatch(MICRO);
    expect(lease?.spec.renewTime).toMatch(MICRO);
    expect(await nodeLeaseHolders(kube, 'plain')).toEqual([{ holder: WF, source: 'pitstop' }]);
  });

  it('renews a lease the workflow already holds (retry or continued run), keeping its acquire time', async () => {
    const before = await leaseOf('plain');
    await sleep(20);
    const result = await acquireNodeLease(kube, { node: 'plain', workflowId: WF, durationSeconds: 60 });
    expect(result.outcome).toBe('renewed');
    const lease = await leaseOf('plain');
    expect(lease?.spec.acquireTime).toBe(before?.spec.acquireTime);
    expect(Date.parse(lease?.spec.renewTime)).toBeGreaterThan(Date.parse(before?.spec.renewTime));
    expect(lease?.spec.leaseTransitions).toBe(0);

    await sleep(20);
    const renewed = await renewNodeLease(kube, { node: 'plain', workflowId: WF });
    expect((await leaseOf('plain'))?.spec.renewTime).toBe(renewed.renewTime);
    expect(Date.parse(renewed.renewTime)).toBeGreaterThan(Date.parse(lease?.spec.renewTime));
  });

  it('refuses, naming the holder, while another workflow or a medik8s operator holds a live lease', async () => {
    const failure = await failureOf(
      acquireNodeLease(kube, { node: 'plain', workflowId: 'maintenance-rival', durationSeconds: 60 }),
    );
    expect(failure.nonRetryable).toBe(true);
    expect(failure.type).toBe('NodeLeaseHeld');
    expect(failure.message).toContain(WF);
    expect((await leaseOf('plain'))?.spec.holderIdentity).toBe(WF);

    await kube.create(paths.leases(NODE_LEASE.namespace), {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: NODE_LEASE.name('taken'), namespace: NODE_LEASE.namespace },
      spec: {
        holderIdentity: 'node-maintenance',
        leaseDurationSeconds: 3600,
        acquireTime: microTime(new Date()),
        renewTime: microTime(new Date()),
      },
    });
    const nmo = await failureOf(
      acquireNodeLease(kube, { node: 'taken', workflowId: 'maintenance-taken', durationSeconds: 60 }),
    );
    expect([nmo.type, nmo.nonRetryable]).toEqual(['NodeLeaseHeld', true]);
    expect(nmo.message).toContain('node-maintenance');

    const lost = await failureOf(renewNodeLease(kube, { node: 'taken', workflowId: 'maintenance-taken' }));
    expect([lost.type, lost.nonRetryable]).toEqual(['NodeLeaseLost', true]);
    expect(await releaseNodeLease(kube, { node: 'taken', workflowId: 'maintenance-taken' })).toEqual({
      released: false,
    });
    expect((await leaseOf('taken'))?.spec.holderIdentity).toBe('node-maintenance');
  });

  it('takes over an expired lease, counting the transition', async () => {
    const old = new Date(Date.now() - 120_000);
    await kube.patch(paths.lease(NODE_LEASE.namespace, NODE_LEASE.name('taken')), {
      spec: { leaseDurationSeconds: 30, acquireTime: microTime(old), renewTime: microTime(old) },
    });
    const result = await acquireNodeLease(kube, {
      node: 'taken',
      workflowId: 'maintenance-taken',
      durationSeconds: 90,
    });
    expect(result).toMatchObject({ outcome: 'takenOver', previousHolder: 'node-maintenance' });
    const lease = await leaseOf('taken');
    expect(lease?.spec).toMatchObject({
      holderIdentity: 'maintenance-taken',
      leaseDurationSeconds: 90,
      leaseTransitions: 1,
    });
    expect(Date.parse(lease?.spec.acquireTime)).toBeGreaterThan(old.getTime());
    expect(await nodeLeaseHolders(kube, 'taken')).toEqual([{ holder: 'maintenance-taken', source: 'pitstop' }]);
  });

  it('releases only its own lease; releasing again is done already', async () => {
    expect(await releaseNodeLease(kube, { node: 'plain', workflowId: 'maintenance-rival' })).toEqual({
      released: false,
    });
    expect((await leaseOf('plain'))?.spec.holderIdentity).toBe(WF);
    expect(await releaseNodeLease(kube, { node: 'plain', workflowId: WF })).toEqual({ released: true });
    expect(await leaseOf('plain')).toBeUndefined();
    expect(await releaseNodeLease(kube, { node: 'plain', workflowId: WF })).toEqual({ released: false });
    const lost = await failureOf(renewNodeLease(kube, { node: 'plain', workflowId: WF }));
    expect(lost.type).toBe('NodeLeaseLost');
    expect(await nodeLeaseHolders(kube, 'plain')).toEqual([]);
  });
});

describe('events on the node', () => {
  it('records Events that kubectl describe node lists (involvedObject uid = node name, in default)', async () => {
    await recordNodeEvent(kube, { node: 'plain', reason: 'MaintenanceStarted', message: 'NIC swap, by ops' });
    await recordNodeEvent(kube, {
      node: 'plain',
      reason: 'HoldReminder',
      message: `waiting for release ${'x'.repeat(3000)}`,
      type: 'Warning',
    });
    const events = await kube.list(paths.events('default'), {
      fieldSelector: 'involvedObject.kind=Node,involvedObject.name=plain,involvedObject.uid=plain',
    });
    const byReason = Object.fromEntries(events.items.map((e) => [e.reason as string, e]));
    expect(Object.keys(byReason).sort()).toEqual(['HoldReminder', 'MaintenanceStarted']);
    expect(byReason.MaintenanceStarted).toMatchObject({
      type: 'Normal',
      message: 'NIC swap, by ops',
      source: { component: 'pitstop' },
      count: 1,
    });
    const warning = byReason.HoldReminder!;
    expect(warning.type).toBe('Warning');
    expect((warning.message as string).length).toBeLessThanOrEqual(1024);
    expect(warning.message as string).toMatch(/^waiting for release x+\.\.\.$/);
  });
});

describe('waitForNodeReady', () => {
  const setOnline = (online: boolean) => kube.patch(bmhPath('openshift-machine-api', 'power'), { spec: { online } });

  it('answers at once when the node already is as asked', async () => {
    const started = Date.now();
    const result = await waitForNodeReady(kube, { node: 'plain', ready: true, timeoutMs: 5000 });
    expect(result).toMatchObject({ node: 'plain', ready: true, status: 'True', reason: 'KubeletReady' });
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('follows a power cycle through one watch: NotReady after power-off, Ready after power-on', async () => {
    // Its own client, so its requests can be counted: a watch, not polling.
    const client = KubeClient.fromFile(sandbox.kubeconfigPath);
    try {
      const beats: { node: string; waitingFor: string; observed?: string }[] = [];
      const down = waitForNodeReady(client, {
        node: 'power',
        ready: false,
        timeoutMs: 20_000,
        heartbeat: (d) => beats.push(d as (typeof beats)[number]),
      });
      await sleep(200);
      await setOnline(false);
      const off = await down;
      expect(off).toMatchObject({ node: 'power', ready: false, status: 'Unknown', reason: 'NodeStatusUnknown' });
      expect(nodeReady(await nodeOf('power'))).toBe(false);
      expect(beats.length).toBeGreaterThanOrEqual(2);
      expect(beats.at(-1)).toMatchObject({ node: 'power', waitingFor: 'NotReady', observed: 'Unknown' });
      expect(client.counter.byVerb.GET ?? 0).toBe(1); // the initial list
      expect(client.counter.byVerb.WATCH ?? 0).toBeGreaterThanOrEqual(1);

      const up = waitForNodeReady(client, { node: 'power', ready: true, timeoutMs: 20_000 });
      await setOnline(true);
      expect(await up).toMatchObject({ node: 'power', ready: true, status: 'True' });
      expect(nodeReady(await nodeOf('power'))).toBe(true);
      expect(client.counter.byVerb.GET ?? 0).toBe(2);
    } finally {
      client.close();
    }
  });

  it('rejects at the deadline with a clear, non-retryable timeout failure naming what it saw', async () => {
    const started = Date.now();
    const failure = await failureOf(waitForNodeReady(kube, { node: 'plain', ready: false, timeoutMs: 600 }));
    expect(Date.now() - started).toBeGreaterThanOrEqual(600);
    expect(Date.now() - started).toBeLessThan(3000);
    expect([failure.type, failure.nonRetryable]).toEqual(['NodeReadyTimeout', true]);
    expect(failure.message).toBe('node plain still Ready after 600ms (Ready=True, KubeletReady)');

    const missing = await failureOf(waitForNodeReady(kube, { node: 'not-yet', ready: true, timeoutMs: 300 }));
    expect(missing.message).toBe('node not-yet not Ready after 300ms (Ready=Missing)');
  });

  it('stops waiting when cancelled', async () => {
    const abort = new AbortController();
    const waiting = waitForNodeReady(kube, { node: 'plain', ready: false, timeoutMs: 20_000, signal: abort.signal });
    await sleep(200);
    abort.abort(new Error('activity cancelled'));
    await expect(waiting).rejects.toThrow('activity cancelled');
  });
});
