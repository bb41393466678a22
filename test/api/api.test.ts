// The HTTP API over real HTTP, against the real Temporal dev server and a sandbox cluster.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { Validator } from '@seriousme/openapi-schema-validator';
import { startTestEnv, eventually, type TestEnv, FAST_TIMING } from '../support/env.js';
import { untilVmisRunning } from '../support/cluster.js';
import { TEST_POLICY } from '../support/maintenance.js';
import { invariantViolations, recordBefore } from '../support/invariants.js';
import { exists, startTestApi, workflowsOn, type TestApi } from '../support/api.js';
import { PitstopService } from '../../src/client/service.js';
import { readAlertRules } from '../../src/domain/alertRules.js';

let env: TestEnv;
let api: TestApi;

beforeAll(async () => {
  env = await startTestEnv({
    scenario: {
      name: 'api',
      timing: FAST_TIMING,
      kubevirt: { evictionStrategy: 'LiveMigrate' },
      nodes: [
        { name: 'cp-{n}', count: 3, controlPlane: true, memory: '64Gi' },
        { name: 'apiw-{n}', count: 6, memory: '256Gi' },
      ],
      vms: [
        { name: 'a1-mig', node: 'apiw-1', storage: 'rwx' },
        // Tied to its node: restored elsewhere it would ask its question again in a later test's maintenance.
        { name: 'a1-rwo', node: 'apiw-1', storage: 'rwo', nodeSelector: { 'kubernetes.io/hostname': 'apiw-1' } },
        { name: 'a2-mig', node: 'apiw-2' },
        { name: 'a3-mig', node: 'apiw-3' },
        { name: 'a4-mig', node: 'apiw-4' },
      ],
    },
  });
  await untilVmisRunning(env.kube, 5);
  api = await startTestApi({ client: env.client, taskQueue: env.taskQueue, kube: env.kube });
});

afterAll(async () => {
  await api?.close();
  await env?.stop();
});

/**
 * GET `path` and ask the service directly until both give the same (a live run moves between the two reads): the
 * response schemas lose nothing the service returned.
 */
const sameAsService = (path: string, direct: (service: PitstopService) => Promise<unknown>) =>
  eventually(`${path} as the service returns it`, async () => {
    const service = new PitstopService({ client: env.client, taskQueue: env.taskQueue });
    const [{ status, body }, expected] = await Promise.all([
      api.call('GET', path, { token: api.readToken }),
      direct(service),
    ]);
    expect(status).toBe(200);
    expect(body).toEqual(JSON.parse(JSON.stringify(expected)));
    return true;
  });

/** GET the node's maintenance until `check` holds on it. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const until = (node: string, what: string, check: (view: any) => boolean, timeoutMs = 60_000) =>
  eventually(
    `${node}: ${what}`,
    async () => {
      const { status, body } = await api.call('GET', `/v1/maintenances/${node}`, { token: api.readToken });
      return status === 200 && check(body) ? body : undefined;
    },
    timeoutMs,
  );

describe('authentication', () => {
  it('answers 401 without a token or with an unknown one, 403 for a read token on a write, and serves both roles', async () => {
    const none = await api.call('GET', '/v1/maintenances', { token: null });
    expect(none.status).toBe(401);
    expect(none.body.message).toMatch(/bearer token is required/);
    expect((await api.call('GET', '/v1/maintenances', { token: 'x'.repeat(32) })).status).toBe(401);
    const basic = await fetch(`${api.url}/v1/maintenances`, { headers: { authorization: `Basic ${api.readToken}` } });
    expect(basic.status).toBe(401);
    expect(basic.headers.get('www-authenticate')).toMatch(/^Bearer/);

    const forbidden = await api.call('POST', '/v1/maintenances', {
      token: api.readToken,
      body: { node: 'apiw-5', policy: TEST_POLICY },
    });
    expect(forbidden.status).toBe(403);
    expect(forbidden.body.message).toMatch(/read-only/);
    expect(await exists(env.client, 'maintenance-apiw-5')).toBe(false);

    expect((await api.call('GET', '/v1/maintenances', { token: api.readToken })).status).toBe(200);
    expect((await api.call('GET', '/v1/schedules', { token: api.writeToken })).status).toBe(200);
  });

  it('serves a valid OpenAPI document without a token, listing every endpoint', async () => {
    const { status, body } = await api.call('GET', '/v1/openapi.json', { token: null });
    expect(status).toBe(200);
    const result = await new Validator().validate(body);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(body.openapi).toBe('3.1.0');
    expect(Object.keys(body.paths).sort()).toEqual(
      [
        '/v1/hooks/alertmanager',
        '/v1/maintenances',
        '/v1/maintenances/{node}',
        '/v1/maintenances/{node}/cancel',
        '/v1/maintenances/{node}/decide',
        '/v1/maintenances/{node}/pause',
        '/v1/maintenances/{node}/release',
        '/v1/maintenances/{node}/resume',
        '/v1/plans',
        '/v1/rolling',
        '/v1/rolling/{name}',
        '/v1/rolling/{name}/cancel',
        '/v1/rolling/{name}/pause',
        '/v1/rolling/{name}/resume',
        '/v1/rolling/{name}/skip',
        '/v1/schedules',
        '/v1/schedules/{name}',
        '/v1/schedules/{name}/pause',
        '/v1/schedules/{name}/unpause',
      ].sort(),
    );
    // The start form's schema is the domain's: the node is required and the policy documented.
    const start = body.paths['/v1/maintenances'].post.requestBody.content['application/json'].schema;
    expect(start.required).toEqual(['node']);
    expect(Object.keys(start.properties)).toContain('policy');
  });
});

describe('malformed requests', () => {
  const tag = randomUUID().slice(0, 6);
  // [method, path, body (object) or raw text, expected status, what the message must say]
  const cases: [string, string, unknown, number, RegExp][] = [
    ['POST', '/v1/maintenances', {}, 400, /node: required/],
    ['POST', '/v1/maintenances', { node: 'Apiw_1' }, 400, /not a valid node name/],
    [
      'POST',
      '/v1/maintenances',
      { node: 'apiw-1', policy: { migration: { timeout: '5 minutes' } } },
      400,
      /policy\.migration\.timeout/,
    ],
    ['POST', '/v1/maintenances', { node: 'apiw-1', colour: 'red' }, 400, /colour: unknown field/],
    ['POST', '/v1/maintenances', { node: 'apiw-1', password: 'hunter2' }, 400, /credentials never go in the input/],
    ['POST', '/v1/maintenances', [], 400, /expected a JSON object/],
    ['POST', '/v1/maintenances', { raw: '{"node": "apiw-1"' }, 400, /not valid JSON/],
    ['POST', '/v1/maintenances', { raw: 'node=apiw-1', contentType: 'text/plain' }, 415, /Unsupported Media Type/i],
    ['POST', '/v1/maintenances', { node: 'apiw-1', power: 'redfish' }, 400, /redfish: required/],
    ['POST', '/v1/maintenances', { node: 'apiw-1', dryRun: true }, 400, /use plan/],
    ['POST', '/v1/maintenances', { node: 'apiw-99' }, 404, /apiw-99 does not exist/],
    ['POST', '/v1/plans', { node: 'apiw-1', hold: 'forever' }, 400, /hold: "forever" is not one of/],
    ['GET', '/v1/maintenances?limit=0', undefined, 400, /limit: expected a whole number/],
    ['GET', '/v1/maintenances?running=maybe', undefined, 400, /running: expected true or false/],
    ['GET', '/v1/maintenances?colour=red', undefined, 400, /colour: unknown query parameter/],
    ['GET', '/v1/maintenances/Apiw_1', undefined, 400, /not a valid node name/],
    [
      'POST',
      '/v1/maintenances/apiw-1/decide',
      { vmi: 'a1-rwo', action: 'shutdown' },
      400,
      /vmi: .* is not "namespace\/name"/,
    ],
    [
      'POST',
      '/v1/maintenances/apiw-1/decide',
      { vmi: 'vms/a1-rwo', action: 'explode' },
      400,
      /action: "explode" is not one of/,
    ],
    ['POST', '/v1/maintenances/apiw-1/release', { note: 5 }, 400, /note: expected text/],
    ['POST', '/v1/rolling', { name: 'Bad Name', selector: 'x=y' }, 400, /name: expected a DNS label/],
    ['POST', '/v1/rolling', { name: `mal-${tag}-1`, selector: 'x=y', nodes: ['apiw-1'] }, 400, /give exactly one/],
    ['POST', '/v1/rolling', { name: `mal-${tag}-2`, nodes: ['apiw-1', 'apiw-1'] }, 400, /listed twice/],
    ['POST', '/v1/rolling', { name: `mal-${tag}-3`, nodes: ['apiw-99'] }, 404, /nodes not in the cluster: apiw-99/],
    ['POST', '/v1/rolling/whatever/skip', {}, 400, /node: required/],
    [
      'POST',
      '/v1/schedules',
      { name: `mal-${tag}-s1`, rolling: { selector: 'x=y' } },
      400,
      /every, cron: give exactly one/,
    ],
    [
      'POST',
      '/v1/schedules',
      { name: `mal-${tag}-s2`, every: '500ms', rolling: { selector: 'x=y' } },
      400,
      /at least 1s/,
    ],
    [
      'POST',
      '/v1/schedules',
      { name: `mal-${tag}-s3`, cron: '* * *', rolling: { selector: 'x=y' } },
      400,
      /expected 5/,
    ],
    [
      'POST',
      '/v1/schedules',
      { name: `mal-${tag}-s6`, cron: '0 25 * * *', rolling: { selector: 'x=y' } },
      400,
      /cron: field 'hour' is 25, allowed 0-23/,
    ],
    [
      'POST',
      '/v1/schedules',
      { name: `mal-${tag}-s7`, cron: '61 * 32 * *', rolling: { selector: 'x=y' } },
      400,
      /minute' is 61, allowed 0-59\n.*day of month' is 32, allowed 1-31/,
    ],
    [
      'POST',
      '/v1/schedules',
      { name: `mal-${tag}-s4`, every: '1h', rolling: { selector: 'x=y', maxUnavailable: 0 } },
      400,
      /rolling\.maxUnavailable/,
    ],
    [
      'POST',
      '/v1/schedules',
      { name: `mal-${tag}-s5`, every: '1h', timeZone: 'Mars/Olympus', rolling: { selector: 'x=y' } },
      400,
      /not an IANA time zone/,
    ],
    ['POST', '/v1/schedules/anything/pause', { colour: 1 }, 400, /colour: unknown field/],
    ['POST', '/v1/hooks/alertmanager', { version: '3', status: 'firing', alerts: [] }, 400, /version: expected "4"/],
    ['POST', '/v1/hooks/alertmanager', { version: '4', status: 'firing' }, 400, /alerts: required/],
    [
      'POST',
      '/v1/hooks/alertmanager',
      { raw: JSON.stringify({ node: 'x'.repeat(2 * 1024 * 1024) }) },
      413,
      /too large/i,
    ],
    ['GET', '/v1/nothing-here', undefined, 404, /no such endpoint/],
  ];

  let bad: TestApi;
  const queue = `malformed-${tag}`;
  beforeAll(async () => {
    bad = await startTestApi({ client: env.client, taskQueue: queue, kube: env.kube });
  });
  afterAll(async () => {
    await bad?.close();
  });

  it.each(cases)('#%# %s %s → %i', async (method, path, input, status, message) => {
    const raw = (input as { raw?: string } | undefined)?.raw;
    const response = await bad.call(method, path, {
      ...(raw !== undefined
        ? { raw, contentType: (input as { contentType?: string }).contentType }
        : input !== undefined && { body: input }),
    });
    expect(response.status).toBe(status);
    expect(response.body.message).toMatch(message);
  });

  it('started nothing: no workflow on its task queue, no rolling maintenance, no schedule', async () => {
    expect(cases.length).toBeGreaterThanOrEqual(20);
    expect(await workflowsOn(env.client, queue)).toBe(0);
    for (const n of [1, 2, 3]) expect(await exists(env.client, `rolling-mal-${tag}-${n}`)).toBe(false);
    const schedules = (await bad.call('GET', '/v1/schedules')).body.schedules.map((s: { name: string }) => s.name);
    expect(schedules.filter((name: string) => name.startsWith(`mal-${tag}`))).toEqual([]);
  });
});

describe('a node maintenance through the API', () => {
  it('starts idempotently, asks a question, is answered, paused, resumed, released and completes', async () => {
    const before = await recordBefore(env.kube);
    const first = await api.call('POST', '/v1/maintenances', {
      body: { node: 'apiw-1', reason: 'DIMM', policy: TEST_POLICY },
    });
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ workflowId: 'maintenance-apiw-1', started: true });
    const again = await api.call('POST', '/v1/maintenances', { body: { node: 'apiw-1', reason: 'again' } });
    expect(again.status).toBe(200);
    expect(again.body).toEqual({ ...first.body, started: false });

    const asking = await until('apiw-1', 'a decision pending', (v) => v.progress?.decisionsPending?.length > 0);
    expect(asking.progress.decisionsPending[0]).toMatchObject({ vmi: 'vms/a1-rwo' });
    await sameAsService('/v1/maintenances/apiw-1', (service) => service.getMaintenance('apiw-1'));
    const wrong = await api.call('POST', '/v1/maintenances/apiw-1/decide', {
      body: { vmi: 'vms/a1-mig', action: 'shutdown' },
    });
    expect(wrong.status).toBe(409);
    expect(wrong.body.message).toMatch(/no decision is pending for vms\/a1-mig/);
    const decided = await api.call('POST', '/v1/maintenances/apiw-1/decide', {
      body: { vmi: 'vms/a1-rwo', action: 'shutdown' },
    });
    expect(decided).toMatchObject({ status: 200, body: { message: expect.stringMatching(/shutdown recorded/) } });

    await until('apiw-1', 'phase Hold', (v) => v.progress?.phase === 'Hold');
    const running = await api.call('GET', '/v1/maintenances?running=true&node=apiw-1', { token: api.readToken });
    expect(running.body.maintenances.map((m: { workflowId: string }) => m.workflowId)).toEqual(['maintenance-apiw-1']);
    expect((await api.call('POST', '/v1/maintenances/apiw-1/pause')).status).toBe(200);
    await until('apiw-1', 'paused', (v) => v.progress?.paused === true);
    expect((await api.call('POST', '/v1/maintenances/apiw-1/resume')).status).toBe(200);
    await until('apiw-1', 'resumed', (v) => v.progress?.paused === false);
    const released = await api.call('POST', '/v1/maintenances/apiw-1/release', { body: { note: 'DIMM replaced' } });
    expect(released.status).toBe(200);

    const done = await until('apiw-1', 'completed', (v) => v.status === 'Completed');
    expect(done).toMatchObject({
      phase: 'Done',
      result: { outcome: 'Completed', summary: { migrated: 1, restored: 1 } },
    });
    await sameAsService('/v1/maintenances/apiw-1', (service) => service.getMaintenance('apiw-1'));
    expect(await invariantViolations(env.kube, before, 'apiw-1')).toEqual([]);
    const after = await api.call('POST', '/v1/maintenances/apiw-1/release', {});
    expect(after.status).toBe(409);
    expect(after.body.message).toMatch(/not running \(Completed\)/);
    await sameAsService('/v1/maintenances?node=apiw-1&limit=5', async (service) => ({
      maintenances: await service.listMaintenances({ node: 'apiw-1', limit: 5 }),
    }));
    const listed = await api.call('GET', '/v1/maintenances?node=apiw-1&limit=5', { token: api.readToken });
    expect(listed.body.maintenances[0]).toMatchObject({
      workflowId: 'maintenance-apiw-1',
      status: 'Completed',
      phase: 'Done',
    });
  });

  it('cancels a held maintenance: it rolls back and the cluster is as before', async () => {
    const before = await recordBefore(env.kube);
    expect((await api.call('POST', '/v1/maintenances', { body: { node: 'apiw-2', policy: TEST_POLICY } })).status).toBe(
      201,
    );
    await until('apiw-2', 'phase Hold', (v) => v.progress?.phase === 'Hold');
    const cancel = await api.call('POST', '/v1/maintenances/apiw-2/cancel');
    expect(cancel).toMatchObject({ status: 200, body: { message: expect.stringMatching(/rolls back/) } });
    const ended = await until('apiw-2', 'cancelled', (v) => v.status === 'Cancelled');
    expect(ended.phase).toBe('RolledBack');
    expect(await invariantViolations(env.kube, before, 'apiw-2')).toEqual([]);
    expect((await api.call('POST', '/v1/maintenances/apiw-2/cancel')).status).toBe(409);
  });

  it('answers 404 for a node that never had a maintenance', async () => {
    const response = await api.call('GET', '/v1/maintenances/apiw-6', { token: api.readToken });
    expect(response.status).toBe(404);
    expect(response.body.message).toMatch(/no maintenance of apiw-6/);
    expect((await api.call('POST', '/v1/maintenances/apiw-6/pause')).status).toBe(404);
  });

  it('plans without changing anything', async () => {
    const before = await recordBefore(env.kube);
    const { status, body } = await api.call('POST', '/v1/plans', { body: { node: 'apiw-3' } });
    expect(status).toBe(200);
    expect(body).toMatchObject({ node: 'apiw-3', outcome: 'DryRun', verdict: { ok: true } });
    expect(body.verdict.plan.map((p: { vmi: string; action: string }) => [p.vmi, p.action])).toEqual([
      ['vms/a3-mig', 'migrate'],
    ]);
    expect(await exists(env.client, 'maintenance-apiw-3')).toBe(false);
    expect(await invariantViolations(env.kube, before, 'apiw-3')).toEqual([]);
  });
});

describe('Alertmanager webhook', () => {
  const alert = (status: 'firing' | 'resolved', labels: Record<string, string>, fingerprint: string) => ({
    status,
    labels: { severity: 'critical', ...labels },
    annotations: { summary: `hardware fault (${fingerprint})` },
    startsAt: new Date(Date.now() - 60_000).toISOString(),
    endsAt: status === 'resolved' ? new Date().toISOString() : '0001-01-01T00:00:00Z',
    generatorURL: 'http://prometheus.example/graph',
    fingerprint,
  });
  // The webhook payload exactly as Alertmanager sends it (version 4).
  const payload = {
    version: '4',
    groupKey: '{}:{alertname=~"Node.*"}',
    truncatedAlerts: 0,
    status: 'firing',
    receiver: 'pitstop',
    groupLabels: {},
    commonLabels: { severity: 'critical' },
    commonAnnotations: {},
    externalURL: 'http://alertmanager.example:9093',
    alerts: [
      alert('firing', { alertname: 'NodeMemoryECC', node: 'apiw-3' }, 'f1'),
      alert('firing', { alertname: 'NodeFanFailure', node: 'apiw-3' }, 'f2'),
      alert('firing', { alertname: 'NodeDiskFailure', node: 'apiw-4' }, 'f3'),
      alert('resolved', { alertname: 'NodePSUFailure', node: 'apiw-5' }, 'f4'),
      alert('firing', { alertname: 'ClusterCPUHigh' }, 'f5'),
      alert('firing', { alertname: 'NodeMemoryECC', node: 'apiw-77' }, 'f6'),
    ],
  };

  it('starts one repair per node named by a firing alert, and the same alerts again start nothing', async () => {
    const before = await recordBefore(env.kube);
    const first = await api.call('POST', '/v1/hooks/alertmanager', { body: payload });
    expect(first.status).toBe(200);
    expect(first.body.started.map((s: { node: string }) => s.node).sort()).toEqual(['apiw-3', 'apiw-4']);
    expect(first.body.started.find((s: { node: string }) => s.node === 'apiw-3')).toMatchObject({
      alerts: ['NodeMemoryECC (f1)', 'NodeFanFailure (f2)'],
      // The default alert table: a hardware alert naming a node asks for the planned runbook.
      mode: 'planned',
      rule: 'names-a-node',
    });
    const started = await env.client.workflow.getHandle('maintenance-apiw-3').describe();
    expect(started.memo).toMatchObject({
      source: 'alertmanager',
      alertname: 'NodeMemoryECC',
      alertRule: 'names-a-node',
    });
    const reasons = Object.fromEntries(
      first.body.skipped.map((s: { alert: string; reason: string }) => [s.alert, s.reason]),
    );
    expect(reasons).toEqual({
      'NodePSUFailure (f4)': expect.stringMatching(/resolved/),
      'ClusterCPUHigh (f5)': expect.stringMatching(/no "node" label/),
      'NodeMemoryECC (f6)': expect.stringMatching(/apiw-77 does not exist/),
    });
    expect(await exists(env.client, 'maintenance-apiw-5')).toBe(false);

    const again = await api.call('POST', '/v1/hooks/alertmanager', { body: payload });
    expect(again.body.started).toEqual([]);
    expect(again.body.skipped.filter((s: { reason: string }) => /already in maintenance/.test(s.reason))).toHaveLength(
      3,
    );
    const runs = await env.client.workflow.count(
      `WorkflowId = 'maintenance-apiw-3' OR WorkflowId = 'maintenance-apiw-4'`,
    );
    expect(runs.count).toBe(2);

    // The repairs hold for the operator; release them and they finish.
    for (const node of ['apiw-3', 'apiw-4']) {
      const view = await until(node, 'phase Hold', (v) => v.progress?.phase === 'Hold');
      expect(view.progress.message ?? '').not.toMatch(/error/i);
      expect((await api.call('POST', `/v1/maintenances/${node}/release`, { body: {} })).status).toBe(200);
    }
    for (const node of ['apiw-3', 'apiw-4']) await until(node, 'completed', (v) => v.status === 'Completed');
    for (const node of ['apiw-3', 'apiw-4']) expect(await invariantViolations(env.kube, before, node)).toEqual([]);

    // Alertmanager repeats a firing alert: a repair started since it fired already answered it.
    const repeated = await api.call('POST', '/v1/hooks/alertmanager', { body: payload });
    expect(repeated.body.started).toEqual([]);
    expect(repeated.body.skipped.filter((s: { reason: string }) => /already handled/.test(s.reason))).toHaveLength(3);
  });

  it('reads the node from the configured label', async () => {
    const custom = await startTestApi({
      client: env.client,
      taskQueue: `label-${randomUUID().slice(0, 6)}`,
      kube: env.kube,
      alertmanagerNodeLabel: 'instance',
    });
    try {
      const response = await custom.call('POST', '/v1/hooks/alertmanager', {
        body: { ...payload, alerts: [alert('firing', { alertname: 'X', node: 'apiw-6' }, 'f9')] },
      });
      expect(response.body).toEqual({
        started: [],
        skipped: [
          {
            alert: 'X (f9)',
            rule: 'names-a-node',
            action: 'planned',
            reason: 'no "instance" label: it does not name a node',
          },
        ],
      });
    } finally {
      await custom.close();
    }
  });

  it('follows a configured alert table: an ignore rule and an alert no rule matches start nothing', async () => {
    const { rules, problems } = readAlertRules(
      JSON.stringify([
        { name: 'fans', alertname: 'NodeFanFailure', action: 'ignore' },
        { name: 'down', alertname: 'KubeNodeNotReady', action: 'repair' },
      ]),
      'node',
    );
    expect(problems).toEqual([]);
    const custom = await startTestApi({
      client: env.client,
      taskQueue: `table-${randomUUID().slice(0, 6)}`,
      kube: env.kube,
      alertmanagerRules: rules,
    });
    try {
      const response = await custom.call('POST', '/v1/hooks/alertmanager', {
        body: {
          ...payload,
          alerts: [
            alert('firing', { alertname: 'NodeFanFailure', node: 'apiw-6' }, 'i1'),
            alert('firing', { alertname: 'NodeFanFailure', node: 'apiw-6' }, 'i2'),
            alert('firing', { alertname: 'NodeMemoryECC', node: 'apiw-6' }, 'u1'),
          ],
        },
      });
      expect(response.body).toEqual({
        started: [],
        skipped: [
          {
            alert: 'NodeFanFailure (i1)',
            node: 'apiw-6',
            rule: 'fans',
            action: 'ignore',
            reason: 'rule fans says ignore',
          },
          {
            alert: 'NodeFanFailure (i2)',
            node: 'apiw-6',
            rule: 'fans',
            action: 'ignore',
            reason: 'rule fans says ignore',
          },
          { alert: 'NodeMemoryECC (u1)', reason: 'no rule of the alert table matches it' },
        ],
      });
      expect(await exists(env.client, 'maintenance-apiw-6')).toBe(false);
    } finally {
      await custom.close();
    }
  });
});

describe('schedules through the API', () => {
  it('creates, lists, describes, pauses, unpauses and deletes a schedule', async () => {
    const name = `api-sched-${randomUUID().slice(0, 6)}`;
    const created = await api.call('POST', '/v1/schedules', {
      body: { name, every: '24h', paused: true, note: 'firmware', rolling: { nodes: ['apiw-5', 'apiw-6'] } },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      name,
      paused: true,
      every: '24h',
      workflowType: 'rollingMaintenance',
      rollingName: name,
    });
    expect(
      (await api.call('POST', '/v1/schedules', { body: { name, every: '1h', rolling: { selector: 'a=b' } } })).status,
    ).toBe(409);

    const listed = await eventually('the schedule listed', async () => {
      const { body } = await api.call('GET', '/v1/schedules', { token: api.readToken });
      return body.schedules.find((s: { name: string }) => s.name === name);
    });
    expect(listed).toMatchObject({ name, paused: true });
    expect((await api.call('POST', `/v1/schedules/${name}/unpause`, { body: {} })).body).toMatchObject({
      paused: false,
    });
    const paused = await api.call('POST', `/v1/schedules/${name}/pause`, { body: { note: 'freeze' } });
    expect(paused.body).toMatchObject({ paused: true, note: 'freeze' });
    expect((await api.call('GET', `/v1/schedules/${name}`, { token: api.readToken })).body.recentActions).toEqual([]);
    await sameAsService(`/v1/schedules/${name}`, (service) => service.getSchedule(name));
    expect((await api.call('DELETE', `/v1/schedules/${name}`)).status).toBe(200);
    expect((await api.call('GET', `/v1/schedules/${name}`, { token: api.readToken })).status).toBe(404);
    expect((await api.call('DELETE', `/v1/schedules/${name}`)).status).toBe(404);
  });
});

describe('rolling maintenance through the API', () => {
  it('starts idempotently, shows progress per node, pauses, skips a node, resumes and completes', async () => {
    const before = await recordBefore(env.kube);
    const name = `api-roll-${randomUUID().slice(0, 6)}`;
    const input = {
      name,
      nodes: ['apiw-5', 'apiw-6'],
      template: { hold: 'untilReleased', policy: TEST_POLICY },
    };
    const first = await api.call('POST', '/v1/rolling', { body: input });
    expect(first).toMatchObject({ status: 201, body: { workflowId: `rolling-${name}`, started: true } });
    const again = await api.call('POST', '/v1/rolling', { body: input });
    expect(again).toMatchObject({ status: 200, body: { ...first.body, started: false } });

    // The first node holds for its repair: the roll waits on it (a busy or full node is re-checked every 30 s).
    await eventually(
      'the roll holding apiw-5',
      async () => {
        const { body } = await api.call('GET', `/v1/maintenances/apiw-5`, { token: api.readToken });
        if (body.progress?.phase === 'Hold') return true;
        const roll = await api.call('GET', `/v1/rolling/${name}`, { token: api.readToken });
        throw new Error(
          `roll ${JSON.stringify(roll.body).slice(0, 1500)}; node: ${JSON.stringify(body).slice(0, 600)}`,
        );
      },
      150_000,
    );
    const rolling = await eventually('the roll shows apiw-5 running', async () => {
      const { body } = await api.call('GET', `/v1/rolling/${name}`, { token: api.readToken });
      return body.progress?.nodes?.find(
        (n: { node: string; state: string }) => n.node === 'apiw-5' && n.state === 'running',
      )
        ? body
        : undefined;
    });
    expect(rolling.progress.nodes.map((n: { node: string; state: string }) => [n.node, n.state])).toEqual([
      ['apiw-5', 'running'],
      ['apiw-6', 'pending'],
    ]);
    await sameAsService(`/v1/rolling/${name}`, (service) => service.getRolling(name));
    expect((await api.call('POST', `/v1/rolling/${name}/pause`)).status).toBe(200);
    const twice = await api.call('POST', `/v1/rolling/${name}/pause`);
    expect(twice.status).toBe(409);
    expect(twice.body.message).toMatch(/already paused/);
    const running = await api.call('POST', `/v1/rolling/${name}/skip`, { body: { node: 'apiw-5' } });
    expect(running.status).toBe(409);
    expect(running.body.message).toMatch(/in maintenance right now/);
    expect((await api.call('POST', `/v1/rolling/${name}/skip`, { body: { node: 'apiw-6' } })).status).toBe(200);
    expect((await api.call('POST', `/v1/rolling/${name}/resume`)).status).toBe(200);
    expect((await api.call('POST', '/v1/maintenances/apiw-5/release', { body: {} })).status).toBe(200);

    const done = await eventually(
      'the roll completed',
      async () => {
        const { body } = await api.call('GET', `/v1/rolling/${name}`, { token: api.readToken });
        return body.status === 'Completed' ? body : undefined;
      },
      150_000,
    );
    expect(done.result).toMatchObject({ status: 'Completed', completed: ['apiw-5'], skipped: ['apiw-6'] });
    await sameAsService(`/v1/rolling/${name}`, (service) => service.getRolling(name));
    await sameAsService('/v1/rolling?limit=20', async (service) => ({
      rolling: await service.listRolling({ limit: 20 }),
    }));
    for (const node of ['apiw-5', 'apiw-6']) expect(await invariantViolations(env.kube, before, node)).toEqual([]);
    const listed = await api.call('GET', '/v1/rolling?limit=20', { token: api.readToken });
    expect(listed.body.rolling.map((r: { workflowId: string }) => r.workflowId)).toContain(`rolling-${name}`);
  }, 240_000);

  it('cancels a roll: its running node rolls back', async () => {
    const before = await recordBefore(env.kube);
    const name = `api-cancel-${randomUUID().slice(0, 6)}`;
    const started = await api.call('POST', '/v1/rolling', {
      body: { name, nodes: ['apiw-6'], template: { hold: 'untilReleased', policy: TEST_POLICY } },
    });
    expect(started.status).toBe(201);
    // The roll re-checks a busy or full node every 30 s: wait generously, and say where the roll stood.
    await eventually(
      'the roll holding apiw-6',
      async () => {
        const { body } = await api.call('GET', `/v1/maintenances/apiw-6`, { token: api.readToken });
        if (body.status === 'Running' && body.progress?.phase === 'Hold') return true;
        const roll = await api.call('GET', `/v1/rolling/${name}`, { token: api.readToken });
        throw new Error(
          `roll ${roll.body.progress?.status}: ${roll.body.progress?.message ?? ''}; node: ${body.message ?? body.progress?.phase}`,
        );
      },
      150_000,
    );
    expect((await api.call('POST', `/v1/rolling/${name}/cancel`)).status).toBe(200);
    const ended = await eventually('the roll ended', async () => {
      const { body } = await api.call('GET', `/v1/rolling/${name}`, { token: api.readToken });
      return body.status !== 'Running' ? body : undefined;
    });
    expect(ended.status).toBe('Cancelled');
    const child = await until('apiw-6', 'ended', (v) => v.status !== 'Running');
    expect(child.phase).toBe('RolledBack');
    expect(await invariantViolations(env.kube, before, 'apiw-6')).toEqual([]);
  }, 300_000);
});
