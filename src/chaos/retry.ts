// Waiting in the chaos runner: a pause, and a Temporal client call retried through a dev-server restart.
import { WorkflowFailedError } from '@temporalio/client';

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Retries a Temporal client call through a dev-server restart. */
export async function persist<T>(fn: () => Promise<T>, deadline: number): Promise<T> {
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      if (e instanceof WorkflowFailedError || Date.now() > deadline) throw e;
      const text = String((e as Error).message);
      if (!/unavailable|connect|transport|deadline|14 |4 |socket|closed|refused|broken/i.test(text)) throw e;
      await sleep(500);
    }
  }
}
