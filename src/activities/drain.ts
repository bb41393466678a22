// Evicting the pods left on a node, in the manner of `kubectl drain`: small composable filters decide per pod
// (evict, skip, or block with a reason), the Eviction API does the rest, and PodDisruptionBudgets answer 429.
// One call is one round; the workflow calls it again (with backoff) until nothing that must go is left.
import { KubeApiError, paths, type KubeClient, type KubeObject } from '../k8s/client.js';
import { kube } from './errors.js';
import { KUBEVIRT_LABELS } from '../domain/contract.js';

export interface DrainOptions {
  /** Evict pods that use emptyDir volumes (their data is lost). kubectl: --delete-emptydir-data. */
  deleteEmptyDirData: boolean;
  /** Evict pods no controller will recreate. kubectl: --force. */
  evictUnmanagedPods: boolean;
}

/** What one filter says about a pod. */
export type PodVerdict =
  | { action: 'evict' }
  /** Stays on the node, and need not go (DaemonSet, mirror, virt-launcher, finished). */
  | { action: 'skip'; reason: string }
  /** Already on its way out: not evicted again, but still counted until it is gone. */
  | { action: 'wait'; reason: string }
  /** Must go, but the drain options forbid evicting it. */
  | { action: 'block'; reason: string };

export type PodFilter = (pod: KubeObject, options: DrainOptions) => PodVerdict;

const EVICT: PodVerdict = { action: 'evict' };
const controllerOf = (pod: KubeObject) => pod.metadata.ownerReferences?.find((r) => r.controller);

export const skipFinished: PodFilter = (pod) =>
  pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed'
    ? { action: 'skip', reason: `finished (${pod.status.phase})` }
    : EVICT;

/** virt-launcher pods belong to the VM plan (migrate or shut down), never to the drain. */
export const skipVirtLauncher: PodFilter = (pod) =>
  pod.metadata.labels?.[KUBEVIRT_LABELS.launcherKey] === KUBEVIRT_LABELS.launcherValue
    ? { action: 'skip', reason: 'virt-launcher (VM plan)' }
    : EVICT;

export const skipDaemonSet: PodFilter = (pod) =>
  controllerOf(pod)?.kind === 'DaemonSet' ? { action: 'skip', reason: 'DaemonSet' } : EVICT;

export const skipMirror: PodFilter = (pod) =>
  pod.metadata.annotations?.['kubernetes.io/config.mirror'] !== undefined
    ? { action: 'skip', reason: 'mirror (static) pod' }
    : EVICT;

export const waitTerminating: PodFilter = (pod) =>
  pod.metadata.deletionTimestamp ? { action: 'wait', reason: 'terminating' } : EVICT;

export const blockEmptyDir: PodFilter = (pod, options) =>
  !options.deleteEmptyDirData && (pod.spec?.volumes ?? []).some((v: { emptyDir?: unknown }) => v.emptyDir)
    ? { action: 'block', reason: 'uses emptyDir (policy.drain.deleteEmptyDirData)' }
    : EVICT;

export const blockUnmanaged: PodFilter = (pod, options) =>
  !options.evictUnmanagedPods && !controllerOf(pod)
    ? { action: 'block', reason: 'no controller (policy.drain.evictUnmanagedPods)' }
    : EVICT;

/** In order; the first skip or wait wins; blocks are collected so one answer names every option needed. */
export const DRAIN_FILTERS: readonly PodFilter[] = [
  skipFinished,
  skipVirtLauncher,
  skipDaemonSet,
  skipMirror,
  waitTerminating,
  blockUnmanaged,
  blockEmptyDir,
];

export function classifyPod(pod: KubeObject, options: DrainOptions, filters = DRAIN_FILTERS): PodVerdict {
  const blocks: string[] = [];
  for (const filter of filters) {
    const verdict = filter(pod, options);
    if (verdict.action === 'skip' || verdict.action === 'wait') return verdict;
    if (verdict.action === 'block') blocks.push(verdict.reason);
  }
  return blocks.length > 0 ? { action: 'block', reason: blocks.join('; ') } : EVICT;
}

export type EvictionResult =
  | { result: 'evicted' }
  /** The pod (this very pod: uid precondition) no longer exists. */
  | { result: 'gone' }
  /** 429: a PodDisruptionBudget (or an eviction webhook) refuses for now; the server's message, short. */
  | { result: 'blocked'; reason: string; retryAfterSeconds?: number };

/** The server's own words from a KubeApiError ("429 TooManyRequests: Cannot evict…" → "Cannot evict…"). */
const serverMessage = (e: KubeApiError) => e.message.replace(/^\d{3} [^:]*: /, '').slice(0, 200);

/**
 * Evicts one pod through the Eviction API (policy/v1, honouring PodDisruptionBudgets), guarded by the pod's uid
 * so a newer pod that took the same name is never evicted by mistake. Other errors are thrown as they are.
 */
export async function evictPod(client: KubeClient, pod: KubeObject): Promise<EvictionResult> {
  const namespace = pod.metadata.namespace ?? 'default';
  try {
    await client.create(paths.podEviction(namespace, pod.metadata.name), {
      apiVersion: 'policy/v1',
      kind: 'Eviction',
      metadata: { name: pod.metadata.name, namespace },
      ...(pod.metadata.uid ? { deleteOptions: { preconditions: { uid: pod.metadata.uid } } } : {}),
    });
    return { result: 'evicted' };
  } catch (e) {
    if (!(e instanceof KubeApiError)) throw e;
    if (e.statusCode === 404) return { result: 'gone' };
    if (e.statusCode === 409) {
      // The uid precondition failed (the pod we listed was replaced by another of the same name), or the server
      // gave up on a budget it could not update: only the first means this pod is gone.
      const now = await client.find(paths.pod(namespace, pod.metadata.name));
      if (!now || now.metadata.uid !== pod.metadata.uid) return { result: 'gone' };
      return { result: 'blocked', reason: serverMessage(e) };
    }
    if (e.statusCode === 429) {
      return {
        result: 'blocked',
        reason: serverMessage(e),
        ...(e.retryAfterSeconds !== undefined ? { retryAfterSeconds: e.retryAfterSeconds } : {}),
      };
    }
    throw e;
  }
}

export interface DrainRoundInput extends DrainOptions {
  node: string;
}

export interface BlockedPod {
  /** namespace/name */
  pod: string;
  reason: string;
  /** policy: the drain options forbid it (will not change by waiting); eviction: the server refused for now. */
  by: 'policy' | 'eviction';
}

export interface DrainRound {
  /** Pods on the node in this round's list. */
  total: number;
  /** Evicted in this round (still terminating when the round ends). */
  evicted: string[];
  blocked: BlockedPod[];
  skipped: { pod: string; reason: string }[];
  /** Already being deleted (evicted in an earlier round, or by someone else). */
  terminating: string[];
  /** Pods still on the node that must go: evicted + blocked + terminating. 0 = drained. */
  remaining: number;
  /** The longest Retry-After the server asked for, if any (a hint for the workflow's backoff). */
  retryAfterSeconds?: number;
}

const PARALLEL_EVICTIONS = 8;

/**
 * One drain round: lists the node's pods afresh (never a stale list), classifies each, evicts the evictable
 * ones (a few at a time) and reports what is left. 429s and server errors of single pods are reported as
 * blocked (the next round tries again); anything else fails the round, classified for Temporal.
 */
export async function drainRound(client: KubeClient, input: DrainRoundInput): Promise<DrainRound> {
  const { node } = input;
  const options: DrainOptions = {
    deleteEmptyDirData: input.deleteEmptyDirData,
    evictUnmanagedPods: input.evictUnmanagedPods,
  };
  return await kube(`drain ${node}`, async () => {
    const list = await client.list(paths.pods(), { fieldSelector: `spec.nodeName=${node}` });
    const round: DrainRound = {
      total: list.items.length,
      evicted: [],
      blocked: [],
      skipped: [],
      terminating: [],
      remaining: 0,
    };
    const toEvict: KubeObject[] = [];
    for (const pod of list.items) {
      const name = `${pod.metadata.namespace ?? 'default'}/${pod.metadata.name}`;
      const verdict = classifyPod(pod, options);
      if (verdict.action === 'skip') round.skipped.push({ pod: name, reason: verdict.reason });
      else if (verdict.action === 'wait') round.terminating.push(name);
      else if (verdict.action === 'block') round.blocked.push({ pod: name, reason: verdict.reason, by: 'policy' });
      else toEvict.push(pod);
    }
    const queue = [...toEvict];
    const worker = async () => {
      for (let pod = queue.shift(); pod; pod = queue.shift()) {
        const name = `${pod.metadata.namespace ?? 'default'}/${pod.metadata.name}`;
        let outcome: EvictionResult;
        try {
          outcome = await evictPod(client, pod);
        } catch (e) {
          if (!(e instanceof KubeApiError && e.statusCode >= 500)) throw e;
          outcome = { result: 'blocked', reason: serverMessage(e) };
        }
        if (outcome.result === 'evicted') round.evicted.push(name);
        else if (outcome.result === 'blocked') {
          round.blocked.push({ pod: name, reason: outcome.reason, by: 'eviction' });
          if (outcome.retryAfterSeconds !== undefined)
            round.retryAfterSeconds = Math.max(round.retryAfterSeconds ?? 0, outcome.retryAfterSeconds);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(PARALLEL_EVICTIONS, toEvict.length) }, worker));
    round.evicted.sort();
    round.blocked.sort((a, b) => a.pod.localeCompare(b.pod));
    round.remaining = round.evicted.length + round.blocked.length + round.terminating.length;
    return round;
  });
}
