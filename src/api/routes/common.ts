// What the resource plugins share on the request side: path parameters, the list query, and action routes.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import { InvalidInputError } from '../../domain/errors.js';
import type { RunSummary, StartOutcome } from '../../client/service.js';
import { READ, WRITE } from '../authenticate.js';
import { body, messageSchema, routeSchema, type MessageBody } from '../replies.js';
import { list, type JsonSchema } from '../schemas/json.js';
import { requestSchema } from '../schemas/request.js';
import { runSummarySchema, startOutcomeSchema } from '../schemas/runs.js';

export const nodeParam = {
  type: 'object',
  properties: { node: { type: 'string', description: 'Node name', pattern: '^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$' } },
  required: ['node'],
} as const;

export const nameParam = (what: string) =>
  ({ type: 'object', properties: { name: { type: 'string', description: what } }, required: ['name'] }) as const;

/** A path parameter (the parameter schemas document them; the service checks them). */
export const param = (request: FastifyRequest, key: string) => (request.params as Record<string, string>)[key] ?? '';

export interface ListQuery {
  node?: string;
  running?: boolean;
  limit?: number;
}

/** Query parameters: only the known ones, each checked. */
export function listQuery(query: unknown, allowed: (keyof ListQuery)[]): ListQuery {
  const q = (query ?? {}) as Record<string, unknown>;
  const problems: string[] = [];
  for (const key of Object.keys(q)) {
    if (!(allowed as string[]).includes(key)) {
      problems.push(`${key}: unknown query parameter (known: ${allowed.join(', ')})`);
    }
  }
  const out: ListQuery = {};
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

/** The documented query of a list route, for the keys it accepts. */
export function listQuerySchema(allowed: (keyof ListQuery)[]): JsonSchema {
  const all = {
    node: { type: 'string' },
    running: { type: 'boolean' },
    limit: { type: 'integer', minimum: 1, maximum: 1000 },
  };
  return { type: 'object', properties: Object.fromEntries(allowed.map((key) => [key, all[key]])) };
}

/** POST <path>: an idempotent start, 201 when it started a run, 200 with the one already running. */
export function startRoute(
  api: FastifyInstance,
  on: { path: string; tag: string; summary: string; input: z.ZodType },
  start: (input: unknown) => Promise<StartOutcome>,
): void {
  api.post(
    on.path,
    {
      config: WRITE,
      schema: routeSchema({
        tag: on.tag,
        summary: on.summary,
        body: requestSchema(on.input),
        ok: {
          201: body('Started', startOutcomeSchema),
          200: body('Already running: the running one (started false)', startOutcomeSchema),
        },
      }),
    },
    async (request, reply) => {
      const outcome = await start(request.body);
      return reply.code(outcome.started ? 201 : 200).send(outcome);
    },
  );
}

/** GET <path>: runs, newest first, as `{ <key>: [...] }`, filtered by the query keys the route accepts. */
export function listRoute(
  api: FastifyInstance,
  on: { path: string; tag: string; summary: string; key: string; query: (keyof ListQuery)[] },
  runs: (query: ListQuery) => Promise<RunSummary[]>,
): void {
  api.get(
    on.path,
    {
      config: READ,
      schema: routeSchema({
        tag: on.tag,
        summary: on.summary,
        querystring: listQuerySchema(on.query),
        ok: {
          200: body('Runs', {
            type: 'object',
            properties: { [on.key]: list(runSummarySchema) },
            required: [on.key],
            additionalProperties: true,
          }),
        },
      }),
    },
    async (request) => ({ [on.key]: await runs(listQuery(request.query, on.query)) }),
  );
}

export interface Action {
  /** The last path segment: POST <resource>/:<key>/<action>. */
  action: string;
  summary: string;
  /** Runs it; the answer is the workflow's one-sentence reply. */
  run: (id: string, body: unknown) => Promise<string>;
  body?: JsonSchema;
}

/** Action routes on one run (pause, resume, cancel, ...): each answers `{ message }` with the workflow's reply. */
export function actionRoutes(
  api: FastifyInstance,
  on: { path: string; key: string; tag: string; params: JsonSchema },
  actions: Action[],
): void {
  for (const { action, summary, run, body: requestBody } of actions) {
    api.post(
      `${on.path}/:${on.key}/${action}`,
      {
        config: WRITE,
        schema: routeSchema({
          tag: on.tag,
          summary,
          params: on.params,
          ...(requestBody && { body: requestBody }),
          ok: { 200: body('Accepted', messageSchema) },
        }),
      },
      async (request): Promise<MessageBody> => ({ message: await run(param(request, on.key), request.body) }),
    );
  }
}
