// Rolling maintenance through the real Temporal dev server and the sandbox cluster, judged from the cluster: the
// nodes in maintenance at once as the cluster shows them, and one migration per VM. The roll's logic (maxFailures,
// windows, busy nodes, capacity waits, cancel, bad input) is tested without a cluster in test/fast/rolling.test.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WorkflowHandle, WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import { paths, type KubeObject, kv } from '../../src/k8s/client.js';
import { Informer } from '../../src/k8s/informer.js';
import { WORKFLOW_ID_LABEL } from '../../src/domain/contract.js';
import type { RollingInput } from '../../src/domain/rolling.js';
import type { RollingProgress, RollingResult } from '../../src/domain/rollingProgress.js';
import { startTestEnv, eventually, type TestEnv, FAST_TIMING } from '../support/env.js';
import { untilVmisRunning } from '../support/cluster.js';
import { refusal, TEST_POLICY } from '../support/maintenance.js';
import { invariantViolations, recordBefore } from '../support/invariants.js';
import { recordHistory } from '../support/histories.js';
import { WORKFLOW_TYPES } from '../../src/domain/workflowNames.js';
import type { rollingMaintenance } from '../../src/workflows/index.js';
import {
  rollingProgressQuery,
  rollingPauseUpdate,
  rollingResumeUpdate,
  skipUpdate,
} from '../../src/workflows/messages.js';

let env: TestEnv;

const WORKERS = ['worker-1', 'worker-2', 'worker-3', 'worker-4', 'worker-5', 'worker-6'];
const VMS = 6;

beforeAll(async () => {
  env = await startTestEnv({
    scenario: {
      name: 'rolling',
      timing: FAST_TIMING,
      kubevirt: { evictionStrategy: 'LiveMigrate' },
      nodes: [
        { name: 'cp-1', controlPlane: true, memory: '64Gi' },
        { name: 'worker-{n}', count: 6, memory: '64Gi', labels: { pool: 'general' } },
        { name: 'spare-{n}', count: 2, memory: '64Gi', labels: { pool: 'edge' } },
      ],
      vms: [...WORKERS.map((node) => ({ name: `${node}-vm`, node }))],
      workloads: [{ kind: 'Deployment', name: 'web', replicas: 2, pdb: { maxUnavailable: 1 } }],
    },
  });
  await untilVmisRunning(env.kube, VMS);
});

afterAll(async () => {
  await env?.stop();
});

const template = { policy: { ...TEST_POLICY, ready: { timeout: '5s' } } };

async function startRoll(input: RollingInput): Promise<WorkflowHandleWithFirstExecutionRunId> {
  return await env.client.workflow.start<typeof rollingMaintenance>(WORKFLOW_TYPES.rollingMaintenance, {
    taskQueue: env.taskQueue,
    workflowId: `rolling-${input.name}`,
    args: [{ template, ...input }],
  });
}

const progressOf = (handle: WorkflowHandle) => handle.query(rollingProgressQuery);

async function untilProgress(
  handle: WorkflowHandle,
  what: string,
  check: (p: RollingProgress) => boolean,
  timeoutMs = 90_000,
): Promise<RollingProgress> {
  let last: RollingProgress | undefined;
  try {
    return await eventually(
      what,
      async () => {
        last = await progressOf(handle);
        return check(last) ? last : undefined;
      },
      timeoutMs,
    );
  } catch (e) {
    throw new Error(`${(e as Error).message}; last progress: ${JSON.stringify(last)}`, { cause: e });
  }
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
    // The roll's first run (several nodes admitted per look, continued as new): replayed by replay.test.ts.
    await recordHistory(
      'rolling-six-workers-admit-several',
      env.client.workflow.getHandle(handle.workflowId, handle.firstExecutionRunId),
    );

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

describe('operator updates', () => {
  it('pause holds back new nodes, resume goes on, skip leaves a node out; bad requests are refused with a reason', async () => {
    const before = await recordBefore(env.kube);
    const startedAt = new Date(Date.now() - 1000);
    const handle = await startRoll({ name: 'updates', nodes: ['worker-1', 'worker-2', 'worker-3'] });
    await handle.executeUpdate(rollingPauseUpdate);
    const paused = await untilProgress(
      handle,
      'paused with nothing running',
      (p) => p.status === 'Paused' && p.nodes.every((r) => r.state !== 'running'),
    );
    const pending = paused.nodes.filter((r) => r.state === 'pending').map((r) => r.node);
    expect(pending).toContain('worker-2');
    expect(pending).toContain('worker-3');
    for (const node of pending) expect((await env.kube.get(paths.node(node))).spec.unschedulable).toBeFalsy();
    expect(await refusal(handle.executeUpdate(rollingPauseUpdate))).toMatch(/already paused/);

    const skip = (node: string) => handle.executeUpdate(skipUpdate, { args: [{ node }] });
    expect(await refusal(skip('worker-9'))).toMatch(
      /worker-9 is not in the roll updates \(nodes: worker-1, worker-2, worker-3\)/,
    );
    expect(await skip('worker-3')).toBe('worker-3 skipped');
    expect(await refusal(skip('worker-3'))).toMatch(/worker-3 is already skipped/);

    await handle.executeUpdate(rollingResumeUpdate);
    expect(await refusal(handle.executeUpdate(rollingResumeUpdate))).toMatch(/is not paused/);
    const result = (await handle.result()) as RollingResult;
    expect(result).toMatchObject({ status: 'Completed', completed: ['worker-1', 'worker-2'], skipped: ['worker-3'] });
    await recordHistory('rolling-updates-completed', handle);
    await recordHistory('maintenance-worker-2-child-of-rolling', env.client.workflow.getHandle('maintenance-worker-2'));
    expect([...(await nodeMaintenanceRuns(startedAt)).keys()].sort()).toEqual([
      'maintenance-worker-1',
      'maintenance-worker-2',
    ]);
    for (const node of ['worker-1', 'worker-2', 'worker-3']) {
      expect(await invariantViolations(env.kube, before, node)).toEqual([]);
    }
  });
});
