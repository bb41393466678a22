// Kubernetes core objects Pitstop reads and changes: nodes, pods, leases.
import { paths, type KubeClient, type KubeObject } from '../k8s/client.js';
import { parseQuantity } from '../domain/quantity.js';
import type { LeaseHolder, NodeFacts } from '../domain/preflight.js';

export const CONTROL_PLANE_LABELS = ['node-role.kubernetes.io/control-plane', 'node-role.kubernetes.io/master'];

/** Pitstop takes the node lease of the medik8s convention, so NMO, SNR and FAR see the node is busy too. */
export const NODE_LEASE = { namespace: 'medik8s-leases', name: (node: string) => `node-${node}` };

const isReady = (node: KubeObject) =>
  (node.status?.conditions ?? []).some(
    (c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True',
  );

function podMemoryRequest(pod: KubeObject): number {
  return (pod.spec?.containers ?? []).reduce(
    (sum: number, c: { resources?: { requests?: { memory?: string } } }) =>
      sum + (parseQuantity(c.resources?.requests?.memory) ?? 0),
    0,
  );
}

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

/** Every node with the memory its running pods request (what the scheduler counts as used). */
export async function describeNodes(client: KubeClient): Promise<NodeFacts[]> {
  const [nodes, pods] = await Promise.all([
    client.list(paths.nodes()),
    client.list(paths.pods(), { fieldSelector: 'status.phase!=Succeeded,status.phase!=Failed' }),
  ]);
  const requested = new Map<string, number>();
  for (const pod of pods.items) {
    const node: string | undefined = pod.spec?.nodeName;
    if (node) requested.set(node, (requested.get(node) ?? 0) + podMemoryRequest(pod));
  }
  return nodes.items.map((n) => toNodeFacts(n, requested.get(n.metadata.name) ?? 0));
}

/** The current holder of the node's lease, if it is held and not expired. */
export async function nodeLeaseHolders(client: KubeClient, node: string, now = Date.now()): Promise<LeaseHolder[]> {
  const lease = await client.find(paths.lease(NODE_LEASE.namespace, NODE_LEASE.name(node)));
  const holder: string | undefined = lease?.spec?.holderIdentity;
  if (!lease || !holder) return [];
  const renewed = Date.parse(lease.spec?.renewTime ?? lease.spec?.acquireTime ?? '');
  const duration = (lease.spec?.leaseDurationSeconds ?? 0) * 1000;
  if (Number.isFinite(renewed) && duration > 0 && renewed + duration < now) return [];
  const ours = lease.metadata.labels?.['app.kubernetes.io/managed-by'] === 'pitstop';
  return [{ holder, source: ours ? 'pitstop' : 'medik8s' }];
}
