/** What preflight reads about the cluster: one snapshot, gathered by an activity and kept in workflow history. */
import { KUBEVIRT_SCHEDULABLE } from './contract.js';
import type { VmFacts } from './vmFacts.js';

export interface NodeFacts {
  name: string;
  labels: Record<string, string>;
  unschedulable: boolean;
  ready: boolean;
  /** When the node's Ready condition last left True (its lastTransitionTime), while it is not Ready. */
  notReadySince?: string;
  /** Label node-role.kubernetes.io/control-plane or node-role.kubernetes.io/master. */
  controlPlane: boolean;
  allocatableMemoryBytes: number;
  /** Sum of the memory requests of the pods on the node. */
  requestedMemoryBytes: number;
  taints: { key: string; effect: string }[];
}

/** A current holder of one of the node's maintenance leases (ours, or medik8s' `node-<name>` lease). */
export interface LeaseHolder {
  holder: string;
  source: 'pitstop' | 'medik8s';
}

export interface ClusterSnapshot {
  /** The target node; undefined = it does not exist. */
  node?: NodeFacts;
  /** All nodes, the target included. */
  nodes: NodeFacts[];
  /** VMIs on the target node. */
  vms: VmFacts[];
  /** The KubeVirt CR's spec.configuration.evictionStrategy. */
  clusterEvictionStrategy?: string;
  leases: LeaseHolder[];
  /** Our own workflow id: a lease it holds is no obstacle (a retry or a continued run). */
  workflowId: string;
  /** When the snapshot was read (the activity's clock): how long the node has been NotReady is measured to it. */
  observedAt?: string;
}

/**
 * The nodes with only the labels placement reads: those some VM's nodeSelector asks about, and
 * `kubevirt.io/schedulable`, which every virt-launcher pod's nodeSelector carries (see placement's canHostVms). The snapshot
 * is an activity result kept in the workflow's history, and every label of every node would grow it with the
 * cluster toward Temporal's 2 MB payload limit (at 1 KB of labels a node, 1 MB at 1,000 nodes).
 */
export function keepSelectedLabels(nodes: NodeFacts[], vms: Pick<VmFacts, 'nodeSelector'>[]): NodeFacts[] {
  const keys = new Set([KUBEVIRT_SCHEDULABLE.label, ...vms.flatMap((vm) => Object.keys(vm.nodeSelector ?? {}))]);
  return nodes.map((node) => ({
    ...node,
    labels: Object.fromEntries(Object.entries(node.labels).filter(([key]) => keys.has(key))),
  }));
}
