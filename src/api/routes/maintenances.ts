// Node maintenance: start, plan, list, show, and the actions on a running one (decide, release, pause, ...).
import type { FastifyPluginAsync } from 'fastify';
import { maintenanceInputSchema } from '../../domain/request.js';
import type { PitstopService, RunSummary } from '../../client/service.js';
import { READ, WRITE } from '../authenticate.js';
import { body, routeSchema } from '../replies.js';
import { list, object } from '../schemas/json.js';
import { resultSchema } from '../schemas/maintenance.js';
import { maintenanceViewSchema, runSummarySchema, startOutcomeSchema } from '../schemas/runs.js';
import { requestSchema } from '../schemas/request.js';
import { actionRoutes, listQuery, listQuerySchema, nodeParam, param } from './common.js';

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
const LIST_KEYS = ['node', 'running', 'limit'] as const;

export const maintenanceRoutes: FastifyPluginAsync<{ service: MaintenanceOperations }> = async (api, { service }) => {
  api.post(
    '/v1/maintenances',
    {
      config: WRITE,
      schema: routeSchema({
        tag: TAG,
        summary: 'Start a maintenance (idempotent per node: a repeat returns the running one)',
        body: requestSchema(maintenanceInputSchema),
        ok: {
          201: body('Started', startOutcomeSchema),
          200: body('Already running: the running one (started false)', startOutcomeSchema),
        },
      }),
    },
    async (request, reply) => {
      const outcome = await service.startMaintenance(request.body);
      return reply.code(outcome.started ? 201 : 200).send(outcome);
    },
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
  api.get(
    '/v1/maintenances',
    {
      config: READ,
      schema: routeSchema({
        tag: TAG,
        summary: 'Running and recent maintenances (Temporal visibility), newest first',
        querystring: listQuerySchema([...LIST_KEYS]),
        ok: { 200: body('Runs', object<{ maintenances: RunSummary[] }>({ maintenances: list(runSummarySchema) })) },
      }),
    },
    async (request) => ({ maintenances: await service.listMaintenances(listQuery(request.query, [...LIST_KEYS])) }),
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
        properties: { vmi: { type: 'string' }, action: { type: 'string', enum: ['shutdown', 'retry', 'delete'] } },
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
