// The request authentication hook: each route names the role it needs in its config; the bearer token must have it.
import type { FastifyInstance } from 'fastify';
import type { Role, TokenVerifier } from './auth.js';
import { sendError } from './replies.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The role a route needs; absent = public (the OpenAPI document). */
    role?: Role;
  }
}

/** Route config of a route any valid token may call. */
export const READ = { role: 'read' } as const;
/** Route config of a route that changes something: write tokens only. */
export const WRITE = { role: 'write' } as const;

/** Answers 401 (no or unknown token) or 403 (read token on a write) before the handler runs. */
export function authenticate(app: FastifyInstance, verifier: TokenVerifier): void {
  app.addHook('onRequest', async (request, reply) => {
    const needed = request.routeOptions.config?.role;
    if (needed === undefined) return;
    const role = verifier.roleOf(request.headers.authorization);
    if (role === undefined) {
      void reply.header('www-authenticate', 'Bearer realm="pitstop"');
      return sendError(reply, 401, 'Unauthorized', 'a valid bearer token is required (Authorization: Bearer <token>)');
    }
    if (needed === 'write' && role !== 'write') {
      return sendError(reply, 403, 'Forbidden', 'this token is read-only; this request needs a write token');
    }
  });
}
