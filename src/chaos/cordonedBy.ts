// What the cluster says a run did to its node, for the judge: read from Events, never from the run's own account.
import { paths, type KubeClient } from '../k8s/client.js';
import { NODE_EVENTS } from '../domain/contract.js';

/**
 * Whether the run `workflowId` cordoned `node`, as the cluster tells it: the `MaintenanceCordon` Event Pitstop
 * records on the Node once its cordon landed (its message names the run).
 */
export async function cordonedBy(kube: KubeClient, node: string, workflowId: string): Promise<boolean> {
  const events = await kube.list(paths.events(NODE_EVENTS.namespace), {
    fieldSelector: `involvedObject.kind=Node,involvedObject.name=${node},reason=${NODE_EVENTS.phaseReason('Cordon')}`,
  });
  return events.items.some((e) => String(e.message ?? '').includes(workflowId));
}
