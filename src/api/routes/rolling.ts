// Rolling maintenance: start, list, show, and the actions on a running roll (pause, resume, skip, cancel).
import type { FastifyPluginAsync } from 'fastify';
import { rollingInputSchema } from '../../domain/rolling.js';
import type { PitstopService } from '../../client/service.js';
import { READ } from '../authenticate.js';
import { body, routeSchema } from '../replies.js';
import { rollingViewSchema } from '../schemas/runs.js';
import { actionRoutes, listRoute, nameParam, param, startRoute } from './common.js';

export type RollingOperations = Pick<
  PitstopService,
  'startRolling' | 'listRolling' | 'getRolling' | 'pauseRolling' | 'resumeRolling' | 'skipNode' | 'cancelRolling'
>;

const TAG = 'rolling';

export const rollingRoutes: FastifyPluginAsync<{ service: RollingOperations }> = async (api, { service }) => {
  startRoute(
    api,
    {
      path: '/v1/rolling',
      tag: TAG,
      summary: 'Start a rolling maintenance (idempotent per name)',
      input: rollingInputSchema,
    },
    (input) => service.startRolling(input),
  );
  listRoute(
    api,
    {
      path: '/v1/rolling',
      tag: TAG,
      summary: 'Running and recent rolling maintenances',
      key: 'rolling',
      query: ['running', 'limit'],
    },
    (query) => service.listRolling(query),
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
