/**
 * Cluster-wide admission: may one more node go down now? One decision for every maintenance, whoever starts it
 * (UI, API, CLI, Alertmanager, a roll's child). It counts every node already down (held by Pitstop or medik8s,
 * cordoned, NotReady) against a budget, judges capacity with those nodes counted as gone (their VMs need room too),
 * and, for repairs, stops when so many nodes are unhealthy at once that a partition is more likely than failures.
 *
 * The activity that asks runs serialized on one Lease, so two admissions never both take the last room.
 */
import type { LeaseHolder, NodeFacts } from './clusterSnapshot.js';
import { placeVms } from './placement.js';
import type { VmFacts } from './vmFacts.js';

/** A number of nodes, or a percentage of the selected (worker) nodes. */
export type NodeCount = { count: number } | { percent: number };

export interface AdmissionLimits {
  /** PITSTOP_MAX_NODES_DOWN: how many selected nodes may be down at once, this one included. */
  maxNodesDown: NodeCount;
  /** PITSTOP_MAX_UNHEALTHY: above this many NotReady nodes, a repair does not fence (suspected partition). */
  maxUnhealthy: NodeCount;
}

export const DEFAULT_ADMISSION_LIMITS: AdmissionLimits = { maxNodesDown: { count: 1 }, maxUnhealthy: { percent: 49 } };

/** `planned` (today's runbook) or `repair` (fence and recover): only repairs pass the storm guard. */
export type AdmissionKind = 'planned' | 'repair';

export interface AdmissionFacts {
  target: string;
  workflowId: string;
  kind: AdmissionKind;
  /** Every node of the cluster, the target included. */
  nodes: NodeFacts[];
  /** Live lease holders per node (Pitstop's and medik8s' node leases). */
  holders: Record<string, LeaseHolder>;
  /** The target's VMs that need room elsewhere (per the preflight plan). */
  moving: VmFacts[];
  /** The VMIs still running on the nodes counted down: they are on their way and need room too. */
  leaving: VmFacts[];
}

export type AdmissionCode = 'Admitted' | 'BudgetExhausted' | 'NoRoom' | 'SuspectedPartition';

export interface AdmissionVerdict {
  admit: boolean;
  code: AdmissionCode;
  /** One sentence for the progress message, the API and the CLI. */
  reason: string;
  /** The other nodes counted down, each with why: "worker-1 (held by pitstop run nm-worker-1)". */
  down: string[];
  budget: number;
}

/** Parses "2" or "25%"; undefined when it is neither. */
export function parseNodeCount(text: string): NodeCount | undefined {
  const percent = /^(\d{1,3})%$/.exec(text.trim());
  if (percent) {
    const value = Number(percent[1]);
    return value <= 100 ? { percent: value } : undefined;
  }
  return /^\d{1,6}$/.test(text.trim()) ? { count: Number(text.trim()) } : undefined;
}

/** A percentage rounds down (as Kubernetes' maxUnavailable does), so "25%" of 3 nodes is 0. */
export function resolveNodeCount(value: NodeCount, selected: number): number {
  return 'count' in value ? value.count : Math.floor((selected * value.percent) / 100);
}

/** Nodes that count: workers. Control-plane nodes host no VMs and are not maintained through this budget. */
export const selectedNodes = (nodes: readonly NodeFacts[]) => nodes.filter((node) => !node.controlPlane);

/** Why a node other than the target counts as down, or undefined when it is up and free. */
export function downBecause(node: NodeFacts, holder: LeaseHolder | undefined): string | undefined {
  if (holder) return holder.source === 'pitstop' ? `held by ${holder.holder}` : `held by medik8s (${holder.holder})`;
  if (!node.ready) return 'NotReady';
  if (node.unschedulable) return 'cordoned';
  return undefined;
}

function budgetVerdict(facts: AdmissionFacts, budget: number, down: string[]): AdmissionVerdict | undefined {
  // At least one node may always go down, else a budget of "25%" on a small cluster would block every maintenance.
  const allowed = Math.max(1, budget);
  if (down.length + 1 <= allowed) return undefined;
  return {
    admit: false,
    code: 'BudgetExhausted',
    reason:
      `${down.length} of at most ${allowed} node(s) already down (${down.join(', ')}); ` +
      `PITSTOP_MAX_NODES_DOWN leaves no room for ${facts.target}`,
    down,
    budget: allowed,
  };
}

/** Repairs only: more NotReady nodes than allowed at once looks like a partition of the observer, not failures. */
function stormVerdict(selected: NodeFacts[], limits: AdmissionLimits): string | undefined {
  const unhealthy = selected.filter((node) => !node.ready).map((node) => node.name);
  const max = resolveNodeCount(limits.maxUnhealthy, selected.length);
  if (unhealthy.length <= max) return undefined;
  return (
    `${unhealthy.length} of ${selected.length} nodes are NotReady (${unhealthy.join(', ')}), ` +
    `more than PITSTOP_MAX_UNHEALTHY (${max}): suspected partition, not fencing`
  );
}

/**
 * The decision. Order: storm guard (repairs), budget, capacity. Each refusal names what blocks, so the waiting run
 * tells the operator what to fix or what it waits for.
 */
export function decideAdmission(facts: AdmissionFacts, limits: AdmissionLimits): AdmissionVerdict {
  const selected = selectedNodes(facts.nodes);
  const budget = Math.max(1, resolveNodeCount(limits.maxNodesDown, selected.length));
  const downNodes = selected.filter(
    (node) => node.name !== facts.target && downBecause(node, facts.holders[node.name]) !== undefined,
  );
  const down = downNodes.map((node) => `${node.name} (${downBecause(node, facts.holders[node.name]) ?? ''})`);

  const storm = facts.kind === 'repair' ? stormVerdict(selected, limits) : undefined;
  if (storm) return { admit: false, code: 'SuspectedPartition', reason: storm, down, budget };

  const overBudget = budgetVerdict(facts, budget, down);
  if (overBudget) return overBudget;

  // A repair's node is down already and its VMs with it: waiting for room would only keep the ones that fit from
  // restarting. What does not fit is the preflight's warning, and stays Pending until room is made.
  const admitted: AdmissionVerdict = {
    admit: true,
    code: 'Admitted',
    reason: `admitted: ${down.length + 1} of at most ${budget} node(s) down`,
    down,
    budget,
  };
  if (facts.kind === 'repair') return admitted;
  // Capacity with every down node (and the target) gone: their VMs and the target's moving VMs need room.
  const gone = new Set([facts.target, ...downNodes.map((node) => node.name)]);
  const hosts = facts.nodes.filter((node) => !gone.has(node.name));
  const placement = placeVms([...facts.leaving, ...facts.moving], hosts, facts.target);
  if (placement.capacity.unplaced.length > 0) {
    return {
      admit: false,
      code: 'NoRoom',
      reason:
        `with ${down.length ? down.join(', ') : 'no other node'} down, no room for ` +
        placement.unplacedDetails.join(', '),
      down,
      budget,
    };
  }
  return admitted;
}
