// Redfish through the library client (src/redfish): the credentials read from the Kubernetes Secret the request
// names at the moment a BMC is called, never returned, logged or put into a failure; the library's failures turned
// into short ApplicationFailures that say what to fix.
import { paths, type KubeClient } from '../../k8s/client.js';
import type { RedfishTarget } from '../../domain/request.js';
import { RedfishClient, RedfishError, systemReading, type BmcCredentials } from '../../redfish/client.js';
import { kube } from '../errors.js';
import { POWER_FAILURE, nonRetryable, refText, retryable, type ObjectRef, type PowerReading } from './types.js';

/** The `username`, `password` and optional `ca.crt` of a BMC credentials Secret. */
export async function readBmcSecret(client: KubeClient, ref: ObjectRef): Promise<BmcCredentials> {
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

/** A client for the target's BMC, with the credentials (and `ca.crt`) of its Secret read now. */
export async function openRedfish(
  client: KubeClient,
  target: RedfishTarget,
  options: { signal?: AbortSignal; timeoutMs?: number } = {},
): Promise<RedfishClient> {
  return new RedfishClient(target, await readBmcSecret(client, target.credentialsSecret), options);
}

/** The library's failure as the activity reports it, with what to change where configuration is at fault. */
export function redfishFailure(e: unknown, target: RedfishTarget): unknown {
  if (!(e instanceof RedfishError)) return e;
  const secret = refText(target.credentialsSecret);
  switch (e.kind) {
    case 'cancelled':
      return new Error(e.message);
    case 'unreachable':
      return retryable(POWER_FAILURE.unreachable, e.message);
    case 'bmcError':
      return retryable(POWER_FAILURE.bmcError, e.message);
    case 'requestRejected':
      return nonRetryable(POWER_FAILURE.requestRejected, e.message);
    case 'credentialsRejected':
      return nonRetryable(POWER_FAILURE.credentialsRejected, `${e.message} in Secret ${secret}`);
    case 'certificateRejected':
      return nonRetryable(
        POWER_FAILURE.certificateRejected,
        `${e.message}: put its CA in Secret ${secret} key ca.crt, or set redfish.insecureSkipVerify`,
      );
    case 'noSystems':
      return nonRetryable(POWER_FAILURE.systemAmbiguous, e.message);
    case 'severalSystems':
      return nonRetryable(POWER_FAILURE.systemAmbiguous, `${e.message}: set redfish.systemId`);
  }
}

/** Runs one conversation with the target's BMC, its failures reported as redfishFailure says. */
async function withBmc<T>(
  client: KubeClient,
  target: RedfishTarget,
  fn: (bmc: RedfishClient) => Promise<T>,
  options: { signal?: AbortSignal } = {},
): Promise<T> {
  const bmc = await openRedfish(client, target, options);
  try {
    return await fn(bmc);
  } catch (e) {
    throw redfishFailure(e, target);
  }
}

/** The system's power state, through a client opened for this call. */
export function redfishPowerState(
  client: KubeClient,
  target: RedfishTarget,
  options: { signal?: AbortSignal } = {},
): Promise<PowerReading> {
  return withBmc(client, target, (bmc) => bmc.powerState(), options);
}

/**
 * GracefulShutdown (or ForceOff) unless the system is already Off or PoweringOff. A graceful shutdown can be ignored
 * by the OS: wait for it, and send ForceOff when the wait runs out.
 */
export function powerOffRedfish(
  client: KubeClient,
  target: RedfishTarget,
  options: { graceful: boolean },
): Promise<{ changed: boolean }> {
  return withBmc(client, target, async (bmc) => {
    const system = await bmc.system();
    const { state } = systemReading(system);
    if (state === 'Off' || (state === 'PoweringOff' && options.graceful)) return { changed: false };
    await bmc.reset(options.graceful ? 'GracefulShutdown' : 'ForceOff', system);
    return { changed: true };
  });
}

/** On unless the system is already On or PoweringOn. */
export function powerOnRedfish(client: KubeClient, target: RedfishTarget): Promise<{ changed: boolean }> {
  return withBmc(client, target, async (bmc) => {
    const system = await bmc.system();
    const { state } = systemReading(system);
    if (state === 'On' || state === 'PoweringOn') return { changed: false };
    await bmc.reset('On', system);
    return { changed: true };
  });
}
