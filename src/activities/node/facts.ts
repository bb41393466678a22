// Every node as preflight and a roll's look see it: labels, schedulability, readiness, memory and what is requested.
import { paths, type KubeClient, type KubeObject } from '../../k8s/client.js';
import { parseQuantity } from '../../domain/quantity.js';
import { CONTROL_PLANE_LABELS } from '../../domain/contract.js';
import type { NodeFacts } from '../../domain/preflight.js';
import { listRequestedMemory, type RequestedMemorySource } from '../podRequests.js';

const isReady = (node: KubeObject) =>
  (node.status?.conditions ?? []).some(
    (c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True',
  );

export function toNodeFacts(node: KubeObject, requestedMemoryBytes: number): NodeFacts {
  const labels = node.metadata.labels ?? {};
  return {
    name: node.metadata.name,
    labels,
    unschedulable: node.spec?.unschedulable === true,
    ready: isReady(node),
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
