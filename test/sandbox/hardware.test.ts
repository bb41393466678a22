// The simulated kubelet, Metal3 and Redfish BMC, and PodDisruptionBudgets (real API server and
// kube-controller-manager), observed as a user would: through the API server and the BMC's HTTPS endpoint.
import https from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { paths, type KubeClient, type KubeObject } from '../../src/k8s/client.js';
import { bmhPath } from '../../src/sandbox/context.js';
import type { Sandbox } from '../../src/sandbox/index.js';
import type { BmcCredential } from '../../src/sandbox/scenario.js';
import { startSandboxOnly, eventually } from '../support/env.js';
import { nodeReady } from '../support/cluster.js';

const APPS = 'apps';
const BMH_NS = 'openshift-machine-api';
const BOOT_DELAY_MS = 500;
let sandbox: Sandbox;
let kube: KubeClient;

beforeAll(async () => {
  sandbox = await startSandboxOnly({
    name: 'hardware-behaviour',
    timing: { bootDelay: `${BOOT_DELAY_MS}ms`, powerDelay: '200ms', notReadyDelay: '100ms', podStop: '100ms' },
    nodes: [
      // Where the workloads run. The PDB tests come first, while every node is still up, so it does not
      // matter that the scheduler may also place Deployment pods on the machines the later tests power off.
      { name: 'worker-{n}', count: 2, bmc: 'none' },
      { name: 'm3-cycle' },
      { name: 'm3-reboot' },
      { name: 'm3-fails', powerFails: true },
      { name: 'm3-unreachable', bmcUnreachable: true },
      { name: 'm3-never', neverReady: true },
      { name: 'rf-1', bmc: 'redfish' },
      { name: 'rf-unreachable', bmc: 'redfish', bmcUnreachable: true },
      { name: 'rf-fails', bmc: 'redfish', powerFails: true },
    ],
    workloads: [
      { kind: 'Deployment', name: 'strict', replicas: 2, pdb: { minAvailable: 2 } },
      { kind: 'Deployment', name: 'lenient', replicas: 2, pdb: { maxUnavailable: 1 } },
      { kind: 'Pod', name: 'doomed', node: 'worker-1' },
      { kind: 'Pod', name: 'stuck', node: 'worker-1', stuckTerminating: true },
      { kind: 'Pod', name: 'stranded', node: 'm3-cycle' },
    ],
  });
  kube = sandbox.cluster.client;
  let states = '';
  await eventually('every node Ready and every pod Running', async () => {
    const nodes = await kube.list(paths.nodes());
    const pods = await kube.list(paths.pods(APPS));
    states = [
      ...nodes.items.map((n) => `${n.metadata.name}:${nodeReady(n) ? 'Ready' : 'NotReady'}`),
      ...pods.items.map((p) => `${p.metadata.name}:${p.status?.phase}`),
    ].join(' ');
    return (
      nodes.items.length === 10 &&
      nodes.items.every(nodeReady) &&
      pods.items.length === 7 &&
      pods.items.every((p) => p.status?.phase === 'Running')
    );
  }).catch((e: Error) => {
    throw new Error(`${e.message}: ${states}`);
  });
});

afterAll(async () => {
  await sandbox?.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const nodeOf = (name: string) => kube.get(paths.node(name));
const podOf = (name: string) => kube.find(paths.pod(APPS, name));
const bmhOf = (name: string) => kube.get(bmhPath(BMH_NS, name));
const condition = (o: KubeObject, type: string) =>
  (o.status?.conditions ?? []).find((c: { type: string }) => c.type === type) as
    { type: string; status: string; reason?: string } | undefined;
const unreachableTaint = (node: KubeObject) =>
  (node.spec?.taints ?? []).find((t: { key: string }) => t.key === 'node.kubernetes.io/unreachable') as
    { key: string; effect: string } | undefined;
const healthTaints = (node: KubeObject) =>
  (node.spec?.taints ?? []).filter((t: { key: string }) =>
    ['node.kubernetes.io/unreachable', 'node.kubernetes.io/not-ready'].includes(t.key),
  );

const nodeDown = (name: string) =>
  eventually(`${name} NotReady with the unreachable taint`, async () => {
    const node = await nodeOf(name);
    return !nodeReady(node) && unreachableTaint(node) ? node : undefined;
  });
const nodeUp = (name: string) =>
  eventually(`${name} Ready without health taints`, async () => {
    const node = await nodeOf(name);
    return nodeReady(node) && healthTaints(node).length === 0 ? node : undefined;
  });
const poweredOn = (name: string, on: boolean) =>
  eventually(`BareMetalHost ${name} poweredOn=${on}`, async () => {
    const bmh = await bmhOf(name);
    return bmh.status?.poweredOn === on ? bmh : undefined;
  });
const setOnline = (name: string, online: boolean) => kube.patch(bmhPath(BMH_NS, name), { spec: { online } });

/** Asserts `check` holds on every poll for `ms` (for "stays" and "never" claims). */
async function throughout(what: string, ms: number, check: () => Promise<boolean>) {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    expect(await check(), what).toBe(true);
    await sleep(100);
  }
}

/** A POST whose HTTP status we want to see (the API client only reports it for failures). */
async function postStatus(path: string, body: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const options: https.RequestOptions = {};
  await kube.kubeConfig.applyToHTTPSOptions(options);
  const payload = JSON.stringify(body);
  return await new Promise((resolve, reject) => {
    const req = https.request(
      new URL(kube.server + path),
      { ...options, method: 'POST', headers: { ...options.headers, 'Content-Type': 'application/json' } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

const evictionPath = (pod: KubeObject) => paths.podEviction(APPS, pod.metadata.name);
const evictionBody = (pod: KubeObject) => ({
  apiVersion: 'policy/v1',
  kind: 'Eviction',
  metadata: { name: pod.metadata.name, namespace: APPS },
});
const podsOf = async (app: string) =>
  (await kube.list(paths.pods(APPS), { labelSelector: `app=${app}` })).items.filter(
    (p) => !p.metadata.deletionTimestamp,
  );
const pdbPath = (name: string) => paths.resource('policy', 'v1', 'poddisruptionbudgets', APPS, name);
const pdbSettled = (name: string, healthy: number) =>
  eventually(`PDB ${name} observed with ${healthy} healthy pods`, async () => {
    const pdb = await kube.get(pdbPath(name));
    const s = pdb.status ?? {};
    return s.observedGeneration === pdb.metadata.generation && s.currentHealthy === healthy ? pdb : undefined;
  });

describe('PodDisruptionBudgets (real API server and disruption controller)', () => {
  it('refuses with 429 to evict a pod whose budget allows no disruption', async () => {
    const pdb = await pdbSettled('strict', 2);
    expect(pdb.status.disruptionsAllowed).toBe(0);
    const [pod] = await podsOf('strict');
    const refused = await postStatus(evictionPath(pod!), evictionBody(pod!));
    expect(refused.status).toBe(429);
    expect(String(refused.body.message)).toContain('disruption budget');
    await sleep(300);
    const after = await podOf(pod!.metadata.name);
    expect(after?.metadata.deletionTimestamp).toBeUndefined();
    expect(await podsOf('strict')).toHaveLength(2);
  });

  it('evicts (201) a pod whose budget allows one disruption; the ReplicaSet replaces it and the pod runs', async () => {
    const pdb = await pdbSettled('lenient', 2);
    expect(pdb.status.disruptionsAllowed).toBe(1);
    const before = await podsOf('lenient');
    const victim = before[0]!;
    const evicted = await postStatus(evictionPath(victim), evictionBody(victim));
    expect(evicted.status).toBe(201);
    await eventually('evicted pod gone', async () => !(await podOf(victim.metadata.name)));
    const replacement = await eventually('replacement pod Running and Ready', async () => {
      const pods = await podsOf('lenient');
      const fresh = pods.find((p) => !before.some((b) => b.metadata.uid === p.metadata.uid));
      return fresh?.spec.nodeName && fresh.status?.phase === 'Running' && condition(fresh, 'Ready')?.status === 'True'
        ? fresh
        : undefined;
    });
    expect(replacement.metadata.ownerReferences?.[0]?.kind).toBe('ReplicaSet');
    await pdbSettled('lenient', 2);
  });
});

describe('simulated kubelet', () => {
  it('runs a pod the scheduler binds: Running, Ready=True, with a pod IP and ready containers', async () => {
    await kube.create(paths.pods(APPS), {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'scheduled', namespace: APPS },
      spec: { containers: [{ name: 'app', image: 'registry.example/scheduled:1' }] },
    });
    const pod = await eventually('scheduled pod Running', async () => {
      const p = await podOf('scheduled');
      return p?.status?.phase === 'Running' ? p : undefined;
    });
    expect(pod.spec.nodeName).toBeTruthy();
    expect(condition(pod, 'Ready')?.status).toBe('True');
    expect(condition(pod, 'PodScheduled')?.status).toBe('True');
    expect(pod.status.podIP).toMatch(/^10\.244\./);
    expect(pod.status.containerStatuses).toEqual([expect.objectContaining({ name: 'app', ready: true })]);
  });

  it('removes a deleted pod once it has stopped', async () => {
    const pod = await podOf('doomed');
    expect(condition(pod!, 'Ready')?.status).toBe('True');
    await kube.delete(paths.pod(APPS, 'doomed'));
    // terminationGracePeriodSeconds is 5; the simulated containers stop sooner than that.
    await eventually('doomed pod gone', async () => !(await podOf('doomed')), 4000);
  });

  it('leaves a pod that is stuck terminating in Terminating until it is force-deleted', async () => {
    await kube.delete(paths.pod(APPS, 'stuck'));
    await throughout('stuck pod still there, terminating', 1000, async () => {
      const pod = await podOf('stuck');
      return !!pod?.metadata.deletionTimestamp;
    });
    await kube.delete(paths.pod(APPS, 'stuck'), { gracePeriodSeconds: 0 });
    await eventually('stuck pod gone after force delete', async () => !(await podOf('stuck')));
  });
});

describe('simulated Metal3', () => {
  it('online=false powers the host off: NotReady and unreachable taint; its pods stay; online=true brings it back', async () => {
    await setOnline('m3-cycle', false);
    await poweredOn('m3-cycle', false);
    const down = await nodeDown('m3-cycle');
    expect(unreachableTaint(down)?.effect).toBe('NoSchedule');
    expect(condition(down, 'Ready')?.status).not.toBe('True');
    // Nothing evicts the pods of a powered-off node, and without a kubelet a deletion cannot complete.
    await kube.delete(paths.pod(APPS, 'stranded'));
    await throughout('stranded pod still terminating while its node is off', 600, async () => {
      const pod = await podOf('stranded');
      return !!pod?.metadata.deletionTimestamp;
    });

    const poweredOnAt = Date.now();
    await setOnline('m3-cycle', true);
    await poweredOn('m3-cycle', true);
    const up = await nodeUp('m3-cycle');
    expect(Date.now() - poweredOnAt).toBeGreaterThanOrEqual(BOOT_DELAY_MS);
    expect(unreachableTaint(up)).toBeUndefined();
    await eventually('stranded pod gone once the kubelet is back', async () => !(await podOf('stranded')));
    const bmh = await bmhOf('m3-cycle');
    expect(bmh.status).toMatchObject({ operationalStatus: 'OK', poweredOn: true });
  });

  it('keeps an online host powered off while a reboot.metal3.io/<key> annotation is present', async () => {
    const key = 'reboot.metal3.io/pitstop';
    await kube.patch(bmhPath(BMH_NS, 'm3-reboot'), { metadata: { annotations: { [key]: '{"mode":"hard"}' } } });
    await poweredOn('m3-reboot', false);
    await nodeDown('m3-reboot');
    await throughout('host stays off while annotated', 1500, async () => {
      const [bmh, node] = await Promise.all([bmhOf('m3-reboot'), nodeOf('m3-reboot')]);
      return bmh.spec.online === true && bmh.status.poweredOn === false && !nodeReady(node);
    });
    await kube.patch(bmhPath(BMH_NS, 'm3-reboot'), { metadata: { annotations: { [key]: null } } });
    await poweredOn('m3-reboot', true);
    await nodeUp('m3-reboot');
  });

  it('reports a failing power action as operationalStatus error and leaves the host on', async () => {
    await setOnline('m3-fails', false);
    const bmh = await eventually('BareMetalHost in error', async () => {
      const b = await bmhOf('m3-fails');
      return b.status?.operationalStatus === 'error' ? b : undefined;
    });
    expect(bmh.status.errorMessage).toMatch(/power/i);
    expect(bmh.status.poweredOn).toBe(true);
    await throughout('host stays on and Ready', 800, async () => {
      const [b, node] = await Promise.all([bmhOf('m3-fails'), nodeOf('m3-fails')]);
      return b.status.poweredOn === true && b.status.operationalStatus === 'error' && nodeReady(node);
    });
  });

  it('reports an unreachable BMC as operationalStatus error and leaves the host on', async () => {
    await setOnline('m3-unreachable', false);
    const bmh = await eventually('BareMetalHost in error', async () => {
      const b = await bmhOf('m3-unreachable');
      return b.status?.operationalStatus === 'error' ? b : undefined;
    });
    expect(bmh.status.errorMessage).toMatch(/unreachable/i);
    expect(bmh.status.poweredOn).toBe(true);
    await sleep(400);
    expect(nodeReady(await nodeOf('m3-unreachable'))).toBe(true);
  });

  it('powers a never-ready host back on, but its node never becomes Ready again', async () => {
    await setOnline('m3-never', false);
    await poweredOn('m3-never', false);
    await nodeDown('m3-never');
    await setOnline('m3-never', true);
    await poweredOn('m3-never', true);
    await throughout('node stays NotReady well past the boot delay', BOOT_DELAY_MS * 4, async () => {
      const node = await nodeOf('m3-never');
      return !nodeReady(node) && !!unreachableTaint(node);
    });
  });
});

describe('simulated Redfish BMC', () => {
  const credential = (node: string): BmcCredential => {
    const c = sandbox.credentials.find((x) => x.nodeName === node);
    if (!c) throw new Error(`no BMC credential for ${node}`);
    return c;
  };
  const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
  const authOf = (node: string) => basic(credential(node).username, credential(node).password);

  /** One request to the BMC, verifying its certificate against the sandbox CA. */
  function redfish(
    method: 'GET' | 'POST',
    path: string,
    options: { auth?: string; body?: unknown } = {},
  ): Promise<{ status: number; body: Record<string, unknown> }> {
    const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
    return new Promise((resolve, reject) => {
      const req = https.request(
        new URL(sandbox.redfishUrl + path),
        {
          method,
          ca: sandbox.cluster.ca.cert,
          agent: false,
          headers: {
            ...(options.auth ? { Authorization: options.auth } : {}),
            ...(payload ? { 'Content-Type': 'application/json' } : {}),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : {} });
          });
          res.on('error', reject);
        },
      );
      req.setTimeout(5000, () => req.destroy(new Error('no answer within 5 s')));
      req.on('error', reject);
      req.end(payload);
    });
  }
  const system = (node: string) => `/redfish/v1/Systems/${node}`;
  const reset = (node: string, resetType: string) =>
    redfish('POST', `${system(node)}/Actions/ComputerSystem.Reset`, {
      auth: authOf(node),
      body: { ResetType: resetType },
    });
  const powerState = (node: string) =>
    eventually(`${node} PowerState`, async () => {
      const res = await redfish('GET', system(node), { auth: authOf(node) });
      return res.status === 200 ? (res.body.PowerState as string) : undefined;
    });
  const powerStateBecomes = (node: string, state: string) =>
    eventually(`${node} PowerState ${state}`, async () => (await powerState(node)) === state);

  it('keeps the BMC credentials in a Secret in pitstop-bmc, where Pitstop reads them', async () => {
    const c = credential('rf-1');
    expect(c.secretNamespace).toBe('pitstop-bmc');
    const secret = await kube.get(paths.secret('pitstop-bmc', c.secretName));
    const data = secret.data as Record<string, string>;
    const decode = (v: string | undefined) => Buffer.from(v ?? '', 'base64').toString('utf8');
    expect(decode(data.username)).toBe(c.username);
    expect(decode(data.password)).toBe(c.password);
    expect(c.password.length).toBeGreaterThanOrEqual(12);
  });

  it('answers PowerState On over TLS (sandbox CA) with the right credentials, 401 without or with wrong ones', async () => {
    const ok = await redfish('GET', system('rf-1'), { auth: authOf('rf-1') });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ Id: 'rf-1', PowerState: 'On' });
    expect((await redfish('GET', system('rf-1'))).status).toBe(401);
    expect((await redfish('GET', system('rf-1'), { auth: basic(credential('rf-1').username, 'wrong') })).status).toBe(
      401,
    );
    expect((await redfish('GET', system('rf-1'), { auth: basic('root', credential('rf-1').password) })).status).toBe(
      401,
    );
    // Another system's (valid) credentials do not open this one.
    expect((await redfish('GET', system('rf-1'), { auth: authOf('rf-fails') })).status).toBe(401);
  });

  it('ForceOff turns the machine off and its node NotReady; On brings both back', async () => {
    const off = await reset('rf-1', 'ForceOff');
    expect(off.status).toBe(204);
    await powerStateBecomes('rf-1', 'Off');
    await nodeDown('rf-1');
    const on = await reset('rf-1', 'On');
    expect(on.status).toBe(204);
    await powerStateBecomes('rf-1', 'On');
    await nodeUp('rf-1');
  });

  it('answers 400 for an unknown ResetType and changes nothing', async () => {
    const res = await reset('rf-1', 'Explode');
    expect(res.status).toBe(400);
    expect(JSON.stringify(res.body)).toContain('Explode');
    await sleep(400);
    expect(await powerState('rf-1')).toBe('On');
    expect(nodeReady(await nodeOf('rf-1'))).toBe(true);
  });

  it('drops the connection of an unreachable BMC', async () => {
    await expect(redfish('GET', system('rf-unreachable'), { auth: authOf('rf-unreachable') })).rejects.toThrow();
    await expect(reset('rf-unreachable', 'ForceOff')).rejects.toThrow();
    await sleep(400);
    expect(nodeReady(await nodeOf('rf-unreachable'))).toBe(true);
  });

  it('answers 500 when the power action fails, and the machine stays on', async () => {
    const res = await reset('rf-fails', 'ForceOff');
    expect(res.status).toBe(500);
    expect(res.body).toHaveProperty('error');
    await sleep(400);
    expect(await powerState('rf-fails')).toBe('On');
    expect(nodeReady(await nodeOf('rf-fails'))).toBe(true);
  });
});
