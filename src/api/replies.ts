/**
 * The reply shapes every plugin shares: the error body `{ error, message, issues? }` and how each failure maps to a
 * status, the `{ message }` body of an accepted action, and the route schema (tag, summary, request schemas, and a
 * documented response for every status the route can answer).
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { InvalidInputError } from '../domain/errors.js';
import { NotFoundError, RefusedError } from '../client/errors.js';
import { list, object, oneOf, optional, text, type JsonSchema } from './schemas/json.js';

export type ErrorCode = 'InvalidInput' | 'Unauthorized' | 'Forbidden' | 'NotFound' | 'Refused' | 'Internal';

export interface ErrorBody {
  error: ErrorCode;
  message: string;
  /** Every problem of the input, one line each, starting with the field path. */
  issues?: string[];
}

const errorSchema = object<ErrorBody>({
  error: oneOf<ErrorCode>({
    InvalidInput: true,
    Unauthorized: true,
    Forbidden: true,
    NotFound: true,
    Refused: true,
    Internal: true,
  }),
  message: text(),
  issues: optional(list(text(), 'Every problem of the input, one line each, starting with the field path')),
});

export function sendError(reply: FastifyReply, status: number, error: ErrorCode, message: string, issues?: string[]) {
  const body: ErrorBody = { error, message, ...(issues && { issues }) };
  return reply.code(status).send(body);
}

/** Maps what a handler throws to its status; anything unexpected is logged and answered 500 without details. */
export function replyToErrors(app: FastifyInstance): void {
  app.setNotFoundHandler((request, reply) =>
    sendError(
      reply,
      404,
      'NotFound',
      `no such endpoint: ${request.method} ${request.url.split('?')[0]} (see /v1/openapi.json)`,
    ),
  );
  app.setErrorHandler((error, request, reply) => {
    if (error instanceof InvalidInputError) return sendError(reply, 400, 'InvalidInput', error.message, error.issues);
    if (error instanceof NotFoundError) return sendError(reply, 404, 'NotFound', error.message);
    if (error instanceof RefusedError) return sendError(reply, 409, 'Refused', error.message);
    const status = (error as { statusCode?: number }).statusCode;
    if (status !== undefined && status >= 400 && status < 500) {
      // Fastify's own: invalid JSON, unsupported media type, body too large, ...
      return sendError(reply, status, 'InvalidInput', (error as Error).message);
    }
    request.log.error(error);
    return sendError(reply, 500, 'Internal', 'internal error; see the server log');
  });
}

export interface MessageBody {
  message: string;
}

export const messageSchema = object<MessageBody>({ message: text('What was done, in one sentence') });

/** A success body with the description the OpenAPI document shows for its status. */
export const body = (description: string, schema: JsonSchema): JsonSchema => ({ ...schema, description });

export interface RouteDoc {
  tag: string;
  summary: string;
  params?: JsonSchema;
  querystring?: JsonSchema;
  body?: JsonSchema;
  /** The success statuses the route answers, each with its body (see `body`). */
  ok: Partial<Record<200 | 201 | 202, JsonSchema>>;
}

const error = (description: string): JsonSchema => ({ ...errorSchema, description });

/** The Fastify route schema: request schemas as given, and the error body documented for every error status. */
export function routeSchema(doc: RouteDoc) {
  return {
    tags: [doc.tag],
    summary: doc.summary,
    ...(doc.params && { params: doc.params }),
    ...(doc.querystring && { querystring: doc.querystring }),
    ...(doc.body && { body: doc.body }),
    response: {
      ...doc.ok,
      400: error('Malformed request: every problem is listed in issues'),
      401: error('No or unknown bearer token'),
      403: error('Read-only token on a write'),
      404: error('Not found'),
      409: error('Refused: understood, but not possible now'),
      ...(doc.body && {
        413: error('Body larger than 1 MiB'),
        415: error('Body is not JSON'),
      }),
      500: error('Internal error (details in the server log)'),
    },
  };
}
