// The OpenAPI 3.1 document, public (no token): @fastify/swagger builds it from the route schemas.
import type { FastifyPluginAsync } from 'fastify';
import type { SwaggerOptions } from '@fastify/swagger';

/** The document's frame; the paths come from the routes registered after @fastify/swagger. */
export function openapiOptions(options: { namespace: string; taskQueue: string }): SwaggerOptions {
  return {
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
  };
}

export const openapiRoutes: FastifyPluginAsync = async (api) => {
  api.get('/v1/openapi.json', { schema: { hide: true } }, async () => api.swagger());
};
