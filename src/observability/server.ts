// The operations endpoint: /metrics (Prometheus text: the Temporal SDK's runtime metrics and Pitstop's own, which
// the SDK's exporter serves on a loopback port and this server passes through, so there is one port to scrape),
// /healthz (the process answers) and /readyz (Temporal reachable, worker running, Kubernetes API reachable).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { MetricMeter } from '@temporalio/common';
import type { Listen } from '../config/read.js';

export type ReadinessCheck = () => Promise<void>;

export interface OpsServerOptions {
  listen: Listen;
  /** The SDK's Prometheus exporter (telemetryOptions.metrics.prometheus.bindAddress). */
  sdkMetricsUrl: string;
  /** Named checks for /readyz; each throws when not ready. */
  readiness: Record<string, ReadinessCheck>;
  /** How long one readiness check may take. */
  checkTimeoutMs?: number;
}

export interface OpsServer {
  url: string;
  close(): Promise<void>;
}

const withTimeout = <T>(p: Promise<T>, ms: number, what: string) =>
  Promise.race([
    p,
    new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms).unref(),
    ),
  ]);

export async function startOpsServer(options: OpsServerOptions): Promise<OpsServer> {
  const timeout = options.checkTimeoutMs ?? 5000;
  const server = http.createServer((req, res) => {
    const send = (status: number, body: string, type = 'text/plain; charset=utf-8') => {
      res.writeHead(status, { 'content-type': type });
      res.end(body);
    };
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'method not allowed\n');
    if (path === '/healthz') return send(200, 'ok\n');
    if (path === '/readyz') {
      void (async () => {
        const results = await Promise.all(
          Object.entries(options.readiness).map(async ([name, check]) => {
            try {
              await withTimeout(check(), timeout, name);
              return { name, ok: true };
            } catch (e) {
              return { name, ok: false, error: (e as Error).message };
            }
          }),
        );
        const ready = results.every((r) => r.ok);
        const lines = results.map((r) => (r.ok ? `[+] ${r.name} ok` : `[-] ${r.name} failed: ${r.error}`));
        send(ready ? 200 : 503, `${lines.join('\n')}\n${ready ? 'ready' : 'not ready'}\n`);
      })();
      return;
    }
    if (path === '/metrics') {
      void (async () => {
        try {
          const upstream = await fetch(options.sdkMetricsUrl, { signal: AbortSignal.timeout(timeout) });
          send(upstream.status, await upstream.text(), 'text/plain; version=0.0.4; charset=utf-8');
        } catch (e) {
          send(503, `metrics unavailable: ${(e as Error).message}\n`);
        }
      })();
      return;
    }
    send(404, 'not found: try /metrics, /healthz or /readyz\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.listen.port, options.listen.host, () => resolve());
  });
  const { address, port } = server.address() as AddressInfo;
  const host = address.includes(':') ? `[${address}]` : address;
  return {
    url: `http://${host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** How often the pitstop_decisions_pending gauge is read from Temporal visibility. */
export const DECISIONS_PENDING_EVERY_MS = 5000;

/**
 * The gauge pitstop_decisions_pending: running maintenances waiting for an operator, read from Temporal visibility
 * every DECISIONS_PENDING_EVERY_MS. It is cluster-wide (every replica exports the same count: alert on its max), and
 * read from visibility rather than set by the workflows, whose gauges would stay stale on a worker a run has left.
 * A failed read keeps the last value and is tried again; `stop` ends the reads.
 */
export function recordDecisionsPending(
  meter: MetricMeter,
  count: () => Promise<number>,
  everyMs = DECISIONS_PENDING_EVERY_MS,
): { stop(): void } {
  const gauge = meter.createGauge(
    DECISIONS_PENDING_METRIC,
    'int',
    undefined,
    'Running maintenances waiting for an operator decision (Temporal visibility)',
  );
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const read = async () => {
    try {
      gauge.set(await count());
    } catch {
      // Temporal out of reach: the last value stands until the next read.
    }
    if (!stopped) timer = setTimeout(() => void read(), everyMs).unref();
  };
  void read();
  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}

export const DECISIONS_PENDING_METRIC = 'pitstop_decisions_pending';

export const API_METRICS = {
  requests: 'pitstop_api_requests',
  duration: 'pitstop_api_request_duration_seconds',
} as const;

/** The HTTP API's `onResponse` hook: requests by method, route and status, and their duration. */
export function apiRequestRecorder(meter: MetricMeter) {
  const requests = meter.createCounter(API_METRICS.requests, undefined, 'HTTP API requests, by method, route, status');
  const duration = meter.createHistogram(API_METRICS.duration, 'float', undefined, 'HTTP API request duration (s)');
  return (info: { method: string; route: string; status: number; durationMs: number }) => {
    const tags = { method: info.method, route: info.route, status: String(info.status) };
    requests.add(1, tags);
    duration.record(info.durationMs / 1000, tags);
  };
}
