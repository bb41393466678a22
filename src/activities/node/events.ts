// What an administrator reads on the Node: the maintenance phase annotation and core/v1 Events.
import { isNotFound, paths, type KubeClient } from '../../k8s/client.js';
import { NODE_EVENTS, NODE_MARKS, PITSTOP } from '../../domain/contract.js';
import { kube } from '../errors.js';
import { cut, nodeNotFound } from './objects.js';

/** Shows the maintenance phase on the Node (annotation pitstop.io/maintenance-phase). */
export async function setNodePhase(client: KubeClient, { node, phase }: { node: string; phase: string }) {
  await kube(`set phase on ${node}`, async () => {
    try {
      await client.patch(paths.node(node), { metadata: { annotations: { [NODE_MARKS.phase]: phase } } });
    } catch (e) {
      if (isNotFound(e)) throw nodeNotFound(node);
      throw e;
    }
  });
}

/** Removes the phase annotation; a node that is gone has none. */
export async function removeNodePhase(client: KubeClient, { node }: { node: string }) {
  await kube(`remove phase from ${node}`, async () => {
    try {
      await client.patch(paths.node(node), { metadata: { annotations: { [NODE_MARKS.phase]: null } } });
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  });
}

export interface NodeEventInput {
  node: string;
  /** UpperCamelCase, e.g. MaintenanceStarted. */
  reason: string;
  message: string;
  type?: 'Normal' | 'Warning';
}

/**
 * A core/v1 Event on the Node, shown by `kubectl describe node` and `kubectl events --for node/<node>`: in
 * namespace default, involvedObject uid = node name (the kubelet's and node controller's convention).
 */
export async function recordNodeEvent(
  client: KubeClient,
  { node, reason, message, type = 'Normal' }: NodeEventInput,
): Promise<{ name: string }> {
  const now = new Date();
  const name = `${node}.${(BigInt(now.getTime()) * 1_000_000n + BigInt(Math.floor(Math.random() * 1e6))).toString(16)}`;
  await kube(`event on ${node}`, () =>
    client.create(paths.events(NODE_EVENTS.namespace), {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name, namespace: NODE_EVENTS.namespace },
      involvedObject: { apiVersion: 'v1', kind: 'Node', name: node, uid: node, namespace: '' },
      reason: cut(reason, 128),
      message: cut(message, 1024),
      type,
      source: { component: PITSTOP },
      reportingComponent: PITSTOP,
      reportingInstance: PITSTOP,
      firstTimestamp: now.toISOString().replace(/\.\d+Z$/, 'Z'),
      lastTimestamp: now.toISOString().replace(/\.\d+Z$/, 'Z'),
      eventTime: null,
      count: 1,
    }),
  );
  return { name };
}
