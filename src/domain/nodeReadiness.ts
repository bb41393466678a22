// A Node's Ready condition read one way everywhere: the activities, the chaos judge and the benchmarks.

export interface NodeReadiness {
  node: string;
  ready: boolean;
  /** The Ready condition's status; Missing when the Node object does not exist. */
  status: 'True' | 'False' | 'Unknown' | 'Missing';
  reason?: string;
  lastTransitionTime?: string;
}

/** The part of a Node object this reads (structural, so the domain needs no Kubernetes client type). */
export interface NodeConditions {
  status?: { conditions?: { type: string; status?: string; reason?: string; lastTransitionTime?: string }[] };
}

/**
 * A node without a Ready condition counts as Unknown: the node lifecycle controller has not heard from its
 * kubelet yet, which is what Unknown means.
 */
export function nodeReadiness(node: string, object: NodeConditions | undefined): NodeReadiness {
  if (!object) return { node, ready: false, status: 'Missing' };
  const condition = (object.status?.conditions ?? []).find((c) => c.type === 'Ready');
  const status = condition?.status === 'True' || condition?.status === 'False' ? condition.status : 'Unknown';
  return {
    node,
    ready: status === 'True',
    status,
    ...(condition?.reason ? { reason: condition.reason } : {}),
    ...(condition?.lastTransitionTime ? { lastTransitionTime: condition.lastTransitionTime } : {}),
  };
}
