// The HTTP API on a random local port over a test's Temporal client, and a small fetch wrapper for requests.
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { createApiServer } from '../../src/api/server.js';
import type { AlertRule } from '../../src/domain/alertRules.js';
import { paths, type KubeClient } from '../../src/k8s/client.js';

export interface TestApi {
  url: string;
  writeToken: string;
  readToken: string;
  server: FastifyInstance;
  /** A request; `token` defaults to the write token, `null` sends none. */
  call(
    method: string,
    path: string,
    options?: { token?: string | null; body?: unknown; raw?: string; contentType?: string },
  ): Promise<{ status: number; body: any }>; // eslint-disable-line @typescript-eslint/no-explicit-any
  close(): Promise<void>;
}

export async function startTestApi(options: {
  client: Client;
  taskQueue: string;
  kube?: KubeClient;
  alertmanagerNodeLabel?: string;
  alertmanagerRules?: readonly AlertRule[];
}): Promise<TestApi> {
  const writeToken = randomBytes(24).toString('base64url');
  const readToken = randomBytes(24).toString('base64url');
  const kube = options.kube;
  const server = createApiServer({
    client: options.client,
    namespace: 'default',
    taskQueue: options.taskQueue,
    tokens: [
      { role: 'write', token: writeToken },
      { role: 'read', token: readToken },
    ],
    alertmanagerNodeLabel: options.alertmanagerNodeLabel ?? 'node',
    ...(options.alertmanagerRules && { alertmanagerRules: options.alertmanagerRules }),
    ...(kube && { nodeExists: async (node: string) => (await kube.find(paths.node(node))) !== undefined }),
  });
  await server.listen({ host: '127.0.0.1', port: 0 });
  const address = server.server.address();
  if (address === null || typeof address === 'string') throw new Error('API did not listen on a TCP port');
  const url = `http://127.0.0.1:${address.port}`;
  return {
    url,
    writeToken,
    readToken,
    server,
    async call(method, path, { token, body, raw, contentType } = {}) {
      const headers: Record<string, string> = {};
      const bearer = token === undefined ? writeToken : token;
      if (bearer !== null) headers.authorization = `Bearer ${bearer}`;
      const payload = raw ?? (body === undefined ? undefined : JSON.stringify(body));
      if (payload !== undefined) headers['content-type'] = contentType ?? 'application/json';
      const response = await fetch(`${url}${path}`, { method, headers, body: payload });
      const text = await response.text();
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {
        // not JSON: keep the text
      }
      return { status: response.status, body: parsed };
    },
    close: () => server.close(),
  };
}

/** How many workflows were ever started on `taskQueue` (Temporal visibility). */
export async function workflowsOn(client: Client, taskQueue: string): Promise<number> {
  return (await client.workflow.count(`TaskQueue = '${taskQueue}'`)).count;
}

/** Whether a workflow with this id was ever started. */
export async function exists(client: Client, workflowId: string): Promise<boolean> {
  try {
    await client.workflow.getHandle(workflowId).describe();
    return true;
  } catch (e) {
    if (e instanceof WorkflowNotFoundError) return false;
    throw e;
  }
}
