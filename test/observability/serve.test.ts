// The production entry point against real servers: its operations endpoint (/healthz, /readyz, /metrics, scraped
// as Prometheus would during a maintenance), its JSON logs, and a graceful SIGTERM in the middle of a maintenance
// after which a new worker finishes the job.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WorkflowHandle } from '@temporalio/client';
import type { MaintenanceResult } from '../../src/domain/progress.js';
import { paths, kv } from '../../src/k8s/client.js';
import { startTestEnv, eventually, type TestEnv, FAST_TIMING } from '../support/env.js';
import { nodeReady, untilVmisRunning } from '../support/cluster.js';
import { invariantViolations, recordBefore } from '../support/invariants.js';
import { TEST_POLICY } from '../support/maintenance.js';
import { scrape, startMain, sum, type MainProcess } from './main-process.js';
import { WORKFLOW_TYPES } from '../../src/domain/workflowNames.js';
import type { nodeMaintenance } from '../../src/workflows/index.js';
import { decideUpdate, progressQuery } from '../../src/workflows/messages.js';
import { DECISIONS_PENDING_QUERY } from '../../src/client/visibility.js';
import { DECISIONS_PENDING_METRIC } from '../../src/observability/server.js';

let env: TestEnv;
const processes: MainProcess[] = [];

const READ_TOKEN = 'observability-read-token-0123456789';

async function main(extra: Record<string, string> = {}): Promise<MainProcess> {
  const p = await startMain({
    KUBECONFIG: env.sandbox.kubeconfigPath,
    PITSTOP_TASK_QUEUE: env.taskQueue,
    // A deployment of its own: this file's first worker makes its build current (docs/versioning.md).
    PITSTOP_DEPLOYMENT_NAME: `pitstop-${env.taskQueue}`,
    PITSTOP_LOG_LEVEL: 'DEBUG',
    PITSTOP_API_ADDRESS: '127.0.0.1:0',
    PITSTOP_API_TOKENS: `read ${READ_TOKEN}`,
    ...extra,
  });
  processes.push(p);
  return p;
}

beforeAll(async () => {
  env = await startTestEnv({
    worker: false,
    scenario: {
      name: 'observability',
      timing: FAST_TIMING,
      kubevirt: { evictionStrategy: 'LiveMigrate' },
      nodes: [
        { name: 'cp-{n}', count: 3, controlPlane: true, memory: '64Gi' },
        { name: 'worker-{n}', count: 3, memory: '256Gi' },
        { name: 'spare-{n}', count: 2, memory: '256Gi' },
      ],
      vms: [
        { name: 'quick', node: 'worker-1' },
        { name: 'slow', node: 'worker-2', knobs: { migrationDuration: '15s' } },
        // LiveMigrate on a ReadWriteOnce disk: it cannot move, the run asks an operator.
        { name: 'pinned', node: 'worker-3', storage: 'rwo' },
      ],
    },
  });
  await untilVmisRunning(env.kube, 3);
});

afterAll(async () => {
  await Promise.all(processes.map((p) => p.kill()));
  await env?.stop();
});

const progressOf = (handle: WorkflowHandle) => handle.query(progressQuery);

function start(node: string, policy: Record<string, unknown> = {}): Promise<WorkflowHandle> {
  return env.client.workflow.start<typeof nodeMaintenance>(WORKFLOW_TYPES.nodeMaintenance, {
    taskQueue: env.taskQueue,
    workflowId: `maintenance-${node}#${randomUUID().slice(0, 8)}`,
    args: [{ node, hold: 'none', policy: { ...TEST_POLICY, ...policy } }],
  });
}

describe('the production entry point', () => {
  it('answers /healthz and /readyz, and /metrics shows Pitstop metrics change during a maintenance', async () => {
    const before = await recordBefore(env.kube);
    const p = await main();

    const health = await fetch(`${p.opsUrl}/healthz`);
    expect(health.status).toBe(200);
    const ready = await fetch(`${p.opsUrl}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.text()).toMatch(/\[\+\] temporal ok\n\[\+\] worker ok\n\[\+\] kubernetes ok\nready/);

    const first = await scrape(p.opsUrl);
    // The SDK's runtime metrics come through the same endpoint.
    expect([...first.keys()].some((k) => k.startsWith('temporal_'))).toBe(true);
    const done0 = sum(first, 'pitstop_maintenances', { outcome: 'Done' });
    const migrated0 = sum(first, 'pitstop_migrations', { outcome: 'Succeeded' });

    const handle = await start('worker-1');
    // While it runs: the phases it has left show up in the duration histogram.
    const during = await eventually('phase durations scraped during the run', async () => {
      const s = await scrape(p.opsUrl);
      return sum(s, 'pitstop_phase_duration_seconds_count', { phase: 'Cordon' }) >= 1 ? s : undefined;
    });
    expect(sum(during, 'pitstop_phase_duration_seconds_count', { phase: 'Preflight' })).toBeGreaterThanOrEqual(1);

    const result = (await handle.result()) as MaintenanceResult;
    expect(result.outcome).toBe('Completed');
    const after = await eventually('the outcome counted', async () => {
      const s = await scrape(p.opsUrl);
      return sum(s, 'pitstop_maintenances', { outcome: 'Done' }) === done0 + 1 ? s : undefined;
    });
    expect(sum(after, 'pitstop_migrations', { outcome: 'Succeeded' })).toBe(migrated0 + 1);
    for (const phase of ['EvacuateVMs', 'EvictPods', 'PowerOff', 'PowerOn', 'WaitReady', 'Uncordon', 'RestoreVMs'])
      expect(sum(after, 'pitstop_phase_duration_seconds_count', { phase }), phase).toBeGreaterThanOrEqual(1);
    expect(sum(after, 'pitstop_phase_duration_seconds_sum', { phase: 'EvacuateVMs' })).toBeGreaterThan(0);

    // The HTTP API runs in the same process; its requests are counted by route and status.
    const route = { route: '/v1/maintenances/:node' };
    const asked0 = sum(after, 'pitstop_api_requests', { ...route, status: '404' });
    const denied0 = sum(after, 'pitstop_api_requests', { ...route, status: '401' });
    const path = `${p.apiUrl}/v1/maintenances/node-${randomUUID().slice(0, 8)}`;
    const answer = await fetch(path, { headers: { authorization: `Bearer ${READ_TOKEN}` } });
    expect(answer.status).toBe(404);
    expect((await fetch(path)).status).toBe(401);
    await eventually('the API requests counted', async () => {
      const s = await scrape(p.opsUrl);
      return (
        sum(s, 'pitstop_api_requests', { ...route, status: '404' }) === asked0 + 1 &&
        sum(s, 'pitstop_api_requests', { ...route, status: '401' }) === denied0 + 1 &&
        sum(s, 'pitstop_api_request_duration_seconds_count', route) >= 2
      );
    });

    // Logs: JSON lines; activity lines carry the workflow id and the node.
    const logs = p.logs();
    expect(logs.length).toBeGreaterThan(0);
    expect(logs.every((l) => typeof l.time === 'string' && typeof l.level === 'string')).toBe(true);
    expect(logs.some((l) => l.workflowId === handle.workflowId && l.node === 'worker-1')).toBe(true);

    expect(await invariantViolations(env.kube, before, 'worker-1')).toEqual([]);
  });

  it('SIGTERM mid-migration: a clean exit 0 after the shutdown grace, and a new worker finishes the maintenance', async () => {
    const before = await recordBefore(env.kube);
    for (const p of processes) await p.kill();
    const first = await main({ PITSTOP_SHUTDOWN_GRACE: '2s' });
    const handle = await start('worker-2', {
      migration: { attempts: 2, timeout: '120s', pendingTimeout: '10s', retryBackoff: '200ms' },
    });
    await eventually('slow migrating', async () => {
      const row = (await progressOf(handle)).vms.find((r) => r.vmi === 'vms/slow');
      if (row?.state !== 'migrating' || !row.migration) return undefined;
      const vmim = await env.kube.find(kv('virtualmachineinstancemigrations', 'vms', row.migration));
      return vmim?.status?.phase === 'Running';
    });

    first.child.kill('SIGTERM');
    expect(await first.exited).toEqual({ code: 0, signal: null });
    const logs = first.logs().map((l) => String(l.msg));
    expect(logs.some((m) => m.startsWith('SIGTERM: stopping'))).toBe(true);
    expect(logs.at(-1)).toBe('stopped');
    // Nothing finished it meanwhile: the maintenance waits for a worker.
    expect((await progressOf(handle).catch(() => undefined))?.phase ?? 'no worker to answer').not.toBe('Done');

    await main();
    const result = (await handle.result()) as MaintenanceResult;
    expect(result.outcome).toBe('Completed');
    expect(result.summary).toMatchObject({ migrated: 1 });
    expect(nodeReady(await env.kube.get(paths.node('worker-2')))).toBe(true);
    expect(await invariantViolations(env.kube, before, 'worker-2')).toEqual([]);
  });

  it('a run waiting for a decision shows in pitstop_decisions_pending and the saved query; answered, both go back', async () => {
    const p = processes.at(-1)!;
    const waiting = async () => (await env.client.workflow.count(DECISIONS_PENDING_QUERY)).count;
    const gauge = async () => sum(await scrape(p.opsUrl), DECISIONS_PENDING_METRIC);
    expect(await waiting()).toBe(0);
    const handle = await start('worker-3', { escalation: { decisionTimeout: '5m' } });
    await eventually('the decision pending', async () => (await progressOf(handle)).decisionsPending.length === 1);
    await eventually('listed by the saved query', async () => (await waiting()) === 1, 20_000);
    await eventually('the gauge at 1', async () => (await gauge()) === 1, 20_000);

    await handle.executeUpdate(decideUpdate, { args: [{ vmi: 'vms/pinned', action: 'shutdown' }] });
    await eventually('the saved query empty', async () => (await waiting()) === 0, 20_000);
    await eventually('the gauge back at 0', async () => (await gauge()) === 0, 20_000);
    expect(((await handle.result()) as MaintenanceResult).outcome).toBe('Completed');
  });
});
