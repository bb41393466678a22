// The cluster-wide admission on the sandbox, with the production defaults (PITSTOP_MAX_NODES_DOWN=1): the
// four-worker alert storm through POST /v1/hooks/alertmanager, and the race of two maintenances that each fit alone.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_ADMISSION_LIMITS } from '../../src/domain/admission.js';
import { kv } from '../../src/k8s/client.js';
import { loadScenarioFile } from '../../src/sandbox/scenario.js';
import { startTestEnv, eventually, FAST_TIMING, type TestEnv } from '../support/env.js';
import { untilVmisRunning } from '../support/cluster.js';
import { startTestApi, type TestApi } from '../support/api.js';
import { ApplicationFailure, WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { WORKFLOW_TYPES } from '../../src/domain/workflowNames.js';
import type { nodeMaintenance } from '../../src/workflows/index.js';

const WORKERS = ['worker-1', 'worker-2', 'worker-3', 'worker-4'];

async function failureOf(handle: WorkflowHandle): Promise<ApplicationFailure> {
  const error = await handle.result().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(WorkflowFailedError);
  return (error as WorkflowFailedError).cause as ApplicationFailure;
}

describe('the four-worker alert storm', () => {
  let env: TestEnv;
  let api: TestApi;
  beforeAll(async () => {
    const demo = loadScenarioFile(new URL('../../src/sandbox/scenarios/demo.yaml', import.meta.url).pathname);
    env = await startTestEnv({
      scenario: demo,
      timing: { migrationDurationMs: 400, bootDelayMs: 500, powerDelayMs: 200, vmStopMs: 200 },
      admission: DEFAULT_ADMISSION_LIMITS,
    });
    await untilVmisRunning(env.kube, 21);
    api = await startTestApi({ client: env.client, taskQueue: env.taskQueue, kube: env.kube });
  });
  afterAll(async () => {
    await api?.close();
    await env?.stop();
  });

  const view = async (node: string) =>
    (await api.call('GET', `/v1/maintenances/${node}`, { token: api.readToken })).body;

  it('takes at most the budget; the others wait with the reason; no VM is left in Scheduling', async () => {
    const payload = {
      version: '4',
      groupKey: '{}:{alertname="NodeDown"}',
      truncatedAlerts: 0,
      status: 'firing',
      receiver: 'pitstop',
      groupLabels: {},
      commonLabels: {},
      commonAnnotations: {},
      externalURL: 'http://alertmanager.example:9093',
      alerts: WORKERS.map((node, i) => ({
        status: 'firing',
        labels: { alertname: 'NodeDown', severity: 'critical', node },
        annotations: {},
        startsAt: new Date(Date.now() - 60_000).toISOString(),
        endsAt: '0001-01-01T00:00:00Z',
        generatorURL: 'http://prometheus.example/graph',
        fingerprint: `storm-${i}`,
      })),
    };
    const posted = await api.call('POST', '/v1/hooks/alertmanager', { body: payload });
    expect(posted.status).toBe(200);
    expect(posted.body.started.map((s: { node: string }) => s.node).sort()).toEqual(WORKERS);

    // One run gets past the admission (its VMs moving off, or held); the three others wait, saying why.
    const settled = await eventually(
      'one run past the admission, three waiting for it',
      async () => {
        const views = await Promise.all(WORKERS.map(view));
        const waiting = views.filter((v) => v.progress?.phase === 'WaitingForAdmission');
        const holding = views.filter((v) => !['Preflight', 'WaitingForAdmission'].includes(v.progress?.phase));
        return waiting.length === 3 && holding.length === 1 ? { waiting, holding } : undefined;
      },
      120_000,
    );
    for (const waiting of settled.waiting) {
      expect(waiting.progress.message).toMatch(/already down \(worker-\d \(held by maintenance-worker-\d\)\)/);
      expect(waiting.progress.message).toContain('PITSTOP_MAX_NODES_DOWN');
      expect(waiting.progress.admission.code).toBe('BudgetExhausted');
    }
    // Only the held node is cordoned; every VM that was to move runs (none stuck in Scheduling or Pending).
    const nodes = (await env.kube.list('/api/v1/nodes')).items;
    const cordoned = nodes.filter((n) => n.spec?.unschedulable).map((n) => n.metadata.name);
    expect(cordoned).toEqual([settled.holding[0].progress.node]);
    await eventually(
      'no VMI in Scheduling or Pending',
      async () => {
        const vmis = (await env.kube.list(kv('virtualmachineinstances'))).items;
        return vmis.every((v) => !['Scheduling', 'Pending'].includes(v.status?.phase));
      },
      60_000,
    );
    const still = await Promise.all(WORKERS.map(view));
    expect(still.filter((v) => v.progress?.phase === 'WaitingForAdmission')).toHaveLength(3);

    // Cancelled, the waiting runs end with nothing changed; the holding one rolls back.
    for (const node of WORKERS) {
      expect((await api.call('POST', `/v1/maintenances/${node}/cancel`, { body: {} })).status).toBe(200);
    }
    await eventually(
      'every run ended and every node uncordoned',
      async () => {
        const views = await Promise.all(WORKERS.map(view));
        const after = (await env.kube.list('/api/v1/nodes')).items;
        return views.every((v) => v.status !== 'Running') && after.every((n) => !n.spec?.unschedulable);
      },
      120_000,
    );
  });
});

describe('two maintenances that each fit alone but not together', () => {
  let env: TestEnv;
  beforeAll(async () => {
    env = await startTestEnv({
      scenario: {
        name: 'admission-race',
        timing: FAST_TIMING,
        kubevirt: { evictionStrategy: 'LiveMigrate' },
        nodes: [
          { name: 'cp-{n}', count: 1, controlPlane: true, memory: '16Gi' },
          { name: 'race-{n}', count: 3, memory: '24Gi' },
        ],
        vms: [
          { name: 'big-1', node: 'race-1', memory: '14Gi', storage: 'rwx' },
          { name: 'big-2', node: 'race-2', memory: '14Gi', storage: 'rwx' },
        ],
      },
      // The budget allows both: capacity alone must decide.
      admission: { maxNodesDown: { count: 3 }, maxUnhealthy: { count: 3 } },
    });
    await untilVmisRunning(env.kube, 2);
  });
  afterAll(async () => {
    await env?.stop();
  });

  it('exactly one is admitted; the other is refused naming the VM without room', async () => {
    const tag = randomUUID().slice(0, 6);
    const start = (node: string) =>
      env.client.workflow.start<typeof nodeMaintenance>(WORKFLOW_TYPES.nodeMaintenance, {
        taskQueue: env.taskQueue,
        workflowId: `maintenance-${node}#${tag}`,
        args: [{ node, power: 'none', hold: 'untilReleased', admission: 'refuse' }],
      });
    const handles = await Promise.all([start('race-1'), start('race-2')]);
    const outcome = await eventually(
      'one refused, one holding',
      async () => {
        const states = await Promise.all(handles.map(async (h) => ({ h, status: (await h.describe()).status.name })));
        const ended = states.filter((s) => s.status === 'FAILED');
        return ended.length === 1
          ? { refused: ended[0]!.h, admitted: states.find((s) => s !== ended[0])!.h }
          : undefined;
      },
      60_000,
    );
    const failed = await failureOf(outcome.refused);
    expect(failed.type).toBe('PreflightRefused');
    expect(failed.message).toMatch(/not admitted: with race-\d \(held by maintenance-race-\d#\w+\) down, no room for/);
    await outcome.admitted.cancel();
    await eventually(
      'the admitted run rolled back',
      async () => (await outcome.admitted.describe()).status.name !== 'RUNNING',
      60_000,
    );
  });
});
