// The roll's progress as markdown for the Temporal UI's "current details" pane.
import type { RollingNodeRow, RollingProgress } from '../../domain/rollingProgress.js';

const cell = (text: string | undefined) => (text ?? '').replace(/\|/g, '/').replace(/\n/g, ' ');

/** The progress as markdown for the Temporal UI's current details. */
export function rollingMarkdown(p: RollingProgress): string {
  const count = (s: RollingNodeRow['state']) => p.nodes.filter((r) => r.state === s).length;
  return [
    `## Rolling maintenance ${p.name}: ${p.status}`,
    ...(p.message ? [p.message] : []),
    ...(p.nextWindowAt ? [`Next window opens at ${p.nextWindowAt}.`] : []),
    '',
    `${count('completed')} completed, ${count('running')} running (max ${p.maxUnavailable}), ${count('pending')} pending, ` +
      `${p.failures} failed (max ${p.maxFailures}), ${count('skipped')} skipped; continued as new ${p.runs} times.`,
    '',
    '| node | state | phase | VMs | decisions pending | note |',
    '|---|---|---|---|---|---|',
    ...p.nodes.map(
      (r) =>
        `| ${r.node} | **${r.state}** | ${r.phase ?? ''} | ${r.vmCount ?? ''} | ` +
        `${r.decisionsPending.map((d) => d.vmi).join(', ')} | ${cell(r.message)} |`,
    ),
  ].join('\n');
}
