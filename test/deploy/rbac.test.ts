// Proves deploy/'s RBAC: the worker, authenticated to the sandbox API server (RBAC authorizer on) as deploy/'s
// ServiceAccount with a token from the TokenRequest API, bound only to deploy/'s roles, runs a full maintenance
// (migration, shutdown and restore, pod eviction, Metal3 power, events, lease) and a repair (fence, out-of-service
// taint, force delete, recovery). Without the eviction rule, or
// without the VirtualMachineInstanceMigration rule, a maintenance fails and is rolled back.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NativeConnection, type Worker } from '@temporalio/worker';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { inject } from 'vitest';
import { KubeClient, kv, paths } from '../../src/k8s/client.js';
import { createPitstopWorker } from '../../src/worker/worker.js';
import { PodRequestCache } from '../../src/activities/podRequests.js';
import type { MaintenanceResult } from '../../src/domain/progress.js';
import { startTestEnv, eventually, type TestEnv, FAST_TIMING } from '../support/env.js';
import { crashNode, nodeReadyStatus, untilVmisRunning } from '../support/cluster.js';
import { progressQuery, releaseUpdate } from '../../src/workflows/messages.js';
import { invariantViolations, recordBefore } from '../support/invariants.js';
import { TEST_POLICY } from '../support/maintenance.js';
import { renderDeploy } from './kustomize.js';
import { mayDo, serviceAccountClient, withoutRule as withoutDeployRule } from './serviceAccount.js';
import { WORKFLOW_TYPES } from '../../src/domain/workflowNames.js';
import type { nodeMaintenance } from '../../src/workflows/index.js';

let env: TestEnv;
let saKube: KubeClient;
let podRequests: PodRequestCache;
let connection: NativeConnection;
let worker: Worker;
let running: Promise<void>;
const objects = renderDeploy();

/** Whether the ServiceAccount may do `verb` on `resource` in `namespace`. */
const saMay = (verb: string, group: string, resource: string, subresource?: string, namespace = 'vms') =>
  mayDo(saKube, verb, group, resource, subresource, namespace);

/** deploy/'s rule for `resource` taken out of its role for the life of `body`, then put back. */
const withoutRule = (resource: string, body: () => Promise<void>) =>
  withoutDeployRule(env, saKube, objects, resource, body);

beforeAll(async () => {
  env = await startTestEnv({
    worker: false,
    scenario: {
      name: 'rbac',
      timing: FAST_TIMING,
      kubevirt: { evictionStrategy: 'LiveMigrate' },
      nodes: [
        { name: 'cp-{n}', count: 3, controlPlane: true, memory: '64Gi' },
        { name: 'worker-{n}', count: 3, memory: '256Gi', bmc: 'metal3' },
        { name: 'spare-{n}', count: 2, memory: '256Gi', bmc: 'metal3' },
      ],
      vms: [
        { name: 'moves-1', node: 'worker-1', storage: 'rwx' },
        { name: 'moves-2', node: 'worker-2', storage: 'rwx' },
        { name: 'moves-3', node: 'worker-3', storage: 'rwx' },
        { name: 'restarts', node: 'spare-1', storage: 'rwo' },
        { name: 'stops', node: 'worker-1', evictionStrategy: 'None', terminationGracePeriodSeconds: 1 },
        // Stopped and started through KubeVirt's stop/start subresources (its runStrategy is kept).
        {
          name: 'manual',
          node: 'worker-1',
          runStrategy: 'Manual',
          evictionStrategy: 'None',
          terminationGracePeriodSeconds: 1,
          nodeSelector: { 'kubernetes.io/hostname': 'worker-1' },
        },
        // Always on worker-2, so every maintenance of worker-2 shuts it down (and restores it).
        {
          name: 'stops-2',
          node: 'worker-2',
          evictionStrategy: 'None',
          terminationGracePeriodSeconds: 1,
          nodeSelector: { 'kubernetes.io/hostname': 'worker-2' },
        },
      ],
      workloads: [
        { kind: 'Pod', name: 'bare-1', node: 'worker-1' },
        { kind: 'Pod', name: 'bare-2', node: 'worker-2' },
      ],
    },
  });
  await untilVmisRunning(env.kube, 7);

  // deploy/'s RBAC objects, as `kubectl apply -k deploy/` would create them, and its ServiceAccount.
  saKube = await serviceAccountClient(env, objects);
  podRequests = new PodRequestCache(saKube);

  connection = await NativeConnection.connect({ address: inject('temporalAddress') });
  worker = await createPitstopWorker({
    connection,
    namespace: 'default',
    taskQueue: env.taskQueue,
    kube: saKube,
    podRequests,
    workflowBundlePath: inject('workflowBundlePath'),
  });
  running = worker.run();
});

afterAll(async () => {
  podRequests?.stop();
  if (worker) {
    worker.shutdown();
    await running;
  }
  await connection?.close();
  saKube?.close();
  await env?.stop();
});

function start(node: string): Promise<WorkflowHandle> {
  return env.client.workflow.start<typeof nodeMaintenance>(WORKFLOW_TYPES.nodeMaintenance, {
    taskQueue: env.taskQueue,
    workflowId: `maintenance-${node}#${randomUUID().slice(0, 8)}`,
    args: [
      {
        node,
        hold: 'none',
        power: 'metal3',
        policy: { ...TEST_POLICY, drain: { ...TEST_POLICY.drain, evictUnmanagedPods: true } },
      },
    ],
  });
}

/** The run's failure, with the message of every cause down the chain. */
async function failureOf(handle: WorkflowHandle): Promise<string> {
  try {
    await handle.result();
  } catch (e) {
    expect(e).toBeInstanceOf(WorkflowFailedError);
    const messages: string[] = [];
    for (let c: unknown = e; c; c = (c as { cause?: unknown }).cause) messages.push((c as Error).message);
    return messages.join(' ← ');
  }
  throw new Error('the maintenance succeeded');
}

/** Messages of the activity failures in the run's history. */
async function activityFailures(handle: WorkflowHandle): Promise<string[]> {
  const events = (await handle.fetchHistory()).events ?? [];
  return events.flatMap((e) => {
    const failure = e.activityTaskFailedEventAttributes?.failure;
    return failure ? [failure.message ?? ''] : [];
  });
}

describe("deploy/'s RBAC on a cluster with the RBAC authorizer", () => {
  it('the ServiceAccount is who the worker is, and it may do no more than the roles say', async () => {
    const who = await saKube.request<{ status: { userInfo: { username: string } } }>(
      'POST',
      '/apis/authentication.k8s.io/v1/selfsubjectreviews',
      { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' },
    );
    expect(who.status.userInfo.username).toBe('system:serviceaccount:pitstop:pitstop');
    expect(await saMay('create', '', 'pods', 'eviction')).toBe(true);
    // The repair runbook force-deletes the pods and volume attachments of a node it has fenced; nothing creates them.
    expect(await saMay('delete', '', 'pods')).toBe(true);
    expect(await saMay('create', '', 'pods')).toBe(false);
    expect(await saMay('delete', 'storage.k8s.io', 'volumeattachments', undefined, '')).toBe(true);
    expect(await saMay('create', 'storage.k8s.io', 'volumeattachments', undefined, '')).toBe(false);
    expect(await saMay('get', '', 'secrets')).toBe(false);
    expect(await saMay('create', '', 'namespaces')).toBe(false);
    expect(await saMay('update', 'kubevirt.io', 'virtualmachines')).toBe(false);
    // virtctl's stop/start for Manual and RerunOnFailure VMs, and nothing else of KubeVirt's subresources.
    expect(await saMay('update', 'subresources.kubevirt.io', 'virtualmachines', 'stop')).toBe(true);
    expect(await saMay('update', 'subresources.kubevirt.io', 'virtualmachines', 'start')).toBe(true);
    expect(await saMay('update', 'subresources.kubevirt.io', 'virtualmachines', 'restart')).toBe(false);
    expect(await saMay('update', 'subresources.kubevirt.io', 'virtualmachineinstances', 'console')).toBe(false);
  });

  it('a full maintenance succeeds as the ServiceAccount', async () => {
    const before = await recordBefore(env.kube);
    const manualBefore = await env.kube.get(kv('virtualmachines', 'vms', 'manual'));
    const handle = await start('worker-1');
    const result = (await handle.result()) as MaintenanceResult;
    expect(result.outcome).toBe('Completed');
    expect(result.summary).toMatchObject({ migrated: 1, restored: 2, podsEvicted: 1 });
    // The Manual VM went through the subresources: its spec was never written.
    const manualAfter = await env.kube.get(kv('virtualmachines', 'vms', 'manual'));
    expect(manualAfter.metadata.generation).toBe(manualBefore.metadata.generation);
    expect(manualAfter.spec).toEqual(manualBefore.spec);
    const progress = await handle.query(progressQuery);
    expect(progress.power).toBe('on');
    expect(await invariantViolations(env.kube, before, 'worker-1')).toEqual([]);
    // The pods rule lets the worker watch pods: capacity came from its cache, not from lists of every pod.
    expect(podRequests.answered.fromCache).toBeGreaterThan(0);
    expect(podRequests.answered.byList).toBe(0);
  });

  it('without the pods/eviction rule the drain is forbidden and the maintenance rolls back', async () => {
    await withoutRule('pods/eviction', async () => {
      const before = await recordBefore(env.kube);
      const handle = await start('worker-2');
      const failure = await failureOf(handle);
      // The workflow's own message carries the API server's answer, not just "Activity task failed".
      expect(failure).toMatch(/rolled back: drain worker-2: 403 Forbidden: .*cannot create resource "pods\/eviction"/);
      expect(await activityFailures(handle)).toEqual([
        expect.stringMatching(/403 Forbidden: .*cannot create resource "pods\/eviction"/),
      ]);
      expect((await handle.query(progressQuery)).phase).toBe('RolledBack');
      expect(await invariantViolations(env.kube, before, 'worker-2')).toEqual([]);
    });
  });

  it('without the subresources.kubevirt.io rule the Manual VM cannot be stopped: the maintenance rolls back', async () => {
    await withoutRule('virtualmachines/stop', async () => {
      const before = await recordBefore(env.kube);
      const handle = await start('worker-1');
      await failureOf(handle);
      const failures = await activityFailures(handle);
      expect(
        failures.some((f) =>
          /403 Forbidden: .*cannot update resource "virtualmachines\/stop" in API group "subresources.kubevirt.io"/.test(
            f,
          ),
        ),
      ).toBe(true);
      expect(await invariantViolations(env.kube, before, 'worker-1')).toEqual([]);
    });
  });

  it('without the virtualmachineinstancemigrations rule the maintenance fails before it changes anything', async () => {
    await withoutRule('virtualmachineinstancemigrations', async () => {
      const before = await recordBefore(env.kube);
      const handle = await start('worker-3');
      const failure = await failureOf(handle);
      // Preflight already reads the migrations in flight: refused before anything changed.
      expect(failure).toMatch(/403 Forbidden: .*cannot list resource "virtualmachineinstancemigrations"/);
      expect((await handle.query(progressQuery)).phase).toBe('Preflight');
      expect(await invariantViolations(env.kube, before, 'worker-3')).toEqual([]);
    });
  });

  it('without the events rule a maintenance still completes: Events mirror the progress, they do not gate it', async () => {
    await withoutRule('events', async () => {
      const pitstopEvents = async () =>
        (await env.kube.list(paths.events('default'), { fieldSelector: 'involvedObject.name=worker-3,source=pitstop' }))
          .items.length;
      const eventsBefore = await pitstopEvents();
      const before = await recordBefore(env.kube);
      const handle = await start('worker-3');
      const result = (await handle.result()) as MaintenanceResult;
      expect(result.outcome).toBe('Completed');
      expect(await pitstopEvents()).toBe(eventsBefore);
      expect(await invariantViolations(env.kube, before, 'worker-3')).toEqual([]);
    });
  });

  it('a repair of a crashed node succeeds as the ServiceAccount (fence, out-of-service, force delete, recovery)', async () => {
    await crashNode(env.kube, 'spare-1');
    await eventually(
      'spare-1 Ready=Unknown',
      async () => nodeReadyStatus(await env.kube.get(paths.node('spare-1'))) === 'Unknown',
    );
    const handle = await env.client.workflow.start<typeof nodeMaintenance>(WORKFLOW_TYPES.nodeMaintenance, {
      taskQueue: env.taskQueue,
      workflowId: `maintenance-spare-1#${randomUUID().slice(0, 8)}`,
      // podsGoneTimeout 1s: the force delete of pods and volume attachments runs too when the taint is slower.
      args: [
        {
          node: 'spare-1',
          mode: 'repair',
          power: 'metal3',
          policy: { ...TEST_POLICY, repair: { podsGoneTimeout: '1s' } },
        },
      ],
    });
    await eventually('the repair held', async () => (await handle.query(progressQuery)).phase === 'Hold');
    const held = await handle.query(progressQuery);
    // Earlier tests may have moved other VMs onto spare-1: each of them recovers too.
    expect(held.vms).toContainEqual(expect.objectContaining({ vmi: 'vms/restarts', state: 'recovered' }));
    expect(held.vms.filter((r) => r.state !== 'recovered')).toEqual([]);
    await handle.executeUpdate(releaseUpdate, { args: [{}] });
    const result = (await handle.result()) as MaintenanceResult;
    expect(result.summary).toMatchObject({ recovered: held.vms.length, notRecovered: 0 });
    // Nothing the repair called was forbidden (a passing API hiccup under load may be retried, a 403 never).
    expect((await activityFailures(handle)).filter((m) => /403|[Ff]orbidden/.test(m))).toEqual([]);
  });

  // Every other rule a maintenance needs on its way (secrets: Redfish only).
  it.each([
    'nodes',
    'pods',
    'kubevirts',
    'virtualmachines',
    'virtualmachineinstances',
    'baremetalhosts',
    'machines',
    'leases',
  ])('without the %s rule the maintenance fails (403) and leaves the cluster as it was', async (resource) => {
    await withoutRule(resource, async () => {
      const before = await recordBefore(env.kube);
      const handle = await start('worker-2');
      await failureOf(handle);
      const failures = await activityFailures(handle);
      expect(failures.some((f) => f.includes('403 Forbidden') && f.includes(`resource "${resource}"`))).toBe(true);
      expect(await invariantViolations(env.kube, before, 'worker-2')).toEqual([]);
    });
  });
});
