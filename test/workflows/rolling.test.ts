// Rolling maintenance through the real Temporal dev server and the sandbox cluster, judged from the cluster.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { paths, type KubeObject } from '../../src/k8s/client.js';
import { Informer } from '../../src/k8s/informer.js';
import { kv, WORKFLOW_ID_LABEL } from '../../src/activities/kubevirt.js';
import type { RollingInput, RollingProgress, RollingResult } from '../../src/domain/rolling.js';
import { startTestEnv, eventually, type TestEnv } from '../support/env.js';
import { untilVmisRunning } from '../support/cluster.js';
import { refusal, TEST_POLICY } from '../support/maintenance.js';
import { invariantViolations, recordBefore } from '../support/invariants.js';

let env: TestEnv;

const WORKERS = ['worker-1', 'worker-2', 'worker-3', 'worker-4', 'worker-5', 'worker-6'];
const VMS = 8;

beforeAll(async () => {
  env = await startTestEnv({
    scenario: {
      name: 'rolling',
      timing: { migrationDuration: '300ms', bootDelay: '500ms', powerDelay: '200ms', vmStop: '200ms' },
      kubevirt: { evictionStrategy: 'LiveMigrate' },
      nodes: [
        { name: 'cp-1', controlPlane: true, memory: '64Gi' },
        { name: 'worker-{n}', count: 6, memory: '64Gi', labels: { pool: 'general' } },
        { name: 'flaky-1', memory: '64Gi', labels: { pool: 'edge' }, neverReady: true },
        { name: 'spare-{n}', count: 2, memory: '64Gi', labels: { pool: 'edge' } },
      ],
      vms: [
        ...WORKERS.map((node) => ({ name: `${node}-vm`, node })),
        { name: 'spare-vm', node: 'spare-2' },
        { name: 'pinned-rwo', node: 'spare-1', storage: 'rwo' as const, terminationGracePeriodSeconds: 1 },
      ],
      workloads: [{ kind: 'Deployment', name: 'web', replicas: 2, pdb: { maxUnavailable: 1 } }],
    },
  });
  await untilVmisRunning(env.kube, VMS);
});

afterAll(async () => {
  await env?.stop();
});

const template = { policy: { ...TEST_POLICY, ready: { timeout: '5s' } } };

async function startRoll(input: RollingInput): Promise<WorkflowHandle> {
  return await env.client.workflow.start('rollingMaintenance', {
    taskQueue: env.taskQueue,
    workflowId: `rolling-${input.name}`,
    args: [{ template, ...input }],
  });
}

const progressOf = (handle: WorkflowHandle) => handle.query<RollingProgress>('progress');

async function untilProgress(
  handle: WorkflowHandle,
  what: string,
  check: (p: RollingProgress) => boolean,
  timeoutMs = 90_000,
): Promise<RollingProgress> {
  return await eventually(
    what,
    async () => {
      const p = await progressOf(handle);
      return check(p) ? p : undefined;
    },
    timeoutMs,
  );
}

/** Nodes in maintenance as the cluster shows them: cordoned, or carrying Pitstop's taint or annotations. */
const inMaintenance = (node: KubeObject) =>
  node.spec?.unschedulable === true ||
  (node.spec?.taints ?? []).some((t: { key: string }) => t.key.startsWith('pitstop.io/')) ||
  Object.keys(node.metadata.annotations ?? {}).some((k) => k.startsWith('pitstop.io/'));

/** Watches the Nodes and keeps the most that were in maintenance at once, and every node that ever was. */
async function watchMaintenance() {
  const informer = new Informer<KubeObject>(env.kube, paths.nodes());
  const seen = { most: 0, nodes: new Set<string>(), events: 0 };
  informer.on(() => {
    seen.events++;
    const now = informer.list().filter(inMaintenance);
    for (const n of now) seen.nodes.add(n.metadata.name);
    seen.most = Math.max(seen.most, now.length);
  });
  await informer.start();
  return { seen, stop: () => informer.stop() };
}

async function nodeMaintenanceRuns(since: Date): Promise<Map<string, number>> {
  const runs = new Map<string, number>();
  const query = `WorkflowType = 'nodeMaintenance' AND TaskQueue = '${env.taskQueue}' AND StartTime >= '${since.toISOString()}'`;
  for await (const w of env.client.workflow.list({ query })) runs.set(w.workflowId, (runs.get(w.workflowId) ?? 0) + 1);
  return runs;
}

const failureOf = async (handle: WorkflowHandle): Promise<ApplicationFailure> => {
  const e = await handle.result().catch((error: unknown) => error);
  expect(e).toBeInstanceOf(WorkflowFailedError);
  const cause = (e as WorkflowFailedError).cause;
  expect(cause).toBeInstanceOf(ApplicationFailure);
  return cause as ApplicationFailure;
};

describe('a roll of six workers', () => {
  it('never has more than maxUnavailable nodes in maintenance, continues as new, maintains each node once', async () => {
    const before = await recordBefore(env.kube);
    const startedAt = new Date(Date.now() - 1000);
    const watch = await watchMaintenance();
    const handle = await startRoll({
      name: 'six-workers',
      selector: 'pool=general',
      maxUnavailable: 2,
      continueAsNewAfterEvents: 40,
    });
    const result = (await handle.result()) as RollingResult;
    watch.stop();

    expect(result).toMatchObject({ status: 'Completed', completed: WORKERS, failed: [], skipped: [], notStarted: [] });
    // From the cluster's own account: two at once at most, and both slots used.
    expect(watch.seen.most).toBe(2);
    expect([...watch.seen.nodes].sort()).toEqual(WORKERS);
    // The roll continued as new while children ran, and re-attached to them.
    expect(result.runs).toBeGreaterThanOrEqual(1);
    const progress = await progressOf(handle);
    expect(progress.runs).toBe(result.runs);
    expect(progress.nodes.map((r) => r.state)).toEqual(WORKERS.map(() => 'completed'));

    // Each node maintained exactly once: one child run per node, one migration per (maintenance, VM).
    const runs = await eventually('six child runs visible', async () => {
      const found = await nodeMaintenanceRuns(startedAt);
      return found.size === WORKERS.length ? found : undefined;
    });
    expect([...runs.entries()].sort()).toEqual(WORKERS.map((n) => [`maintenance-${n}`, 1]));
    const migrations = await env.kube.list(kv('virtualmachineinstancemigrations'));
    const perVmAndRun = new Map<string, number>();
    for (const m of migrations.items) {
      const key = `${m.metadata.labels?.[WORKFLOW_ID_LABEL]} ${m.spec?.vmiName}`;
      perVmAndRun.set(key, (perVmAndRun.get(key) ?? 0) + 1);
    }
    expect([...perVmAndRun.values()].every((count) => count === 1)).toBe(true);
    expect(perVmAndRun.size).toBeGreaterThanOrEqual(WORKERS.length);

    await untilVmisRunning(env.kube, VMS);
    for (const node of WORKERS) expect(await invariantViolations(env.kube, before, node)).toEqual([]);
  });
});
