// Releasing the workloads of a fenced node: the out-of-service taint (Kubernetes then deletes the node's pods and
// detaches their volumes at once), the wait until those pods are gone, and the force delete for a cluster that does
// not act on the taint. Only ever called once the machine is confirmed off: a pod deleted here may restart elsewhere.
import { ApplicationFailure } from '@temporalio/common';
import { isNotFound, paths, type KubeClient, type KubeObject } from '../../k8s/client.js';
import { isPermanent, listWatch, type WaitDetails } from '../../k8s/watch.js';
import { OUT_OF_SERVICE_TAINT } from '../../domain/contract.js';
import { kube } from '../errors.js';
import { onConflictRetry, readNode } from './objects.js';

type Taint = { key: string; value?: string; effect: string };
type Toleration = { key?: string; operator?: string; effect?: string };

const isOutOfService = (t: Taint) => t.key === OUT_OF_SERVICE_TAINT.key;

/** Adds (`on`) or removes the out-of-service taint in one guarded patch; other taints are kept. */
export async function setOutOfService(client: KubeClient, input: { node: string; on: boolean }): Promise<void> {
  await kube(`${input.on ? 'tainting' : 'untainting'} ${input.node} out-of-service`, () =>
    onConflictRetry(async () => {
      const current = await readNode(client, input.node);
      const taints: Taint[] = current.spec?.taints ?? [];
      if (taints.some(isOutOfService) === input.on) return;
      const { key, value, effect } = OUT_OF_SERVICE_TAINT;
      const next = input.on ? [...taints, { key, value, effect }] : taints.filter((t) => !isOutOfService(t));
      await client.patch(paths.node(input.node), {
        metadata: { resourceVersion: current.metadata.resourceVersion },
        spec: { taints: next.length > 0 ? next : null },
      });
    }),
  );
}

/**
 * A pod that tolerates the taint stays (the taint manager evicts only pods that do not): typically DaemonSet pods
 * tolerating everything, which their controller would put back on the node anyway.
 */
export function toleratesOutOfService(pod: KubeObject): boolean {
  return ((pod.spec?.tolerations ?? []) as Toleration[]).some(
    (t) =>
      (t.key === undefined || t.key === '' ? t.operator === 'Exists' : t.key === OUT_OF_SERVICE_TAINT.key) &&
      (!t.effect || t.effect === OUT_OF_SERVICE_TAINT.effect),
  );
}

const podName = (pod: KubeObject) => `${pod.metadata.namespace}/${pod.metadata.name}`;

export interface PodsGoneResult {
  outcome: 'Gone' | 'TimedOut';
  /** "namespace/name" of the pods still bound to the node (at most 20). */
  remaining: string[];
}

/**
 * Waits, on a watch of the node's pods, until none is left but those that tolerate the taint, at most `timeoutMs`
 * from the first try (a resumed try keeps the clock from its heartbeat).
 */
export async function waitForPodsGone(
  client: KubeClient,
  input: {
    node: string;
    timeoutMs: number;
    heartbeat?: (d: WaitDetails) => void;
    resumeFrom?: Partial<WaitDetails>;
    signal?: AbortSignal;
  },
): Promise<PodsGoneResult> {
  const since = input.resumeFrom?.since ?? Date.now();
  const deadline = since + input.timeoutMs;
  const stream = new AbortController();
  const abort = () => stream.abort();
  input.signal?.addEventListener('abort', abort, { once: true });
  const pods = new Map<string, KubeObject>();
  let paged = new Map<string, KubeObject>();
  let listed = false;
  let answer: PodsGoneResult | undefined;
  const holding = () => [...pods.values()].filter((p) => !toleratesOutOfService(p)).map(podName);
  const evaluate = () => {
    if (!listed || answer) return;
    const left = holding();
    input.heartbeat?.({ phase: `${left.length} pods left`, since });
    if (left.length === 0) answer = { outcome: 'Gone', remaining: [] };
    else if (Date.now() >= deadline) answer = { outcome: 'TimedOut', remaining: left.slice(0, 20) };
    if (answer) stream.abort();
  };
  const ticker = setInterval(evaluate, 1000);
  try {
    await kube(`waiting for the pods of ${input.node} to go`, () =>
      listWatch(client, paths.pods(), {
        fieldSelector: `spec.nodeName=${input.node}`,
        signal: stream.signal,
        isFatal: isPermanent,
        onPage: (items) => items.forEach((p) => paged.set(podName(p), p)),
        onListed: () => {
          pods.clear();
          paged.forEach((p, k) => pods.set(k, p));
          paged = new Map();
          listed = true;
          evaluate();
        },
        onChange: (type, pod) => {
          if (type === 'DELETED') pods.delete(podName(pod));
          else pods.set(podName(pod), pod);
          evaluate();
        },
      }),
    );
  } finally {
    clearInterval(ticker);
    input.signal?.removeEventListener('abort', abort);
  }
  if (answer) return answer;
  throw (
    input.signal?.reason ?? ApplicationFailure.create({ message: `waiting for the pods of ${input.node}: cancelled` })
  );
}

const VOLUME_ATTACHMENTS = paths.resource('storage.k8s.io', 'v1', 'volumeattachments');

/**
 * What the out-of-service taint makes Kubernetes do, done by hand where the cluster does not: delete the node's pods
 * at once (grace period 0, what `kubectl delete --force --grace-period=0` sends) and its VolumeAttachments, so
 * ReadWriteOnce volumes can attach elsewhere. Pods that tolerate the taint are left, as the taint leaves them.
 */
export async function forceDeleteNodePods(
  client: KubeClient,
  input: { node: string },
): Promise<{ pods: string[]; volumeAttachments: string[] }> {
  return await kube(`force-deleting the pods of ${input.node}`, async () => {
    const list = await client.list(paths.pods(), { fieldSelector: `spec.nodeName=${input.node}` });
    const pods = list.items.filter((p) => !toleratesOutOfService(p));
    const now = { apiVersion: 'v1', kind: 'DeleteOptions', gracePeriodSeconds: 0 };
    for (const pod of pods) {
      await client.delete(paths.pod(pod.metadata.namespace!, pod.metadata.name), undefined, now).catch(ignoreGone);
    }
    const attachments = (await client.list(VOLUME_ATTACHMENTS)).items.filter((va) => va.spec?.nodeName === input.node);
    for (const va of attachments) {
      await client.delete(`${VOLUME_ATTACHMENTS}/${va.metadata.name}`).catch(ignoreGone);
    }
    return { pods: pods.map(podName), volumeAttachments: attachments.map((va) => va.metadata.name) };
  });
}

const ignoreGone = (e: unknown) => {
  if (!isNotFound(e)) throw e;
};
