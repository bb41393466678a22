/** The phrases a plan's one-sentence reason is made of, shown in the preflight verdict and in progress. */
import { formatDuration } from './durations.js';
import type { MaintenancePolicy } from './policy.js';
import { STRATEGY_LABEL } from './contract.js';
import type { VmFacts } from './vmFacts.js';
import { allowedDecisions } from './vmPlan.js';

export function strategyText(vm: VmFacts, strategy: string): string {
  return vm.evictionStrategy ? `evictionStrategy ${strategy}` : `evictionStrategy ${strategy} (cluster default)`;
}

/** Long condition messages are cut at a word boundary: the reason must stay one readable sentence. */
function shorten(text: string, max: number): string {
  if (text.length <= max) return text;
  const cut = text.slice(0, max - 3);
  const space = cut.lastIndexOf(' ');
  return `${space > max / 2 ? cut.slice(0, space) : cut}...`;
}

export function notMigratableText(vm: VmFacts): string {
  const detail = vm.notMigratableMessage ? shorten(vm.notMigratableMessage, 100) : undefined;
  const why = [vm.notMigratableReason, detail].filter(Boolean).join(': ');
  return why ? `not live-migratable (${why})` : 'not live-migratable';
}

function listOr(words: readonly string[]): string {
  if (words.length <= 1) return words.join('');
  return `${words.slice(0, -1).join(', ')} or ${words[words.length - 1] ?? ''}`;
}

/** Who decides, which answers they have, by when, and what happens if nobody answers. */
export function askOperator(vm: VmFacts, policy: MaintenancePolicy): string {
  const then = policy.escalation.onTimeout === 'abort' ? 'roll back' : 'shut it down';
  const within = formatDuration(policy.escalation.decisionTimeoutMs);
  return `an operator must decide (${listOr(allowedDecisions(vm))}) within ${within}, else ${then}`;
}

export function labelText(value: string): string {
  return `label ${STRATEGY_LABEL}=${value}`;
}
