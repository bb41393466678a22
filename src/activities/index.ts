// The activities, made by a factory that takes their clients (tests pass real clients pointed at the sandbox).
import type { KubeClient } from '../k8s/client.js';
import type { ClusterSnapshot } from '../domain/preflight.js';
import { kube } from './errors.js';
import { describeNodes, nodeLeaseHolders } from './kubernetes.js';
import { clusterEvictionStrategy, vmsOnNode } from './kubevirt.js';

export interface ActivityDeps {
  kube: KubeClient;
}

export function createActivities({ kube: client }: ActivityDeps) {
  return {
    /** Everything preflight decides on, read in one go so the verdict is computed from one moment's view. */
    async preflightSnapshot(input: { node: string; workflowId: string }): Promise<ClusterSnapshot> {
      return await kube(`reading the cluster for node ${input.node}`, async () => {
        const [nodes, vms, evictionStrategy, leases] = await Promise.all([
          describeNodes(client),
          vmsOnNode(client, input.node),
          clusterEvictionStrategy(client),
          nodeLeaseHolders(client, input.node),
        ]);
        return {
          node: nodes.find((n) => n.name === input.node),
          nodes,
          vms,
          clusterEvictionStrategy: evictionStrategy,
          leases,
          workflowId: input.workflowId,
        };
      });
    },
  };
}

export type Activities = ReturnType<typeof createActivities>;
