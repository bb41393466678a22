// Waiting for a node's Ready condition to become what is asked (after power-on, or to see it go down).
import { ApplicationFailure } from '@temporalio/common';
import { paths, type KubeClient, type KubeObject } from '../../k8s/client.js';
import { waitFor, type WaitDetails } from '../../k8s/watch.js';
import { KUBEVIRT_SCHEDULABLE } from '../../domain/contract.js';
import { formatDuration } from '../../domain/durations.js';
import { nodeReadiness, type NodeReadiness } from '../../domain/nodeReadiness.js';
import { kube } from '../errors.js';

export interface WaitForNodeReadyInput {
  node: string;
  /** true: wait for Ready=True; false: wait for anything else (False, Unknown, node gone). */
  ready: boolean;
  /**
   * With ready: also wait for virt-handler's `kubevirt.io/schedulable=true` (its heartbeat is fresh again): until
   * then the node takes no VM, and after a repair the node is only back in service once it does.
   */
  kubevirtSchedulable?: boolean;
  timeoutMs: number;
  /** Called on every change of the condition and at least every HEARTBEAT_EVERY_MS (pass Temporal's heartbeat). */
  heartbeat?: (details: NodeReadyProgress) => void;
  /** The last heartbeat of an earlier try: the timeout counts from its `since`. */
  resumeFrom?: Partial<NodeReadyProgress>;
  /** Aborts the wait (pass Temporal's Context cancellationSignal). */
  signal?: AbortSignal;
}

/** Heartbeat details: what is awaited, the Ready status last seen, and when the wait's clock started. */
export interface NodeReadyProgress {
  node: string;
  waitingFor: 'Ready' | 'NotReady';
  observed?: NodeReadiness['status'];
  since: number;
}

export const HEARTBEAT_EVERY_MS = 5_000;

/**
 * Waits, driven by a watch on the one Node (waitFor), until its Ready condition is what is asked. Resolves with
 * the observed condition; rejects with a non-retryable NodeReadyTimeout failure at the deadline.
 */
export async function waitForNodeReady(
  client: KubeClient,
  { node, ready, kubevirtSchedulable, timeoutMs, heartbeat, resumeFrom, signal }: WaitForNodeReadyInput,
): Promise<NodeReadiness> {
  const since = resumeFrom?.since ?? Date.now();
  const deadline = since + timeoutMs;
  const waitingFor = ready ? 'Ready' : 'NotReady';
  const schedulableNeeded = ready && kubevirtSchedulable === true;
  const schedulable = (object: KubeObject | undefined) =>
    object?.metadata.labels?.[KUBEVIRT_SCHEDULABLE.label] === KUBEVIRT_SCHEDULABLE.value;
  const timeout = (last: NodeReadiness, object: KubeObject | undefined) => {
    const virtHandler =
      schedulableNeeded && last.ready && !schedulable(object) ? `, not ${KUBEVIRT_SCHEDULABLE.label}=true` : '';
    const seen = ` (Ready=${last.status}${last.reason ? `, ${last.reason}` : ''}${virtHandler})`;
    return ApplicationFailure.create({
      type: 'NodeReadyTimeout',
      message: `node ${node} ${ready ? 'not Ready' : 'still Ready'} after ${formatDuration(timeoutMs)}${seen}`,
      nonRetryable: true,
      details: [last],
    });
  };
  return await kube(`watch ${node}`, () =>
    waitFor<NodeReadiness>(
      client,
      {
        collection: paths.nodes(),
        name: node,
        since: () => since,
        deadline,
        phaseOf: (object) => nodeReadiness(node, object).status,
        decide: (object, now) => {
          const readiness = nodeReadiness(node, object);
          if (readiness.ready === ready && (!schedulableNeeded || schedulable(object))) return { done: readiness };
          if (now >= deadline) throw timeout(readiness, object);
          return { recheckAt: deadline };
        },
      },
      {
        heartbeatIntervalMs: HEARTBEAT_EVERY_MS,
        heartbeat: (d: WaitDetails) =>
          heartbeat?.({ node, waitingFor, ...(d.phase && { observed: d.phase as NodeReadiness['status'] }), since }),
        signal,
      },
    ),
  );
}
