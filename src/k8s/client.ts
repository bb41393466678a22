// A small JSON client for the Kubernetes API over node:https, shared by the activities and the sandbox.
// Why not the generated typed APIs of @kubernetes/client-node: they deserialize lists into classes (Dates) while
// watches deliver plain JSON, and most of what Pitstop touches is custom resources anyway. KubeConfig from
// client-node still does what it is good at: loading kubeconfigs (files, in-cluster, exec plugins) and TLS/auth.
import https from 'node:https';
import http from 'node:http';
import { KubeConfig } from '@kubernetes/client-node';

export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
  finalizers?: string[];
  generateName?: string;
}

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  spec?: any;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  status?: any;
  [key: string]: unknown;
}

export interface KubeList<T extends KubeObject = KubeObject> {
  metadata: { resourceVersion?: string; continue?: string };
  items: T[];
}

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

export type WatchEvent<T extends KubeObject> =
  | { type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK'; object: T }
  | { type: 'ERROR'; object: { code?: number; message?: string } };

export interface Query {
  labelSelector?: string;
  fieldSelector?: string;
  resourceVersion?: string;
  limit?: number;
  continue?: string;
  dryRun?: 'All';
  gracePeriodSeconds?: number;
  propagationPolicy?: string;
  timeoutSeconds?: number;
  allowWatchBookmarks?: boolean;
  fieldManager?: string;
  force?: boolean;
}

export type PatchType = 'merge' | 'json' | 'strategic' | 'apply';
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

/** Counts requests per verb, so benchmarks can report API cost. */
export interface RequestCounter {
  total: number;
  byVerb: Record<string, number>;
}

export class KubeClient {
  readonly server: string;
  private readonly agent: https.Agent | http.Agent;
  private baseOptions: https.RequestOptions | undefined;
  readonly counter: RequestCounter = { total: 0, byVerb: {} };

  constructor(readonly kubeConfig: KubeConfig) {
    const cluster = kubeConfig.getCurrentCluster();
    if (!cluster) throw new Error('the kubeconfig has no current cluster');
    this.server = cluster.server.replace(/\/$/, '');
    const isHttps = this.server.startsWith('https:');
    this.agent = isHttps ? new https.Agent({ keepAlive: true, maxSockets: 64 }) : new http.Agent({ keepAlive: true });
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
    // Re-applied per request: exec/OIDC plugins refresh tokens behind this call.
    const opts: https.RequestOptions = {};
    await this.kubeConfig.applyToHTTPSOptions(opts);
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
   * them met a blip (chaos seed 1). Writes are never retried here: the activity's retry re-reads first.
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
          agent: this.agent,
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
      if (isNotFound(e)) return undefined;
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
   * Streams watch events until the server closes the stream, `signal` aborts, or an error occurs.
   * Resolves when the stream ends; the caller decides whether to re-list or resume.
   */
  async watch<T extends KubeObject>(
    path: string,
    query: Query,
    onEvent: (event: WatchEvent<T>) => void,
    signal?: AbortSignal,
    /** unref: the open stream does not keep the process alive; onOpen: the server accepted the watch. */
    options: { unref?: boolean; onOpen?: () => void } = {},
  ): Promise<void> {
    this.count('WATCH');
    const base = this.baseOptions ?? (await this.options());
    const url = new URL(this.server + path + queryString({ allowWatchBookmarks: true, ...query }));
    url.searchParams.set('watch', 'true');
    const mod = url.protocol === 'https:' ? https : http;
    await new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return resolve();
      const req = mod.request(url, { ...base, method: 'GET', agent: false }, (res) => {
        if ((res.statusCode ?? 0) >= 300) {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => reject(toApiError(res.statusCode ?? 0, Buffer.concat(chunks).toString('utf8'))));
          return;
        }
        options.onOpen?.();
        let buffered = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          buffered += chunk;
          let newline: number;
          while ((newline = buffered.indexOf('\n')) >= 0) {
            const line = buffered.slice(0, newline).trim();
            buffered = buffered.slice(newline + 1);
            if (line) onEvent(JSON.parse(line) as WatchEvent<T>);
          }
        });
        res.on('end', () => resolve());
        res.on('error', () => resolve());
      });
      const abort = () => req.destroy();
      if (options.unref) req.on('socket', (socket) => socket.unref());
      signal?.addEventListener('abort', abort, { once: true });
      req.on('error', (e) => (signal?.aborted ? resolve() : reject(e)));
      req.on('close', () => {
        signal?.removeEventListener('abort', abort);
        resolve();
      });
      req.end();
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

const READ_ATTEMPTS = 3;

/** 5xx, 429 and network failures (no HTTP answer at all) may pass on their own; everything else will not. */
function isTransient(e: unknown): boolean {
  if (e instanceof KubeApiError) return e.statusCode >= 500 || e.statusCode === 429;
  return e instanceof Error;
}

function toApiError(status: number, body: string, retryAfter?: string | string[]): KubeApiError {
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

/** REST paths, so call sites read as what they touch. */
export const paths = {
  nodes: () => '/api/v1/nodes',
  node: (name: string) => `/api/v1/nodes/${name}`,
  nodeStatus: (name: string) => `/api/v1/nodes/${name}/status`,
  pods: (ns?: string) => (ns ? `/api/v1/namespaces/${ns}/pods` : '/api/v1/pods'),
  pod: (ns: string, name: string) => `/api/v1/namespaces/${ns}/pods/${name}`,
  podStatus: (ns: string, name: string) => `/api/v1/namespaces/${ns}/pods/${name}/status`,
  podEviction: (ns: string, name: string) => `/api/v1/namespaces/${ns}/pods/${name}/eviction`,
  podBinding: (ns: string, name: string) => `/api/v1/namespaces/${ns}/pods/${name}/binding`,
  namespaces: () => '/api/v1/namespaces',
  namespace: (name: string) => `/api/v1/namespaces/${name}`,
  secrets: (ns: string) => `/api/v1/namespaces/${ns}/secrets`,
  secret: (ns: string, name: string) => `/api/v1/namespaces/${ns}/secrets/${name}`,
  events: (ns: string) => `/api/v1/namespaces/${ns}/events`,
  pvcs: (ns: string) => `/api/v1/namespaces/${ns}/persistentvolumeclaims`,
  pvc: (ns: string, name: string) => `/api/v1/namespaces/${ns}/persistentvolumeclaims/${name}`,
  leases: (ns: string) => `/apis/coordination.k8s.io/v1/namespaces/${ns}/leases`,
  lease: (ns: string, name: string) => `/apis/coordination.k8s.io/v1/namespaces/${ns}/leases/${name}`,
  /** Any resource of an API group: custom resources, apps/v1, policy/v1, … */
  resource: (group: string, version: string, plural: string, ns?: string, name?: string, sub?: string) => {
    const prefix = group ? `/apis/${group}/${version}` : `/api/${version}`;
    const nsPart = ns ? `/namespaces/${ns}` : '';
    return `${prefix}${nsPart}/${plural}${name ? `/${name}` : ''}${sub ? `/${sub}` : ''}`;
  },
};
