/** Counts of a node's plan by action, and the one line humans read first. */
import type { VmPlan } from './vmPlan.js';

export interface PlanSummary {
  total: number;
  migrate: number;
  shutdown: number;
  escalate: number;
  awaitExternal: number;
  /** Escalations that roll the maintenance back without asking (policy escalation.onNonMigratable=abort). */
  willAbort: number;
  /** VMs shut down for good (ShutdownStayOff, or already Halted); in a repair, the VMs that stay off. */
  stayOff: number;
  /** The repair runbook: VMs KubeVirt restarts elsewhere, Manual VMs Pitstop starts elsewhere, standalone VMIs lost. */
  restartElsewhere: number;
  startElsewhere: number;
  lost: number;
}

export function summarizePlan(plans: readonly VmPlan[]): PlanSummary {
  const count = (test: (plan: VmPlan) => boolean) => plans.filter(test).length;
  return {
    total: plans.length,
    migrate: count((p) => p.action === 'migrate'),
    shutdown: count((p) => p.action === 'shutdown'),
    escalate: count((p) => p.action === 'escalate'),
    awaitExternal: count((p) => p.action === 'awaitExternal'),
    willAbort: count((p) => p.action === 'escalate' && p.onEscalation === 'abort'),
    stayOff: count((p) => (p.action === 'shutdown' && p.restore === 'never') || p.action === 'staysOff'),
    restartElsewhere: count((p) => p.action === 'restartElsewhere'),
    startElsewhere: count((p) => p.action === 'startElsewhere'),
    lost: count((p) => p.action === 'lost'),
  };
}

/** One line for humans: "5 VMs: 2 migrate, 1 shut down (1 stays off), 1 wait for external controller, 1 escalate". */
export function formatPlanSummary(summary: PlanSummary): string {
  if (summary.total === 0) return 'no VMs on the node';
  const parts: string[] = [];
  if (summary.migrate) parts.push(`${summary.migrate} migrate`);
  if (summary.shutdown)
    parts.push(`${summary.shutdown} shut down${summary.stayOff ? ` (${summary.stayOff} stay off)` : ''}`);
  if (summary.awaitExternal) parts.push(`${summary.awaitExternal} wait for external controller`);
  if (summary.restartElsewhere) parts.push(`${summary.restartElsewhere} restart elsewhere`);
  if (summary.startElsewhere) parts.push(`${summary.startElsewhere} started elsewhere by Pitstop`);
  // A drain counts the VMs that stay off among those it shuts down; a repair shuts nothing down.
  if (!summary.shutdown && summary.stayOff) parts.push(`${summary.stayOff} stay off`);
  if (summary.lost) parts.push(`${summary.lost} lost (standalone VMI)`);
  if (summary.escalate) {
    const abort = summary.willAbort ? ` (${summary.willAbort} abort the maintenance)` : '';
    parts.push(`${summary.escalate} need a decision${abort}`);
  }
  return `${summary.total} VM${summary.total === 1 ? '' : 's'}: ${parts.join(', ')}`;
}
