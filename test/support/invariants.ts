// DESIGN.md's invariants, read from the cluster itself (never from the workflow's own account).
import { paths, type KubeClient } from '../../src/k8s/client.js';
import { kv } from '../../src/activities/kubevirt.js';
import { NODE_LEASE } from '../../src/activities/kubernetes.js';

export interface ClusterBefore {
  running: Set<string>;
  unschedulable: Map<string, boolean>;
}

export async function recordBefore(kube: KubeClient): Promise<ClusterBefore> {
  const vmis = await kube.list(kv('virtualmachineinstances'));
  const nodes = await kube.list(paths.nodes());
  return {
    running: new Set(
      vmis.items.filter((v) => v.status?.phase === 'Running').map((v) => `${v.metadata.namespace}/${v.metadata.name}`),
    ),
    unschedulable: new Map(nodes.items.map((n) => [n.metadata.name, n.spec?.unschedulable === true])),
  };
}

/**
 * Violations after a maintenance of `node` ended: a VM that ran and does not (unless expected off), a node whose
 * schedulability changed, a migration still in flight, or Pitstop's lease, taint or annotation left behind.
 */
export async function invariantViolations(
  kube: KubeClient,
  before: ClusterBefore,
  node: string,
  expectedOff: string[] = [],
): Promise<string[]> {
  const violations: string[] = [];
  const vmis = await kube.list(kv('virtualmachineinstances'));
  const runningNow = new Set(
    vmis.items
      .filter((v) => v.status?.phase === 'Running' && !v.metadata.deletionTimestamp)
      .map((v) => `${v.metadata.namespace}/${v.metadata.name}`),
  );
  for (const vm of before.running) {
    if (!runningNow.has(vm) && !expectedOff.includes(vm)) violations.push(`VM ${vm} ran before and does not run now`);
  }
  const nodeObject = await kube.get(paths.node(node));
  const wasUnschedulable = before.unschedulable.get(node) ?? false;
  if ((nodeObject.spec?.unschedulable === true) !== wasUnschedulable) {
    violations.push(
      `node ${node} unschedulable=${nodeObject.spec?.unschedulable === true}, before ${wasUnschedulable}`,
    );
  }
  if ((nodeObject.spec?.taints ?? []).some((t: { key: string }) => t.key.startsWith('pitstop.io/')))
    violations.push(`pitstop taint left on ${node}`);
  if (Object.keys(nodeObject.metadata.annotations ?? {}).some((k) => k.startsWith('pitstop.io/')))
    violations.push(`pitstop annotation left on ${node}`);
  const migrations = await kube.list(kv('virtualmachineinstancemigrations'));
  const inFlight = migrations.items.filter((m) => !['Succeeded', 'Failed'].includes(m.status?.phase));
  if (inFlight.length) violations.push(`migrations in flight: ${inFlight.map((m) => m.metadata.name).join(', ')}`);
  const lease = await kube.find(paths.lease(NODE_LEASE.namespace, NODE_LEASE.name(node)));
  if (lease?.spec?.holderIdentity) violations.push(`lease of ${node} still held by ${lease.spec.holderIdentity}`);
  return violations;
}
