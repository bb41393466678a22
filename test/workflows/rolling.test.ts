// Rolling maintenance through the real Temporal dev server and the sandbox cluster, judged from the cluster.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  WorkflowFailedError,
  type WorkflowHandle,
  type WorkflowHandleWithFirstExecutionRunId,
} from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
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

let env: TestEnv;

const WORKERS = ['worker-1', 'worker-2', 'worker-3', 'worker-4', 'worker-5', 'worker-6'];
const VMS = 8;

beforeAll(async () => {
  env = await startTestEnv({
    scenario: {
      name: 'rolling',
      timing: FAST_TIMING,
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
        {
          name: 'pinned-rwo',
          node: 'spare-1',
          storage: 'rwo' as const,
          terminationGracePeriodSeconds: 1,
          // Its disk is local to spare-1: after its shutdown it must come back there, not on another node.
          nodeSelector: { 'kubernetes.io/hostname': 'spare-1' },
        },
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

async function startRoll(input: RollingInput): Promise<WorkflowHandleWithFirstExecutionRunId> {
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

describe('failures', () => {
  it('stops at maxFailures: no new node starts, the running one finishes, its pending decision shows in the roll', async () => {
    const before = await recordBefore(env.kube);
    const startedAt = new Date(Date.now() - 1000);
    const watch = await watchMaintenance();
    const handle = await startRoll({
      name: 'edge',
      nodes: ['spare-2', 'flaky-1', 'spare-1'],
      maxUnavailable: 2,
      maxFailures: 0,
    });
    // spare-1's VM cannot migrate (RWO disk): the child asks, and the roll shows the question.
    const asking = await untilProgress(handle, 'the decision visible in the roll', (p) =>
      p.nodes.some((r) => r.node === 'spare-1' && r.decisionsPending.length > 0),
    );
    const row = asking.nodes.find((r) => r.node === 'spare-1');
    expect(row?.decisionsPending).toEqual([
      expect.objectContaining({ vmi: 'vms/pinned-rwo', allowed: ['shutdown', 'delete'] }),
    ]);
    expect(row?.phase).toBe('EvacuateVMs');
    expect(await refusal(handle.executeUpdate('skip', { args: [{ node: 'spare-1' }] }))).toMatch(
      /spare-1 is in maintenance right now; cancel maintenance-spare-1 to stop it/,
    );

    // flaky-1 never comes back Ready: its maintenance rolls back, and the roll stops starting nodes.
    const stopped = await untilProgress(handle, 'the roll stopped', (p) => p.status === 'Stopped');
    expect(stopped.failures).toBe(1);
    expect(stopped.nodes.find((r) => r.node === 'flaky-1')).toMatchObject({ state: 'failed' });
    expect(stopped.nodes.find((r) => r.node === 'spare-2')).toMatchObject({ state: 'pending' });

    // The running node still finishes once its question is answered.
    await env.client.workflow
      .getHandle('maintenance-spare-1')
      .executeUpdate('decide', { args: [{ vmi: 'vms/pinned-rwo', action: 'shutdown' }] });
    const failure = await failureOf(handle);
    watch.stop();
    expect(failure.type).toBe('RollingStopped');
    expect(failure.message).toMatch(/stopped after 1 failed \(maxFailures 0\): flaky-1; not started: spare-2/);
    expect(failure.details?.[0]).toMatchObject({
      status: 'Stopped',
      completed: ['spare-1'],
      failed: ['flaky-1'],
      notStarted: ['spare-2'],
    });
    expect(watch.seen.nodes.has('spare-2')).toBe(false);
    expect([...(await nodeMaintenanceRuns(startedAt)).keys()].sort()).toEqual([
      'maintenance-flaky-1',
      'maintenance-spare-1',
    ]);
    await untilVmisRunning(env.kube, VMS);
    for (const node of ['flaky-1', 'spare-1', 'spare-2']) {
      expect(await invariantViolations(env.kube, before, node)).toEqual([]);
    }
  });
});

describe('the maintenance window', () => {
  it('starts no node outside the window and says when the next one opens', async () => {
    const startedAt = new Date(Date.now() - 1000);
    const opens = Math.floor((Date.now() + 2 * 3600_000) / 60_000) * 60_000;
    const hhmm = (ms: number) => new Date(ms).toISOString().slice(11, 16);
    const handle = await startRoll({
      name: 'window',
      nodes: ['worker-1'],
      window: { start: hhmm(opens), end: hhmm(opens + 3600_000), timeZone: 'UTC' },
    });
    const waiting = await untilProgress(handle, 'waiting for the window', (p) => p.status === 'WaitingForWindow');
    expect(waiting.nextWindowAt).toBe(new Date(opens).toISOString());
    expect(waiting.nodes).toEqual([expect.objectContaining({ node: 'worker-1', state: 'pending' })]);
    expect((await env.kube.get(paths.node('worker-1'))).spec.unschedulable).toBeFalsy();
    expect((await nodeMaintenanceRuns(startedAt)).size).toBe(0);

    // Skipping the only node ends the roll without ever starting a maintenance.
    await handle.executeUpdate('skip', { args: [{ node: 'worker-1' }] });
    const result = (await handle.result()) as RollingResult;
    expect(result).toMatchObject({ status: 'Completed', completed: [], skipped: ['worker-1'] });
    expect((await nodeMaintenanceRuns(startedAt)).size).toBe(0);
  });
});

describe('operator updates', () => {
  it('pause holds back new nodes, resume goes on, skip leaves a node out; bad requests are refused with a reason', async () => {
    const before = await recordBefore(env.kube);
    const startedAt = new Date(Date.now() - 1000);
    const handle = await startRoll({ name: 'updates', nodes: ['worker-1', 'worker-2', 'worker-3'] });
    await handle.executeUpdate('pause');
    const paused = await untilProgress(
      handle,
      'paused with nothing running',
      (p) => p.status === 'Paused' && p.nodes.every((r) => r.state !== 'running'),
    );
    const pending = paused.nodes.filter((r) => r.state === 'pending').map((r) => r.node);
    expect(pending).toContain('worker-2');
    expect(pending).toContain('worker-3');
    for (const node of pending) expect((await env.kube.get(paths.node(node))).spec.unschedulable).toBeFalsy();
    expect(await refusal(handle.executeUpdate('pause'))).toMatch(/already paused/);

    const skip = (node: string) => handle.executeUpdate('skip', { args: [{ node }] });
    expect(await refusal(skip('worker-9'))).toMatch(
      /worker-9 is not in the roll updates \(nodes: worker-1, worker-2, worker-3\)/,
    );
    expect(await skip('worker-3')).toBe('worker-3 skipped');
    expect(await refusal(skip('worker-3'))).toMatch(/worker-3 is already skipped/);

    await handle.executeUpdate('resume');
    expect(await refusal(handle.executeUpdate('resume'))).toMatch(/is not paused/);
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

  it('never starts a second maintenance of a node that is already in one (started by hand)', async () => {
    const before = await recordBefore(env.kube);
    const byHand = await env.client.workflow.start('nodeMaintenance', {
      taskQueue: env.taskQueue,
      workflowId: 'maintenance-worker-4',
      args: [{ node: 'worker-4', policy: TEST_POLICY }],
    });
    await eventually('worker-4 held by hand', async () => {
      const p = await byHand.query<{ phase: string }>('progress');
      return p.phase === 'Hold';
    });
    const handle = await startRoll({ name: 'busy', nodes: ['worker-4', 'worker-5'] });
    const busy = await untilProgress(handle, 'worker-4 found busy', (p) =>
      p.nodes.some(
        (r) => r.node === 'worker-4' && /in maintenance by workflow maintenance-worker-4/.test(r.message ?? ''),
      ),
    );
    expect(busy.nodes.find((r) => r.node === 'worker-4')?.state).toBe('pending');
    await untilProgress(handle, 'worker-5 done', (p) =>
      p.nodes.some((r) => r.node === 'worker-5' && r.state === 'completed'),
    );
    // The hand-started run is still the only one, untouched; releasing it lets the roll take worker-4 after it.
    expect((await byHand.describe()).status.name).toBe('RUNNING');
    await byHand.executeUpdate('release', { args: [{}] });
    await byHand.result();
    const result = (await handle.result()) as RollingResult;
    expect(result.completed).toEqual(['worker-4', 'worker-5']);
    for (const node of ['worker-4', 'worker-5']) expect(await invariantViolations(env.kube, before, node)).toEqual([]);
  });
});

describe('cancel', () => {
  it('cancelling the roll rolls back the running children, also those started before a continue-as-new', async () => {
    const before = await recordBefore(env.kube);
    const handle = await startRoll({
      name: 'cancel',
      nodes: ['worker-5', 'worker-6'],
      maxUnavailable: 2,
      template: { ...template, hold: 'untilReleased' },
      continueAsNewAfterEvents: 20,
    });
    const holding = await untilProgress(
      handle,
      'both nodes held',
      (p) => p.nodes.length === 2 && p.nodes.every((r) => r.state === 'running' && r.phase === 'Hold'),
    );
    expect(holding.runs).toBeGreaterThanOrEqual(1);
    await handle.cancel();
    await expect(handle.result()).rejects.toThrow();
    for (const node of ['worker-5', 'worker-6']) {
      const child = env.client.workflow.getHandle(`maintenance-${node}`);
      await expect(child.result()).rejects.toThrow();
      expect((await child.query<{ phase: string }>('progress')).phase).toBe('RolledBack');
    }
    const after = await progressOf(handle);
    expect(after.nodes.map((r) => r.state)).toEqual(['failed', 'failed']);
    await untilVmisRunning(env.kube, VMS);
    for (const node of ['worker-5', 'worker-6']) {
      await eventually(`${node} Ready`, async () =>
        ((await env.kube.get(paths.node(node))).status?.conditions ?? []).some(
          (c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True',
        ),
      );
      expect(await invariantViolations(env.kube, before, node)).toEqual([]);
    }
  });
});

describe('capacity', () => {
  it('waits while the VMs of the next node would not fit, and starts it once there is room', async () => {
    const others = [...WORKERS, 'spare-1', 'flaky-1'];
    const cordon = (unschedulable: boolean) =>
      Promise.all(others.map((n) => env.kube.patch(paths.node(n), { spec: { unschedulable } })));
    await cordon(true);
    const before = await recordBefore(env.kube);
    const startedAt = new Date(Date.now() - 1000);
    let handle: WorkflowHandle | undefined;
    try {
      handle = await startRoll({ name: 'capacity', nodes: ['spare-2'] });
      const waiting = await untilProgress(handle, 'waiting for capacity', (p) => p.status === 'WaitingForCapacity');
      expect(waiting.message).toMatch(
        /spare-2 waits for capacity: .*vms\/spare-vm \([\d.]+ GiB\).*would not fit on the 0 other usable nodes/,
      );
      expect(waiting.nodes[0]?.state).toBe('pending');
      expect((await env.kube.get(paths.node('spare-2'))).spec.unschedulable).toBeFalsy();
      expect((await nodeMaintenanceRuns(startedAt)).size).toBe(0);
    } finally {
      await cordon(false);
    }
    const result = (await handle.result()) as RollingResult;
    expect(result.completed).toEqual(['spare-2']);
    await untilVmisRunning(env.kube, VMS);
    expect(await invariantViolations(env.kube, { ...before, unschedulable: new Map() }, 'spare-2')).toEqual([]);
  });
});

describe('bad input', () => {
  it('fails at once with a clear message and starts nothing', async () => {
    const startedAt = new Date(Date.now() - 1000);
    const bad = async (input: unknown) => {
      const handle = await env.client.workflow.start('rollingMaintenance', {
        taskQueue: env.taskQueue,
        workflowId: `rolling-bad-${Math.random().toString(36).slice(2, 8)}`,
        args: [input],
      });
      const failure = await failureOf(handle);
      expect(failure.type).toBe('InvalidInput');
      return failure.message;
    };
    expect(await bad({ name: 'Bad Name', nodes: ['worker-1'], maxUnavailable: 0 })).toMatch(
      /name: expected a DNS label[\s\S]*maxUnavailable/,
    );
    expect(await bad({ name: 'both', nodes: ['worker-1'], selector: 'pool=general' })).toMatch(
      /selector, nodes: give exactly one of them/,
    );
    expect(await bad({ name: 'missing', nodes: ['worker-1', 'worker-99'] })).toMatch(/nodes: worker-99 does not exist/);
    expect(await bad({ name: 'nomatch', selector: 'pool=none' })).toMatch(/selector: "pool=none" matches no node/);
    expect(
      await bad({
        name: 'tz',
        nodes: ['worker-1'],
        window: { start: '22:00', end: '06:00', timeZone: 'Mars/Olympus' },
      }),
    ).toMatch(/window.timeZone: "Mars\/Olympus" is not an IANA time zone/);
    expect((await nodeMaintenanceRuns(startedAt)).size).toBe(0);
  });
});
