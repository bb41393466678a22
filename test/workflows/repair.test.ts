// The repair runbook end to end on the sandbox, through the HTTP API: a crashed node with every kind of VM, reported by
// a KubeNodeNotReady alert to the Alertmanager hook, is fenced,
// its VMs restart elsewhere as KubeVirt would restart them, and the release returns the repaired node to service;
// a node without power control waits for the operator's confirmFenced and, cancelled after the fence, is left off
// and cordoned. The safety invariant (no VM on two nodes) is sampled all along and read from the cluster at the end.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kv, paths, type KubeObject } from '../../src/k8s/client.js';
import { OUT_OF_SERVICE_TAINT } from '../../src/domain/contract.js';
import { startTestEnv, eventually, type TestEnv } from '../support/env.js';
import { bmhPathOf, crashNode, nodeReadyStatus, untilVmisRunning } from '../support/cluster.js';
import { startTestApi, type TestApi } from '../support/api.js';
import { recordHistory } from '../support/histories.js';
import { MigrationMonitor, vmsOnTwoNodesNow } from '../support/invariants.js';
import { kubeNodeNotReadyWebhook } from '../../src/chaos/storm.js';

const NS = 'vms';
const REPAIR_POLICY = { repair: { podsGoneTimeout: '20s', recoverTimeout: '1m' }, hold: { deadline: '30m' } };

let env: TestEnv;
let api: TestApi;
let monitor: MigrationMonitor;

beforeAll(async () => {
  env = await startTestEnv({
    scenario: {
      name: 'repair',
      nodes: [
        { name: 'broken' },
        { name: 'nobmc', bmc: 'none' },
        { name: 'midway' },
        { name: 'spare-{n}', count: 3, bmc: 'none' },
      ],
      vms: [
        { name: 'always', node: 'broken', storage: 'rwx' },
        { name: 'rwo', node: 'broken', storage: 'rwo' },
        { name: 'rerun', node: 'broken', runStrategy: 'RerunOnFailure' },
        { name: 'manual', node: 'broken', runStrategy: 'Manual' },
        { name: 'once', node: 'broken', runStrategy: 'Once' },
        { name: 'halted', node: 'broken', runStrategy: 'Halted' },
        { name: 'bare', node: 'broken', standalone: true },
        { name: 'lonely', node: 'nobmc' },
        // Long migrations: midway crashes while they run.
        {
          name: 'slow-1',
          node: 'midway',
          storage: 'rwx',
          evictionStrategy: 'LiveMigrate',
          knobs: { migrationDuration: '60s' },
        },
        {
          name: 'slow-2',
          node: 'midway',
          storage: 'rwx',
          evictionStrategy: 'LiveMigrate',
          knobs: { migrationDuration: '60s' },
        },
      ],
    },
    timing: { nodeMonitorGracePeriodMs: 1000, bootDelayMs: 300, powerDelayMs: 200, migrationDurationMs: 300 },
  });
  await untilVmisRunning(env.kube, 9, NS);
  api = await startTestApi({ client: env.client, taskQueue: env.taskQueue, kube: env.kube });
  monitor = new MigrationMonitor(env.kube, NS, 5).start();
});

afterAll(async () => {
  await monitor?.stop();
  await api?.close();
  await env?.stop();
});

const view = async (node: string) => (await api.call('GET', `/v1/maintenances/${node}`, { token: api.readToken })).body;
const inPhase = (node: string, phase: string, ms = 120_000) =>
  eventually(
    `${node} in ${phase}`,
    async () => ((await view(node)).progress?.phase === phase ? view(node) : undefined),
    ms,
  );
const vmi = (name: string) => env.kube.find(kv('virtualmachineinstances', NS, name));
const taintKeys = (n: KubeObject) => (n.spec?.taints ?? []).map((t: { key: string }) => t.key);

async function crashed(node: string): Promise<void> {
  await crashNode(env.kube, node);
  await eventually(
    `${node} Ready=Unknown`,
    async () => nodeReadyStatus(await env.kube.get(paths.node(node))) === 'Unknown',
  );
}

describe('a crashed node with a BMC', () => {
  const uids = new Map<string, string | undefined>();

  it('is fenced, its VMs restart elsewhere by run strategy, and the rest is named', async () => {
    for (const name of ['always', 'rwo', 'rerun', 'manual']) uids.set(name, (await vmi(name))?.metadata.uid);
    await crashed('broken');
    // Started as a real repair is: kube-prometheus' KubeNodeNotReady, posted by Alertmanager to the hook, whose
    // default alert table asks for the repair runbook (default policy: nothing here is tuned to the sandbox).
    const started = await api.call('POST', '/v1/hooks/alertmanager', { body: kubeNodeNotReadyWebhook(['broken']) });
    expect(started.status).toBe(200);
    expect(started.body.started).toEqual([
      expect.objectContaining({ node: 'broken', mode: 'repair', alerts: ['KubeNodeNotReady (nr-broken)'] }),
    ]);
    // The Temporal UI lists the run by node, runbook, the alert and its source.
    const summary = await (await env.client.workflow.getHandle('maintenance-broken').describe()).staticSummary();
    expect(summary).toMatch(/^broken: repair: alert KubeNodeNotReady(: .+)? — alertmanager$/);

    const held = (await inPhase('broken', 'Hold')).progress;
    expect(held.runbook).toBe('repair');
    expect(held.timeline.map((t: { phase: string }) => t.phase)).toEqual(
      expect.arrayContaining(['Cordon', 'Fence', 'ReleaseWorkloads', 'RecoverVMs', 'Hold']),
    );
    const rows = Object.fromEntries(held.vms.map((r: { vmi: string }) => [r.vmi, r]));
    for (const name of ['always', 'rwo', 'rerun', 'manual']) {
      expect(rows[`${NS}/${name}`], name).toMatchObject({ state: 'recovered', sourceNode: 'broken' });
      const now = await vmi(name);
      expect(now?.status?.phase, name).toBe('Running');
      expect(now?.status?.nodeName, name).not.toBe('broken');
      expect(now?.metadata.uid, `${name} has a new VMI`).not.toBe(uids.get(name));
      expect(rows[`${NS}/${name}`].newVmiUid).toBe(now?.metadata.uid);
    }
    expect(rows[`${NS}/once`]).toMatchObject({ action: 'staysOff', state: 'left' });
    expect(rows[`${NS}/bare`]).toMatchObject({ action: 'lost', state: 'lost' });
    expect(rows[`${NS}/halted`]).toBeUndefined(); // a Halted VM had no VMI on the node
    const manual = await env.kube.get(kv('virtualmachines', NS, 'manual'));
    expect(manual.spec.runStrategy).toBe('Manual');

    // The machine is off (the BMC says so), the node cordoned and out of service.
    expect((await env.kube.get(bmhPathOf('broken'))).status?.poweredOn).toBe(false);
    const node = await env.kube.get(paths.node('broken'));
    expect(node.spec?.unschedulable).toBe(true);
    expect(taintKeys(node)).toContain(OUT_OF_SERVICE_TAINT.key);
    expect(monitor.violations).toEqual([]);
  });

  it('the release powers it on and returns it to service; the VMs stay where they run', async () => {
    const released = await api.call('POST', '/v1/maintenances/broken/release', { body: { note: 'board replaced' } });
    expect(released.status).toBe(200);
    const done = await eventually('the repair completed', async () => {
      const v = await view('broken');
      return v.status === 'Completed' ? v : undefined;
    });
    expect(done.result.summary).toMatchObject({ recovered: 4, notRecovered: 1, leftOff: 1 });
    await recordHistory('repair-broken-completed', env.client.workflow.getHandle('maintenance-broken'));
    const node = await env.kube.get(paths.node('broken'));
    expect(nodeReadyStatus(node)).toBe('True');
    expect(node.spec?.unschedulable).toBeFalsy();
    expect(taintKeys(node)).not.toContain(OUT_OF_SERVICE_TAINT.key);
    expect((await vmi('always'))?.status?.nodeName).not.toBe('broken');
    const lease = await env.kube.find(paths.lease('medik8s-leases', 'node-broken'));
    expect(lease?.spec?.holderIdentity ?? '').toBe('');
    expect(await vmsOnTwoNodesNow(env.kube, NS)).toEqual([]);
    expect(monitor.violations).toEqual([]);
  });
});

describe('a crashed node without power control', () => {
  it('waits for confirmFenced before anything restarts; cancelled after the fence it is left off and cordoned', async () => {
    const before = (await vmi('lonely'))?.metadata.uid;
    await crashed('nobmc');
    await api.call('POST', '/v1/maintenances', { body: { node: 'nobmc', mode: 'repair', policy: REPAIR_POLICY } });
    const asked = await eventually('the fence decision', async () => {
      const v = await view('nobmc');
      return v.progress?.decisionsPending?.length ? v.progress : undefined;
    });
    expect(asked.decisionsPending[0]).toMatchObject({ vmi: 'node/nobmc', allowed: ['confirmFenced', 'abort'] });
    await new Promise((r) => setTimeout(r, 3000));
    expect((await vmi('lonely'))?.metadata.uid, 'nothing restarted before the fence').toBe(before);
    expect(taintKeys(await env.kube.get(paths.node('nobmc')))).not.toContain(OUT_OF_SERVICE_TAINT.key);

    const decided = await api.call('POST', '/v1/maintenances/nobmc/decide', {
      body: { vmi: 'node/nobmc', action: 'confirmFenced' },
    });
    expect(decided.status).toBe(200);
    const held = (await inPhase('nobmc', 'Hold')).progress;
    expect(held.vms[0]).toMatchObject({ vmi: `${NS}/lonely`, state: 'recovered' });
    const moved = await vmi('lonely');
    expect(moved?.metadata.uid).not.toBe(before);
    expect(moved?.status?.nodeName).not.toBe('nobmc'); // broken is back in service by now: it may land there

    await api.call('POST', '/v1/maintenances/nobmc/cancel', { body: {} });
    const ended = await eventually('the run ended', async () => {
      const v = await view('nobmc');
      return v.status !== 'Running' ? v : undefined;
    });
    expect(ended.phase).toBe('NeedsAttention');
    expect(ended.failure).toMatchObject({ type: 'LeftFenced' });
    const node = await env.kube.get(paths.node('nobmc'));
    expect(node.spec?.unschedulable).toBe(true);
    expect(taintKeys(node)).toEqual(expect.arrayContaining([OUT_OF_SERVICE_TAINT.key, 'pitstop.io/maintenance']));
    expect(node.metadata.annotations?.['pitstop.io/maintenance-phase']).toBe('NeedsAttention');
    const lease = await env.kube.find(paths.lease('medik8s-leases', 'node-nobmc'));
    expect(lease?.spec?.holderIdentity ?? '').toBe('');
    expect(monitor.violations).toEqual([]);
  });
});

describe('a node that crashes during a planned drain', () => {
  it('stops with NodeFailed and stays cordoned; the repair it names then fences it and recovers its VMs', async () => {
    const drain = await api.call('POST', '/v1/maintenances', {
      body: { node: 'midway', mode: 'planned', hold: 'none', policy: { migration: { timeout: '6s', attempts: 1 } } },
    });
    expect(drain.status).toBe(201);
    await eventually('a migration off midway running', async () =>
      (await view('midway')).progress?.vms?.some((r: { state: string }) => r.state === 'migrating'),
    );
    const onMidway = (await env.kube.list(kv('virtualmachineinstances', NS))).items
      .filter((v) => v.status?.nodeName === 'midway')
      .map((v) => v.metadata.name);
    await crashed('midway');

    const stopped = await eventually('the drain ended', async () => {
      const v = await view('midway');
      return v.status !== 'Running' ? v : undefined;
    });
    expect(stopped.failure).toMatchObject({ type: 'NodeFailed' });
    expect(stopped.failure.message).toContain('node midway failed during the drain (Ready=Unknown');
    expect(stopped.failure.message).toContain('start nodeMaintenance {"node":"midway","mode":"repair"}');
    expect((await env.kube.get(paths.node('midway'))).spec?.unschedulable).toBe(true);

    const repair = await api.call('POST', '/v1/maintenances', {
      body: { node: 'midway', mode: 'repair', reason: 'crashed mid-drain', policy: REPAIR_POLICY },
    });
    expect(repair.status).toBe(201);
    const held = (await inPhase('midway', 'Hold')).progress;
    expect(held.runbook).toBe('repair');
    for (const name of onMidway) {
      const now = await vmi(name);
      expect(now?.status?.phase, name).toBe('Running');
      expect(now?.status?.nodeName, name).not.toBe('midway');
    }
    await api.call('POST', '/v1/maintenances/midway/release', { body: { note: 'PSU replaced' } });
    await eventually('the repair completed', async () =>
      (await view('midway')).status === 'Completed' ? true : undefined,
    );
    const node = await env.kube.get(paths.node('midway'));
    expect(nodeReadyStatus(node)).toBe('True');
    expect(node.spec?.unschedulable).toBeFalsy();
    expect(await vmsOnTwoNodesNow(env.kube, NS)).toEqual([]);
    expect(monitor.violations).toEqual([]);
  });
});
