/**
 * What the Temporal UI shows of a run from its start: the static summary (one line in the workflow list and at the top
 * of the run) and static details (markdown under it). Every start Pitstop makes sets them (API, CLI, NodeMaintenance
 * CR, Alertmanager hook, a roll's children, schedules), so a list of runs reads "worker-3: DIMM swap — alertmanager"
 * rather than a column of identical workflow types. A start typed into the UI's own form has only what its user
 * writes there; the run's current details (src/workflows/nodeMaintenance/details.ts) tell the rest.
 */
import type { MaintenanceRequest } from './request.js';
import type { RollingRequest } from './rolling.js';

export interface StartText {
  staticSummary: string;
  staticDetails: string;
}

/** Temporal keeps a summary short (the UI shows one line); a longer reason is cut with an ellipsis. */
export const SUMMARY_MAX = 200;

const oneLine = (text: string) => text.replace(/\s+/g, ' ').trim();
const cut = (text: string) => (text.length <= SUMMARY_MAX ? text : `${text.slice(0, SUMMARY_MAX - 1)}…`);
const who = (requestedBy: string | undefined) => requestedBy?.trim() || 'requester not given';

type StartedMaintenance = Pick<MaintenanceRequest, 'node' | 'mode' | 'reason' | 'requestedBy' | 'power' | 'hold'> & {
  dryRun?: boolean;
};

/** "worker-3: DIMM swap — alertmanager"; a repair and a dry run say so before the reason. */
export function maintenanceStartText(request: StartedMaintenance): StartText {
  // `auto` (the default) picks its runbook at preflight; the run's current details say which.
  const kind = [request.dryRun && 'dry run', request.mode === 'repair' && 'repair'].filter(Boolean);
  const reason = oneLine(request.reason ?? '') || 'maintenance';
  const staticSummary = cut(
    `${request.node}: ${kind.length ? `${kind.join(', ')}: ` : ''}${reason} — ${oneLine(who(request.requestedBy))}`,
  );
  const staticDetails = [
    `**Node** \`${request.node}\` · **runbook** ${request.mode}${request.dryRun ? ' (dry run: nothing changes)' : ''}`,
    `**Reason:** ${oneLine(request.reason ?? '') || '(none given)'}`,
    `**Requested by:** ${who(request.requestedBy)}`,
    `**Power:** ${request.power} · **hold:** ${request.hold === 'none' ? 'none' : 'until released'}`,
  ].join('\n\n');
  return { staticSummary, staticDetails };
}

/** "rolling kernel-6-12: kernel upgrade, nodes role=worker, 1 at a time — ops-team". */
export function rollingStartText(request: RollingRequest): StartText {
  const nodes = request.nodes ? request.nodes.join(', ') : `the nodes matching ${request.selector ?? '(every node)'}`;
  const count = request.nodes ? `${request.nodes.length} node(s)` : `nodes ${request.selector ?? '(all)'}`;
  const reason = oneLine(request.template.reason ?? '');
  const by = oneLine(who(request.requestedBy ?? request.template.requestedBy));
  const staticSummary = cut(
    `rolling ${request.name}: ${reason ? `${reason}, ` : ''}${count}, ${request.maxUnavailable} at a time — ${by}`,
  );
  const staticDetails = [
    `**Roll** \`${request.name}\` over ${nodes}`,
    `**Reason:** ${reason || '(none given)'}`,
    `**Requested by:** ${who(request.requestedBy ?? request.template.requestedBy)}`,
    `**At a time:** ${request.maxUnavailable} · **stops after** ${request.maxFailures} failure(s) · **order** ${request.order}`,
  ].join('\n\n');
  return { staticSummary, staticDetails };
}
