// Power: a Metal3 BareMetalHost or a Redfish BMC, chosen in preflight (resolvePowerProvider) before anything changes.
//
// Secrets (docs/architecture.md #4): BMC credentials are read from the Kubernetes Secret named in the request at the
// moment a BMC is called, kept in private fields of a RedfishClient for that one call, and never returned, logged or
// put into a failure message (messages are also scrubbed of the password, in case a BMC echoes it back).
//
// TLS: a BMC's certificate is verified against the PEM bundle in the Secret's `ca.crt` key when there is one (it
// then replaces the system CAs), else against the system CAs. Self-signed BMC certificates are common: put the
// certificate (or its CA) into `ca.crt`, or set `redfish.insecureSkipVerify` (which skips verification entirely,
// `ca.crt` or not) when the network to the BMC is trusted.
//
// Failures are short ApplicationFailures: configuration problems (no BareMetalHost, missing Secret, rejected
// credentials, untrusted certificate) are non-retryable; an unreachable or failing BMC is retryable.
import { setTimeout as delay } from 'node:timers/promises';
import https from 'node:https';
import { ApplicationFailure } from '@temporalio/common';
import { paths, type KubeClient, type KubeObject } from '../k8s/client.js';
import { formatDuration } from '../domain/durations.js';
import type { PowerProvider, RedfishTarget } from '../domain/request.js';
import { classify, kube } from './errors.js';

export const METAL3 = { group: 'metal3.io', version: 'v1alpha1', plural: 'baremetalhosts' } as const;
export const MACHINE = { group: 'machine.openshift.io', version: 'v1beta1', plural: 'machines' } as const;
/** Node → Machine (set by OpenShift's machine-api). */
export const MACHINE_ANNOTATION = 'machine.openshift.io/machine';
/** Machine → BareMetalHost (set by the Metal3 machine actuator). */
export const BMH_ANNOTATION = 'metal3.io/BareMetalHost';

/** Failure types this module throws (ApplicationFailure.type). */
export const POWER_FAILURE = {
  noBareMetalHost: 'NoBareMetalHost',
  noRedfishTarget: 'NoRedfishTarget',
  secretNotFound: 'BmcSecretNotFound',
  secretInvalid: 'BmcSecretInvalid',
  credentialsRejected: 'BmcCredentialsRejected',
  certificateRejected: 'BmcCertificateRejected',
  unreachable: 'BmcUnreachable',
  bmcError: 'BmcError',
  requestRejected: 'BmcRequestRejected',
  systemAmbiguous: 'BmcSystemAmbiguous',
  actionFailed: 'PowerActionFailed',
  timeout: 'PowerTimeout',
  hostGone: 'BareMetalHostGone',
} as const;

export interface ObjectRef {
  namespace: string;
  name: string;
}

/** The power provider of one node, resolved in preflight. Carries references only, never credentials. */
export type ResolvedPowerProvider =
  { kind: 'metal3'; bmh: ObjectRef } | ({ kind: 'redfish' } & RedfishTarget) | { kind: 'none' };

/** What the BMC says. `state`: On | Off (Metal3), or Redfish's PowerState (On, Off, PoweringOn, PoweringOff, …). */
export interface PowerReading {
  poweredOn: boolean;
  state: string;
  /** Metal3: the BareMetalHost's error (operationalStatus error), shortened. */
  error?: string;
}

export type RedfishResetType = 'GracefulShutdown' | 'ForceOff' | 'On';

const bmhPath = (ns: string, name?: string) => paths.resource(METAL3.group, METAL3.version, METAL3.plural, ns, name);
const machinePath = (ns: string, name: string) =>
  paths.resource(MACHINE.group, MACHINE.version, MACHINE.plural, ns, name);
const refText = (ref: ObjectRef) => `${ref.namespace}/${ref.name}`;
const short = (text: string, max = 200) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

function nonRetryable(type: string, message: string): ApplicationFailure {
  return ApplicationFailure.create({ type, message, nonRetryable: true });
}
function retryable(type: string, message: string): ApplicationFailure {
  return ApplicationFailure.create({ type, message });
}
const isFinal = (e: unknown) => e instanceof ApplicationFailure && e.nonRetryable;

/** "ns/name"; a bare name takes `defaultNamespace` when given. */
function parseRef(value: string | undefined, defaultNamespace?: string): ObjectRef | undefined {
  if (!value) return undefined;
  const parts = value.split('/');
  if (parts.length === 2 && parts[0] && parts[1]) return { namespace: parts[0], name: parts[1] };
  if (parts.length === 1 && parts[0] && defaultNamespace) return { namespace: defaultNamespace, name: parts[0] };
  return undefined;
}

// ---------------------------------------------------------------------------------------------------------------
// Which provider

/**
 * The BareMetalHost behind a node: Node annotation `machine.openshift.io/machine` → Machine → its annotation
 * `metal3.io/BareMetalHost`; else the BareMetalHost in the Machine's namespace whose spec.consumerRef names that
 * Machine. Undefined when the node, its Machine or a host is missing (or Metal3 is not installed).
 */
export async function findBareMetalHost(client: KubeClient, node: string): Promise<ObjectRef | undefined> {
  return await kube(`finding the BareMetalHost of node ${node}`, async () => {
    const nodeObject = await client.find(paths.node(node));
    const machine = parseRef(nodeObject?.metadata.annotations?.[MACHINE_ANNOTATION]);
    if (!machine) return undefined;
    const machineObject = await client.find(machinePath(machine.namespace, machine.name));
    const annotated = parseRef(machineObject?.metadata.annotations?.[BMH_ANNOTATION], machine.namespace);
    if (annotated && (await client.find(bmhPath(annotated.namespace, annotated.name)))) return annotated;
    let hosts: KubeObject[];
    try {
      hosts = (await client.list(bmhPath(machine.namespace))).items;
    } catch (e) {
      // No BareMetalHost CRD: not a Metal3 cluster.
      if ((e as { statusCode?: number }).statusCode === 404) return undefined;
      throw e;
    }
    const consumer = hosts.find((h) => {
      const ref = h.spec?.consumerRef as { kind?: string; name?: string; namespace?: string } | undefined;
      return (
        ref?.name === machine.name &&
        (ref.kind ?? 'Machine') === 'Machine' &&
        (ref.namespace ?? h.metadata.namespace) === machine.namespace
      );
    });
    return consumer
      ? { namespace: consumer.metadata.namespace ?? machine.namespace, name: consumer.metadata.name }
      : undefined;
  });
}

/**
 * Decides how the node's power is switched, failing (non-retryable) on what cannot work, before anything changes:
 * `auto` = Metal3 when a BareMetalHost maps to the node, else none; `metal3` needs a BareMetalHost; `redfish` needs
 * its credentials Secret with `username` and `password` (the BMC itself is not called here).
 */
export async function resolvePowerProvider(
  client: KubeClient,
  input: { node: string; power: PowerProvider; redfish?: RedfishTarget },
): Promise<ResolvedPowerProvider> {
  switch (input.power) {
    case 'none':
      return { kind: 'none' };
    case 'auto': {
      const bmh = await findBareMetalHost(client, input.node);
      return bmh ? { kind: 'metal3', bmh } : { kind: 'none' };
    }
    case 'metal3': {
      const bmh = await findBareMetalHost(client, input.node);
      if (!bmh) {
        throw nonRetryable(POWER_FAILURE.noBareMetalHost, `node ${input.node} has no BareMetalHost (power: metal3)`);
      }
      return { kind: 'metal3', bmh };
    }
    case 'redfish': {
      if (!input.redfish) {
        throw nonRetryable(POWER_FAILURE.noRedfishTarget, 'power is redfish but no redfish target is given');
      }
      await readBmcSecret(client, input.redfish.credentialsSecret);
      const { address, systemId, credentialsSecret, insecureSkipVerify } = input.redfish;
      return {
        kind: 'redfish',
        address,
        ...(systemId !== undefined && { systemId }),
        credentialsSecret: { namespace: credentialsSecret.namespace, name: credentialsSecret.name },
        insecureSkipVerify,
      };
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Metal3

async function setOnline(client: KubeClient, bmh: ObjectRef, online: boolean): Promise<{ changed: boolean }> {
  return await kube(`powering ${online ? 'on' : 'off'} BareMetalHost ${refText(bmh)}`, async () => {
    const host = await client.get(bmhPath(bmh.namespace, bmh.name));
    if (host.spec?.online === online) return { changed: false };
    await client.patch(bmhPath(bmh.namespace, bmh.name), { spec: { online } });
    return { changed: true };
  });
}

/**
 * spec.online=false; Metal3 then powers the host off (soft first, hard if that fails). Idempotent: `changed` says
 * whether the host was online before.
 */
export function powerOffMetal3(client: KubeClient, bmh: ObjectRef): Promise<{ changed: boolean }> {
  return setOnline(client, bmh, false);
}

/** spec.online=true. Idempotent. */
export function powerOnMetal3(client: KubeClient, bmh: ObjectRef): Promise<{ changed: boolean }> {
  return setOnline(client, bmh, true);
}

function bmhReading(host: KubeObject): PowerReading {
  const status = host.status ?? {};
  const poweredOn = status.poweredOn === true;
  const state = typeof status.poweredOn === 'boolean' ? (poweredOn ? 'On' : 'Off') : 'Unknown';
  const error =
    status.operationalStatus === 'error'
      ? short(String(status.errorMessage || status.errorType || 'operational status error'))
      : undefined;
  return { poweredOn, state, ...(error !== undefined && { error }) };
}

/** status.poweredOn, and the host's error when its operationalStatus is `error`. */
export async function metal3PowerState(client: KubeClient, bmh: ObjectRef): Promise<PowerReading> {
  const host = await kube(`reading BareMetalHost ${refText(bmh)}`, () => client.get(bmhPath(bmh.namespace, bmh.name)));
  return bmhReading(host);
}

// ---------------------------------------------------------------------------------------------------------------
// Redfish

interface BmcSecret {
  username: string;
  password: string;
  ca?: string;
}

async function readBmcSecret(client: KubeClient, ref: ObjectRef): Promise<BmcSecret> {
  const where = refText(ref);
  const secret = await kube(`reading BMC credentials Secret ${where}`, () =>
    client.find(paths.secret(ref.namespace, ref.name)),
  );
  if (!secret) throw nonRetryable(POWER_FAILURE.secretNotFound, `BMC credentials Secret ${where} not found`);
  const data = (secret.data ?? {}) as Record<string, string | undefined>;
  const decode = (key: string) => {
    const value = data[key];
    return value === undefined ? '' : Buffer.from(value, 'base64').toString('utf8');
  };
  const username = decode('username');
  const password = decode('password');
  const missing = [!username && 'username', !password && 'password'].filter(Boolean);
  if (missing.length > 0) {
    throw nonRetryable(POWER_FAILURE.secretInvalid, `BMC credentials Secret ${where} has no ${missing.join(' or ')}`);
  }
  const ca = decode('ca.crt');
  return { username, password, ...(ca.trim() && { ca }) };
}

const RESPONSE_LIMIT = 256 * 1024;

/**
 * One conversation with one BMC. The credentials live in private fields (not enumerable, not serialized, not
 * printed by util.inspect) for the lifetime of the object; make a new one per activity call.
 */
export class RedfishClient {
  readonly #auth: string;
  readonly #password: string;
  readonly #ca: string | undefined;
  readonly #origin: string;
  readonly #secret: string;
  readonly #signal: AbortSignal | undefined;
  readonly #timeoutMs: number;
  #systemPath: string | undefined;

  private constructor(
    readonly target: RedfishTarget,
    secret: BmcSecret,
    options: { signal?: AbortSignal; timeoutMs?: number },
  ) {
    this.#auth = `Basic ${Buffer.from(`${secret.username}:${secret.password}`).toString('base64')}`;
    this.#password = secret.password;
    this.#ca = secret.ca;
    this.#origin = new URL(target.address).origin;
    this.#secret = refText(target.credentialsSecret);
    this.#signal = options.signal;
    this.#timeoutMs = options.timeoutMs ?? 10_000;
  }

  /** Reads the credentials (and `ca.crt`) from the target's Secret now. */
  static async open(
    client: KubeClient,
    target: RedfishTarget,
    options: { signal?: AbortSignal; timeoutMs?: number } = {},
  ): Promise<RedfishClient> {
    return new RedfishClient(target, await readBmcSecret(client, target.credentialsSecret), options);
  }

  /** `GET /redfish/v1/Systems/<id>` → PowerState. */
  async powerState(): Promise<PowerReading> {
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
    if (this.target.systemId !== undefined) {
      this.#systemPath = `/redfish/v1/Systems/${encodeURIComponent(this.target.systemId)}`;
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
      throw nonRetryable(
        POWER_FAILURE.systemAmbiguous,
        members.length === 0
          ? `BMC ${this.#origin} lists no systems`
          : `BMC ${this.#origin} has ${members.length} systems (${ids.join(', ')}): set redfish.systemId`,
      );
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
    const insecure = this.target.insecureSkipVerify;
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
                  reject(
                    retryable(POWER_FAILURE.bmcError, `BMC ${this.#origin}: ${method} ${path}: answer is not JSON`),
                  );
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

  private httpFailure(status: number, method: string, path: string, text: string): ApplicationFailure {
    if (status === 401 || status === 403) {
      return nonRetryable(POWER_FAILURE.credentialsRejected, `BMC rejected the credentials in Secret ${this.#secret}`);
    }
    const detail = this.scrub(short(redfishMessage(text), 160));
    const message = `BMC ${this.#origin}: ${method} ${path}: ${status}${detail ? ` ${detail}` : ''}`;
    return status >= 500 || status === 429
      ? retryable(POWER_FAILURE.bmcError, message)
      : nonRetryable(POWER_FAILURE.requestRejected, message);
  }

  /** Network-level failures: only the error code goes into the message (never headers or URLs with userinfo). */
  private networkFailure(e: unknown): Error {
    if (this.#signal?.aborted) return new Error('BMC request cancelled');
    const code = String((e as { code?: unknown }).code ?? '') || 'connection failed';
    if (/CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)/.test(code)) {
      return nonRetryable(
        POWER_FAILURE.certificateRejected,
        `BMC ${this.#origin} certificate rejected (${code}): put its CA in Secret ${this.#secret} key ca.crt, or set redfish.insecureSkipVerify`,
      );
    }
    return retryable(POWER_FAILURE.unreachable, `BMC unreachable: ${this.#origin} (${code})`);
  }
}

export interface RedfishSystem {
  PowerState?: string;
  Actions?: Record<string, { target?: unknown } | undefined>;
  [key: string]: unknown;
}

function systemReading(system: RedfishSystem): PowerReading {
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

/** The system's power state, through a client opened for this call. */
export async function redfishPowerState(
  client: KubeClient,
  target: RedfishTarget,
  options: { signal?: AbortSignal } = {},
): Promise<PowerReading> {
  return await (await RedfishClient.open(client, target, options)).powerState();
}

/**
 * GracefulShutdown (or ForceOff) unless the system is already Off or PoweringOff. A graceful shutdown can be ignored
 * by the OS: wait for it, and send ForceOff when the wait runs out.
 */
export async function powerOffRedfish(
  client: KubeClient,
  target: RedfishTarget,
  options: { graceful: boolean },
): Promise<{ changed: boolean }> {
  const bmc = await RedfishClient.open(client, target);
  const system = await bmc.system();
  const { state } = systemReading(system);
  if (state === 'Off' || (state === 'PoweringOff' && options.graceful)) return { changed: false };
  await bmc.reset(options.graceful ? 'GracefulShutdown' : 'ForceOff', system);
  return { changed: true };
}

/** On unless the system is already On or PoweringOn. */
export async function powerOnRedfish(client: KubeClient, target: RedfishTarget): Promise<{ changed: boolean }> {
  const bmc = await RedfishClient.open(client, target);
  const system = await bmc.system();
  const { state } = systemReading(system);
  if (state === 'On' || state === 'PoweringOn') return { changed: false };
  await bmc.reset('On', system);
  return { changed: true };
}

// ---------------------------------------------------------------------------------------------------------------
// Provider-independent

const describeProvider = (p: ResolvedPowerProvider) =>
  p.kind === 'metal3'
    ? `BareMetalHost ${refText(p.bmh)}`
    : p.kind === 'redfish'
      ? `BMC ${new URL(p.address).origin}`
      : 'no power provider';

/** Switches the machine off; `none` does nothing. `changed` = an action was requested. */
export async function powerOff(
  client: KubeClient,
  provider: ResolvedPowerProvider,
  options: { graceful: boolean },
): Promise<{ changed: boolean }> {
  switch (provider.kind) {
    case 'metal3':
      return await powerOffMetal3(client, provider.bmh);
    case 'redfish':
      return await powerOffRedfish(client, provider, options);
    case 'none':
      return { changed: false };
  }
}

/** Switches the machine on; `none` does nothing. */
export async function powerOn(client: KubeClient, provider: ResolvedPowerProvider): Promise<{ changed: boolean }> {
  switch (provider.kind) {
    case 'metal3':
      return await powerOnMetal3(client, provider.bmh);
    case 'redfish':
      return await powerOnRedfish(client, provider);
    case 'none':
      return { changed: false };
  }
}

/** One reading; undefined for `none`. */
export async function powerState(
  client: KubeClient,
  provider: ResolvedPowerProvider,
): Promise<PowerReading | undefined> {
  switch (provider.kind) {
    case 'metal3':
      return await metal3PowerState(client, provider.bmh);
    case 'redfish':
      return await redfishPowerState(client, provider);
    case 'none':
      return undefined;
  }
}

/** Heartbeat details of a power wait: small, no secrets; pass `since` back after a worker restart. */
export interface PowerWaitProgress {
  since: number;
  reading?: PowerReading;
  lastError?: string;
}

export interface WaitForPowerOptions {
  on: boolean;
  timeoutMs: number;
  /** When the wait began (epoch ms), e.g. from an earlier attempt's heartbeat: the timeout counts from there. */
  since?: number;
  /** Called about every `pollMs` (give it Context.heartbeat). */
  heartbeat?: (progress: PowerWaitProgress) => void;
  /** Activity cancellation. */
  signal?: AbortSignal;
  /** Redfish poll interval, and the heartbeat interval (1 s). */
  pollMs?: number;
  /** Metal3: how long the BareMetalHost may report an error before the wait fails (60 s). */
  errorGraceMs?: number;
}

type Observation = { reading?: PowerReading; lastError?: string | undefined; fatal?: unknown };

/** Sleeps `ms`, or less if `signal` aborts. */
const sleep = (ms: number, signal: AbortSignal): Promise<void> =>
  delay(ms, undefined, { signal }).catch(() => undefined);

/** Redfish has no watch: poll the BMC. Transient failures are remembered, not fatal (BMCs flap while switching). */
async function pollRedfish(
  client: KubeClient,
  target: RedfishTarget,
  pollMs: number,
  signal: AbortSignal,
  update: (o: Observation) => void,
) {
  let bmc: RedfishClient | undefined;
  while (!signal.aborted) {
    try {
      bmc ??= await RedfishClient.open(client, target, { signal });
      const reading = await bmc.powerState();
      if (!signal.aborted) update({ reading, lastError: undefined });
    } catch (e) {
      if (signal.aborted) return;
      if (isFinal(e)) return update({ fatal: e });
      update({ lastError: short((e as Error).message ?? String(e)) });
    }
    await sleep(pollMs, signal);
  }
}

/** Metal3: GET the host, then watch it (fieldSelector metadata.name) from that version; re-GET when a watch ends. */
async function watchBmh(client: KubeClient, bmh: ObjectRef, signal: AbortSignal, update: (o: Observation) => void) {
  const what = `watching BareMetalHost ${refText(bmh)}`;
  while (!signal.aborted) {
    const started = Date.now();
    try {
      const host = await client.get(bmhPath(bmh.namespace, bmh.name));
      update({ reading: bmhReading(host), lastError: undefined });
      let deleted = false;
      await client.watch(
        bmhPath(bmh.namespace),
        {
          fieldSelector: `metadata.name=${bmh.name}`,
          resourceVersion: host.metadata.resourceVersion,
          timeoutSeconds: 60,
        },
        (event) => {
          if (event.type === 'ADDED' || event.type === 'MODIFIED') update({ reading: bmhReading(event.object) });
          if (event.type === 'DELETED') deleted = true;
        },
        signal,
      );
      if (deleted) {
        return update({ fatal: nonRetryable(POWER_FAILURE.hostGone, `BareMetalHost ${refText(bmh)} was deleted`) });
      }
      if (Date.now() - started < 1000) await sleep(1000, signal);
    } catch (e) {
      if (signal.aborted) return;
      const failure = classify(e, what);
      if (isFinal(failure)) return update({ fatal: failure });
      update({ lastError: short(failure.message) });
      await sleep(1000, signal);
    }
  }
}

/**
 * Waits until the BMC reports the machine on (or off): Metal3 through a watch on the BareMetalHost, Redfish by
 * polling every `pollMs`. Resolves with the last reading (undefined for `none`, at once). Fails non-retryably on
 * the timeout (with the last error seen), on a rejected configuration (credentials, certificate, Secret), when the
 * BareMetalHost is deleted, or when it reports an error for longer than `errorGraceMs`.
 */
export async function waitForPowerState(
  client: KubeClient,
  provider: ResolvedPowerProvider,
  options: WaitForPowerOptions,
): Promise<PowerReading | undefined> {
  if (provider.kind === 'none') return undefined;
  const since = options.since ?? Date.now();
  const deadline = since + options.timeoutMs;
  const want = options.on ? 'On' : 'Off';
  const pollMs = options.pollMs ?? 1000;
  const graceMs = options.errorGraceMs ?? 60_000;
  const stop = new AbortController();
  let wake = () => {};
  const cancel = () => {
    stop.abort();
    wake();
  };
  options.signal?.addEventListener('abort', cancel, { once: true });
  if (options.signal?.aborted) stop.abort();

  const seen: Observation = {};
  const update = (o: Observation) => {
    Object.assign(seen, o);
    wake();
  };
  const observer = (
    provider.kind === 'metal3'
      ? watchBmh(client, provider.bmh, stop.signal, update)
      : pollRedfish(client, provider, pollMs, stop.signal, update)
  ).catch((e: unknown) => update({ fatal: e }));

  let errorSince: number | undefined;
  const startedHere = Date.now();
  try {
    for (;;) {
      if (options.signal?.aborted)
        throw options.signal.reason instanceof Error ? options.signal.reason : new Error('cancelled');
      if (seen.fatal) throw seen.fatal;
      const reading = seen.reading;
      options.heartbeat?.({
        since,
        ...(reading && { reading }),
        ...(seen.lastError !== undefined && { lastError: seen.lastError }),
      });
      if (reading?.state === want) return reading;
      const now = Date.now();
      if (reading?.error) {
        errorSince ??= now;
        if (now - errorSince >= graceMs) {
          throw nonRetryable(POWER_FAILURE.actionFailed, `${describeProvider(provider)}: ${reading.error}`);
        }
      } else {
        errorSince = undefined;
      }
      // Look at least once before giving up (a wait resumed after its deadline may find the state reached).
      const looked = seen.reading !== undefined || seen.lastError !== undefined || now - startedHere >= 10_000;
      if (now >= deadline && looked) {
        const last = reading?.error ?? seen.lastError;
        throw nonRetryable(
          POWER_FAILURE.timeout,
          `${describeProvider(provider)} not ${options.on ? 'on' : 'off'} after ${formatDuration(options.timeoutMs)}` +
            `${reading ? ` (state ${reading.state})` : ''}${last ? `; last error: ${last}` : ''}`,
        );
      }
      const next = Math.min(
        pollMs,
        looked ? deadline - now : pollMs,
        errorSince !== undefined ? errorSince + graceMs - now : pollMs,
      );
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          wake = () => {};
          resolve();
        };
        const timer = setTimeout(done, Math.max(1, next));
        wake = done;
        if (stop.signal.aborted || seen.fatal) done();
      });
    }
  } finally {
    options.signal?.removeEventListener('abort', cancel);
    stop.abort();
    await observer;
  }
}
