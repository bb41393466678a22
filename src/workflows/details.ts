// The progress as markdown for the Temporal UI's "current details" pane.
import { formatBytes, type PreflightVerdict } from '../domain/preflight.js';
import type { Progress } from './messages.js';

function verdictMarkdown(v: PreflightVerdict): string {
  const lines = [
    v.ok ? '**Preflight passed.**' : '**Preflight refused:**',
    ...v.refusals.map((r) => `- \`${r.code}\`: ${r.message}`),
    ...(v.warnings.length ? ['', '**Warnings**', ...v.warnings.map((w) => `- ${w}`)] : []),
    '',
    `Capacity: ${formatBytes(v.capacity.neededBytes)} needed elsewhere, ${formatBytes(v.capacity.freeBytes)} free.`,
    '',
    '| VMI | strategy | action | restore | why |',
    '|---|---|---|---|---|',
    ...v.plan.map((p) => `| ${p.vmi} | ${p.strategy} | ${p.action} | ${p.restore} | ${p.reason.replace(/\|/g, '/')} |`),
  ];
  return lines.join('\n');
}

export function progressMarkdown(p: Progress): string {
  const head = `### Maintenance of \`${p.node}\`${p.dryRun ? ' (dry run)' : ''}\nPhase: **${p.phase}**${p.message ? ` — ${p.message}` : ''}`;
  return p.verdict ? `${head}\n\n${verdictMarkdown(p.verdict)}` : head;
}
