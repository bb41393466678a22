// The progress as markdown for the Temporal UI's "current details" pane.
import { formatBytes, type PreflightVerdict } from '../../domain/preflight.js';
import type { Progress } from '../../domain/progress.js';

const cell = (text: string | undefined) => (text ?? '').replace(/\|/g, '/');

function verdictMarkdown(v: PreflightVerdict): string[] {
  return [
    v.ok ? '**Preflight passed.**' : '**Preflight refused:**',
    ...v.refusals.map((r) => `- \`${r.code}\`: ${r.message}`),
    ...(v.warnings.length ? ['', '**Warnings**', ...v.warnings.map((w) => `- ${w}`)] : []),
    '',
    `Capacity: ${formatBytes(v.capacity.neededBytes)} needed elsewhere, ${formatBytes(v.capacity.freeBytes)} free.`,
  ];
}

function planTable(v: PreflightVerdict): string[] {
  return [
    '| VMI | strategy | action | restore | why |',
    '|---|---|---|---|---|',
    ...v.plan.map((p) => `| ${p.vmi} | ${p.strategy} | ${p.action} | ${p.restore} | ${cell(p.reason)} |`),
  ];
}

function vmTable(p: Progress): string[] {
  return [
    '| VMI | action | state | attempts | target | note |',
    '|---|---|---|---|---|---|',
    ...p.vms.map(
      (r) => `| ${r.vmi} | ${r.action} | **${r.state}** | ${r.attempts} | ${r.targetNode ?? ''} | ${cell(r.message)} |`,
    ),
  ];
}

export function progressMarkdown(p: Progress): string {
  const lines = [
    `### Maintenance of \`${p.node}\`${p.dryRun ? ' (dry run)' : ''}`,
    `Phase: **${p.phase}**${p.message ? ` — ${p.message}` : ''}${p.paused ? ' — **paused** (send the `resume` update)' : ''}`,
  ];
  if (p.decisionsPending.length) {
    // The blank line makes the UI's markdown renderer start a list instead of running the items into the heading.
    lines.push('', '**Waiting for a decision** (send the `decide` update):', '');
    for (const d of p.decisionsPending) {
      lines.push(
        `- \`{"vmi":"${d.vmi}","action":"${d.allowed[0]}"}\` — ${d.reason}; allowed: ${d.allowed.join(', ')}; deadline ${d.deadline}`,
      );
    }
  }
  if (p.phase === 'Hold')
    lines.push(
      '',
      `Powered ${p.power}. Send the \`release\` update when the repair is done (deadline ${p.hold?.deadline}).`,
    );
  if (p.vms.length) {
    lines.push(
      '',
      `Drain: ${p.drainProgress}% · pods evicted ${p.pods.evicted}, blocked ${p.pods.blocked}`,
      '',
      ...vmTable(p),
    );
  } else if (p.verdict) {
    lines.push('', ...verdictMarkdown(p.verdict), '', ...planTable(p.verdict));
  }
  return lines.join('\n');
}
