// The fleet as a rolling maintenance sees it: which nodes it covers (by selector or by name, with their VM counts),
// and, before nodes start, which of the next ones are free and whose VMs fit elsewhere (decided by
// domain/rollingPlan.ts).
import { kv, paths, type KubeClient, type KubeObject } from '../k8s/client.js';
import type { MaintenancePolicy } from '../domain/request.js';
import { admitNodes, type AdmissionCheck, type FleetCandidate } from '../domain/rollingPlan.js';
import { describeNodes } from './node/facts.js';
import { nodeLeaseHolders } from './node/lease.js';
import { clusterEvictionStrategy, vmsOnNode } from './kubevirt/facts.js';
import type { RequestedMemorySource } from './podRequests.js';

export interface FleetNode {
  name: string;
  vmCount: number;
}

export interface FleetNodes {
  nodes: FleetNode[];
  /** Names from an explicit list that do not exist. */
  missing: string[];
}

const VMI_PAGE_SIZE = 1000;

/** The nodes a selector matches (the API server evaluates it), or the listed ones, with their VMI counts. */
export async function listFleetNodes(
  client: KubeClient,
  input: { selector?: string; nodes?: string[] },
): Promise<FleetNodes> {
  const counts = new Map<string, number>();
  // Every VMI of the cluster (20,000 on 1,000 nodes): counted a page at a time, never held at once.
  const countVmis = (vmis: KubeObject[]) => {
    for (const vmi of vmis) {
      const node: string | undefined = vmi.status?.nodeName;
      if (node) counts.set(node, (counts.get(node) ?? 0) + 1);
    }
  };
  const [nodes] = await Promise.all([
    client.list(paths.nodes(), input.selector !== undefined ? { labelSelector: input.selector } : {}),
    client.listPages(kv('virtualmachineinstances'), { limit: VMI_PAGE_SIZE }, countVmis),
  ]);
  const names = new Set(nodes.items.map((n) => n.metadata.name));
  const wanted = input.nodes ?? [...names];
  return {
    nodes: wanted.filter((n) => names.has(n)).map((name) => ({ name, vmCount: counts.get(name) ?? 0 })),
    missing: wanted.filter((n) => !names.has(n)),
  };
}

/** How many candidates' VMs are read at once (each costs a few lists and one GET per VM). */
const CANDIDATES_AT_ONCE = 4;

/**
 * One look at the cluster before the roll starts its next nodes (`nodes`, in the roll's order, at most its free
 * slots): the nodes and their requests once, each candidate's VMs and lease, then `admitNodes` decides.
 */
export async function checkFleetNodes(
  client: KubeClient,
  input: { nodes: string[]; alsoDown: string[]; policy: MaintenancePolicy; ownWorkflowId: string; slots: number },
  requestedMemory?: RequestedMemorySource,
): Promise<AdmissionCheck[]> {
  const [nodes, evictionStrategy] = await Promise.all([
    describeNodes(client, requestedMemory),
    clusterEvictionStrategy(client),
  ]);
  const candidates: FleetCandidate[] = [];
  for (let i = 0; i < input.nodes.length; i += CANDIDATES_AT_ONCE) {
    candidates.push(
      ...(await Promise.all(
        input.nodes.slice(i, i + CANDIDATES_AT_ONCE).map(async (node) => {
          const [vms, leases] = await Promise.all([vmsOnNode(client, node), nodeLeaseHolders(client, node)]);
          return { node, vms, leases };
        }),
      )),
    );
  }
  return admitNodes({ ...input, candidates, nodes, clusterEvictionStrategy: evictionStrategy });
}
