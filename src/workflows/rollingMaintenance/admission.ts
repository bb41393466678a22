// Which nodes the roll covers (resolved once, at its start) and which of the next ones start now: one look at the
// cluster for as many nodes as there are free slots, then every admitted node starts at once.
import { nextCandidates, nextStep, orderNodes, type AdmissionCheck } from '../../domain/rollingPlan.js';
import type { RollingNodeRow } from '../../domain/rollingProgress.js';
import { FAILURE_TYPES, workflowIdFor } from '../../domain/workflowNames.js';
import { workflowFailure } from '../failures.js';
import { checkFleetNodes, listFleetNodes } from './activities.js';
import { startNode } from './children.js';
import { iso, type RollingRun } from './state.js';

/** Without room for a node's VMs, capacity is checked again after this long (or when a running node ends). */
const CAPACITY_RETRY_MS = 30_000;

/** The nodes of the roll, in its order. A node that joins the selector later is not part of this roll. */
export async function resolveNodes(roll: RollingRun): Promise<void> {
  const { request } = roll;
  const found = await listFleetNodes({
    ...(request.selector !== undefined && { selector: request.selector }),
    ...(request.nodes !== undefined && { nodes: request.nodes }),
  });
  const invalid = (message: string) => workflowFailure(FAILURE_TYPES.invalidInput, message);
  if (found.missing.length > 0) {
    throw invalid(`nodes: ${found.missing.join(', ')} ${found.missing.length === 1 ? 'does' : 'do'} not exist`);
  }
  if (found.nodes.length === 0) throw invalid(`selector: "${request.selector}" matches no node`);
  roll.carry.rows = orderNodes(found.nodes, request.order).map((n) => ({
    node: n.name,
    state: 'pending',
    workflowId: workflowIdFor(n.name),
    decisionsPending: [],
    vmCount: n.vmCount,
  }));
}

/**
 * One look at the next nodes (as many as there are free slots), then every admitted node starts at once. Each
 * node's capacity is checked in that look, with the running nodes and the nodes admitted before it counted as
 * gone. An update during the look (pause, resume, skip) voids it. A node ending during it does not: the look
 * counted that node as gone, so its end only adds room; but it may pass maxFailures or begin the pause between
 * nodes, so `nextStep` is asked again before each start.
 */
export async function admitNext(roll: RollingRun): Promise<void> {
  const seenUpdates = roll.updates;
  const nodes = nextCandidates(roll.situation());
  if (nodes.length === 0) return;
  const checks = await checkFleetNodes({
    nodes,
    alsoDown: roll.running().map((r) => r.node),
    policy: roll.request.template.policy,
    // Whoever holds a node's lease, it is not this roll's: its own children are never looked at while running.
    ownWorkflowId: roll.info.workflowId,
    slots: nodes.length,
  });
  if (roll.updates !== seenUpdates) return;
  const starts: Promise<void>[] = [];
  let waiting: AdmissionCheck | undefined;
  for (const check of checks) {
    const step = nextStep(roll.situation());
    if (step.kind !== 'start' || step.node !== check.node) break;
    const row = roll.rowOf(check.node);
    if (!row) break;
    if (goneOrBusy(roll, row, check)) continue;
    if (!check.admit) {
      waiting = check;
      break;
    }
    // startNode marks the row running before its first await: the next nextStep counts it.
    starts.push(startNode(roll, row));
  }
  await Promise.all(starts);
  if (waiting) {
    roll.status = 'WaitingForCapacity';
    roll.message = `${waiting.node} waits for capacity: ${waiting.message}`;
    await roll.waitForChange(Date.now() + CAPACITY_RETRY_MS);
  }
}

/** Records a look's answer on the row; true when the node is gone or busy (nothing to start now). */
function goneOrBusy(roll: RollingRun, row: RollingNodeRow, check: AdmissionCheck): boolean {
  if (!check.exists) {
    // Deleted since the roll started: nothing to maintain, counted as refused.
    row.state = 'refused';
    row.finishedAt = iso();
    row.message = `node ${row.node} no longer exists`;
    roll.changed();
    return true;
  }
  row.vmCount = check.vmCount;
  if (check.busyWith) {
    roll.busy(row, `in maintenance by ${check.busyWith}`);
    return true;
  }
  return false;
}
