// The controller's Kubernetes writes on a NodeMaintenance CR: metadata (finalizer, owner reference, run id), the
// status subresource, and core/v1 Events about the CR (cluster-scoped objects' Events live in `default`).
import { paths, type KubeClient, type KubeObject } from '../../k8s/client.js';
import {
  NM_FINALIZER,
  NM_GROUP,
  NM_PLURAL,
  NM_VERSION,
  type NodeMaintenanceCr,
  type NodeMaintenanceStatus,
} from '../../domain/nodeMaintenance.js';

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

/** One of NMO's Events (BeginMaintenance, SucceedMaintenance, …) on the CR. */
export async function recordCrEvent(
  kube: KubeClient,
  cr: NmCr,
  reason: string,
  message: string,
  type: 'Normal' | 'Warning' = 'Normal',
): Promise<void> {
  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  await kube.create(paths.events(NM_EVENT_NAMESPACE), {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { generateName: `${cr.metadata.name}.`, namespace: NM_EVENT_NAMESPACE },
    involvedObject: {
      apiVersion: `${NM_GROUP}/${NM_VERSION}`,
      kind: 'NodeMaintenance',
      name: cr.metadata.name,
      uid: cr.metadata.uid,
    },
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
