// The fleet as a rolling maintenance sees it: which nodes it covers (by selector or by name, with their VM counts),
// and, before each node, whether the node is free and its VMs fit elsewhere (decided by domain/rollingPlan.ts).
import { paths, type KubeClient } from '../k8s/client.js';
import type { MaintenancePolicy } from '../domain/request.js';
import { checkNode, type NodeCheck } from '../domain/rollingPlan.js';
import { describeNodes, nodeLeaseHolders } from './kubernetes.js';
import { clusterEvictionStrategy, kv, vmsOnNode } from './kubevirt.js';

export interface FleetNode {
  name: string;
  vmCount: number;
}

export interface FleetNodes {
  nodes: FleetNode[];
  /** Names from an explicit list that do not exist. */
  missing: string[];
}

/** The nodes a selector matches (the API server evaluates it), or the listed ones, with their VMI counts. */
export async function listFleetNodes(
  client: KubeClient,
  input: { selector?: string; nodes?: string[] },
): Promise<FleetNodes> {
  const [nodes, vmis] = await Promise.all([
    client.list(paths.nodes(), input.selector !== undefined ? { labelSelector: input.selector } : {}),
    client.list(kv('virtualmachineinstances')),
  ]);
  const counts = new Map<string, number>();
  for (const vmi of vmis.items) {
    const node: string | undefined = vmi.status?.nodeName;
    if (node) counts.set(node, (counts.get(node) ?? 0) + 1);
  }
  const names = new Set(nodes.items.map((n) => n.metadata.name));
  const wanted = input.nodes ?? [...names];
  return {
    nodes: wanted.filter((n) => names.has(n)).map((name) => ({ name, vmCount: counts.get(name) ?? 0 })),
    missing: wanted.filter((n) => !names.has(n)),
  };
}

/** One look at the cluster before the roll starts `node`: its lease and room for its VMs. */
export async function checkFleetNode(
  client: KubeClient,
  input: { node: string; alsoDown: string[]; policy: MaintenancePolicy; ownWorkflowId: string },
): Promise<NodeCheck> {
  const [nodes, vms, evictionStrategy, leases] = await Promise.all([
    describeNodes(client),
    vmsOnNode(client, input.node),
    clusterEvictionStrategy(client),
    nodeLeaseHolders(client, input.node),
  ]);
  return checkNode({ ...input, nodes, vms, leases, clusterEvictionStrategy: evictionStrategy });
}
