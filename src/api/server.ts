/**
 * The HTTP API (Fastify 5). Bodies are validated by the domain parsers (the same zod schemas and messages as the
 * workflows' own validation); the OpenAPI 3.1 document at /v1/openapi.json is generated from those zod schemas
 * (z.toJSONSchema), so the document and the validation cannot drift apart. Every 4xx answers
 * `{ error, message, issues? }` and starts nothing.
 */
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import swagger from '@fastify/swagger';
import type { Client } from '@temporalio/client';
import { z } from 'zod';
import { InvalidInputError } from '../domain/errors.js';
import { maintenanceInputSchema } from '../domain/request.js';
import { rollingInputSchema } from '../domain/rolling.js';
import { scheduleInputSchema } from '../domain/schedule.js';
import { NotFoundError, RefusedError } from '../client/errors.js';
import { PitstopService } from '../client/service.js';
import { TokenVerifier, type ApiToken, type Role } from './auth.js';
import {
  alertmanagerPayloadSchema,
  parseAlertmanagerPayload,
  repairCandidates,
  type SkippedAlert,
} from './alertmanager.js';

export interface ApiServerOptions {
  client: Client;
  namespace: string;
  taskQueue: string;
  tokens: ApiToken[];
  /** The alert label that names the node (default `node`). */
  alertmanagerNodeLabel?: string;
  logger?: FastifyBaseLogger;
  onResponse?: (info: { method: string; route: string; status: number; durationMs: number }) => void;
  /** When given, starts naming a node the cluster does not have are refused (404) before anything starts. */
  nodeExists?: (node: string) => Promise<boolean>;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The role a route needs; absent = public (the OpenAPI document). */
    role?: Role;
  }
}

const jsonSchema = (schema: z.ZodType) => {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Record<
    string,
    unknown
  >;
  return rest;
};

const errorSchema = {
  type: 'object',
  properties: {
    error: { type: 'string', enum: ['InvalidInput', 'Unauthorized', 'Forbidden', 'NotFound', 'Refused', 'Internal'] },
    message: { type: 'string' },
    issues: { type: 'array', items: { type: 'string' } },
  },
  required: ['error', 'message'],
} as const;

const anyObject = { type: 'object', additionalProperties: true } as const;
const nodeParam = {
  type: 'object',
  properties: { node: { type: 'string', description: 'Node name', pattern: '^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$' } },
  required: ['node'],
} as const;
const nameParam = (what: string) =>
  ({ type: 'object', properties: { name: { type: 'string', description: what } }, required: ['name'] }) as const;

function responses(ok: Record<string, unknown>, okStatus = 200) {
  return {
    [okStatus]: ok,
    400: { description: 'Malformed request', ...errorSchema },
    401: { description: 'No or unknown bearer token', ...errorSchema },
    403: { description: 'Read-only token on a write', ...errorSchema },
    404: { description: 'Not found', ...errorSchema },
    409: { description: 'Refused', ...errorSchema },
  };
}

function send(reply: FastifyReply, status: number, error: string, message: string, issues?: string[]) {
  return reply.code(status).send({ error, message, ...(issues && { issues }) });
}

/** Query parameters: only the known ones, each checked. */
function listQuery(query: unknown, allowed: string[]): { node?: string; running?: boolean; limit?: number } {
  const q = (query ?? {}) as Record<string, unknown>;
  const problems: string[] = [];
  for (const key of Object.keys(q)) {
    if (!allowed.includes(key)) problems.push(`${key}: unknown query parameter (known: ${allowed.join(', ')})`);
  }
  const out: { node?: string; running?: boolean; limit?: number } = {};
  if (q.running !== undefined) {
    if (q.running === 'true' || q.running === 'false') out.running = q.running === 'true';
    else problems.push(`running: expected true or false, got ${JSON.stringify(q.running)}`);
  }
  if (q.limit !== undefined) {
    const n = Number(q.limit);
    if (typeof q.limit === 'string' && /^\d+$/.test(q.limit) && n >= 1 && n <= 1000) out.limit = n;
    else problems.push(`limit: expected a whole number from 1 to 1000, got ${JSON.stringify(q.limit)}`);
  }
  if (q.node !== undefined) {
    if (typeof q.node === 'string') out.node = q.node;
    else problems.push('node: give it once');
  }
  if (problems.length > 0) throw new InvalidInputError(problems);
  return out;
}

export function createApiServer(options: ApiServerOptions): FastifyInstance {
  const service = new PitstopService({
    client: options.client,
    taskQueue: options.taskQueue,
    nodeExists: options.nodeExists,
  });
  const verifier = new TokenVerifier(options.tokens);
  const nodeLabel = options.alertmanagerNodeLabel ?? 'node';
  const app = Fastify({
    ...(options.logger ? { loggerInstance: options.logger } : { logger: false }),
    bodyLimit: 1024 * 1024,
    // Validation of params, query and bodies is the domain's (see the module comment); the schemas document it.
    ajv: { customOptions: { strict: false } },
  });
  app.setValidatorCompiler(() => (data) => ({ value: data }));
  // JSON only: anything else is 415 Unsupported Media Type.
  app.removeContentTypeParser('text/plain');

  void app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Pitstop API',
        version: '1',
        description: `Bare-metal KubeVirt node maintenance as Temporal workflows (namespace ${options.namespace}, task queue ${options.taskQueue}).`,
      },
      components: {
        securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'Token with role read or write' } },
      },
      security: [{ bearer: [] }],
      tags: [
        { name: 'maintenance', description: 'Node maintenance (workflow maintenance-<node>)' },
        { name: 'rolling', description: 'Rolling maintenance (workflow rolling-<name>)' },
        { name: 'schedules', description: 'Temporal Schedules that start rolling maintenance (overlap SKIP)' },
        { name: 'hooks', description: 'Alertmanager webhook' },
      ],
    },
  });

  app.addHook('onRequest', async (request, reply) => {
    const needed = request.routeOptions.config?.role;
    if (needed === undefined) return;
    const role = verifier.roleOf(request.headers.authorization);
    if (role === undefined) {
      void reply.header('www-authenticate', 'Bearer realm="pitstop"');
      return send(reply, 401, 'Unauthorized', 'a valid bearer token is required (Authorization: Bearer <token>)');
    }
    if (needed === 'write' && role !== 'write') {
      return send(reply, 403, 'Forbidden', 'this token is read-only; this request needs a write token');
    }
  });

  if (options.onResponse) {
    const report = options.onResponse;
    app.addHook('onResponse', async (request, reply) => {
      report({
        method: request.method,
        route: request.routeOptions.url ?? 'unmatched',
        status: reply.statusCode,
        durationMs: reply.elapsedTime,
      });
    });
  }

  app.setNotFoundHandler((request, reply) =>
    send(
      reply,
      404,
      'NotFound',
      `no such endpoint: ${request.method} ${request.url.split('?')[0]} (see /v1/openapi.json)`,
    ),
  );

  app.setErrorHandler((error, request, reply) => {
    if (error instanceof InvalidInputError) {
      return send(reply, 400, 'InvalidInput', error.message, error.issues);
    }
    if (error instanceof NotFoundError) return send(reply, 404, 'NotFound', error.message);
    if (error instanceof RefusedError) return send(reply, 409, 'Refused', error.message);
    const status = (error as { statusCode?: number }).statusCode;
    if (status !== undefined && status >= 400 && status < 500) {
      // Fastify's own: invalid JSON, unsupported media type, body too large, ...
      return send(reply, status, 'InvalidInput', (error as Error).message);
    }
    request.log.error(error);
    return send(reply, 500, 'Internal', 'internal error; see the server log');
  });

  // Routes in a plugin registered after @fastify/swagger, so the document sees every one of them.
  void app.register(async (api) => {
    const read = { role: 'read' as const };
    const write = { role: 'write' as const };
    const param = (request: FastifyRequest, key: string) => (request.params as Record<string, string>)[key] ?? '';

    api.get('/v1/openapi.json', { schema: { hide: true } }, async () => app.swagger());

    // ---- node maintenance ----
    api.post(
      '/v1/maintenances',
      {
        config: write,
        schema: {
          tags: ['maintenance'],
          summary: 'Start a maintenance (idempotent per node: a repeat returns the running one)',
          body: jsonSchema(maintenanceInputSchema),
          response: responses({ description: 'Started (201) or already running (200)', ...anyObject }, 201),
        },
      },
      async (request, reply) => {
        const outcome = await service.startMaintenance(request.body);
        return reply.code(outcome.started ? 201 : 200).send(outcome);
      },
    );
    api.post(
      '/v1/plans',
      {
        config: write,
        schema: {
          tags: ['maintenance'],
          summary: 'Dry run: preflight verdict and per-VM plan, nothing changed',
          body: jsonSchema(maintenanceInputSchema),
          response: responses({ description: 'The plan', ...anyObject }),
        },
      },
      async (request) => await service.planMaintenance(request.body),
    );
    api.get(
      '/v1/maintenances',
      {
        config: read,
        schema: {
          tags: ['maintenance'],
          summary: 'Running and recent maintenances (Temporal visibility), newest first',
          querystring: {
            type: 'object',
            properties: { node: { type: 'string' }, running: { type: 'boolean' }, limit: { type: 'integer' } },
          },
          response: responses({ description: 'Runs', ...anyObject }),
        },
      },
      async (request) => ({
        maintenances: await service.listMaintenances(listQuery(request.query, ['node', 'running', 'limit'])),
      }),
    );
    api.get(
      '/v1/maintenances/:node',
      {
        config: read,
        schema: {
          tags: ['maintenance'],
          summary: 'The latest maintenance of a node: live progress, or its result/failure',
          params: nodeParam,
          response: responses({ description: 'The run', ...anyObject }),
        },
      },
      async (request) => await service.getMaintenance(param(request, 'node')),
    );
    const nodeAction = (
      action: string,
      summary: string,
      run: (node: string, body: unknown) => Promise<string>,
      body?: Record<string, unknown>,
    ) =>
      api.post(
        `/v1/maintenances/:node/${action}`,
        {
          config: write,
          schema: {
            tags: ['maintenance'],
            summary,
            params: nodeParam,
            ...(body && { body }),
            response: responses({
              description: 'Accepted',
              type: 'object',
              properties: { message: { type: 'string' } },
            }),
          },
        },
        async (request) => ({ message: await run(param(request, 'node'), request.body) }),
      );
    nodeAction('decide', 'Answer an escalation', (node, body) => service.decide(node, body), {
      type: 'object',
      properties: { vmi: { type: 'string' }, action: { type: 'string', enum: ['shutdown', 'retry', 'delete'] } },
      required: ['vmi', 'action'],
      additionalProperties: false,
    });
    nodeAction(
      'release',
      'The repair is done: power on and finish',
      (node, body) => service.release(node, body ?? {}),
      {
        type: 'object',
        properties: { note: { type: 'string', maxLength: 1024 } },
        additionalProperties: false,
      },
    );
    nodeAction('pause', 'No new step starts until resume', (node) => service.pauseMaintenance(node));
    nodeAction('resume', 'Resume a paused maintenance', (node) => service.resumeMaintenance(node));
    nodeAction('cancel', 'Cancel: the maintenance rolls back', (node) => service.cancelMaintenance(node));

    // ---- rolling maintenance ----
    api.post(
      '/v1/rolling',
      {
        config: write,
        schema: {
          tags: ['rolling'],
          summary: 'Start a rolling maintenance (idempotent per name)',
          body: jsonSchema(rollingInputSchema),
          response: responses({ description: 'Started (201) or already running (200)', ...anyObject }, 201),
        },
      },
      async (request, reply) => {
        const outcome = await service.startRolling(request.body);
        return reply.code(outcome.started ? 201 : 200).send(outcome);
      },
    );
    api.get(
      '/v1/rolling',
      {
        config: read,
        schema: {
          tags: ['rolling'],
          summary: 'Running and recent rolling maintenances',
          querystring: { type: 'object', properties: { running: { type: 'boolean' }, limit: { type: 'integer' } } },
          response: responses({ description: 'Runs', ...anyObject }),
        },
      },
      async (request) => ({ rolling: await service.listRolling(listQuery(request.query, ['running', 'limit'])) }),
    );
    api.get(
      '/v1/rolling/:name',
      {
        config: read,
        schema: {
          tags: ['rolling'],
          summary: 'Progress per node, or the result',
          params: nameParam('Rolling maintenance name (workflow rolling-<name>)'),
          response: responses({ description: 'The run', ...anyObject }),
        },
      },
      async (request) => await service.getRolling(param(request, 'name')),
    );
    const rollingAction = (
      action: string,
      summary: string,
      run: (name: string, body: unknown) => Promise<string>,
      body?: Record<string, unknown>,
    ) =>
      api.post(
        `/v1/rolling/:name/${action}`,
        {
          config: write,
          schema: {
            tags: ['rolling'],
            summary,
            params: nameParam('Rolling maintenance name'),
            ...(body && { body }),
            response: responses({
              description: 'Accepted',
              type: 'object',
              properties: { message: { type: 'string' } },
            }),
          },
        },
        async (request) => ({ message: await run(param(request, 'name'), request.body) }),
      );
    rollingAction('pause', 'No new node starts until resume', (name) => service.pauseRolling(name));
    rollingAction('resume', 'Resume', (name) => service.resumeRolling(name));
    rollingAction('skip', 'Skip a node that has not started', (name, body) => service.skipNode(name, body), {
      type: 'object',
      properties: { node: { type: 'string' } },
      required: ['node'],
      additionalProperties: false,
    });
    rollingAction('cancel', 'Cancel the roll', (name) => service.cancelRolling(name));

    // ---- schedules ----
    api.post(
      '/v1/schedules',
      {
        config: write,
        schema: {
          tags: ['schedules'],
          summary: 'Create a schedule that starts rollingMaintenance (overlap SKIP)',
          body: jsonSchema(scheduleInputSchema),
          response: responses({ description: 'Created', ...anyObject }, 201),
        },
      },
      async (request, reply) => reply.code(201).send(await service.createSchedule(request.body)),
    );
    api.get(
      '/v1/schedules',
      {
        config: read,
        schema: {
          tags: ['schedules'],
          summary: "Pitstop's schedules",
          response: responses({ description: 'Schedules', ...anyObject }),
        },
      },
      async (request) => {
        listQuery(request.query, []);
        return { schedules: await service.listSchedules() };
      },
    );
    api.get(
      '/v1/schedules/:name',
      {
        config: read,
        schema: {
          tags: ['schedules'],
          summary: 'Describe a schedule: spec, state, next and recent actions',
          params: nameParam('Schedule name'),
          response: responses({ description: 'The schedule', ...anyObject }),
        },
      },
      async (request) => await service.getSchedule(param(request, 'name')),
    );
    for (const action of ['pause', 'unpause'] as const) {
      api.post(
        `/v1/schedules/:name/${action}`,
        {
          config: write,
          schema: {
            tags: ['schedules'],
            summary: action === 'pause' ? 'Pause a schedule' : 'Unpause a schedule',
            params: nameParam('Schedule name'),
            body: { type: 'object', properties: { note: { type: 'string' } }, additionalProperties: false },
            response: responses({ description: 'The schedule', ...anyObject }),
          },
        },
        async (request) => {
          const body = (request.body ?? {}) as Record<string, unknown>;
          const extra =
            typeof body === 'object' && !Array.isArray(body) ? Object.keys(body).filter((k) => k !== 'note') : ['body'];
          if (extra.length > 0 || (body.note !== undefined && typeof body.note !== 'string')) {
            throw new InvalidInputError(
              extra.length > 0 ? extra.map((k) => `${k}: unknown field`) : ['note: expected text'],
            );
          }
          const name = param(request, 'name');
          const note = body.note as string | undefined;
          return action === 'pause'
            ? await service.pauseSchedule(name, note)
            : await service.unpauseSchedule(name, note);
        },
      );
    }
    api.delete(
      '/v1/schedules/:name',
      {
        config: write,
        schema: {
          tags: ['schedules'],
          summary: 'Delete a schedule (running rolling maintenances go on)',
          params: nameParam('Schedule name'),
          response: responses({ description: 'Deleted', type: 'object', properties: { message: { type: 'string' } } }),
        },
      },
      async (request) => {
        const name = param(request, 'name');
        await service.deleteSchedule(name);
        return { message: `schedule ${name} deleted` };
      },
    );

    // ---- Alertmanager ----
    api.post(
      '/v1/hooks/alertmanager',
      {
        config: write,
        schema: {
          tags: ['hooks'],
          summary: `Start a repair for each firing alert whose "${nodeLabel}" label names a node (deduplicated)`,
          body: jsonSchema(alertmanagerPayloadSchema),
          response: responses({
            description: 'What was started and what was skipped, and why',
            type: 'object',
            properties: {
              started: { type: 'array', items: anyObject },
              skipped: { type: 'array', items: anyObject },
            },
          }),
        },
      },
      async (request) => {
        const payload = parseAlertmanagerPayload(request.body);
        const { candidates, skipped } = repairCandidates(payload, nodeLabel);
        const started: { node: string; workflowId: string; runId: string; alerts: string[] }[] = [];
        const skip = (node: string, alerts: string[], reason: string) =>
          skipped.push(...alerts.map((alert): SkippedAlert => ({ alert, node, reason })));
        for (const candidate of candidates) {
          const { node, alerts } = candidate;
          try {
            // Alertmanager repeats firing alerts (repeat_interval): a maintenance started since the alert fired
            // already answered it, even if it has finished by now.
            const earlier = await service.maintenanceStartedSince(node, candidate.firingSince);
            if (earlier) {
              skip(
                node,
                alerts,
                earlier.status === 'Running'
                  ? `already in maintenance (${earlier.workflowId})`
                  : `already handled: ${earlier.workflowId} started ${earlier.startTime}, after the alert fired (${earlier.status})`,
              );
              continue;
            }
            const outcome = await service.startMaintenance(
              { node, reason: candidate.reason, requestedBy: 'alertmanager' },
              candidate.memo,
            );
            if (outcome.started) started.push({ node, workflowId: outcome.workflowId, runId: outcome.runId, alerts });
            else skip(node, alerts, `already in maintenance (${outcome.workflowId})`);
          } catch (e) {
            if (e instanceof InvalidInputError || e instanceof NotFoundError || e instanceof RefusedError) {
              skip(node, alerts, e.message);
            } else throw e;
          }
        }
        return { started, skipped };
      },
    );
  });

  return app;
}
