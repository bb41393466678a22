// The one way Pitstop follows the Kubernetes API, the client-go reflector's contract in miniature. `listWatch`
// lists, then watches from the list's resourceVersion; it resumes from the last version it saw after a stream
// ends, re-lists after 410 Gone (or an ERROR event, or repeated failures), waits one jittered exponential backoff
// before every reconnect that follows a failure, and notices a stalled stream by a client-side idle timeout (the
// streams ask for bookmarks, which the API server sends about once a minute, so silence means a dead connection).
// The informer is listWatch plus a cache; `waitFor` is listWatch on one object plus a decision, a clock and
// heartbeats, and every wait of the activities (node Ready, migration, VMI gone/running/off node) is a waitFor.
import { setTimeout as delay } from 'node:timers/promises';
import { KubeApiError, isGone } from './errors.js';
import { WatchStalledError, type KubeClient } from './client.js';
import type { KubeObject } from './types.js';

/** The reconnect backoff: exponential from 200 ms, capped at 5 s, with equal jitter (half fixed, half random). */
export const BACKOFF = { baseMs: 200, maxMs: 5000 } as const;
/** After this many failures in a row the loop re-lists: it can no longer trust that it missed nothing. */
export const RELIST_AFTER_FAILURES = 3;
/** A stream with no event and no bookmark for this long is presumed dead (bookmarks come about every 60 s). */
export const IDLE_TIMEOUT_MS = 90_000;
/** Server-side stream length, spread so that many watches do not reconnect at the same moment. */
const watchSeconds = () => 240 + Math.floor(Math.random() * 61);
/** A stream that ends sooner than this without an event counts as a failure (no tight reconnect loop). */
const SHORT_STREAM_MS = 1000;

/** The wait before reconnect number `failures` (1, 2, …): 100–200 ms, 200–400 ms, … up to 2.5–5 s. */
export function reconnectDelay(failures: number, random: () => number = Math.random): number {
  const ceiling = Math.min(BACKOFF.maxMs, BACKOFF.baseMs * 2 ** Math.max(0, failures - 1));
  return ceiling / 2 + (random() * ceiling) / 2;
}

export type ChangeType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface ListWatchOptions<T extends KubeObject> {
  labelSelector?: string;
  fieldSelector?: string;
  /** List in pages of this many objects (one snapshot: the continue token pins the resourceVersion). */
  pageSize?: number;
  /** Stops the loop (it then resolves). */
  signal: AbortSignal;
  /** Open streams and timers do not keep the process alive. */
  unref?: boolean;
  idleTimeoutMs?: number;
  /** Failures that end the loop, which then rejects with them; every other failure is retried. */
  isFatal?: (e: unknown) => boolean;
  /** Each page of a (re-)list, in order. */
  onPage(items: T[]): void;
  /** The list is complete: what its pages did not hold is gone. */
  onListed(): void;
  onChange(type: ChangeType, object: T): void;
  /** A stream from the current version is open: the caller's view is current. */
  onWatching?(): void;
  /** A failure that will be retried after `reconnectDelay(failures)`. */
  onRetry?(e: unknown, failures: number): void;
}

/** Runs until `signal` aborts (resolves) or a fatal failure (rejects). */
export async function listWatch<T extends KubeObject>(
  client: KubeClient,
  path: string,
  options: ListWatchOptions<T>,
): Promise<void> {
  const { signal, labelSelector, fieldSelector } = options;
  let resourceVersion = '';
  let failures = 0;
  while (!signal.aborted) {
    let fresh = false;
    let opened = 0;
    try {
      if (!resourceVersion) {
        fresh = true;
        const listed = await client.listPages<T>(
          path,
          { labelSelector, fieldSelector, limit: options.pageSize },
          (items) => {
            if (!signal.aborted) options.onPage(items);
          },
        );
        if (signal.aborted) return;
        resourceVersion = listed;
        options.onListed();
        if (signal.aborted) return;
      }
      opened = Date.now();
      let delivered = false;
      let relist = false;
      // An ERROR event is the stream's last word: stop reading it rather than wait for the server to close it.
      const stream = new AbortController();
      await client.watch<T>(
        path,
        { labelSelector, fieldSelector, resourceVersion, timeoutSeconds: watchSeconds() },
        (event) => {
          if (event.type === 'ERROR') {
            relist = true; // 410 Gone (the version is too old) or another error: the version is not to be trusted
            stream.abort();
            return;
          }
          delivered = true;
          resourceVersion = event.object.metadata.resourceVersion || resourceVersion;
          if (event.type !== 'BOOKMARK' && !signal.aborted) options.onChange(event.type, event.object);
        },
        AbortSignal.any([signal, stream.signal]),
        { unref: options.unref, idleTimeoutMs: options.idleTimeoutMs ?? IDLE_TIMEOUT_MS, onOpen: options.onWatching },
      );
      if (relist) resourceVersion = '';
      // A version refused right after it was listed, or a stream that ends at once, is a failure: back off.
      if (relist && fresh) throw new Error(`watch ${path}: the version just listed was refused`);
      if (signal.aborted || relist || delivered || Date.now() - opened >= SHORT_STREAM_MS) {
        failures = 0;
        continue;
      }
      throw new Error(`watch ${path} ended at once`);
    } catch (e) {
      if (signal.aborted) return;
      // A connection that carried a stream for a while and then broke is a stream that ended: resume at once.
      const broke = opened > 0 && !(e instanceof KubeApiError) && !(e instanceof WatchStalledError);
      if (broke && Date.now() - opened >= SHORT_STREAM_MS) continue;
      // Gone: list again, at once unless the version was just listed (then something else is wrong: back off).
      if (isGone(e)) {
        resourceVersion = '';
        if (!fresh) continue;
      }
      if (options.isFatal?.(e)) throw e;
      failures += 1;
      if (failures >= RELIST_AFTER_FAILURES) resourceVersion = '';
      options.onRetry?.(e, failures);
      await delay(reconnectDelay(failures), undefined, { signal, ref: !options.unref }).catch(() => undefined);
    }
  }
}

/** A request that cannot succeed as it is (RBAC, no such resource, bad selector): waiting longer will not help. */
export const isPermanent = (e: unknown) =>
  e instanceof KubeApiError && e.statusCode >= 400 && e.statusCode < 500 && ![408, 410, 429].includes(e.statusCode);

// ---------------------------------------------------------------------------------------------------------------
// Waiting for one object

/** What a wait heartbeats: the phase it sees ('' before the first list) and when its clock started (epoch ms). */
export interface WaitDetails {
  phase: string;
  since: number;
}

/**
 * The heartbeat/resume contract of a wait. Inside a Temporal activity pass
 *   heartbeat: (d) => Context.current().heartbeat(d), resumeFrom: Context.current().info.heartbeatDetails,
 *   signal: Context.current().cancellationSignal,
 * so a retried activity keeps its clock (`since` from the last heartbeat) and cancellation stops it.
 */
export interface WaitControls {
  /** Called on every phase change and at least every `heartbeatIntervalMs` (default 5 s, at most 10 s). */
  heartbeat?: (details: WaitDetails) => void;
  heartbeatIntervalMs?: number;
  /** The last heartbeat details of an earlier try: the wait keeps its clock. */
  resumeFrom?: Partial<WaitDetails>;
  /** Aborting stops the wait; it rejects with the signal's reason. */
  signal?: AbortSignal;
}

export type Verdict<R> = { done: R } | { recheckAt?: number };

export interface WaitSpec<R> {
  /** The collection the object is in, and its name (listed and watched with fieldSelector metadata.name). */
  collection: string;
  name: string;
  /** When the wait's clock started (heartbeated as `since`); read after each decision. */
  since: () => number;
  phaseOf: (object: KubeObject | undefined) => string;
  /**
   * Sees the object (undefined = absent) after the list, on every change, at the time it asks for (deadlines)
   * and at each heartbeat. It may throw: the wait rejects with that.
   */
  decide: (object: KubeObject | undefined, now: number) => Verdict<R>;
  /**
   * When the wait gives up if it never managed to list (epoch ms): it then rejects with the last API failure, so
   * the activity's retry policy takes over. Never decided on an object the wait has not seen.
   */
  deadline?: number;
}

/**
 * Waits until `decide` says done. Rejects with the signal's reason on cancellation, with what `decide` throws, or
 * with the API failure when the request cannot succeed (isPermanent); passing failures are retried meanwhile.
 */
export async function waitFor<R>(client: KubeClient, spec: WaitSpec<R>, controls: WaitControls = {}): Promise<R> {
  const interval = Math.min(controls.heartbeatIntervalMs ?? 5000, 10_000);
  const stream = new AbortController();
  return await new Promise<R>((resolve, reject) => {
    let settled = false;
    let listed = false;
    let current: KubeObject | undefined;
    let timer: NodeJS.Timeout | undefined;
    let lastPhase: string | undefined;
    let lastBeat = 0;
    let lastFailure: unknown;

    const finish = (settle: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      stream.abort();
      controls.signal?.removeEventListener('abort', onAbort);
      settle();
    };
    const onAbort = () =>
      finish(() => reject(controls.signal?.reason ?? new Error(`waiting for ${spec.name}: cancelled`)));
    if (controls.signal?.aborted) return onAbort();
    controls.signal?.addEventListener('abort', onAbort, { once: true });

    const beat = (phase: string, now: number) => {
      lastPhase = phase;
      lastBeat = now;
      controls.heartbeat?.({ phase, since: spec.since() });
    };
    const evaluate = () => {
      if (settled) return;
      try {
        const now = Date.now();
        clearTimeout(timer);
        if (!listed) {
          // Past the deadline only a list that failed gives up: a resumed wait whose clock already ran out still
          // lists once and lets `decide` answer (e.g. TimedOut), rather than failing before it has looked.
          if (spec.deadline !== undefined && now >= spec.deadline && lastFailure !== undefined) {
            return finish(() => reject(lastFailure));
          }
          beat('', now); // still listing (the API server may be unreachable): the worker is alive all the same
          const deadline = spec.deadline !== undefined && spec.deadline > now ? spec.deadline : Infinity;
          timer = setTimeout(evaluate, Math.max(0, Math.min(deadline, now + interval) - now));
          return;
        }
        const verdict = spec.decide(current, now);
        const phase = spec.phaseOf(current);
        if (phase !== lastPhase || now - lastBeat >= interval) beat(phase, now);
        if ('done' in verdict) return finish(() => resolve(verdict.done));
        const next = Math.min(verdict.recheckAt ?? Infinity, lastBeat + interval);
        timer = setTimeout(evaluate, Math.max(0, next - Date.now()));
      } catch (e) {
        finish(() => reject(e));
      }
    };
    timer = setTimeout(evaluate, Math.min(interval, Math.max(0, (spec.deadline ?? Infinity) - Date.now())));

    let snapshot: KubeObject | undefined;
    listWatch(client, spec.collection, {
      fieldSelector: `metadata.name=${spec.name}`,
      signal: stream.signal,
      isFatal: isPermanent,
      onPage: (items) => (snapshot ??= items[0]),
      onListed: () => {
        current = snapshot;
        snapshot = undefined;
        listed = true;
        evaluate();
      },
      onChange: (type, object) => {
        current = type === 'DELETED' ? undefined : object;
        evaluate();
      },
      onRetry: (e) => (lastFailure = e),
    }).catch((e: unknown) => finish(() => reject(e)));
  });
}
