// Rolling maintenance: start, list, show, and the actions on a running roll (pause, resume, skip, cancel).
import type { FastifyPluginAsync } from 'fastify';
import { rollingInputSchema } from '../../domain/rolling.js';
import type { PitstopService, RunSummary } from '../../client/service.js';
import { READ, WRITE } from '../authenticate.js';
import { body, routeSchema } from '../replies.js';
import { list, object } from '../schemas/json.js';
import { requestSchema } from '../schemas/request.js';
import { rollingViewSchema, runSummarySchema, startOutcomeSchema } from '../schemas/runs.js';
import { actionRoutes, listQuery, listQuerySchema, nameParam, param } from './common.js';

export type RollingOperations = Pick<
  PitstopService,
  'startRolling' | 'listRolling' | 'getRolling' | 'pauseRolling' | 'resumeRolling' | 'skipNode' | 'cancelRolling'
>;

const TAG = 'rolling';
const LIST_KEYS = ['running', 'limit'] as const;

export const rollingRoutes: FastifyPluginAsync<{ service: RollingOperations }> = async (api, { service }) => {
  api.post(
    '/v1/rolling',
    {
      config: WRITE,
      schema: routeSchema({
        tag: TAG,
        summary: 'Start a rolling maintenance (idempotent per name)',
        body: requestSchema(rollingInputSchema),
        ok: {
          201: body('Started', startOutcomeSchema),
          200: body('Already running: the running one (started false)', startOutcomeSchema),
        },
      }),
    },
    async (request, reply) => {
      const outcome = await service.startRolling(request.body);
      return reply.code(outcome.started ? 201 : 200).send(outcome);
    },
  );
  api.get(
    '/v1/rolling',
    {
      config: READ,
      schema: routeSchema({
        tag: TAG,
        summary: 'Running and recent rolling maintenances',
        querystring: listQuerySchema([...LIST_KEYS]),
        ok: { 200: body('Runs', object<{ rolling: RunSummary[] }>({ rolling: list(runSummarySchema) })) },
      }),
    },
    async (request) => ({ rolling: await service.listRolling(listQuery(request.query, [...LIST_KEYS])) }),
  );
  api.get(
    '/v1/rolling/:name',
    {
      config: READ,
      schema: routeSchema({
        tag: TAG,
        summary: 'Progress per node, or the result',
        params: nameParam('Rolling maintenance name (workflow rolling-<name>)'),
        ok: { 200: body('The run', rollingViewSchema) },
      }),
    },
    async (request) => await service.getRolling(param(request, 'name')),
  );

  actionRoutes(api, { path: '/v1/rolling', key: 'name', tag: TAG, params: nameParam('Rolling maintenance name') }, [
    { action: 'pause', summary: 'No new node starts until resume', run: (name) => service.pauseRolling(name) },
    { action: 'resume', summary: 'Resume', run: (name) => service.resumeRolling(name) },
    {
      action: 'skip',
      summary: 'Skip a node that has not started',
      run: (name, input) => service.skipNode(name, input),
      body: {
        type: 'object',
        properties: { node: { type: 'string' } },
        required: ['node'],
        additionalProperties: false,
      },
    },
    { action: 'cancel', summary: 'Cancel the roll', run: (name) => service.cancelRolling(name) },
  ]);
};
