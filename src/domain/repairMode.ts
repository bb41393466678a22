/**
 * Which runbook a maintenance follows: `planned` drains a healthy node (live migration first); `repair` fences a
 * failed node and lets its VMs restart elsewhere. The request's `mode` asks; the node's state decides, because the
 * wrong runbook is either useless or dangerous: planned on a dead node waits an hour for migrations that cannot
 * start, and repair on a live node powers off a machine whose VMs could have moved without a restart.
 */
import type { NodeFacts } from './clusterSnapshot.js';
import { formatDuration } from './durations.js';
import type { MaintenanceRequest } from './request.js';

export type Runbook = 'planned' | 'repair';

export interface RunbookChoice {
  runbook: Runbook;
  /** One sentence: why this runbook (shown in the verdict and the timeline). */
  reason: string;
}

/** How long the node has been NotReady at `observedAt`, or undefined when it is Ready (or the time is unknown). */
export function notReadyForMs(node: NodeFacts, observedAt: string | undefined): number | undefined {
  if (node.ready || !node.notReadySince || !observedAt) return undefined;
  return Math.max(0, Date.parse(observedAt) - Date.parse(node.notReadySince));
}

/**
 * `planned` asks for the drain; `repair` fences unless the node turns out Ready (alive: it can live-migrate);
 * `auto` fences a node NotReady for at least policy.repair.notReadyFor, and drains any other (a node NotReady for
 * less may be rebooting, or its kubelet restarting).
 */
export function chooseRunbook(
  request: MaintenanceRequest,
  node: NodeFacts | undefined,
  observedAt: string | undefined,
): RunbookChoice {
  if (request.mode === 'planned') return { runbook: 'planned', reason: 'mode planned' };
  if (!node) return { runbook: 'planned', reason: 'the node does not exist' };
  if (node.ready) {
    const asked = request.mode === 'repair' ? 'repair was asked, but ' : '';
    return { runbook: 'planned', reason: `${asked}the node is Ready: drained with live migration, not fenced` };
  }
  const threshold = request.policy.repair.notReadyForMs;
  const since = notReadyForMs(node, observedAt);
  const how = since === undefined ? 'NotReady' : `NotReady for ${formatDuration(since)}`;
  if (request.mode === 'repair') return { runbook: 'repair', reason: `mode repair and the node is ${how}` };
  if (since !== undefined && since >= threshold) {
    return { runbook: 'repair', reason: `the node is ${how} (repair.notReadyFor ${formatDuration(threshold)})` };
  }
  return {
    runbook: 'planned',
    reason: `the node is ${how}, less than repair.notReadyFor (${formatDuration(threshold)}): drained, not fenced`,
  };
}
