// The happy path on the demo scenario `npm start` ships: the busiest worker, every kind of VM on it.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { MaintenanceResult, Progress } from '../../src/domain/progress.js';
import { paths } from '../../src/k8s/client.js';
import { loadScenarioFile } from '../../src/sandbox/scenario.js';
import { startTestEnv, eventually, type TestEnv } from '../support/env.js';
import { nodeReady, untilVmisRunning } from '../support/cluster.js';
import { invariantViolations, recordBefore } from '../support/invariants.js';
import { WORKFLOW_TYPES } from '../../src/domain/workflowNames.js';
import type { nodeMaintenance } from '../../src/workflows/index.js';
import { progressQuery, decideUpdate, releaseUpdate } from '../../src/workflows/messages.js';

let env: TestEnv;

beforeAll(async () => {
  const demo = loadScenarioFile(new URL('../../src/sandbox/scenarios/demo.yaml', import.meta.url).pathname);
  // The demo's shape, with the sandbox's clock sped up.
  env = await startTestEnv({
    scenario: demo,
    timing: { migrationDurationMs: 400, bootDelayMs: 500, powerDelayMs: 200, vmStopMs: 200 },
  });
  await untilVmisRunning(env.kube, 21);
});

afterAll(async () => {
  await env?.stop();
});

it('takes worker-1 of the demo cluster through maintenance; every VM runs again except the ones chosen to stay off', async () => {
  const before = await recordBefore(env.kube);
  const handle = await env.client.workflow.start<typeof nodeMaintenance>(WORKFLOW_TYPES.nodeMaintenance, {
    taskQueue: env.taskQueue,
    workflowId: `maintenance-worker-1#${randomUUID().slice(0, 8)}`,
    args: [
      {
        node: 'worker-1',
        reason: 'firmware upgrade',
        policy: {
          migration: { attempts: 3, retryBackoff: '200ms' },
          power: { offTimeout: '30s', onTimeout: '30s' },
          // The demo's debug-shell is a bare pod with emptyDir: say it may go (else the drain refuses).
          drain: { evictUnmanagedPods: true, deleteEmptyDirData: true, evictionRetryInterval: '300ms' },
        },
      },
    ],
  });
  const answered = new Set<string>();
  const answers: Record<string, string> = { 'vms/db-primary': 'shutdown', 'vms/scratch-vmi': 'delete' };
  let last: Progress | undefined;
  await eventually(
    'the hold, answering the escalations on the way',
    async () => {
      const p = (last = await handle.query(progressQuery));
      for (const d of p.decisionsPending) {
        if (answered.has(d.vmi)) continue;
        const action = answers[d.vmi];
        if (!action) throw new Error(`unexpected escalation for ${d.vmi}: ${d.reason}`);
        await handle.executeUpdate(decideUpdate, { args: [{ vmi: d.vmi, action }] });
        answered.add(d.vmi);
      }
      return p.phase === 'Hold' ? p : undefined;
    },
    90_000,
  ).catch((e: Error) => {
    const rows = last?.vms.map((r) => `${r.vmi}:${r.state}:${r.message ?? ''}`).join('; ');
    throw new Error(
      `${e.message}; phase ${last?.phase} ${last?.message ?? ''}; pods ${JSON.stringify(last?.pods)}; ${rows}`,
    );
  });
  expect([...answered].sort()).toEqual(['vms/db-primary', 'vms/scratch-vmi']);
  await handle.executeUpdate(releaseUpdate, { args: [{}] });
  const result = (await handle.result()) as MaintenanceResult;

  expect(result.outcome).toBe('Completed');
  expect(result.summary).toMatchObject({ deleted: 1, leftOff: 1 });
  expect(nodeReady(await env.kube.get(paths.node('worker-1')))).toBe(true);
  expect(await invariantViolations(env.kube, before, 'worker-1', ['vms/ci-runner', 'vms/scratch-vmi'])).toEqual([]);
  const progress = await handle.query(progressQuery);
  const analytics = progress.vms.find((r) => r.vmi === 'vms/analytics');
  expect(analytics).toMatchObject({ state: 'migrated', attempts: 2 }); // its first migration fails by design
});
