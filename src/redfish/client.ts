// A Redfish client for one BMC: its ComputerSystem's power state and ComputerSystem.Reset. A library: it speaks
// HTTPS and Redfish and knows nothing of Kubernetes or Temporal; the power activities read its credentials from a
// Secret and turn its failures (RedfishError, by kind) into Temporal's.
//
// Secrets: the credentials live in private fields (not enumerable, not serialized, not printed by util.inspect)
// for the lifetime of the object, and a failure message never carries them (a BMC that echoes the password back has
// it scrubbed). TLS: the BMC's certificate is verified against `ca` when given (it then replaces the system CAs),
// else against the system CAs; `insecureSkipVerify` skips verification entirely.
import https from 'node:https';
import { formatDuration } from '../domain/durations.js';

export interface RedfishEndpoint {
  /** https://host[:port] of the BMC. */
  address: string;
  /** The ComputerSystem's id; without it, the only member of /redfish/v1/Systems. */
  systemId?: string;
  insecureSkipVerify?: boolean;
}

export interface BmcCredentials {
  username: string;
  password: string;
  /** PEM bundle the BMC's certificate is verified against. */
  ca?: string;
}

export interface RedfishReading {
  poweredOn: boolean;
  /** Redfish's PowerState: On, Off, PoweringOn, PoweringOff, or Unknown when the BMC gives none. */
  state: string;
}

export type RedfishResetType = 'GracefulShutdown' | 'ForceOff' | 'On';

/**
 * What went wrong, by kind: `unreachable`, `bmcError` (5xx, 429, an answer that is not JSON) and `cancelled` may
 * pass; `credentialsRejected`, `certificateRejected`, `requestRejected` (other 4xx), `noSystems` and
 * `severalSystems` will not.
 */
export type RedfishFailureKind =
  | 'unreachable'
  | 'bmcError'
  | 'cancelled'
  | 'credentialsRejected'
  | 'certificateRejected'
  | 'requestRejected'
  | 'noSystems'
  | 'severalSystems';

export class RedfishError extends Error {
  constructor(
    readonly kind: RedfishFailureKind,
    message: string,
  ) {
    super(message);
    this.name = 'RedfishError';
  }
  get retryable(): boolean {
    return this.kind === 'unreachable' || this.kind === 'bmcError' || this.kind === 'cancelled';
  }
}

const short = (text: string, max = 200) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

const RESPONSE_LIMIT = 256 * 1024;

/** One conversation with one BMC; make a new one per activity call (the credentials are read for that call). */
export class RedfishClient {
  readonly #auth: string;
  readonly #password: string;
  readonly #ca: string | undefined;
  readonly #origin: string;
  readonly #signal: AbortSignal | undefined;
  readonly #timeoutMs: number;
  #systemPath: string | undefined;

  constructor(
    readonly endpoint: RedfishEndpoint,
    credentials: BmcCredentials,
    options: { signal?: AbortSignal; timeoutMs?: number } = {},
  ) {
    this.#auth = `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`;
    this.#password = credentials.password;
    this.#ca = credentials.ca;
    this.#origin = new URL(endpoint.address).origin;
    this.#signal = options.signal;
    this.#timeoutMs = options.timeoutMs ?? 10_000;
  }

  /** `GET /redfish/v1/Systems/<id>` → PowerState. */
  async powerState(): Promise<RedfishReading> {
    return systemReading(await this.system());
  }

  /** `POST …/Actions/ComputerSystem.Reset` (the target the system advertises, else the standard path). */
  async reset(resetType: RedfishResetType, system?: RedfishSystem): Promise<void> {
    const advertised = (system ?? (await this.system())).Actions?.['#ComputerSystem.Reset']?.target;
    const path = typeof advertised === 'string' && advertised.startsWith('/') ? advertised : undefined;
    await this.request('POST', path ?? `${await this.systemPath()}/Actions/ComputerSystem.Reset`, {
      ResetType: resetType,
    });
  }

  /** The ComputerSystem resource. */
  async system(): Promise<RedfishSystem> {
    return ((await this.request('GET', await this.systemPath())) ?? {}) as RedfishSystem;
  }

  /** The system's path: from systemId, else the only member of /redfish/v1/Systems. */
  private async systemPath(): Promise<string> {
    if (this.#systemPath) return this.#systemPath;
    if (this.endpoint.systemId !== undefined) {
      this.#systemPath = `/redfish/v1/Systems/${encodeURIComponent(this.endpoint.systemId)}`;
      return this.#systemPath;
    }
    const collection = ((await this.request('GET', '/redfish/v1/Systems')) ?? {}) as {
      Members?: { '@odata.id'?: unknown }[];
    };
    const members = (collection.Members ?? [])
      .map((m) => m['@odata.id'])
      .filter((id): id is string => typeof id === 'string' && id.startsWith('/'));
    const [only] = members;
    if (members.length !== 1 || !only) {
      const ids = members.slice(0, 5).map((m) => m.replace(/\/$/, '').split('/').pop());
      throw members.length === 0
        ? new RedfishError('noSystems', `BMC ${this.#origin} lists no systems`)
        : new RedfishError('severalSystems', `BMC ${this.#origin} has ${members.length} systems (${ids.join(', ')})`);
    }
    this.#systemPath = only.replace(/\/$/, '');
    return this.#systemPath;
  }

  private scrub(text: string): string {
    let out = text;
    for (const secret of [this.#password, this.#auth.slice('Basic '.length)]) {
      if (secret) out = out.split(secret).join('***');
    }
    return out;
  }

  private request(method: 'GET' | 'POST', path: string, body?: unknown): Promise<unknown> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const url = new URL(path, this.#origin);
    const insecure = this.endpoint.insecureSkipVerify;
    return new Promise((resolve, reject) => {
      let req: ReturnType<typeof https.request>;
      try {
        req = https.request(
          url,
          {
            method,
            agent: false,
            rejectUnauthorized: !insecure,
            ...(this.#ca !== undefined && !insecure && { ca: this.#ca }),
            ...(this.#signal && { signal: this.#signal }),
            headers: {
              Authorization: this.#auth,
              Accept: 'application/json',
              ...(payload !== undefined && {
                'Content-Type': 'application/json',
                'Content-Length': Buffer.byteLength(payload),
              }),
            },
          },
          (res) => {
            const chunks: Buffer[] = [];
            let size = 0;
            res.on('data', (c: Buffer) => {
              size += c.length;
              if (size <= RESPONSE_LIMIT) chunks.push(c);
            });
            res.on('error', (e) => reject(this.networkFailure(e)));
            res.on('end', () => {
              const status = res.statusCode ?? 0;
              const text = Buffer.concat(chunks).toString('utf8');
              if (status >= 200 && status < 300) {
                try {
                  resolve(text.trim() ? JSON.parse(text) : undefined);
                } catch {
                  reject(new RedfishError('bmcError', `BMC ${this.#origin}: ${method} ${path}: answer is not JSON`));
                }
                return;
              }
              reject(this.httpFailure(status, method, path, text));
            });
          },
        );
      } catch (e) {
        // A request that cannot even start (bad TLS options): classified like a connection failure.
        reject(this.networkFailure(e));
        return;
      }
      req.setTimeout(this.#timeoutMs, () =>
        req.destroy(
          Object.assign(new Error('timeout'), { code: `no answer within ${formatDuration(this.#timeoutMs)}` }),
        ),
      );
      req.on('error', (e) => reject(this.networkFailure(e)));
      req.end(payload);
    });
  }

  private httpFailure(status: number, method: string, path: string, text: string): RedfishError {
    if (status === 401 || status === 403)
      return new RedfishError('credentialsRejected', 'BMC rejected the credentials');
    const detail = this.scrub(short(redfishMessage(text), 160));
    const message = `BMC ${this.#origin}: ${method} ${path}: ${status}${detail ? ` ${detail}` : ''}`;
    return new RedfishError(status >= 500 || status === 429 ? 'bmcError' : 'requestRejected', message);
  }

  /** Network-level failures: only the error code goes into the message (never headers or URLs with userinfo). */
  private networkFailure(e: unknown): RedfishError {
    if (this.#signal?.aborted) return new RedfishError('cancelled', 'BMC request cancelled');
    const code = String((e as { code?: unknown }).code ?? '') || 'connection failed';
    if (/CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)/.test(code)) {
      return new RedfishError('certificateRejected', `BMC ${this.#origin} certificate rejected (${code})`);
    }
    return new RedfishError('unreachable', `BMC unreachable: ${this.#origin} (${code})`);
  }
}

export interface RedfishSystem {
  PowerState?: string;
  Actions?: Record<string, { target?: unknown } | undefined>;
  [key: string]: unknown;
}

export function systemReading(system: RedfishSystem): RedfishReading {
  const state = typeof system.PowerState === 'string' && system.PowerState ? system.PowerState : 'Unknown';
  return { poweredOn: state === 'On', state };
}

/** The message of a Redfish error body (`error.@Message.ExtendedInfo[0].Message`, `error.message`), or its text. */
function redfishMessage(text: string): string {
  try {
    const parsed = JSON.parse(text) as {
      error?: { message?: unknown; '@Message.ExtendedInfo'?: { Message?: unknown }[] };
    };
    const extended = parsed.error?.['@Message.ExtendedInfo']?.[0]?.Message;
    const message = typeof extended === 'string' ? extended : parsed.error?.message;
    if (typeof message === 'string') return message;
  } catch {
    // not JSON
  }
  return text.replace(/\s+/g, ' ').trim();
}
