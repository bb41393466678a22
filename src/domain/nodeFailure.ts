// A node that fails in the middle of a planned drain: its virt-handler answers nothing, so no migration from it
// gets past its early phases and no graceful stop completes (docs/kubevirt.md, failed nodes). Migrating harder or
// waiting longer cannot help; the drain stops and says so, and the operator (or the Alertmanager rule) starts the
// repair runbook, which fences the node before anything restarts elsewhere.

import type { NodeReadiness } from './nodeReadiness.js';

/** The node's Ready condition as the readNodeReadiness activity reads it. */
export type ReadinessReading = Omit<NodeReadiness, 'node' | 'ready'>;

/** Why the drain cannot go on because the node itself has failed; undefined while the node is Ready. */
export function nodeFailure(node: string, readiness: ReadinessReading): string | undefined {
  if (readiness.status === 'True') return undefined;
  if (readiness.status === 'Missing') return `node ${node} was deleted during the drain`;
  const since = readiness.lastTransitionTime ? ` since ${readiness.lastTransitionTime}` : '';
  const reason = readiness.reason ? `, ${readiness.reason}` : '';
  return (
    `node ${node} failed during the drain (Ready=${readiness.status}${since}${reason}): its VMs can neither ` +
    `live-migrate nor stop from a dead node, and the drain stopped`
  );
}

/** The maintenance that finishes the job: the repair runbook fences the node, then restarts its VMs elsewhere. */
export const repairFollowUp = (node: string) => `start nodeMaintenance {"node":"${node}","mode":"repair"}`;
