// Draining the pods off a node, round by round, against the sandbox's real API server, scheduler and
// disruption controller: what is evicted, what is skipped, what blocks and why, as an administrator sees it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { paths, type KubeClient, type KubeObject } from '../../src/k8s/client.js';
import { cordonNode } from '../../src/activities/node/cordon.js';
import { classifyPod, drainRound, evictPod, type DrainRound } from '../../src/activities/drain.js';
import { parseScenario } from '../../src/sandbox/scenario.js';
import { KNOB } from '../../src/sandbox/model.js';
import type { Sandbox } from '../../src/sandbox/index.js';
import { startSandboxOnly, eventually } from '../support/env.js';
import { vmiOf } from '../support/cluster.js';

const APPS = 'apps';
const NODE = 'drain-me';
const NODES = [
  { name: NODE, bmc: 'none' as const },
  { name: 'spare', bmc: 'none' as const },
];
const DEFAULTS = { node: NODE, deleteEmptyDirData: false, evictUnmanagedPods: false };
let sandbox: Sandbox;
let kube: KubeClient;

const podsOn = async (node: string) =>
  (await kube.list(paths.pods(), { fieldSelector: `spec.nodeName=${node}` })).items;
const podOf = (name: string) => kube.find(paths.pod(APPS, name));
const appPods = async (app: string) =>
  (await kube.list(paths.pods(APPS), { labelSelector: `app=${app}` })).items.filter(
    (p) => !p.metadata.deletionTimestamp,
  );
const key = (p: KubeObject) => `${p.metadata.namespace}/${p.metadata.name}`;
const running = (p: KubeObject) => p.status?.phase === 'Running' && !p.metadata.deletionTimestamp;

beforeAll(async () => {
  sandbox = await startSandboxOnly({
    name: 'drain',
    timing: { bootDelay: '300ms', powerDelay: '100ms', podStop: '100ms' },
    nodes: NODES,
    vms: [{ name: 'guest', node: NODE }],
    workloads: [
      { kind: 'Pod', name: 'static-web', node: NODE, mirror: true },
      { kind: 'Pod', name: 'loner', node: NODE },
      { kind: 'Pod', name: 'batch-done', node: NODE },
    ],
  });
  kube = sandbox.cluster.client;
  // The administrator cordons the spare node while deploying, so every replica lands on the node to drain.
  await kube.patch(paths.node('spare'), { spec: { unschedulable: true } });
  await sandbox.applyScenario(
    parseScenario({
      name: 'drain-workloads',
      nodes: NODES,
      workloads: [
        { kind: 'Deployment', name: 'strict', replicas: 2, pdb: { minAvailable: 2 } },
        { kind: 'Deployment', name: 'lenient', replicas: 2, pdb: { maxUnavailable: 1 } },
        { kind: 'Deployment', name: 'scratch', replicas: 1, emptyDir: true },
        { kind: 'DaemonSet', name: 'agent' },
      ],
    }),
  );
  let states = '';
  await eventually('every pod Running where it belongs', async () => {
    const pods = await kube.list(paths.pods());
    states = pods.items.map((p) => `${p.metadata.name}@${p.spec?.nodeName}:${p.status?.phase}`).join(' ');
    const on = (node: string) => pods.items.filter((p) => p.spec?.nodeName === node && running(p));
    return on(NODE).length === 10 && on('spare').length === 1 && (await vmiOf(kube, 'vms', 'guest'))?.status?.phase;
  }).catch((e: Error) => {
    throw new Error(`${e.message}: ${states}`);
  });
  await kube.patch(paths.podStatus(APPS, 'batch-done'), { status: { phase: 'Succeeded' } });
});

afterAll(async () => {
  await sandbox?.stop();
});

const pdbSettled = (name: string, healthy: number) =>
  eventually(`PDB ${name} observed with ${healthy} healthy pods`, async () => {
    const pdb = await kube.get(paths.resource('policy', 'v1', 'poddisruptionbudgets', APPS, name));
    const s = pdb.status ?? {};
    return s.observedGeneration === pdb.metadata.generation && s.currentHealthy === healthy ? pdb : undefined;
  });

const onlyApp = (names: string[], app: string) => names.filter((n) => n.startsWith(`${APPS}/${app}-`));
const reasonsOf = (round: DrainRound) => Object.fromEntries(round.skipped.map((s) => [s.pod, s.reason]));

describe('drainRound', () => {
  it('first round on the cordoned node: evicts what may go, skips what stays, and says why the rest is blocked', async () => {
    // The spare node is still cordoned too, so an evicted replica's replacement cannot run before the round ends
    // (in the sandbox it would be Ready within milliseconds, and the budget would let the next replica go at once).
    await cordonNode(kube, { node: NODE, workflowId: `maintenance-${NODE}` });
    await pdbSettled('strict', 2);
    await pdbSettled('lenient', 2);
    const before = await podsOn(NODE);
    const named = (prefix: string) => before.filter((p) => p.metadata.name.startsWith(prefix)).map(key);

    const round = await drainRound(kube, DEFAULTS);

    expect(round.total).toBe(10);
    expect(reasonsOf(round)).toEqual({
      [named('agent-')[0]!]: 'DaemonSet',
      'apps/static-web': 'mirror (static) pod',
      'apps/batch-done': 'finished (Succeeded)',
      [named('virt-launcher-guest-')[0]!]: 'virt-launcher (VM plan)',
    });
    // The lenient budget allows one disruption: one replica goes, the other is refused.
    expect(round.evicted, JSON.stringify(round)).toHaveLength(1);
    expect(onlyApp(round.evicted, 'lenient')).toHaveLength(1);
    const blocked = Object.fromEntries(round.blocked.map((b) => [b.pod, b]));
    expect(Object.keys(blocked).sort()).toEqual(
      [
        ...named('strict-'),
        ...named('lenient-').filter((p) => p !== round.evicted[0]),
        ...named('scratch-'),
        'apps/loner',
      ].sort(),
    );
    for (const pod of [...named('strict-'), ...named('lenient-').filter((p) => p !== round.evicted[0])]) {
      expect(blocked[pod]?.by).toBe('eviction');
      expect(blocked[pod]?.reason).toContain('disruption budget');
      expect(blocked[pod]!.reason.length).toBeLessThanOrEqual(200);
    }
    expect(blocked[named('scratch-')[0]!]).toMatchObject({ by: 'policy', reason: expect.stringContaining('emptyDir') });
    expect(blocked['apps/loner']).toMatchObject({ by: 'policy', reason: expect.stringContaining('controller') });
    expect(round.terminating).toEqual([]);
    expect(round.remaining).toBe(6);

    // The cluster agrees: the evicted replica goes; its replacement waits for room (the drained node is
    // cordoned) and runs on the spare node once that is schedulable; nothing else was touched.
    const evicted = round.evicted[0]!.split('/')[1]!;
    await eventually('evicted pod gone', async () => !(await podOf(evicted)));
    const pending = await eventually('lenient replacement Pending, unscheduled', async () =>
      (await appPods('lenient')).find((p) => !p.spec.nodeName),
    );
    expect(pending.status?.phase).toBe('Pending');
    await kube.patch(paths.node('spare'), { spec: { unschedulable: null } });
    await eventually('lenient replacement Running on spare', async () => {
      const pods = await appPods('lenient');
      return pods.length === 2 && pods.some((p) => p.spec.nodeName === 'spare' && running(p));
    });
    const now = await podsOn(NODE);
    expect(now.filter((p) => p.metadata.deletionTimestamp).map(key)).toEqual([]);
    expect(now.map(key).sort()).toEqual(
      before
        .map(key)
        .filter((p) => p !== round.evicted[0])
        .sort(),
    );
  });

  it('later rounds list the pods afresh and move the rest of the lenient Deployment as its budget allows', async () => {
    const rounds: DrainRound[] = [];
    await eventually(
      'no lenient replica left on the node',
      async () => {
        const round = await drainRound(kube, DEFAULTS);
        rounds.push(round);
        const lenient = [...round.evicted, ...round.terminating, ...round.blocked.map((b) => b.pod)];
        return onlyApp(lenient, 'lenient').length === 0;
      },
      20_000,
    );
    // The second replica was evicted in some round, then seen terminating or gone in the next ones.
    expect(rounds.flatMap((r) => onlyApp(r.evicted, 'lenient'))).toHaveLength(1);
    await eventually('both lenient replicas Running on spare', async () => {
      const pods = await appPods('lenient');
      return pods.length === 2 && pods.every((p) => p.spec.nodeName === 'spare' && running(p));
    });
    const last = rounds.at(-1)!;
    expect(
      onlyApp(
        last.blocked.map((b) => b.pod),
        'strict',
      ),
    ).toHaveLength(2);
    expect((await appPods('strict')).every((p) => p.spec.nodeName === NODE && running(p))).toBe(true);
  });

  it('evicts unmanaged pods only with evictUnmanagedPods, and emptyDir pods only with deleteEmptyDirData', async () => {
    // Pods that appear between rounds are in the next round.
    await kube.create(paths.pods(APPS), {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'latecomer', namespace: APPS },
      spec: { nodeName: NODE, containers: [{ name: 'app', image: 'registry.example/late:1' }] },
    });
    const unmanaged = await drainRound(kube, { ...DEFAULTS, evictUnmanagedPods: true });
    expect(unmanaged.evicted).toEqual(['apps/latecomer', 'apps/loner']);
    expect(unmanaged.blocked.find((b) => b.pod.startsWith('apps/scratch-'))).toMatchObject({ by: 'policy' });
    await eventually(
      'unmanaged pods gone for good',
      async () => !(await podOf('loner')) && !(await podOf('latecomer')),
    );

    const [scratch] = await appPods('scratch');
    const emptyDir = await drainRound(kube, { ...DEFAULTS, deleteEmptyDirData: true, evictUnmanagedPods: true });
    expect(emptyDir.evicted).toEqual([key(scratch!)]);
    await eventually('scratch replica Running on spare', async () => {
      const pods = await appPods('scratch');
      return pods.length === 1 && pods[0]!.spec.nodeName === 'spare' && running(pods[0]!) ? pods : undefined;
    });
  });

  it('counts a pod that is already terminating as still to go, without evicting it again, until it is gone', async () => {
    await kube.create(paths.pods(APPS), {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'sticky', namespace: APPS, annotations: { [KNOB.stuckTerminating]: 'true' } },
      spec: { nodeName: NODE, containers: [{ name: 'app', image: 'registry.example/sticky:1' }] },
    });
    await kube.delete(paths.pod(APPS, 'sticky'));
    const options = { ...DEFAULTS, deleteEmptyDirData: true, evictUnmanagedPods: true };
    const stuck = await eventually('nothing but sticky terminating', async () => {
      const r = await drainRound(kube, options);
      return r.terminating.length === 1 ? r : undefined;
    });
    expect(stuck.terminating).toEqual(['apps/sticky']);
    expect(stuck.evicted).toEqual([]);
    expect(stuck.remaining).toBe(stuck.blocked.length + 1);

    await kube.delete(paths.pod(APPS, 'sticky'), { gracePeriodSeconds: 0 });
    const after = await drainRound(kube, options);
    expect(after.terminating).toEqual([]);
    expect(after.remaining).toBe(stuck.remaining - 1);
  });

  it('ends with only the budget-bound pods to go; skipped pods and the VM stay untouched', async () => {
    const options = { ...DEFAULTS, deleteEmptyDirData: true, evictUnmanagedPods: true };
    const round = await eventually('nothing terminating on the node', async () => {
      const r = await drainRound(kube, options);
      return r.terminating.length === 0 ? r : undefined;
    });
    expect(round.evicted).toEqual([]);
    expect(round.remaining).toBe(2);
    expect(
      onlyApp(
        round.blocked.map((b) => b.pod),
        'strict',
      ),
    ).toHaveLength(2);
    expect(Object.values(reasonsOf(round)).sort()).toEqual([
      'DaemonSet',
      'finished (Succeeded)',
      'mirror (static) pod',
      'virt-launcher (VM plan)',
    ]);
    const left = await podsOn(NODE);
    expect(left).toHaveLength(6);
    expect(left.every((p) => !p.metadata.deletionTimestamp)).toBe(true);
    const vmi = await vmiOf(kube, 'vms', 'guest');
    expect([vmi?.status?.phase, vmi?.status?.nodeName]).toEqual(['Running', NODE]);
  });
});

describe('evictPod', () => {
  it('answers gone for a pod that no longer exists, and never evicts a newer pod that took its name', async () => {
    const create = () =>
      kube.create(paths.pods(APPS), {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'phoenix', namespace: APPS },
        spec: { nodeName: 'spare', containers: [{ name: 'app', image: 'registry.example/phoenix:1' }] },
      });
    const first = await create();
    await kube.delete(paths.pod(APPS, 'phoenix'));
    await eventually('first phoenix gone', async () => !(await podOf('phoenix')));
    expect(await evictPod(kube, first)).toEqual({ result: 'gone' });

    const second = await create();
    expect(await evictPod(kube, first)).toEqual({ result: 'gone' });
    const still = await podOf('phoenix');
    expect(still?.metadata.uid).toBe(second.metadata.uid);
    expect(still?.metadata.deletionTimestamp).toBeUndefined();

    expect(await evictPod(kube, second)).toEqual({ result: 'evicted' });
    await eventually('second phoenix gone', async () => !(await podOf('phoenix')));
  });

  it('carries the server’s short reason when a disruption budget refuses', async () => {
    const [pod] = await appPods('strict');
    const answer = await evictPod(kube, pod!);
    expect(answer.result).toBe('blocked');
    expect(answer.result === 'blocked' && answer.reason).toBe(
      "Cannot evict pod as it would violate the pod's disruption budget.",
    );
  });
});

describe('classifyPod', () => {
  it('names every drain option a pod needs, and lets a skip win over a block', () => {
    const pod = {
      metadata: { name: 'scratchpad', namespace: APPS },
      spec: { volumes: [{ name: 'tmp', emptyDir: {} }] },
      status: { phase: 'Running' },
    };
    expect(classifyPod(pod, { deleteEmptyDirData: false, evictUnmanagedPods: false })).toEqual({
      action: 'block',
      reason: 'no controller (policy.drain.evictUnmanagedPods); uses emptyDir (policy.drain.deleteEmptyDirData)',
    });
    expect(classifyPod(pod, { deleteEmptyDirData: true, evictUnmanagedPods: true })).toEqual({ action: 'evict' });
    const finished = { ...pod, status: { phase: 'Failed' } };
    expect(classifyPod(finished, { deleteEmptyDirData: false, evictUnmanagedPods: false })).toEqual({
      action: 'skip',
      reason: 'finished (Failed)',
    });
  });
});
