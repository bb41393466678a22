/**
 * The HTTP API (Fastify 5): one plugin per resource under routes/. Bodies are validated by the domain parsers (the
 * same zod schemas and messages as the workflows' own validation); the OpenAPI 3.1 document at /v1/openapi.json
 * documents requests from those zod schemas (z.toJSONSchema) and responses from schemas/, which are typed against
 * what the service returns, so neither can drift from the code. Every 4xx answers `{ error, message, issues? }` and
 * starts nothing.
 */
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import type { Client } from '@temporalio/client';
import { PitstopService } from '../client/service.js';
import { defaultAlertRules, type AlertRule } from '../domain/alertRules.js';
import { TokenVerifier, type ApiToken } from './auth.js';
import { authenticate } from './authenticate.js';
import { replyToErrors } from './replies.js';
import { alertmanagerRoutes, type RepairOperations } from './routes/alertmanager.js';
import { maintenanceRoutes, type MaintenanceOperations } from './routes/maintenances.js';
import { openapiOptions, openapiRoutes } from './routes/openapi.js';
import { rollingRoutes, type RollingOperations } from './routes/rolling.js';
import { scheduleRoutes, type ScheduleOperations } from './routes/schedules.js';

export interface ApiServerOptions {
  client: Client;
  namespace: string;
  taskQueue: string;
  tokens: ApiToken[];
  /** The alert label that names the node (default `node`): the default alert table's, when no table is given. */
  alertmanagerNodeLabel?: string;
  /** The Alertmanager hook's alert table (default: defaultAlertRules(alertmanagerNodeLabel)). */
  alertmanagerRules?: readonly AlertRule[];
  logger?: FastifyBaseLogger;
  onResponse?: (info: { method: string; route: string; status: number; durationMs: number }) => void;
  /** When given, starts naming a node the cluster does not have are refused (404) before anything starts. */
  nodeExists?: (node: string) => Promise<boolean>;
}

/** What the API calls, per resource: the Temporal client service, or a stand-in in tests. */
export interface ApiServices {
  maintenances: MaintenanceOperations & RepairOperations;
  rolling: RollingOperations;
  schedules: ScheduleOperations;
}

export type ApiOptions = Omit<ApiServerOptions, 'client' | 'nodeExists'> & { services: ApiServices };

/** The API over a Temporal client. */
export function createApiServer(options: ApiServerOptions): FastifyInstance {
  const { client, nodeExists, ...rest } = options;
  const service = new PitstopService({ client, taskQueue: options.taskQueue, nodeExists });
  return buildApi({ ...rest, services: { maintenances: service, rolling: service, schedules: service } });
}

/** The API over the given services. */
export function buildApi(options: ApiOptions): FastifyInstance {
  const app = Fastify({
    ...(options.logger ? { loggerInstance: options.logger } : { logger: false }),
    bodyLimit: 1024 * 1024,
    // Validation of params, query and bodies is the domain's (see the module comment); the schemas document it.
    ajv: { customOptions: { strict: false } },
  });
  app.setValidatorCompiler(() => (data) => ({ value: data }));
  // JSON only: anything else is 415 Unsupported Media Type.
  app.removeContentTypeParser('text/plain');

  void app.register(swagger, openapiOptions(options));
  authenticate(app, new TokenVerifier(options.tokens));
  replyToErrors(app);
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

  // Registered after @fastify/swagger, so the document sees every route.
  const { services } = options;
  void app.register(openapiRoutes);
  void app.register(maintenanceRoutes, { service: services.maintenances });
  void app.register(rollingRoutes, { service: services.rolling });
  void app.register(scheduleRoutes, { service: services.schedules });
  void app.register(alertmanagerRoutes, {
    service: services.maintenances,
    rules: options.alertmanagerRules ?? defaultAlertRules(options.alertmanagerNodeLabel ?? 'node'),
  });
  return app;
}
