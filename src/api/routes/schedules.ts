// Schedules: Temporal Schedules that start rollingMaintenance (create, list, describe, pause, unpause, delete).
import type { FastifyPluginAsync } from 'fastify';
import { InvalidInputError } from '../../domain/errors.js';
import { scheduleInputSchema } from '../../domain/schedule.js';
import type { PitstopService } from '../../client/service.js';
import { READ, WRITE } from '../authenticate.js';
import { body, messageSchema, routeSchema, type MessageBody } from '../replies.js';
import { list, object } from '../schemas/json.js';
import { requestSchema } from '../schemas/request.js';
import { scheduleEntrySchema, scheduleSchema } from '../schemas/schedule.js';
import { listQuery, nameParam, param } from './common.js';

export type ScheduleOperations = Pick<
  PitstopService,
  'createSchedule' | 'listSchedules' | 'getSchedule' | 'pauseSchedule' | 'unpauseSchedule' | 'deleteSchedule'
>;

const TAG = 'schedules';
const params = nameParam('Schedule name');

/** The pause/unpause body: nothing, or `{ note }`. */
function noteOf(input: unknown): string | undefined {
  const given = (input ?? {}) as Record<string, unknown>;
  const extra =
    typeof given === 'object' && !Array.isArray(given) ? Object.keys(given).filter((k) => k !== 'note') : ['body'];
  if (extra.length > 0 || (given.note !== undefined && typeof given.note !== 'string')) {
    throw new InvalidInputError(extra.length > 0 ? extra.map((k) => `${k}: unknown field`) : ['note: expected text']);
  }
  return given.note as string | undefined;
}

export const scheduleRoutes: FastifyPluginAsync<{ service: ScheduleOperations }> = async (api, { service }) => {
  api.post(
    '/v1/schedules',
    {
      config: WRITE,
      schema: routeSchema({
        tag: TAG,
        summary: 'Create a schedule that starts rollingMaintenance (overlap SKIP)',
        body: requestSchema(scheduleInputSchema),
        ok: { 201: body('Created', scheduleSchema) },
      }),
    },
    async (request, reply) => reply.code(201).send(await service.createSchedule(request.body)),
  );
  api.get(
    '/v1/schedules',
    {
      config: READ,
      schema: routeSchema({
        tag: TAG,
        summary: "Pitstop's schedules",
        ok: {
          200: body('Schedules', object<{ schedules: unknown[] }>({ schedules: list(scheduleEntrySchema) })),
        },
      }),
    },
    async (request) => {
      listQuery(request.query, []);
      return { schedules: await service.listSchedules() };
    },
  );
  api.get(
    '/v1/schedules/:name',
    {
      config: READ,
      schema: routeSchema({
        tag: TAG,
        summary: 'Describe a schedule: spec, state, next and recent actions',
        params,
        ok: { 200: body('The schedule', scheduleSchema) },
      }),
    },
    async (request) => await service.getSchedule(param(request, 'name')),
  );
  for (const action of ['pause', 'unpause'] as const) {
    api.post(
      `/v1/schedules/:name/${action}`,
      {
        config: WRITE,
        schema: routeSchema({
          tag: TAG,
          summary: action === 'pause' ? 'Pause a schedule' : 'Unpause a schedule',
          params,
          body: { type: 'object', properties: { note: { type: 'string' } }, additionalProperties: false },
          ok: { 200: body('The schedule', scheduleSchema) },
        }),
      },
      async (request) => {
        const note = noteOf(request.body);
        const name = param(request, 'name');
        return action === 'pause' ? await service.pauseSchedule(name, note) : await service.unpauseSchedule(name, note);
      },
    );
  }
  api.delete(
    '/v1/schedules/:name',
    {
      config: WRITE,
      schema: routeSchema({
        tag: TAG,
        summary: 'Delete a schedule (running rolling maintenances go on)',
        params,
        ok: { 200: body('Deleted', messageSchema) },
      }),
    },
    async (request): Promise<MessageBody> => {
      const name = param(request, 'name');
      await service.deleteSchedule(name);
      return { message: `schedule ${name} deleted` };
    },
  );
};
