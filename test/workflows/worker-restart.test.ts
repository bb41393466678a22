// The real worker process (`src/worker/main.ts`, configured by its environment) is killed with SIGKILL in the
// middle of a live migration and started again: the maintenance finishes, and the VMI gets no second migration.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { WorkflowHandle } from '@temporalio/client';
import type { MaintenanceResult } from '../../src/domain/progress.js';
import { paths, kv } from '../../src/k8s/client.js';
import { MANAGED_BY_LABEL } from '../../src/domain/contract.js';
import { startTestEnv, eventually, type TestEnv, FAST_TIMING } from '../support/env.js';
import { migrationsOf, nodeReady, untilVmisRunning, vmiOf } from '../support/cluster.js';
import { invariantViolations, recordBefore } from '../support/invariants.js';
import { WORKFLOW_TYPES } from '../../src/domain/workflowNames.js';
import type { nodeMaintenance } from '../../src/workflows/index.js';
import { progressQuery } from '../../src/workflows/messages.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

let env: TestEnv;

/** One `npm run worker` process: node with tsx's loader, in its own process group so nothing of it can linger. */
interface WorkerProcess {
  child: ChildProcess;
  output: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}
const workers: WorkerProcess[] = [];

async function startWorker(): Promise<WorkerProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/worker/main.ts'], {
    cwd: ROOT,
    env: {
      ...process.env,
      TEMPORAL_ADDRESS: inject('temporalAddress'),
      TEMPORAL_NAMESPACE: 'default',
      PITSTOP_TASK_QUEUE: env.taskQueue,
      // A deployment of its own: the restarted worker is the same build, still current (docs/versioning.md).
      PITSTOP_DEPLOYMENT_NAME: `pitstop-${env.taskQueue}`,
      KUBECONFIG: env.sandbox.kubeconfigPath,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const output: string[] = [];
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const worker = { child, output, exited };
  workers.push(worker);
  for (const stream of [child.stdout, child.stderr]) {
    stream?.setEncoding('utf8');
    stream?.on('data', (chunk: string) => {
      output.push(chunk);
      if (process.env.PITSTOP_TEST_VERBOSE) process.stdout.write(`[worker ${child.pid}] ${chunk}`);
    });
  }
  // Ready once it polls (it bundles the workflows from source first: a few seconds).
  await Promise.race([
    eventually('the worker polling', async () => output.join('').includes('pitstop worker polling'), 60_000),
    exited.then(({ code, signal }) => {
      throw new Error(`the worker exited (${code ?? signal}) before polling:\n${output.join('')}`);
    }),
  ]);
  return worker;
}

/** SIGKILL to the worker's whole process group, then wait until it is gone. */
async function kill(worker: WorkerProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (worker.child.exitCode === null && worker.child.signalCode === null && worker.child.pid) {
    try {
      process.kill(-worker.child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  return await worker.exited;
}

beforeAll(async () => {
  env = await startTestEnv({
    worker: false,
    scenario: {
      name: 'worker-restart',
      timing: FAST_TIMING,
      kubevirt: { evictionStrategy: 'LiveMigrate' },
      nodes: [
        { name: 'cp-{n}', count: 3, controlPlane: true, memory: '64Gi' },
        { name: 'worker-1', memory: '256Gi' },
        { name: 'spare-{n}', count: 2, memory: '256Gi' },
      ],
      vms: [
        { name: 'slow', node: 'worker-1', knobs: { migrationDuration: '6s' } },
        { name: 'none', node: 'worker-1', evictionStrategy: 'None', terminationGracePeriodSeconds: 1 },
      ],
    },
  });
  await untilVmisRunning(env.kube, 2);
});

afterAll(async () => {
  await Promise.all(workers.map(kill));
  await env?.stop();
});

const progressOf = (handle: WorkflowHandle) => handle.query(progressQuery);

/** Attempt numbers of each started try of the activities of one type, from the workflow's history. */
async function activityAttempts(handle: WorkflowHandle, type: string): Promise<number[]> {
  const events = (await handle.fetchHistory()).events ?? [];
  const scheduled = new Set(
    events
      .filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === type)
      .map((e) => Number(e.eventId)),
  );
  return events
    .filter((e) => scheduled.has(Number(e.activityTaskStartedEventAttributes?.scheduledEventId)))
    .map((e) => e.activityTaskStartedEventAttributes?.attempt ?? 0);
}

describe('worker restart', () => {
  it('SIGKILL mid-migration: a new worker finishes the maintenance with the one migration already running', async () => {
    const before = await recordBefore(env.kube);
    const first = await startWorker();
    const handle = await env.client.workflow.start<typeof nodeMaintenance>(WORKFLOW_TYPES.nodeMaintenance, {
      taskQueue: env.taskQueue,
      workflowId: `maintenance-worker-1#${randomUUID().slice(0, 8)}`,
      args: [
        {
          node: 'worker-1',
          hold: 'none',
          policy: {
            migration: { attempts: 2, timeout: '120s', pendingTimeout: '10s', retryBackoff: '200ms' },
            power: { offTimeout: '20s', onTimeout: '20s' },
            ready: { timeout: '20s' },
            restore: { timeout: '30s' },
            shutdown: { timeout: '30s' },
          },
        },
      ],
    });

    // Migrating, as the workflow and the cluster both say: our VMIM is in its transfer phase (6 s).
    const migrating = await eventually('slow migrating', async () => {
      const row = (await progressOf(handle)).vms.find((r) => r.vmi === 'vms/slow');
      if (row?.state !== 'migrating' || !row.migration) return undefined;
      const vmim = await env.kube.find(kv('virtualmachineinstancemigrations', 'vms', row.migration));
      return vmim?.status?.phase === 'Running' ? vmim : undefined;
    });
    const vmimName = migrating.metadata.name;
    expect(migrating.metadata.labels?.[MANAGED_BY_LABEL]).toBe('pitstop');

    const killedAt = Date.now();
    expect(await kill(first)).toEqual({ code: null, signal: 'SIGKILL' });
    await new Promise((r) => setTimeout(r, 2000));
    await startWorker();

    const result = (await handle.result()) as MaintenanceResult;
    const finishedAfter = Date.now() - killedAt;
    console.log(`[worker-restart] maintenance finished ${finishedAfter} ms after the worker was killed`);
    expect(result.outcome).toBe('Completed');
    expect(result.summary).toMatchObject({ migrated: 1, restored: 1 });

    // The wait was really interrupted and retried (after its heartbeat timeout), not finished before the kill.
    expect(await activityAttempts(handle, 'waitForMigration')).toEqual([2]);
    expect(await activityAttempts(handle, 'startMigration')).toEqual([1]);
    // Exactly one migration for that VMI, ours, and it is the one that moved the VM.
    const migrations = await migrationsOf(env.kube, 'vms', 'slow');
    expect(migrations.map((m) => m.metadata.name)).toEqual([vmimName]);
    expect(vmimName).toMatch(/^pitstop-slow-1-/);
    expect(migrations[0]?.status?.phase).toBe('Succeeded');
    const row = (await progressOf(handle)).vms.find((r) => r.vmi === 'vms/slow');
    expect(row).toMatchObject({ state: 'migrated', attempts: 1, migration: vmimName });
    const vmi = await vmiOf(env.kube, 'vms', 'slow');
    expect(vmi?.status?.phase).toBe('Running');
    expect(vmi?.status?.nodeName).toMatch(/^spare-/);
    expect(row?.targetNode).toBe(vmi?.status?.nodeName);

    expect(nodeReady(await env.kube.get(paths.node('worker-1')))).toBe(true);
    expect(await invariantViolations(env.kube, before, 'worker-1')).toEqual([]);
  });
});
