// Waiting until a machine is on (or off): Metal3 through the watch primitive on its BareMetalHost, Redfish by
// polling the BMC (Redfish has no watch). Heartbeats carry the wait's clock (`since`), so a retried activity keeps it.
import { setTimeout as delay } from 'node:timers/promises';
import type { KubeClient, KubeObject } from '../../k8s/client.js';
import { isPermanent, listWatch } from '../../k8s/watch.js';
import type { RedfishTarget } from '../../domain/request.js';
import { formatDuration } from '../../domain/durations.js';
import type { RedfishClient } from '../../redfish/client.js';
import { classify } from '../errors.js';
import { bmhPath, bmhReading } from './metal3.js';
import { openRedfish, redfishFailure } from './redfish.js';
import {
  POWER_FAILURE,
  describeProvider,
  isFinal,
  nonRetryable,
  refText,
  short,
  type ObjectRef,
  type PowerReading,
  type ResolvedPowerProvider,
} from './types.js';

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
      bmc ??= await openRedfish(client, target, { signal });
      const reading = await bmc.powerState().catch((e: unknown) => {
        throw redfishFailure(e, target);
      });
      if (!signal.aborted) update({ reading, lastError: undefined });
    } catch (e) {
      if (signal.aborted) return;
      if (isFinal(e)) return update({ fatal: e });
      update({ lastError: short((e as Error).message ?? String(e)) });
    }
    await sleep(pollMs, signal);
  }
}

/** Metal3: the BareMetalHost followed by listWatch; its deletion (or absence) ends the wait. */
async function watchBmh(client: KubeClient, bmh: ObjectRef, signal: AbortSignal, update: (o: Observation) => void) {
  const what = `watching BareMetalHost ${refText(bmh)}`;
  const gone = (how: string) =>
    update({ fatal: nonRetryable(POWER_FAILURE.hostGone, `BareMetalHost ${refText(bmh)} ${how}`) });
  let listed: KubeObject | undefined;
  try {
    await listWatch(client, bmhPath(bmh.namespace), {
      fieldSelector: `metadata.name=${bmh.name}`,
      signal,
      isFatal: isPermanent,
      onPage: (items) => (listed ??= items[0]),
      onListed: () => {
        if (listed) update({ reading: bmhReading(listed), lastError: undefined });
        else gone('not found');
        listed = undefined;
      },
      onChange: (type, host) => (type === 'DELETED' ? gone('was deleted') : update({ reading: bmhReading(host) })),
      onRetry: (e) => update({ lastError: short(classify(e, what).message) }),
    });
  } catch (e) {
    if (!signal.aborted) update({ fatal: classify(e, what) });
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
