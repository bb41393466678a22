// The controller's Kubernetes writes on a NodeMaintenance CR: metadata (finalizer, owner reference, run id), the
// status subresource, core/v1 Events about the CR (cluster-scoped objects' Events live in `default`), and what the
// status reads of the node (its pods, its lease).
import { paths, type KubeClient, type KubeObject } from '../../k8s/client.js';
import {
  NM_FINALIZER,
  NM_GROUP,
  NM_PLURAL,
  NM_VERSION,
  type NodeMaintenanceCr,
  type NodeMaintenanceStatus,
  type NodeReading,
} from '../../domain/nodeMaintenance.js';
import { classifyPod, DRAIN_FILTERS, skipVirtLauncher } from '../../activities/drain.js';
import { nodeLeaseHolders } from '../../activities/node/lease.js';

/** The run this CR started (`maintenance-<node>` is reused across runs: the run id tells ours apart). */
export const RUN_ANNOTATION = 'pitstop.io/run-id';
export const NM_EVENT_NAMESPACE = 'default';
export const NM_COMPONENT = 'pitstop-nodemaintenance';

export type NmCr = NodeMaintenanceCr & KubeObject;

export const nmPath = (name?: string, sub?: string) =>
  paths.resource(NM_GROUP, NM_VERSION, NM_PLURAL, undefined, name, sub);

/** Adds the finalizer and (when the Node exists) an owner reference to the Node, as NMO does. */
export async function adopt(kube: KubeClient, cr: NmCr): Promise<void> {
  const node = await kube.find(paths.node(cr.spec.nodeName));
  const owners = (cr.metadata.ownerReferences ?? []) as { uid: string }[];
  const ownerReferences =
    node && !owners.some((o) => o.uid === node.metadata.uid)
      ? [...owners, { apiVersion: 'v1', kind: 'Node', name: node.metadata.name, uid: node.metadata.uid }]
      : undefined;
  await kube.patch(nmPath(cr.metadata.name), {
    metadata: {
      resourceVersion: cr.metadata.resourceVersion,
      finalizers: [...(cr.metadata.finalizers ?? []), NM_FINALIZER],
      ...(ownerReferences && { ownerReferences }),
    },
  });
}

export async function removeFinalizer(kube: KubeClient, cr: NmCr): Promise<void> {
  await kube.patch(nmPath(cr.metadata.name), {
    metadata: {
      resourceVersion: cr.metadata.resourceVersion,
      finalizers: (cr.metadata.finalizers ?? []).filter((f) => f !== NM_FINALIZER),
    },
  });
}

export async function recordRun(kube: KubeClient, cr: NmCr, runId: string): Promise<void> {
  await kube.patch(nmPath(cr.metadata.name), { metadata: { annotations: { [RUN_ANNOTATION]: runId } } });
}

export async function writeStatus(kube: KubeClient, cr: NmCr, status: NodeMaintenanceStatus): Promise<void> {
  // The whole status each time (JSON patch `add` replaces it): a merge patch would keep a stale lastError.
  await kube.patch(nmPath(cr.metadata.name, 'status'), [{ op: 'add', path: '/status', value: status }], 'json');
}

/**
 * One of NMO's Events (BeginMaintenance, SucceedMaintenance, …) of this CR, on the CR and on its Node: NMO records
 * UncordonNode on the Node and the others on the CR (internal/controller/nodemaintenance_controller.go); each on
 * both, `kubectl describe nm` and `kubectl describe node` each tell the whole story.
 */
export async function recordCrEvent(
  kube: KubeClient,
  cr: NmCr,
  reason: string,
  message: string,
  type: 'Normal' | 'Warning' = 'Normal',
): Promise<void> {
  const node = cr.spec.nodeName;
  const crRef = { apiVersion: `${NM_GROUP}/${NM_VERSION}`, kind: 'NodeMaintenance', name: cr.metadata.name };
  await recordEvent(kube, { ...crRef, uid: cr.metadata.uid }, cr.metadata.name, reason, message, type);
  // The kubelet's convention for Node Events: uid = the node's name. A node that does not exist gets none.
  if (await kube.find(paths.node(node)))
    await recordEvent(kube, { apiVersion: 'v1', kind: 'Node', name: node, uid: node }, node, reason, message, type);
}

async function recordEvent(
  kube: KubeClient,
  involvedObject: Record<string, string | undefined>,
  prefix: string,
  reason: string,
  message: string,
  type: 'Normal' | 'Warning',
): Promise<void> {
  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  await kube.create(paths.events(NM_EVENT_NAMESPACE), {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { generateName: `${prefix}.`, namespace: NM_EVENT_NAMESPACE },
    involvedObject,
    reason,
    message: message.slice(0, 1024),
    type,
    source: { component: NM_COMPONENT },
    reportingComponent: NM_COMPONENT,
    reportingInstance: NM_COMPONENT,
    firstTimestamp: now,
    lastTimestamp: now,
    count: 1,
  });
}

// virt-launcher pods count as pending too (NMO's drain evicts them; KubeVirt migrates the VM): the drain's filters
// without the one that leaves them to the VM plan. No option changes whether a pod is skipped.
const PENDING_FILTERS = DRAIN_FILTERS.filter((f) => f !== skipVirtLauncher);
const DRAIN_OPTIONS = { deleteEmptyDirData: true, evictUnmanagedPods: true };

/** The node's pods still to go and the holder of its lease, for the CR's status. */
export async function readNode(kube: KubeClient, node: string): Promise<NodeReading> {
  const [pods, holders] = await Promise.all([
    kube.list(paths.pods(), { fieldSelector: `spec.nodeName=${node}` }),
    nodeLeaseHolders(kube, node),
  ]);
  const pending = pods.items
    .filter((pod) => classifyPod(pod, DRAIN_OPTIONS, PENDING_FILTERS).action !== 'skip')
    .map((pod) => ({ namespace: pod.metadata.namespace ?? 'default', name: pod.metadata.name }));
  return { pending, onNode: pods.items.length, leaseHolder: holders[0]?.holder ?? '' };
}
