// What a failed Kubernetes API call is, and which failures may pass on their own.

/** A failed API call: the HTTP status and the server's short message, never the whole body. */
export class KubeApiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly reason: string,
    message: string,
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = 'KubeApiError';
  }
}

export const isNotFound = (e: unknown) => e instanceof KubeApiError && e.statusCode === 404;
export const isConflict = (e: unknown) => e instanceof KubeApiError && e.statusCode === 409;
export const isAlreadyExists = (e: unknown) =>
  e instanceof KubeApiError && e.statusCode === 409 && e.reason === 'AlreadyExists';
/** 410 Gone: the resourceVersion a watch asked for is older than the server keeps; list again. */
export const isGone = (e: unknown) => e instanceof KubeApiError && e.statusCode === 410;

/** 5xx, 429 and network failures (no HTTP answer at all) may pass on their own; everything else will not. */
export function isTransient(e: unknown): boolean {
  if (e instanceof KubeApiError) return e.statusCode >= 500 || e.statusCode === 429;
  return e instanceof Error;
}

/** A KubeApiError from an answer's status, body (a Status object, or any text) and Retry-After header. */
export function toApiError(status: number, body: string, retryAfter?: string | string[]): KubeApiError {
  let reason = '';
  let message = body.slice(0, 300);
  try {
    const parsed = JSON.parse(body) as { reason?: string; message?: string };
    reason = parsed.reason ?? '';
    message = parsed.message ?? message;
  } catch {
    // not a Status object: keep the (truncated) text
  }
  const header = Array.isArray(retryAfter) ? retryAfter[0] : retryAfter;
  const seconds = header ? Number(header) : undefined;
  return new KubeApiError(
    status,
    reason,
    `${status} ${reason || 'error'}: ${message}`,
    Number.isFinite(seconds) ? seconds : undefined,
  );
}
