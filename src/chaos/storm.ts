// An alert storm: Alertmanager posts KubeNodeNotReady for a chaos run's node and both its spares at once (a
// monitoring glitch, a partition of the observer). It goes through Pitstop's real HTTP API, in process (Fastify's
// inject: the routes, the alert table, the de-duplication and the admission, no socket), so what the hook starts is
// what a real storm would start. The runner then ends what the storm started and judges those nodes too.
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { createApiServer } from '../api/server.js';
import type { Client } from '@temporalio/client';
import { paths, type KubeClient } from '../k8s/client.js';

export interface StormAnswer {
  started: Array<{ node: string; workflowId: string; mode: string }>;
  skipped: Array<{ node?: string; reason: string }>;
}

/**
 * The webhook body Alertmanager (version 4) sends for kube-prometheus' KubeNodeNotReady firing on each of `nodes`
 * (one group), fired a minute ago. The repair tests post it too.
 */
export function kubeNodeNotReadyWebhook(nodes: string[]) {
  const startsAt = new Date(Date.now() - 60_000).toISOString();
  const labels = { alertname: 'KubeNodeNotReady', severity: 'warning' };
  return {
    version: '4',
    groupKey: '{}:{alertname="KubeNodeNotReady"}',
    truncatedAlerts: 0,
    status: 'firing',
    receiver: 'pitstop',
    groupLabels: { alertname: 'KubeNodeNotReady' },
    commonLabels: labels,
    commonAnnotations: {},
    externalURL: 'http://alertmanager.example:9093',
    alerts: nodes.map((node) => ({
      status: 'firing',
      labels: { ...labels, node },
      annotations: { description: `${node} has been unready for more than 15 minutes.` },
      startsAt,
      endsAt: '0001-01-01T00:00:00Z',
      generatorURL: 'http://prometheus.example/graph',
      fingerprint: `nr-${node}`,
    })),
  };
}

/** The API the storms post to, over the runner's Temporal client; `kube()` is the current sandbox's client. */
export class StormApi {
  private readonly token = randomBytes(24).toString('base64url');
  private readonly server: FastifyInstance;

  constructor(client: Client, taskQueue: string, kube: () => KubeClient | undefined) {
    this.server = createApiServer({
      client,
      namespace: 'default',
      taskQueue,
      tokens: [{ role: 'write', token: this.token }],
      nodeExists: async (node) => (await kube()?.find(paths.node(node))) !== undefined,
    });
  }

  /** Posts one firing KubeNodeNotReady per node, as one Alertmanager webhook call; returns the hook's answer. */
  async storm(nodes: string[]): Promise<StormAnswer> {
    const reply = await this.server.inject({
      method: 'POST',
      url: '/v1/hooks/alertmanager',
      headers: { authorization: `Bearer ${this.token}` },
      payload: kubeNodeNotReadyWebhook(nodes),
    });
    if (reply.statusCode !== 200) throw new Error(`the hook answered ${reply.statusCode}: ${reply.body}`);
    return reply.json<StormAnswer>();
  }

  close(): Promise<void> {
    return this.server.close();
  }
}
