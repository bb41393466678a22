/**
 * Preflight: decide from one snapshot of the cluster whether a maintenance may start, and with which per-VM plan.
 *
 * The entry for callers. The snapshot is described in clusterSnapshot.ts, the capacity check in placement.ts, the
 * refusals (and their codes) in preflightRefusals.ts, the warnings in preflightWarnings.ts.
 */
import type { ClusterSnapshot } from './clusterSnapshot.js';
import type { CapacityVerdict } from './placement.js';
import { summarizePlan, type PlanSummary } from './planSummary.js';
import { preflightContext } from './preflightContext.js';
import { refusalsFor, type Refusal } from './preflightRefusals.js';
import { warningsFor } from './preflightWarnings.js';
import type { MaintenanceRequest } from './request.js';
import type { VmPlan } from './vmPlan.js';
import type { RunbookChoice } from './repairMode.js';

// The verdict's vocabulary, so a caller imports preflight from one place.
export { formatBytes } from './bytes.js';
export { keepSelectedLabels, type ClusterSnapshot, type LeaseHolder, type NodeFacts } from './clusterSnapshot.js';

export interface PreflightVerdict {
  ok: boolean;
  node: string;
  /** planned (drain a healthy node) or repair (fence a failed one), and why. */
  runbook: RunbookChoice;
  refusals: Refusal[];
  plan: VmPlan[];
  summary: PlanSummary;
  capacity: CapacityVerdict;
  /** Things the user should know but that do not block. */
  warnings: string[];
}

/** Runs every check and builds the plan. `ok` is true when nothing refuses; a dry run returns this verdict as is. */
export function preflight(snapshot: ClusterSnapshot, request: MaintenanceRequest): PreflightVerdict {
  const context = preflightContext(snapshot, request);
  const refusals = refusalsFor(context);
  return {
    ok: refusals.length === 0,
    node: request.node,
    runbook: context.runbook,
    refusals,
    plan: context.plan,
    summary: summarizePlan(context.plan),
    capacity: context.placement.capacity,
    warnings: warningsFor(context),
  };
}
