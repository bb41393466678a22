// Node maintenance: start, plan, list, show, and the actions on a running one (decide, release, pause, ...).
import type { FastifyPluginAsync } from 'fastify';
import { maintenanceInputSchema } from '../../domain/request.js';
import { DECISIONS } from '../../domain/vmPlan.js';
import type { PitstopService } from '../../client/service.js';
import { READ, WRITE } from '../authenticate.js';
import { body, routeSchema } from '../replies.js';
import { resultSchema } from '../schemas/maintenance.js';
import { maintenanceViewSchema } from '../schemas/runs.js';
import { requestSchema } from '../schemas/request.js';
import { actionRoutes, listRoute, nodeParam, param, startRoute } from './common.js';

export type MaintenanceOperations = Pick<
  PitstopService,
  | 'startMaintenance'
  | 'planMaintenance'
  | 'listMaintenances'
  | 'getMaintenance'
  | 'decide'
  | 'release'
  | 'pauseMaintenance'
  | 'resumeMaintenance'
  | 'cancelMaintenance'
>;

const TAG = 'maintenance';

export const maintenanceRoutes: FastifyPluginAsync<{ service: MaintenanceOperations }> = async (api, { service }) => {
  startRoute(
    api,
    {
      path: '/v1/maintenances',
      tag: TAG,
      summary: 'Start a maintenance (idempotent per node: a repeat returns the running one)',
      input: maintenanceInputSchema,
    },
    (input) => service.startMaintenance(input),
  );
  api.post(
    '/v1/plans',
    {
      config: WRITE,
      schema: routeSchema({
        tag: TAG,
        summary: 'Dry run: preflight verdict and per-VM plan, nothing changed',
        body: requestSchema(maintenanceInputSchema),
        ok: { 200: body('The plan (outcome DryRun or Refused)', resultSchema) },
      }),
    },
    async (request) => await service.planMaintenance(request.body),
  );
  listRoute(
    api,
    {
      path: '/v1/maintenances',
      tag: TAG,
      summary: 'Running and recent maintenances (Temporal visibility), newest first',
      key: 'maintenances',
      query: ['node', 'running', 'limit'],
    },
    (query) => service.listMaintenances(query),
  );
  api.get(
    '/v1/maintenances/:node',
    {
      config: READ,
      schema: routeSchema({
        tag: TAG,
        summary: 'The latest maintenance of a node: live progress, or its result/failure',
        params: nodeParam,
        ok: { 200: body('The run', maintenanceViewSchema) },
      }),
    },
    async (request) => await service.getMaintenance(param(request, 'node')),
  );

  actionRoutes(api, { path: '/v1/maintenances', key: 'node', tag: TAG, params: nodeParam }, [
    {
      action: 'decide',
      summary: 'Answer an escalation',
      run: (node, input) => service.decide(node, input),
      body: {
        type: 'object',
        properties: { vmi: { type: 'string' }, action: { type: 'string', enum: [...DECISIONS] } },
        required: ['vmi', 'action'],
        additionalProperties: false,
      },
    },
    {
      action: 'release',
      summary: 'The repair is done: power on and finish',
      run: (node, input) => service.release(node, input ?? {}),
      body: { type: 'object', properties: { note: { type: 'string', maxLength: 1024 } }, additionalProperties: false },
    },
    { action: 'pause', summary: 'No new step starts until resume', run: (node) => service.pauseMaintenance(node) },
    { action: 'resume', summary: 'Resume a paused maintenance', run: (node) => service.resumeMaintenance(node) },
    { action: 'cancel', summary: 'Cancel: the maintenance rolls back', run: (node) => service.cancelMaintenance(node) },
  ]);
};
