// What a roll-back could not undo, and the note that names it for the operator (the workflow's RollbackIncomplete
// message, the node's NeedsAttention Event). Every roll-back step is bounded: a step that gives up adds one of these
// instead of retrying forever, and the roll-back goes on with the next step.
import { NODE_MARKS, PREVIOUS_RUN_STRATEGY } from './contract.js';
import { repairFollowUp } from './nodeFailure.js';

export type Leftover =
  /** The machine could not be powered on; `acknowledged`: the BMC had acknowledged the power-off. */
  | { kind: 'power'; error: string; acknowledged: boolean }
  /** A migration this run started could not be cancelled (it may still run). */
  | { kind: 'migration'; vmi: string; migration: string; error: string }
  /** The uncordon failed: the node stays cordoned by this run. */
  | { kind: 'uncordon'; error: string }
  /** A VM this run stopped was not put back: it keeps its run-strategy record. */
  | { kind: 'vm'; vmi: string; error: string }
  /** The node's maintenance marks (phase annotation) could not be removed. */
  | { kind: 'marks'; error: string }
  /** The NeedsAttention mark itself could not be written. */
  | { kind: 'mark'; error: string }
  /** The lease could not be released. */
  | { kind: 'lease'; error: string }
  /** The node failed (during a drain, or a repair stopped before its fence): it is kept cordoned (never uncordoned
   * unrepaired); a repair finishes it. */
  | { kind: 'nodeFailed'; failure: string };

/** True when the node must stay cordoned: its machine's power state is not known to be on. */
export const powerUnknown = (left: Leftover[]) => left.some((l) => l.kind === 'power');

/** One sentence per thing left, then what the node is left as and how to finish. Empty list = nothing left. */
export function needsAttentionNote(node: string, left: Leftover[]): string | undefined {
  if (left.length === 0) return undefined;
  const parts: string[] = [];
  const followUp = `start nodeMaintenance {"node":"${node}","power":"none","hold":"none"}`;
  for (const l of left) {
    switch (l.kind) {
      case 'power': {
        const state = l.acknowledged
          ? 'it was powered off'
          : 'its power state is unknown (the power-off was never acknowledged)';
        parts.push(`the machine could not be powered on (${l.error}); ${state}.`);
        break;
      }
      case 'migration':
        parts.push(`migration ${l.migration} of VMI ${l.vmi} could not be cancelled (${l.error}): it may still run.`);
        break;
      case 'uncordon':
        parts.push(`node ${node} could not be uncordoned (${l.error}): it stays cordoned by this maintenance.`);
        break;
      case 'vm':
        parts.push(
          `VM ${l.vmi} was not started again (${l.error}): it keeps the annotation ${PREVIOUS_RUN_STRATEGY} ` +
            `(its runStrategy before the maintenance); once its old VMI is gone, set that runStrategy back and ` +
            `remove the annotation.`,
        );
        break;
      case 'marks':
        parts.push(`the maintenance annotations of node ${node} could not be removed (${l.error}).`);
        break;
      case 'mark':
        parts.push(`node ${node} could not be annotated NeedsAttention (${l.error}).`);
        break;
      case 'lease':
        parts.push(`the lease of node ${node} could not be released (${l.error}): release it by hand.`);
        break;
      case 'nodeFailed':
        parts.push(`${l.failure}; the node stays cordoned.`);
        break;
    }
  }
  const leaseLeft = left.some((l) => l.kind === 'lease');
  const failed = left.some((l) => l.kind === 'nodeFailed');
  const cordoned = powerUnknown(left) || failed || left.some((l) => l.kind === 'uncordon');
  const state = cordoned
    ? `Node ${node} is left cordoned (tainted, excluded from remediation, annotated NeedsAttention)`
    : `Node ${node} is left annotated NeedsAttention`;
  const lease = leaseLeft ? 'the lease is still held' : 'the lease is released';
  // A node left cordoned needs the follow-up maintenance (it restores what the node was before); an uncordoned one
  // only loses its NeedsAttention mark once the operator has dealt with what is named.
  // A failed node is finished by the repair runbook: it fences the machine before anything restarts elsewhere.
  const finish = failed
    ? `To finish: ${repairFollowUp(node)} (it fences the machine, restarts its VMs elsewhere, and returns the ` +
      `node to service once repaired)`
    : powerUnknown(left)
      ? `To finish: power the machine on by hand, and once the node is Ready ${followUp}, which puts the node back as ` +
        `it was before`
      : cordoned
        ? `To finish: fix what is named above, then ${followUp}, which puts the node back as it was before`
        : `To finish: fix what is named above, then remove the node's annotation ${NODE_MARKS.phase}`;
  return `${parts.join(' ')} ${state}; ${lease}. ${finish}`;
}
