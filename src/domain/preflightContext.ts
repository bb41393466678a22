/** What every preflight check and warning looks at: the snapshot, the request, and the plan and placement of it. */
import type { ClusterSnapshot } from './clusterSnapshot.js';
import { planNode } from './plan.js';
import { needsRoomElsewhere, placeVms, type Placement } from './placement.js';
import type { MaintenanceRequest } from './request.js';
import { vmiKey, type VmFacts } from './vmFacts.js';
import type { VmPlan } from './vmPlan.js';
import { chooseRunbook, type RunbookChoice } from './repairMode.js';
import { planRepair } from './repairPlan.js';

export interface PreflightContext {
  snapshot: ClusterSnapshot;
  request: MaintenanceRequest;
  /** planned (drain) or repair (fence), from the request's mode and the node's state. */
  runbook: RunbookChoice;
  plan: VmPlan[];
  /** Where the VMs that need room elsewhere would go. */
  placement: Placement;
  factsByVmi: Map<string, VmFacts>;
}

export function preflightContext(snapshot: ClusterSnapshot, request: MaintenanceRequest): PreflightContext {
  const runbook = chooseRunbook(request, snapshot.node, snapshot.observedAt);
  const planFor = runbook.runbook === 'repair' ? planRepair : planNode;
  const plan = planFor(snapshot.vms, snapshot.clusterEvictionStrategy, request.policy);
  const factsByVmi = new Map(snapshot.vms.map((vm) => [vmiKey(vm), vm]));
  const moving = plan.filter(needsRoomElsewhere).flatMap((p) => factsByVmi.get(p.vmi) ?? []);
  const placement = placeVms(moving, snapshot.nodes, request.node);
  return { snapshot, request, runbook, plan, placement, factsByVmi };
}
