// A fault-injecting HTTPS reverse proxy between Pitstop's KubeClient and the (TLS) sandbox API server.
// Each request draws from a seeded PRNG: answered 5xx, answered 429 with Retry-After, connection reset (before the
// request reaches the server, or after: the server acted but the answer is lost), delayed, or, for a watch,
// forwarded and then cut mid-stream. Everything else passes through untouched.
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { Prng } from './prng.js';
import { kubeconfigYaml } from '../sandbox/cluster.js';

export type FaultKind = 'error5xx' | 'throttle429' | 'resetBefore' | 'resetAfter' | 'slow' | 'watchDrop';

/** Probability per request of each fault (0…1). Watch drops apply to watch requests only. */
export interface FaultRates {
  error5xx: number;
  throttle429: number;
  /** Half of the resets happen before forwarding, half after the server answered (the answer is lost). */
  reset: number;
  slow: number;
  watchDrop: number;
}

export const NO_FAULTS: FaultRates = { error5xx: 0, throttle429: 0, reset: 0, slow: 0, watchDrop: 0 };

export interface FaultProxyOptions {
  /** The API server, e.g. https://127.0.0.1:6443. */
  upstream: string;
  /** CA that signed the API server's certificate (the proxy verifies it). */
  upstreamCa: string;
  /** Serving certificate and key of the proxy (the sandbox's: same CA, SAN 127.0.0.1). */
  serving: { cert: string; key: string };
  seed: number;
  rates?: Partial<FaultRates>;
  /** Delay range of a slow response, ms. */
  slowMs?: [number, number];
  /** Retry-After of a 429, seconds. */
  retryAfterSeconds?: number;
  /** A dropped watch is cut this long after it started, ms. */
  watchDropAfterMs?: [number, number];
  /** Told of upstream errors (not injected faults): the proxy's own trouble must not pass for chaos. */
  onUpstreamError?: (what: string) => void;
}

export interface FaultProxy {
  url: string;
  /** How many times each fault was injected, and how many requests passed clean. */
  counts: Record<FaultKind | 'passed', number>;
  rates: FaultRates;
  setRates(rates: Partial<FaultRates>): void;
  /** Writes a kubeconfig that reaches the API server through this proxy. */
  writeKubeconfig(path: string, token: string): string;
  close(): Promise<void>;
}

const status = (code: number, reason: string, message: string) =>
  JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', message, reason, code });

export async function startFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  const prng = new Prng(options.seed);
  const rates: FaultRates = { ...NO_FAULTS, ...options.rates };
  const [slowMin, slowMax] = options.slowMs ?? [200, 1500];
  const [dropMin, dropMax] = options.watchDropAfterMs ?? [100, 3000];
  const retryAfter = options.retryAfterSeconds ?? 1;
  const upstream = new URL(options.upstream);
  const agent = new https.Agent({ keepAlive: true, ca: options.upstreamCa, maxSockets: 128 });
  const counts: FaultProxy['counts'] = {
    passed: 0,
    error5xx: 0,
    throttle429: 0,
    resetBefore: 0,
    resetAfter: 0,
    slow: 0,
    watchDrop: 0,
  };
  const sockets = new Set<Duplex>();

  const forward = (req: IncomingMessage, res: ServerResponse, after: { reset: boolean; dropInMs?: number }) => {
    const up = https.request(
      {
        protocol: 'https:',
        hostname: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: upstream.host },
        // Watches are long-lived: their own connection, never a pooled one.
        agent: after.dropInMs !== undefined || req.url?.includes('watch=') ? false : agent,
        ca: options.upstreamCa,
      },
      (upRes) => {
        if (after.reset) {
          // The server acted; the client never hears of it.
          upRes.resume();
          upRes.on('end', () => req.socket.destroy());
          return;
        }
        res.writeHead(upRes.statusCode ?? 502, upRes.headers);
        upRes.pipe(res);
        if (after.dropInMs !== undefined) {
          const timer = setTimeout(() => {
            upRes.destroy();
            req.socket.destroy();
          }, after.dropInMs);
          upRes.on('close', () => clearTimeout(timer));
        }
      },
    );
    up.on('error', (e) => {
      options.onUpstreamError?.(`${req.method} ${req.url}: ${e.message}`);
      req.socket.destroy();
    });
    // The client went away before its answer was complete: stop the upstream request too.
    res.on('close', () => {
      if (!res.writableFinished) up.destroy();
    });
    req.pipe(up);
  };

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const isWatch = /[?&]watch=(true|1)/.test(req.url ?? '');
    // One draw per fault kind, always in the same order, so a seed gives the same fault sequence.
    const roll = {
      error5xx: prng.chance(rates.error5xx),
      throttle429: prng.chance(rates.throttle429),
      reset: prng.chance(rates.reset),
      resetAfter: prng.chance(0.5),
      slow: prng.chance(rates.slow),
      slowMs: prng.int(slowMin, slowMax),
      watchDrop: prng.chance(rates.watchDrop),
      dropMs: prng.int(dropMin, dropMax),
    };
    if (roll.error5xx) {
      counts.error5xx += 1;
      res.writeHead(503, { 'Content-Type': 'application/json' });
      res.end(status(503, 'ServiceUnavailable', 'chaos: injected 503'));
      return;
    }
    if (roll.throttle429) {
      counts.throttle429 += 1;
      res.writeHead(429, { 'Content-Type': 'application/json', 'Retry-After': String(retryAfter) });
      res.end(status(429, 'TooManyRequests', 'chaos: injected 429'));
      return;
    }
    if (roll.reset && !(roll.resetAfter && !isWatch)) {
      counts.resetBefore += 1;
      req.socket.destroy();
      return;
    }
    const after = {
      reset: roll.reset,
      dropInMs: isWatch && roll.watchDrop ? roll.dropMs : undefined,
    };
    if (after.reset) counts.resetAfter += 1;
    if (after.dropInMs !== undefined) counts.watchDrop += 1;
    if (!after.reset && after.dropInMs === undefined && !roll.slow) counts.passed += 1;
    if (roll.slow && !isWatch) {
      counts.slow += 1;
      setTimeout(() => forward(req, res, after), roll.slowMs);
    } else forward(req, res, after);
  };

  const server = https.createServer({ cert: options.serving.cert, key: options.serving.key }, handle);
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('clientError', (e, socket) => {
    options.onUpstreamError?.(`client error: ${e.message}`);
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const url = `https://127.0.0.1:${port}`;

  return {
    url,
    counts,
    rates,
    setRates(next) {
      Object.assign(rates, next);
    },
    writeKubeconfig(path, token) {
      writeFileSync(path, kubeconfigYaml(url, options.upstreamCa, 'pitstop-chaos', token), { mode: 0o600 });
      return path;
    },
    async close() {
      for (const s of sockets) s.destroy();
      agent.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
