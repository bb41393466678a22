// Every node as preflight and a roll's look see it: labels, schedulability, readiness, memory and what is requested.
import { paths, type KubeClient, type KubeObject } from '../../k8s/client.js';
import { parseQuantity } from '../../domain/quantity.js';
import { CONTROL_PLANE_LABELS } from '../../domain/contract.js';
import type { NodeFacts } from '../../domain/preflight.js';
import { listRequestedMemory, type RequestedMemorySource } from '../podRequests.js';

type Condition = { type: string; status: string; lastTransitionTime?: string };
const readyCondition = (node: KubeObject): Condition | undefined =>
  (node.status?.conditions ?? []).find((c: Condition) => c.type === 'Ready');

export function toNodeFacts(node: KubeObject, requestedMemoryBytes: number): NodeFacts {
  const labels = node.metadata.labels ?? {};
  const ready = readyCondition(node);
  const isReady = ready?.status === 'True';
  // A node that never reported is NotReady since it was created (the node lifecycle controller's view too).
  const notReadySince = isReady ? undefined : (ready?.lastTransitionTime ?? node.metadata.creationTimestamp);
  return {
    name: node.metadata.name,
    labels,
    unschedulable: node.spec?.unschedulable === true,
    ready: isReady,
    ...(notReadySince && { notReadySince }),
    controlPlane: CONTROL_PLANE_LABELS.some((l) => l in labels),
    allocatableMemoryBytes: parseQuantity(node.status?.allocatable?.memory) ?? 0,
    requestedMemoryBytes,
    taints: (node.spec?.taints ?? []).map((t: { key: string; effect: string }) => ({ key: t.key, effect: t.effect })),
  };
}

/**
 * Every node with the memory requested by the pods on it (pods that have not ended), from a fresh paged list of
 * every pod unless a worker's cache is given (see podRequests.ts).
 */
export async function describeNodes(
  client: KubeClient,
  requestedMemory: RequestedMemorySource = () => listRequestedMemory(client),
): Promise<NodeFacts[]> {
  const [nodes, requested] = await Promise.all([client.list(paths.nodes()), requestedMemory()]);
  return nodes.items.map((n) => toNodeFacts(n, requested.get(n.metadata.name) ?? 0));
}
