// Kubernetes errors classified once (docs/architecture.md): what Temporal should retry, and what it must not.
import { ApplicationFailure } from '@temporalio/common';
import { KubeApiError } from '../k8s/client.js';

const NON_RETRYABLE = new Set([400, 401, 403, 404, 405, 410, 415, 422]);

/**
 * Turns a failure into what the activity should throw: a short non-retryable ApplicationFailure for requests
 * that cannot succeed as they are, else the error itself (Temporal retries with backoff; 429 with the server's
 * delay). Messages stay short: the history keeps every failure.
 */
export function classify(e: unknown, what: string): Error {
  if (e instanceof KubeApiError) {
    const message = `${what}: ${e.message.slice(0, 240)}`;
    if (NON_RETRYABLE.has(e.statusCode)) {
      return ApplicationFailure.create({ message, type: `Kubernetes${e.statusCode}`, nonRetryable: true });
    }
    if (e.statusCode === 429 && e.retryAfterSeconds) {
      return ApplicationFailure.create({ message, type: 'Kubernetes429', nextRetryDelay: `${e.retryAfterSeconds}s` });
    }
    return ApplicationFailure.create({ message, type: `Kubernetes${e.statusCode}` });
  }
  return e instanceof Error ? e : new Error(String(e));
}

/** Runs one Kubernetes interaction and classifies what it throws. */
export async function kube<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw classify(e, what);
  }
}
