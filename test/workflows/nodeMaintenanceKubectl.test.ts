// NodeMaintenance CRs as an administrator drives them from a shell or a GitOps tool, with the project's own kubectl
// (v1.36.3): `kubectl apply -f` of a CR file starts the maintenance, `kubectl get nm` / `describe nm` show it,
// `kubectl delete -f` ends it (and returns only once the CR is gone: kubectl waits for the finalizer). The controller
// runs as deploy/'s ServiceAccount (RBAC authorizer on), so every step here also proves its RBAC. Then the refusals
// only the run's preflight can make (other objects): control-plane quorum, a node another remediator holds.
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { paths, type KubeClient } from '../../src/k8s/client.js';
import { nmPath } from '../../src/controller/nodeMaintenance/kube.js';
import { eventually, FAST_TIMING, type TestEnv } from '../support/env.js';
import { bmhPathOf, nodeReady, untilVmisRunning } from '../support/cluster.js';
import {
  createNm,
  eventReasons,
  startControllerEnv,
  untilNm,
  untilNmGone,
  type ControllerEnv,
} from '../support/nodeMaintenance.js';
import { renderDeploy } from '../deploy/kustomize.js';
import { mayDo, serviceAccountClient, withoutRule } from '../deploy/serviceAccount.js';

let world: ControllerEnv;
let env: TestEnv;
let saKube: KubeClient;
const logs: string[] = [];
const objects = renderDeploy();

beforeAll(async () => {
  world = await startControllerEnv({
    scenario: {
      name: 'nodemaintenance-kubectl',
      timing: FAST_TIMING,
      kubevirt: { evictionStrategy: 'LiveMigrate' },
      nodes: [
        { name: 'cp-{n}', count: 3, controlPlane: true, memory: '64Gi' },
        { name: 'worker-{n}', count: 2, memory: '256Gi' },
        { name: 'spare-1', memory: '256Gi' },
      ],
      vms: [{ name: 'app-1', node: 'worker-1', storage: 'rwx' }],
    },
    controllerKube: async (e) => (saKube = await serviceAccountClient(e, objects)),
    log: (line) => logs.push(line),
  });
  env = world.env;
  await untilVmisRunning(env.kube, 1);
});

afterAll(async () => {
  await world?.stop();
});

/** kubectl as the administrator. Asynchronous: the controller runs in this process and must go on meanwhile. */
async function kubectl(...args: string[]): Promise<string> {
  const { stdout } = await promisify(execFile)(inject('kubeBinaries').kubectl, args, {
    env: { ...process.env, KUBECONFIG: env.sandbox.kubeconfigPath },
  });
  return stdout;
}

/** kubectl's table output as rows of cells. */
const table = (text: string) =>
  text
    .trim()
    .split('\n')
    .map((line) => line.trim().split(/\s{2,}/));

const node = (name: string) => env.kube.get(paths.node(name));
const NAME = 'worker-1-kernel';
const LEASE = paths.lease('medik8s-leases', 'node-worker-1');

describe('GitOps: kubectl apply -f, kubectl get nm, kubectl delete -f', () => {
  let file = '';

  it('kubectl apply -f of a CR file starts the drain-only maintenance; get nm shows it, describe tells it', async () => {
    file = join(env.sandbox.cluster.dir, 'nm.yaml');
    writeFileSync(
      file,
      [
        'apiVersion: nodemaintenance.medik8s.io/v1beta1',
        'kind: NodeMaintenance',
        `metadata: { name: ${NAME} }`,
        'spec: { nodeName: worker-1, reason: kernel upgrade }',
        '',
      ].join('\n'),
    );
    expect(await kubectl('apply', '-f', file)).toBe(`nodemaintenance.nodemaintenance.medik8s.io/${NAME} created\n`);
    await untilNm(env, NAME, 'Succeeded', (cr) => cr.status?.phase === 'Succeeded');
    expect((await node('worker-1')).spec.unschedulable).toBe(true);

    // The published CRD has no printer columns (NMO's kubebuilder markers define none): NAME and AGE.
    const [header, row] = table(await kubectl('get', 'nm'));
    expect(header).toEqual(['NAME', 'AGE']);
    expect(row![0]).toBe(NAME);
    // The fields, as docs/nodemaintenance.md tells a user to list them.
    const columns =
      'NODE:.spec.nodeName,PHASE:.status.phase,DRAIN:.status.drainProgress,PENDING:.status.pendingPods,' +
      'LEASE-ERRORS:.status.errorOnLeaseCount,ERROR:.status.lastError';
    expect(table(await kubectl('get', 'nm', NAME, '-o', `custom-columns=${columns}`))).toEqual([
      ['NODE', 'PHASE', 'DRAIN', 'PENDING', 'LEASE-ERRORS', 'ERROR'],
      ['worker-1', 'Succeeded', '100', '<none>', '<none>', '<none>'],
    ]);
    // NMO's Events, as `kubectl describe` lists them for the CR and for the Node.
    const described = await kubectl('describe', 'nm', NAME);
    expect(described).toMatch(/BeginMaintenance/);
    expect(described).toMatch(/SucceedMaintenance/);
    expect(await kubectl('describe', 'node', 'worker-1')).toMatch(/SucceedMaintenance/);
  });

  it('a re-sync of the same file changes nothing: the run is not started again', async () => {
    const { runId } = await env.client.workflow.getHandle('maintenance-worker-1').describe();
    expect(await kubectl('apply', '-f', file)).toBe(`nodemaintenance.nodemaintenance.medik8s.io/${NAME} unchanged\n`);
    expect((await env.client.workflow.getHandle('maintenance-worker-1').describe()).runId).toBe(runId);
    expect((await env.kube.get(nmPath(NAME))).status.phase).toBe('Succeeded');
  });

  it('while nothing changes, the CR is not rewritten (kubectl get -w stays quiet)', async () => {
    const before = (await env.kube.get(nmPath(NAME))).metadata.resourceVersion;
    await delay(5000); // two and a half of the controller's looks (POLL_MS)
    expect((await env.kube.get(nmPath(NAME))).metadata.resourceVersion).toBe(before);
  });

  it('a node lease taken from the run shows in errorOnLeaseCount and lastError; given back, both clear', async () => {
    expect((await env.kube.get(LEASE)).spec.holderIdentity).toBe('maintenance-worker-1');
    await env.kube.patch(LEASE, { spec: { holderIdentity: 'node-healthcheck-operator' } });
    try {
      const lost = await untilNm(env, NAME, 'errorOnLeaseCount 2', (cr) => cr.status?.errorOnLeaseCount >= 2, 30_000);
      expect(lost.status.lastError).toMatch(
        /^the node lease medik8s-leases\/node-worker-1 is held by "node-healthcheck-operator", not by maintenance-worker-1 \(\d+ consecutive looks\)$/,
      );
      expect(lost.status.phase).toBe('Succeeded'); // still drained and held: the node stays out of service
    } finally {
      await env.kube.patch(LEASE, { spec: { holderIdentity: 'maintenance-worker-1' } });
    }
    const back = await untilNm(env, NAME, 'lease errors cleared', (cr) => cr.status?.errorOnLeaseCount === undefined);
    expect(back.status.lastError).toBeUndefined();
  });

  it('kubectl delete -f releases the run and returns once the CR is gone: the node is back', async () => {
    expect(await kubectl('delete', '-f', file)).toBe(`nodemaintenance.nodemaintenance.medik8s.io "${NAME}" deleted\n`);
    expect(await env.kube.find(nmPath(NAME))).toBeUndefined();
    expect((await env.client.workflow.getHandle('maintenance-worker-1').describe()).status.name).toBe('COMPLETED');
    const worker = await node('worker-1');
    expect(worker.spec.unschedulable).toBeFalsy();
    expect(nodeReady(worker)).toBe(true);
    expect(await kubectl('describe', 'node', 'worker-1')).toMatch(/UncordonNode/);
    // Every step ran as deploy/'s ServiceAccount: nothing it did was forbidden.
    expect(logs.filter((l) => /403|forbidden/i.test(l))).toEqual([]);
  });
});

describe('refusals only the run can make, shown on the CR', () => {
  it('a control-plane node whose maintenance would break quorum: Failed with the reason, nothing changed', async () => {
    await env.kube.patch(bmhPathOf('cp-3'), { spec: { online: false } });
    try {
      await eventually('cp-3 NotReady', async () => !nodeReady(await node('cp-3')), 60_000);
      const cr = await createNm(env, 'cp-1', 'etcd defrag');
      const failed = await untilNm(env, cr.metadata.name, 'Failed', (c) => c.status?.phase === 'Failed');
      expect(failed.status.lastError).toMatch(
        /node "cp-1" is a control-plane node: taking it down leaves 1 of 3 control-plane nodes Ready, and quorum needs 2/,
      );
      expect(await eventReasons(env, cr)).toContain('FailedMaintenance');
      expect((await node('cp-1')).spec.unschedulable).toBeFalsy();
      await env.kube.delete(nmPath(cr.metadata.name));
      await untilNmGone(env, cr.metadata.name);
    } finally {
      await env.kube.patch(bmhPathOf('cp-3'), { spec: { online: true } });
      await eventually('cp-3 Ready', async () => nodeReady(await node('cp-3')), 60_000);
    }
  });

  it('a node another remediator holds (medik8s lease): Failed naming the holder, its lease untouched', async () => {
    const now = new Date().toISOString().replace(/\.\d+Z$/, '.000000Z');
    const spec = {
      holderIdentity: 'self-node-remediation',
      leaseDurationSeconds: 3600,
      acquireTime: now,
      renewTime: now,
    };
    await env.kube.create(paths.leases('medik8s-leases'), {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: 'node-worker-2', namespace: 'medik8s-leases' },
      spec,
    });
    const cr = await createNm(env, 'worker-2', 'BIOS update');
    const failed = await untilNm(env, cr.metadata.name, 'Failed', (c) => c.status?.phase === 'Failed');
    expect(failed.status.lastError).toMatch(
      /node "worker-2" is already in maintenance: its lease is held by medik8s holder "self-node-remediation"/,
    );
    expect((await node('worker-2')).spec.unschedulable).toBeFalsy();
    const lease = await env.kube.get(paths.lease('medik8s-leases', 'node-worker-2'));
    expect(lease.spec).toMatchObject({ holderIdentity: 'self-node-remediation', renewTime: now });
    await env.kube.delete(nmPath(cr.metadata.name));
    await untilNmGone(env, cr.metadata.name);
  });
});

describe("the controller's RBAC, proven as the worker's is", () => {
  const NM = ['nodemaintenance.medik8s.io', 'nodemaintenances'] as const;

  it('deploy/ lets the ServiceAccount follow and write NodeMaintenances, but not create or delete them', async () => {
    expect(await mayDo(saKube, 'watch', ...NM, undefined, '')).toBe(true);
    expect(await mayDo(saKube, 'patch', ...NM, 'status', '')).toBe(true);
    expect(await mayDo(saKube, 'create', ...NM, undefined, '')).toBe(false);
    expect(await mayDo(saKube, 'delete', ...NM, undefined, '')).toBe(false);
  });

  it('without the nodemaintenances/status rule the CR shows nothing (403 logged); with it back, it catches up', async () => {
    let name = '';
    await withoutRule(env, saKube, objects, 'nodemaintenances/status', async () => {
      const seen = logs.length;
      name = (await createNm(env, 'spare-1', 'firmware')).metadata.name;
      await eventually('the 403 logged', async () =>
        logs.slice(seen).some((l) => l.includes(name) && /403 Forbidden.*nodemaintenances\/status/.test(l)),
      );
      expect((await env.kube.get(nmPath(name))).status).toBeUndefined();
    });
    await untilNm(env, name, 'Succeeded', (cr) => cr.status?.phase === 'Succeeded');
    await env.kube.delete(nmPath(name));
    await untilNmGone(env, name);
    expect((await node('spare-1')).spec.unschedulable).toBeFalsy();
  });
});
