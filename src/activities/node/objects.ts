// What the node activities share: reading the Node, retrying a read-modify-write that lost a race, short texts.
import { ApplicationFailure } from '@temporalio/common';
import { isConflict, paths, type KubeClient, type KubeObject } from '../../k8s/client.js';

export interface NodeRef {
  node: string;
  workflowId: string;
}

/** Attempts of one read-modify-write before the 409 goes to Temporal's retry policy. */
const CONFLICT_ATTEMPTS = 8;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export const nodeNotFound = (node: string) =>
  ApplicationFailure.create({ type: 'NodeNotFound', message: `node ${node} not found`, nonRetryable: true });

/** Runs a read-modify-write again (re-reading) when the write loses a race (409). */
export async function onConflictRetry<T>(fn: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      if (!isConflict(e) || attempt >= CONFLICT_ATTEMPTS) throw e;
      await sleep(10 * attempt + Math.random() * 40);
    }
  }
}

export async function readNode(client: KubeClient, node: string): Promise<KubeObject> {
  const found = await client.find(paths.node(node));
  if (!found) throw nodeNotFound(node);
  return found;
}

/** `text` cut to `max` characters, marked with "...". */
export const cut = (text: string, max: number) => (text.length > max ? `${text.slice(0, max - 3)}...` : text);
