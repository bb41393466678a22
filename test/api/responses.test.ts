// The API's replies against stand-in services (no Temporal, no cluster): every body the service returns reaches the
// client whole through the response schemas, every route documents its bodies, and failures map to their statuses.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Validator } from '@seriousme/openapi-schema-validator';
import type { FastifyInstance } from 'fastify';
import { buildApi, type ApiServices } from '../../src/api/server.js';
import { NotFoundError, RefusedError } from '../../src/client/errors.js';
import { readAlertRules } from '../../src/domain/alertRules.js';
import { InvalidInputError } from '../../src/domain/errors.js';
import {
  finishedMaintenance,
  result,
  rollingView,
  run,
  runningMaintenance,
  schedule,
  scheduleEntry,
  startOutcome,
} from './samples.js';

const WRITE_TOKEN = 'w'.repeat(32);
/** A parsed JSON document (the OpenAPI document, a schema in it). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

/** Services that answer with the samples; `override` replaces single operations. */
function services(override: { maintenances?: Partial<ApiServices['maintenances']> } = {}): ApiServices {
  const answer =
    <T>(value: T) =>
    async () =>
      structuredClone(value);
  return {
    maintenances: {
      startMaintenance: answer(startOutcome),
      planMaintenance: answer(result),
      listMaintenances: answer([run]),
      getMaintenance: answer(finishedMaintenance),
      decide: answer('shutdown recorded for apps/db'),
      release: answer('released'),
      pauseMaintenance: answer('paused'),
      resumeMaintenance: answer('resumed'),
      cancelMaintenance: answer('cancel requested: maintenance of worker-3 rolls back'),
      maintenanceStartedSince: answer(undefined),
      ...override.maintenances,
    },
    rolling: {
      startRolling: answer({ ...startOutcome, workflowId: 'rolling-fw' }),
      listRolling: answer([run]),
      getRolling: answer(rollingView),
      pauseRolling: answer('paused'),
      resumeRolling: answer('resumed'),
      skipNode: answer('worker-3 will be skipped'),
      cancelRolling: answer('cancel requested'),
    },
    schedules: {
      createSchedule: answer(schedule),
      listSchedules: answer([scheduleEntry, { name: 'nightly', paused: false, nextActionTimes: [] }]),
      getSchedule: answer(schedule),
      pauseSchedule: answer(schedule),
      unpauseSchedule: answer({ ...schedule, paused: false }),
      deleteSchedule: answer(undefined),
    },
  };
}

function api(given: ApiServices = services()): FastifyInstance {
  return buildApi({
    namespace: 'default',
    taskQueue: 'test',
    tokens: [{ role: 'write', token: WRITE_TOKEN }],
    services: given,
  });
}

async function call(server: FastifyInstance, method: string, url: string, payload?: unknown) {
  const response = await server.inject({
    method: method as 'GET',
    url,
    headers: { authorization: `Bearer ${WRITE_TOKEN}` },
    ...(payload !== undefined && { payload: payload as object }),
  });
  return { status: response.statusCode, body: response.json() };
}

interface Case {
  /** As the OpenAPI document names it. */
  route: string;
  url: string;
  body?: unknown;
  status: number;
  expected: unknown;
}

const CASES: Case[] = [
  { route: 'post /v1/maintenances', url: '/v1/maintenances', body: {}, status: 201, expected: startOutcome },
  { route: 'post /v1/plans', url: '/v1/plans', body: {}, status: 200, expected: result },
  { route: 'get /v1/maintenances', url: '/v1/maintenances', status: 200, expected: { maintenances: [run] } },
  {
    route: 'get /v1/maintenances/{node}',
    url: '/v1/maintenances/worker-3',
    status: 200,
    expected: finishedMaintenance,
  },
  {
    route: 'post /v1/maintenances/{node}/decide',
    url: '/v1/maintenances/worker-3/decide',
    body: {},
    status: 200,
    expected: { message: 'shutdown recorded for apps/db' },
  },
  {
    route: 'post /v1/maintenances/{node}/cancel',
    url: '/v1/maintenances/worker-3/cancel',
    status: 200,
    expected: { message: 'cancel requested: maintenance of worker-3 rolls back' },
  },
  {
    route: 'post /v1/rolling',
    url: '/v1/rolling',
    body: {},
    status: 201,
    expected: { ...startOutcome, workflowId: 'rolling-fw' },
  },
  { route: 'get /v1/rolling', url: '/v1/rolling', status: 200, expected: { rolling: [run] } },
  { route: 'get /v1/rolling/{name}', url: '/v1/rolling/fw', status: 200, expected: rollingView },
  {
    route: 'post /v1/rolling/{name}/skip',
    url: '/v1/rolling/fw/skip',
    body: {},
    status: 200,
    expected: { message: 'worker-3 will be skipped' },
  },
  { route: 'post /v1/schedules', url: '/v1/schedules', body: {}, status: 201, expected: schedule },
  {
    route: 'get /v1/schedules',
    url: '/v1/schedules',
    status: 200,
    expected: { schedules: [scheduleEntry, { name: 'nightly', paused: false, nextActionTimes: [] }] },
  },
  { route: 'get /v1/schedules/{name}', url: '/v1/schedules/weekly', status: 200, expected: schedule },
  {
    route: 'post /v1/schedules/{name}/unpause',
    url: '/v1/schedules/weekly/unpause',
    body: {},
    status: 200,
    expected: { ...schedule, paused: false },
  },
  {
    route: 'delete /v1/schedules/{name}',
    url: '/v1/schedules/weekly',
    status: 200,
    expected: { message: 'schedule weekly deleted' },
  },
];

let server: FastifyInstance;
let document: Json;

beforeAll(async () => {
  server = api();
  document = (await server.inject({ method: 'GET', url: '/v1/openapi.json' })).json();
});
afterAll(async () => {
  await server?.close();
});

/** One firing alert of an Alertmanager webhook payload. */
const firing = (labels: Record<string, string>, fingerprint: string) => ({
  status: 'firing',
  labels,
  startsAt: run.startTime,
  fingerprint,
});

describe('response bodies', () => {
  it.each(CASES)('$route answers $status with what the service returned, every field kept', async (c) => {
    const [method = ''] = c.route.split(' ');
    expect(await call(server, method.toUpperCase(), c.url, c.body)).toEqual({ status: c.status, body: c.expected });
  });

  it('keeps fields the schemas do not know yet, at any depth', async () => {
    const later = {
      ...runningMaintenance,
      addedLater: { any: ['shape'] },
      progress: {
        ...runningMaintenance.progress,
        vms: runningMaintenance.progress.vms.map((vm) => ({ ...vm, addedLater: 1 })),
      },
    };
    const custom = api(services({ maintenances: { getMaintenance: async () => structuredClone(later) } }));
    expect((await call(custom, 'GET', '/v1/maintenances/worker-3')).body).toEqual(later);
    await custom.close();
  });

  it('answers a repeated start 200 with the running one, and a run without optional fields as it is', async () => {
    const minimal = {
      workflowId: 'maintenance-worker-3',
      runId: 'r-1',
      type: 'nodeMaintenance',
      status: 'Running',
      startTime: run.startTime,
    };
    const custom = api(
      services({
        maintenances: {
          startMaintenance: async () => ({ ...startOutcome, started: false }),
          getMaintenance: async () => ({ ...minimal, status: 'Running' as const }),
        },
      }),
    );
    expect(await call(custom, 'POST', '/v1/maintenances', {})).toEqual({
      status: 200,
      body: { ...startOutcome, started: false },
    });
    expect(await call(custom, 'GET', '/v1/maintenances/worker-3')).toEqual({ status: 200, body: minimal });
    await custom.close();
  });

  it('answers the Alertmanager hook with what it started, in which mode and by which rule, and what it skipped', async () => {
    const inputs: unknown[] = [];
    const custom = api(
      services({
        maintenances: {
          startMaintenance: async (input) => {
            inputs.push(input);
            if ((input as { node: string }).node === 'worker-9')
              throw new NotFoundError('node worker-9 does not exist');
            return startOutcome;
          },
        },
      }),
    );
    const alert = (alertname: string, node: string, fingerprint: string) => firing({ alertname, node }, fingerprint);
    const payload = {
      version: '4',
      status: 'firing',
      alerts: [
        alert('NodeMemoryECC', 'worker-3', 'f1'),
        alert('KubeNodeNotReady', 'worker-3', 'f3'),
        alert('NodeMemoryECC', 'worker-9', 'f2'),
      ],
    };
    expect(await call(custom, 'POST', '/v1/hooks/alertmanager', payload)).toEqual({
      status: 200,
      body: {
        started: [
          {
            node: 'worker-3',
            mode: 'repair',
            rule: 'node-down',
            workflowId: startOutcome.workflowId,
            runId: startOutcome.runId,
            alerts: ['NodeMemoryECC (f1)', 'KubeNodeNotReady (f3)'],
          },
        ],
        skipped: [
          {
            alert: 'NodeMemoryECC (f2)',
            node: 'worker-9',
            rule: 'names-a-node',
            action: 'planned',
            reason: 'node worker-9 does not exist',
          },
        ],
      },
    });
    // The maintenance is asked for in that mode, its reason from the alert that chose it.
    expect(inputs).toEqual([
      { node: 'worker-3', mode: 'repair', reason: 'alert KubeNodeNotReady', requestedBy: 'alertmanager' },
      { node: 'worker-9', mode: 'planned', reason: 'alert NodeMemoryECC', requestedBy: 'alertmanager' },
    ]);
    await custom.close();
  });

  it('applies a configured alert table: per-rule node label, ignore, and no rule matching', async () => {
    const inputs: unknown[] = [];
    const { rules, problems } = readAlertRules(
      JSON.stringify([
        { name: 'hardware', alertname: 'NodeRAIDDiskFailure', nodeLabel: 'instance', action: 'planned' },
        { name: 'quiet', matchers: ['severity="info"'], action: 'ignore' },
        { name: 'down', matchers: ['alertname=~"KubeNode(NotReady|Unreachable)"'], action: 'repair' },
      ]),
      'node',
    );
    expect(problems).toEqual([]);
    const custom = buildApi({
      namespace: 'default',
      taskQueue: 'test',
      tokens: [{ role: 'write', token: WRITE_TOKEN }],
      services: services({
        maintenances: {
          startMaintenance: async (input) => {
            inputs.push(input);
            return startOutcome;
          },
        },
      }),
      alertmanagerRules: rules,
    });
    const alert = firing;
    const payload = {
      version: '4',
      status: 'firing',
      alerts: [
        alert({ alertname: 'NodeRAIDDiskFailure', instance: 'worker-4', device: 'md0' }, 'r1'),
        alert({ alertname: 'KubeNodeReadinessFlapping', node: 'worker-5', severity: 'info' }, 'q1'),
        alert({ alertname: 'KubeNodeNotReadyish', node: 'worker-6' }, 'u1'),
      ],
    };
    const { body } = await call(custom, 'POST', '/v1/hooks/alertmanager', payload);
    expect(body.started).toEqual([expect.objectContaining({ node: 'worker-4', mode: 'planned', rule: 'hardware' })]);
    expect(body.skipped).toEqual([
      {
        alert: 'KubeNodeReadinessFlapping (q1)',
        node: 'worker-5',
        rule: 'quiet',
        action: 'ignore',
        reason: 'rule quiet says ignore',
      },
      { alert: 'KubeNodeNotReadyish (u1)', reason: 'no rule of the alert table matches it' },
    ]);
    expect(inputs).toEqual([expect.objectContaining({ node: 'worker-4', mode: 'planned' })]);
    await custom.close();
  });
});

describe('failures', () => {
  const failing = (error: Error) =>
    api(services({ maintenances: { getMaintenance: async () => Promise.reject(error) } }));
  const invalid = new InvalidInputError(['node: required', 'reason: too long']);
  it.each([
    ['InvalidInputError', 400, invalid, { error: 'InvalidInput', issues: ['node: required', 'reason: too long'] }],
    [
      'NotFoundError',
      404,
      new NotFoundError('no maintenance of worker-3'),
      { error: 'NotFound', message: 'no maintenance of worker-3' },
    ],
    ['RefusedError', 409, new RefusedError('maintenance of worker-3 is not running'), { error: 'Refused' }],
    [
      'an unexpected error',
      500,
      new Error('connection reset'),
      { error: 'Internal', message: 'internal error; see the server log' },
    ],
  ])('%s answers %i with the error body', async (_name, status, error, body) => {
    const custom = failing(error);
    const response = await call(custom, 'GET', '/v1/maintenances/worker-3');
    expect(response.status).toBe(status);
    expect(response.body).toMatchObject({ message: expect.any(String), ...body });
    expect(Object.keys(response.body).sort()).toEqual(Object.keys({ message: 1, ...body }).sort());
    await custom.close();
  });
});

/** Paths of `value` that `schema` does not describe (a property it does not list). */
function undocumented(value: unknown, schema: Json, path = ''): string[] {
  if (Array.isArray(value)) return value.flatMap((item, i) => undocumented(item, schema.items ?? {}, `${path}[${i}]`));
  if (typeof value !== 'object' || value === null) return [];
  return Object.entries(value).flatMap(([key, inner]) =>
    schema.properties?.[key] === undefined
      ? [`${path}.${key}`]
      : undocumented(inner, schema.properties[key], `${path}.${key}`),
  );
}

describe('the OpenAPI document', () => {
  it('is valid OpenAPI 3.1', async () => {
    const checked = await new Validator().validate(document);
    expect(checked.errors ?? []).toEqual([]);
    expect(checked.valid).toBe(true);
  });

  it('documents a JSON body for each success and the error body for each 4xx, on every route', () => {
    const operations = Object.entries(document.paths).flatMap(([path, methods]) =>
      Object.entries(methods as object).map(([method, operation]) => ({ route: `${method} ${path}`, operation })),
    );
    // 19 paths; four of them with two methods.
    expect(operations.length).toBe(23);
    for (const { route, operation } of operations) {
      const responses = Object.entries(operation.responses as Record<string, Json>);
      const bodyOf = (status: string) =>
        responses.find(([s]) => s === status)?.[1].content?.['application/json']?.schema;
      const successes = responses.filter(([status]) => /^20[012]$/.test(status));
      expect(successes.length, route).toBeGreaterThan(0);
      for (const [status] of successes) {
        expect(bodyOf(status)?.properties, `${route} ${status}`).toBeDefined();
      }
      for (const status of ['400', '401', '403', '404', '409']) {
        expect(bodyOf(status), `${route} ${status}`).toMatchObject({
          required: ['error', 'message'],
          properties: { error: { enum: expect.arrayContaining(['InvalidInput']) }, message: { type: 'string' } },
        });
      }
    }
  });

  it.each(CASES)('describes every field $route sends', (c) => {
    const [method = '', path = ''] = c.route.split(' ');
    const schema = document.paths[path][method].responses[String(c.status)].content['application/json'].schema;
    expect(undocumented(c.expected, schema)).toEqual([]);
  });
});
