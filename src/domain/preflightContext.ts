/** What every preflight check and warning looks at: the snapshot, the request, and the plan and placement of it. */
import type { ClusterSnapshot } from './clusterSnapshot.js';
import { planNode } from './plan.js';
import { needsRoomElsewhere, placeVms, type Placement } from './placement.js';
import type { MaintenanceRequest } from './request.js';
import { vmiKey, type VmFacts } from './vmFacts.js';
import type { VmPlan } from './vmPlan.js';
import { chooseRunbook, type RunbookChoice } from './repairMode.js';
import { planRepair } from './repairPlan.js';
import { shutdownWhatDoesNotFit } from './smallClusters.js';

export interface PreflightContext {
  snapshot: ClusterSnapshot;
  request: MaintenanceRequest;
  /** planned (drain) or repair (fence), from the request's mode and the node's state. */
  runbook: RunbookChoice;
  plan: VmPlan[];
  /** Where the VMs that need room elsewhere would go. */
  placement: Placement;
  /** capacity.onNoRoom=shutdown: the VMs shut down because they fit on no other node ("ns/a (16 GiB)"). */
  shutForRoom: string[];
  factsByVmi: Map<string, VmFacts>;
}

export function preflightContext(snapshot: ClusterSnapshot, request: MaintenanceRequest): PreflightContext {
  const runbook = chooseRunbook(request, snapshot.node, snapshot.observedAt);
  const planFor = runbook.runbook === 'repair' ? planRepair : planNode;
  const factsByVmi = new Map(snapshot.vms.map((vm) => [vmiKey(vm), vm]));
  const placeFor = (plan: VmPlan[]) =>
    placeVms(
      plan.filter(needsRoomElsewhere).flatMap((p) => factsByVmi.get(p.vmi) ?? []),
      snapshot.nodes,
      request.node,
    );
  const planned = planFor(snapshot.vms, snapshot.clusterEvictionStrategy, request.policy);
  const first = placeFor(planned);
  // A repair's VMs are down already: nothing is left to shut down for room.
  if (runbook.runbook === 'repair' || request.policy.capacity.onNoRoom !== 'shutdown') {
    return { snapshot, request, runbook, plan: planned, placement: first, shutForRoom: [], factsByVmi };
  }
  const plan = shutdownWhatDoesNotFit(planned, first.capacity.unplaced, factsByVmi);
  const placement = placeFor(plan);
  const stillUnplaced = new Set(placement.capacity.unplaced);
  const shutForRoom = first.capacity.unplaced.flatMap((vmi, i) =>
    stillUnplaced.has(vmi) ? [] : [first.unplacedDetails[i] ?? vmi],
  );
  return { snapshot, request, runbook, plan, placement, shutForRoom, factsByVmi };
}
