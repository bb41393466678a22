// Text rendering of progress for the CLI: progress bars on a terminal, plain lines elsewhere. Pure functions.
import type { RollingProgress } from '../domain/rollingProgress.js';
import type { Progress } from '../domain/progress.js';
import type { MaintenanceView, RollingView, RunSummary } from '../client/service.js';
import type { Frame } from './frame.js';

export function bar(done: number, total: number, width = 24): string {
  const share = total <= 0 ? 1 : Math.min(1, Math.max(0, done / total));
  const filled = Math.round(share * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${String(Math.round(share * 100)).padStart(3)}%`;
}

const FINISHED_VM = ['migrated', 'stopped', 'restored', 'movedExternally', 'deleted', 'left'];

/** The multi-line view of a node maintenance's progress. */
export const progressLines = (p: Progress): string[] => progressFrame(p).lines;

/**
 * The live view of a node maintenance (what `pitstop watch` redraws). On a terminal too short for it, the VM rows
 * fold so that the phase, the bars, a decision needed and the hold stay in sight.
 */
export function progressFrame(p: Progress): Frame {
  const lines = [
    `${p.node}  phase ${p.phase}${p.paused ? ' (paused)' : ''}${p.message ? `: ${p.message}` : ''}`,
    `  drain   ${bar(p.drainProgress, 100)}`,
  ];
  if (p.vms.length > 0) {
    const done = p.vms.filter((v) => FINISHED_VM.includes(v.state)).length;
    lines.push(`  VMs     ${bar(done, p.vms.length)}  ${done}/${p.vms.length}`);
  }
  const vmRowsStart = lines.length;
  for (const vm of p.vms) {
    const where = vm.targetNode ? ` → ${vm.targetNode}` : '';
    lines.push(
      `    ${vm.vmi.padEnd(32)} ${vm.action.padEnd(24)} ${vm.state}${where}${vm.message ? `  ${vm.message}` : ''}`,
    );
  }
  const fold = { start: vmRowsStart, end: lines.length };
  if (p.pods.total > 0) lines.push(`  pods    ${bar(p.pods.evicted, p.pods.total)}  ${p.pods.evicted}/${p.pods.total}`);
  for (const d of p.decisionsPending) {
    lines.push(`  DECISION NEEDED ${d.vmi}: ${d.reason} (allowed: ${d.allowed.join(', ')}; by ${d.deadline})`);
    lines.push(`    pitstop decide ${p.node} ${d.vmi} <${d.allowed.join('|')}>`);
  }
  if (p.hold && !p.hold.released) {
    lines.push(`  HOLD since ${p.hold.since} (deadline ${p.hold.deadline}): pitstop release ${p.node}`);
  }
  lines.push(`  power   ${p.power}`);
  return { lines, fold };
}

/** Short lines for a log (non-terminal): one per fact that changed since `before`. */
export function changeLines(before: Progress | undefined, p: Progress): string[] {
  const out: string[] = [];
  const at = new Date().toISOString();
  if (!before || before.phase !== p.phase || before.message !== p.message) {
    out.push(`${at} ${p.node} phase ${p.phase}${p.message ? `: ${p.message}` : ''}`);
  }
  if (before && before.paused !== p.paused) out.push(`${at} ${p.node} ${p.paused ? 'paused' : 'resumed'}`);
  for (const vm of p.vms) {
    const old = before?.vms.find((v) => v.vmi === vm.vmi);
    if (!old || old.state !== vm.state) {
      out.push(`${at} ${p.node} vm ${vm.vmi} ${vm.state}${vm.targetNode ? ` → ${vm.targetNode}` : ''}`);
    }
  }
  if (p.pods.total > 0 && (!before || before.pods.evicted !== p.pods.evicted)) {
    out.push(`${at} ${p.node} pods evicted ${p.pods.evicted}/${p.pods.total}`);
  }
  for (const d of p.decisionsPending) {
    if (!before?.decisionsPending.some((x) => x.vmi === d.vmi)) {
      out.push(`${at} ${p.node} decision needed for ${d.vmi}: ${d.reason} (allowed: ${d.allowed.join(', ')})`);
    }
  }
  if (p.hold && !p.hold.released && !before?.hold)
    out.push(`${at} ${p.node} holding: release it when the repair is done`);
  return out;
}

export function viewLines(view: MaintenanceView): string[] {
  const head = `${view.workflowId}  ${view.status}  started ${view.startTime}${view.closeTime ? `  closed ${view.closeTime}` : ''}`;
  if (view.progress) return [head, ...progressLines(view.progress)];
  const lines = [head, `  phase ${view.phase ?? 'unknown'}`];
  if (view.result) {
    lines.push(`  outcome ${view.result.outcome}`);
    if (view.result.summary) {
      const s = view.result.summary;
      lines.push(
        `  migrated ${s.migrated}, restored ${s.restored}, left off ${s.leftOff}, deleted ${s.deleted}, pods evicted ${s.podsEvicted}`,
      );
    }
  }
  if (view.failure) lines.push(`  ${view.failure.type}: ${view.failure.message}`);
  return lines;
}

export function planLines(result: {
  node: string;
  verdict: { ok: boolean; refusals: { message: string }[]; plan: { vmi: string; action: string; reason?: string }[] };
}): string[] {
  const v = result.verdict;
  const lines = [`plan for ${result.node}: ${v.ok ? 'preflight passes' : 'preflight would REFUSE'}`];
  for (const r of v.refusals) lines.push(`  refused: ${r.message}`);
  for (const p of v.plan) lines.push(`  ${p.vmi.padEnd(32)} ${p.action}${p.reason ? `  (${p.reason})` : ''}`);
  if (v.plan.length === 0) lines.push('  no VMs on the node');
  return lines;
}

export function runLines(runs: RunSummary[]): string[] {
  if (runs.length === 0) return ['(none)'];
  return runs.map(
    (r) =>
      `${r.workflowId.padEnd(40)} ${r.status.padEnd(10)} ${(r.phase ?? '').padEnd(12)} ${r.startTime}${r.closeTime ? `  → ${r.closeTime}` : ''}`,
  );
}

export function rollingLines(view: RollingView): string[] {
  const head = `${view.workflowId}  ${view.status}  started ${view.startTime}`;
  const p: RollingProgress | undefined = view.progress;
  if (!p) return [head, ...(view.failure ? [`  ${view.failure.type}: ${view.failure.message}`] : [])];
  const done = p.nodes.filter((n) => ['completed', 'failed', 'refused', 'skipped'].includes(n.state)).length;
  const lines = [
    head,
    `  ${p.status}${p.message ? `: ${p.message}` : ''}  failures ${p.failures}/${p.maxFailures}  max unavailable ${p.maxUnavailable}`,
    `  nodes ${bar(done, p.nodes.length)}  ${done}/${p.nodes.length}`,
  ];
  for (const n of p.nodes) {
    lines.push(`    ${n.node.padEnd(24)} ${n.state.padEnd(10)} ${n.phase ?? ''}${n.message ? `  ${n.message}` : ''}`);
    for (const d of n.decisionsPending) lines.push(`      DECISION NEEDED ${d.vmi}: ${d.reason}`);
  }
  return lines;
}
