// A small JSON client for the Kubernetes API over node:https, shared by the activities and the sandbox.
// Why not the generated typed APIs of @kubernetes/client-node: they deserialize lists into classes (Dates) while
// watches deliver plain JSON, and most of what Pitstop touches is custom resources anyway. KubeConfig from
// client-node still does what it is good at: loading kubeconfigs (files, in-cluster, exec plugins) and TLS/auth.
import https from 'node:https';
import http from 'node:http';
import { KubeConfig } from '@kubernetes/client-node';
import { makeAgents, type Agents } from './agents.js';
import { KubeApiError, isTransient, toApiError } from './errors.js';
import type { KubeList, KubeObject, PatchType, Query, RequestCounter, WatchEvent } from './types.js';

export * from './types.js';
export { KubeApiError, isAlreadyExists, isConflict, isGone, isNotFound } from './errors.js';
export { kv, paths } from './paths.js';

const patchContentType: Record<PatchType, string> = {
  merge: 'application/merge-patch+json',
  json: 'application/json-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  apply: 'application/apply-patch+yaml',
};

function queryString(query?: Query): string {
  if (!query) return '';
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) if (value !== undefined) params.set(key, String(value));
  const text = params.toString();
  return text ? `?${text}` : '';
}

/** A watch stream that delivered nothing (no event, no bookmark) for its idle timeout: presumed dead. */
export class WatchStalledError extends Error {
  constructor(path: string, idleMs: number) {
    super(`watch ${path}: nothing for ${Math.round(idleMs / 1000)} s, reconnecting`);
    this.name = 'WatchStalledError';
  }
}

export interface WatchStreamOptions {
  /** The open stream does not keep the process alive. */
  unref?: boolean;
  /** The server accepted the watch. */
  onOpen?: () => void;
  /** Rejects with WatchStalledError when no line (event or bookmark) arrives for this long. */
  idleTimeoutMs?: number;
}

const READ_ATTEMPTS = 3;

export class KubeClient {
  readonly server: string;
  private readonly agents: Agents;
  private baseOptions: https.RequestOptions | undefined;
  readonly counter: RequestCounter = { total: 0, byVerb: {} };

  constructor(readonly kubeConfig: KubeConfig) {
    const cluster = kubeConfig.getCurrentCluster();
    if (!cluster) throw new Error('the kubeconfig has no current cluster');
    this.server = cluster.server.replace(/\/$/, '');
    this.agents = makeAgents(this.server, cluster.proxyUrl || undefined);
  }

  static fromFile(path: string): KubeClient {
    const kc = new KubeConfig();
    kc.loadFromFile(path);
    return new KubeClient(kc);
  }

  /** In-cluster config when running in a pod, else $KUBECONFIG / ~/.kube/config. */
  static fromDefault(): KubeClient {
    const kc = new KubeConfig();
    kc.loadFromDefault();
    return new KubeClient(kc);
  }

  private async options(): Promise<https.RequestOptions> {
    // Re-applied per request: exec/OIDC plugins refresh tokens behind this call. The agent it makes is dropped:
    // ours pool connections (and tunnel through the cluster's proxy-url).
    const opts: https.RequestOptions = {};
    await this.kubeConfig.applyToHTTPSOptions(opts);
    delete opts.agent;
    this.baseOptions = opts;
    return opts;
  }

  private count(verb: string) {
    this.counter.total += 1;
    this.counter.byVerb[verb] = (this.counter.byVerb[verb] ?? 0) + 1;
  }

  /**
   * One API call. Reads (GET) are retried in place, up to READ_ATTEMPTS tries, on 5xx, 429 (after its Retry-After,
   * capped) and network errors: a read that makes many calls (preflight) must not fail as a whole because one of
   * them met a blip. Writes are never retried here: the activity's retry re-reads first.
   */
  async request<T>(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.requestOnce<T>(method, path, body, contentType);
      } catch (e) {
        if (method !== 'GET' || attempt >= READ_ATTEMPTS || !isTransient(e)) throw e;
        const retryAfterMs = e instanceof KubeApiError && e.retryAfterSeconds ? e.retryAfterSeconds * 1000 : 0;
        await new Promise((r) => setTimeout(r, Math.min(2000, Math.max(retryAfterMs, 100 * 2 ** attempt))));
      }
    }
  }

  private async requestOnce<T>(method: string, path: string, body: unknown, contentType: string): Promise<T> {
    this.count(method === 'GET' && path.includes('watch=') ? 'WATCH' : method);
    const base = await this.options();
    const url = new URL(this.server + path);
    const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    const mod = url.protocol === 'https:' ? https : http;
    return await new Promise<T>((resolve, reject) => {
      const req = mod.request(
        url,
        {
          ...base,
          method,
          agent: this.agents.requests,
          headers: {
            ...(base.headers ?? {}),
            Accept: 'application/json',
            // Explicit length: node does not chunk DELETE bodies, and without it the server reads the body as
            // the start of the next request on this keep-alive connection.
            ...(payload !== undefined
              ? { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(payload) }
              : {}),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', reject);
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            const status = res.statusCode ?? 0;
            if (status >= 200 && status < 300) {
              const isJson = String(res.headers['content-type'] ?? '').includes('json');
              try {
                resolve((isJson ? JSON.parse(text) : text || {}) as T);
              } catch (e) {
                reject(e);
              }
              return;
            }
            reject(toApiError(status, text, res.headers['retry-after']));
          });
        },
      );
      req.setTimeout(60_000, () => req.destroy(new Error(`${method} ${path}: no answer within 60 s`)));
      req.on('error', reject);
      if (payload !== undefined) req.write(payload);
      req.end();
    });
  }

  get<T extends KubeObject>(path: string, query?: Query): Promise<T> {
    return this.request<T>('GET', path + queryString(query));
  }
  /** GET that answers undefined for 404. */
  async find<T extends KubeObject>(path: string): Promise<T | undefined> {
    try {
      return await this.get<T>(path);
    } catch (e) {
      if (e instanceof KubeApiError && e.statusCode === 404) return undefined;
      throw e;
    }
  }
  list<T extends KubeObject>(path: string, query?: Query): Promise<KubeList<T>> {
    return this.request<KubeList<T>>('GET', path + queryString(query));
  }
  /**
   * Lists page by page (`limit` objects a page, or all at once without one), handing each page's items to
   * `onPage`, so a big collection is never parsed or held at once. The pages are one snapshot: the continue token
   * pins the first page's resourceVersion. Resolves with that resourceVersion.
   */
  async listPages<T extends KubeObject>(path: string, query: Query, onPage: (items: T[]) => void): Promise<string> {
    let token: string | undefined;
    let resourceVersion: string;
    do {
      const page = await this.list<T>(path, { ...query, ...(token !== undefined && { continue: token }) });
      onPage(page.items);
      token = page.metadata.continue || undefined;
      resourceVersion = page.metadata.resourceVersion ?? '';
    } while (token !== undefined);
    return resourceVersion;
  }
  create<T extends KubeObject>(path: string, object: unknown, query?: Query): Promise<T> {
    return this.request<T>('POST', path + queryString(query), object);
  }
  replace<T extends KubeObject>(path: string, object: unknown): Promise<T> {
    return this.request<T>('PUT', path, object);
  }
  patch<T extends KubeObject>(path: string, patch: unknown, type: PatchType = 'merge', query?: Query): Promise<T> {
    return this.request<T>('PATCH', path + queryString(query), patch, patchContentType[type]);
  }
  delete(path: string, query?: Query, body?: unknown): Promise<unknown> {
    return this.request('DELETE', path + queryString(query), body);
  }

  /**
   * One watch stream: delivers its events until the server closes it (resolves), `signal` aborts (resolves), the
   * stream stalls past `idleTimeoutMs` (WatchStalledError) or fails. Bookmarks are asked for, so a quiet stream
   * still shows it is alive. Reconnecting, re-listing and backing off are the caller's: see watch.ts.
   */
  async watch<T extends KubeObject>(
    path: string,
    query: Query,
    onEvent: (event: WatchEvent<T>) => void,
    signal?: AbortSignal,
    options: WatchStreamOptions = {},
  ): Promise<void> {
    this.count('WATCH');
    const base = this.baseOptions ?? (await this.options());
    const url = new URL(this.server + path + queryString({ allowWatchBookmarks: true, ...query }));
    url.searchParams.set('watch', 'true');
    const mod = url.protocol === 'https:' ? https : http;
    await new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return resolve();
      let idle: NodeJS.Timeout | undefined;
      // However the stream ends, a stall or a handler's failure is what is reported.
      let failed: Error | undefined;
      let answered = false;
      const end = (e?: unknown) => (failed ? reject(failed) : e ? reject(e) : resolve());
      const req = mod.request(url, { ...base, method: 'GET', agent: this.agents.watches }, (res) => {
        if ((res.statusCode ?? 0) >= 300) {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => end(toApiError(res.statusCode ?? 0, Buffer.concat(chunks).toString('utf8'))));
          return;
        }
        answered = true;
        options.onOpen?.();
        let buffered = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          alive();
          buffered += chunk;
          let newline: number;
          while ((newline = buffered.indexOf('\n')) >= 0) {
            const line = buffered.slice(0, newline).trim();
            buffered = buffered.slice(newline + 1);
            if (!line || failed) continue;
            try {
              onEvent(JSON.parse(line) as WatchEvent<T>);
            } catch (e) {
              failed = e instanceof Error ? e : new Error(String(e));
              req.destroy();
            }
          }
        });
        res.on('end', () => end());
        res.on('error', () => end());
      });
      const idleMs = options.idleTimeoutMs;
      const alive = () => {
        if (!idleMs) return;
        clearTimeout(idle);
        idle = setTimeout(() => {
          failed = new WatchStalledError(path, idleMs);
          req.destroy();
        }, idleMs);
        if (options.unref) idle.unref();
      };
      alive();
      const abort = () => req.destroy();
      if (options.unref) req.on('socket', (socket) => socket.unref());
      signal?.addEventListener('abort', abort, { once: true });
      // Once the server has answered, a broken connection ends the stream (it is resumed); before, it is a failure.
      req.on('error', (e) => (signal?.aborted || answered ? end() : end(e)));
      req.on('close', () => {
        clearTimeout(idle);
        signal?.removeEventListener('abort', abort);
        end();
      });
      req.end();
    });
  }

  close(): void {
    this.agents.requests.destroy();
    if (this.agents.watches) this.agents.watches.destroy();
  }
}
