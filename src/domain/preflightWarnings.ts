/** What the user should know before saying yes to a maintenance, but that does not block it. */
import { formatDuration } from './durations.js';
import type { PreflightContext } from './preflightContext.js';
import { missingRoom } from './preflightRefusals.js';
import { isFinished, vmiKey } from './vmFacts.js';

type Warn = (context: PreflightContext) => string[];

const alreadyCordoned: Warn = ({ snapshot }) =>
  snapshot.node?.unschedulable
    ? [`node "${snapshot.node.name}" is already cordoned: it will stay cordoned afterwards`]
    : [];

const nodeNotReady: Warn = ({ snapshot, runbook }) =>
  snapshot.node && !snapshot.node.ready && runbook.runbook === 'planned'
    ? [`node "${snapshot.node.name}" is NotReady: live migrations from it will likely fail`]
    : [];

/** A repair fences the machine and restarts what it can elsewhere: say so, and what will not come back. */
const repairAhead: Warn = (context) => {
  const { runbook, plan, snapshot } = context;
  if (runbook.runbook !== 'repair') return [];
  const warnings = [`node "${snapshot.node?.name}" will be fenced (hard power-off): ${runbook.reason}`];
  const room = missingRoom(context);
  if (room) warnings.push(`${room}: those VMs stay Pending until room is made`);
  for (const p of plan.filter((p) => p.action === 'lost' || p.action === 'staysOff')) {
    warnings.push(`${p.vmi}: ${p.action === 'lost' ? 'lost' : 'stays off'}: ${p.reason}`);
  }
  return warnings;
};

const inFlightMigrations: Warn = ({ plan, factsByVmi }) =>
  plan.flatMap((p) => {
    const migration = factsByVmi.get(p.vmi)?.migrationInFlight;
    if (!migration) return [];
    if (p.adoptMigration) return [`${p.vmi}: migration ${migration} is already in flight; it will be adopted`];
    return [`${p.vmi}: migration ${migration} is already in flight, but the plan is ${p.action}`];
  });

const finishedVmis: Warn = ({ snapshot }) =>
  snapshot.vms.filter(isFinished).map((vm) => `${vmiKey(vm)}: VMI already ${vm.phase}, nothing to move`);

const decisionsAhead: Warn = ({ plan }) => {
  const asking = plan.filter((p) => p.action === 'escalate' && p.onEscalation === 'ask').map((p) => p.vmi);
  if (asking.length === 0) return [];
  const count = asking.length === 1 ? '1 VM needs' : `${asking.length} VMs need`;
  return [`${count} an operator's decision (decide update): ${asking.join(', ')}`];
};

const staysOff: Warn = ({ plan }) =>
  plan
    .filter((p) => p.action === 'shutdown' && p.restore === 'never')
    .map((p) => `${p.vmi} will be shut down and left off`);

/** policy capacity.onNoRoom: what happens to the VMs that fit on no other node, said before it happens. */
const noRoom: Warn = (context) => {
  const { request, runbook, shutForRoom } = context;
  if (runbook.runbook === 'repair') return [];
  const { onNoRoom, waitTimeoutMs } = request.policy.capacity;
  const warnings: string[] = [];
  if (shutForRoom.length > 0) {
    const verb = shutForRoom.length === 1 ? 'fits' : 'fit';
    warnings.push(
      `${shutForRoom.join(', ')} ${verb} on no other node: shut down and restarted after maintenance ` +
        '(policy capacity.onNoRoom=shutdown)',
    );
  }
  const room = onNoRoom === 'wait' ? missingRoom(context) : undefined;
  if (room) {
    warnings.push(
      `${room}: the run waits for room up to ${formatDuration(waitTimeoutMs)} (policy capacity.onNoRoom=wait)`,
    );
  }
  return warnings;
};

const WARNINGS: readonly Warn[] = [
  alreadyCordoned,
  nodeNotReady,
  repairAhead,
  noRoom,
  inFlightMigrations,
  finishedVmis,
  decisionsAhead,
  staysOff,
];

export function warningsFor(context: PreflightContext): string[] {
  return WARNINGS.flatMap((warn) => warn(context));
}
