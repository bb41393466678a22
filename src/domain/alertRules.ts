/**
 * The Alertmanager hook's action table: for each alert, which runbook it asks for on the node it names. Pure: the
 * configuration reads the table (every problem at once), the hook (src/api/alertmanager.ts) applies it.
 *
 * A rule matches an alert by `alertname` (one name or a list) and/or Alertmanager matchers (`label=value`,
 * `label!=value`, `label=~regex`, `label!~regex`, Alertmanager's classic matcher syntax, regexes anchored at both
 * ends as Alertmanager anchors them: `^(?:regex)$`); all of them must hold. The first rule that matches decides:
 * its `nodeLabel` names the node (default: PITSTOP_ALERTMANAGER_NODE_LABEL) and its `action` says what to do
 * (`repair`: the fence-and-recover runbook, `planned`: the drain runbook, `ignore`: nothing). An alert no rule
 * matches starts nothing. Per node, repair wins over planned, and a node is left alone only when every alert
 * naming it says ignore.
 */
import { matcherMatches, parseMatcher, type LabelMatcher } from './alertMatchers.js';
import { nameProblem } from './names.js';
import { didYouMean } from './suggest.js';

// The matcher vocabulary, so callers import the table from one place.
export {
  anchoredRegex,
  matcherMatches,
  parseMatcher,
  MATCH_OPERATORS,
  type LabelMatcher,
  type MatchOperator,
} from './alertMatchers.js';

export const ALERT_ACTIONS = ['repair', 'planned', 'ignore'] as const;
export type AlertAction = (typeof ALERT_ACTIONS)[number];
/** What a node gets: an action other than ignore (a maintenance `mode`). */
export type AlertMode = Exclude<AlertAction, 'ignore'>;

export interface AlertRule {
  /** How answers and logs name the rule: its `name`, else `#<position>` (1-based). */
  name: string;
  /** The alert's `alertname` is one of these (absent: any alertname). */
  alertnames?: string[];
  matchers: LabelMatcher[];
  /** The label whose value is the node's name. */
  nodeLabel: string;
  action: AlertAction;
}

/** The default table: a node that is down is repaired, any other alert naming a node asks for a planned drain. */
export function defaultAlertRules(nodeLabel: string): AlertRule[] {
  return [
    {
      name: 'node-down',
      alertnames: ['KubeNodeNotReady', 'KubeNodeUnreachable'],
      matchers: [],
      nodeLabel,
      action: 'repair',
    },
    { name: 'names-a-node', matchers: [], nodeLabel, action: 'planned' },
  ];
}

export function ruleMatches(rule: AlertRule, labels: Readonly<Record<string, string>>): boolean {
  if (rule.alertnames && !rule.alertnames.includes(labels.alertname ?? '')) return false;
  return rule.matchers.every((matcher) => matcherMatches(matcher, labels));
}

export const firstMatchingRule = (rules: readonly AlertRule[], labels: Readonly<Record<string, string>>) =>
  rules.find((rule) => ruleMatches(rule, labels));

const RULE_FIELDS = ['name', 'alertname', 'matchers', 'nodeLabel', 'action'];

const isStringList = (value: unknown): value is string[] =>
  Array.isArray(value) && value.every((item) => typeof item === 'string');

function readRule(raw: unknown, at: string, index: number, defaultNodeLabel: string, problems: string[]) {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    problems.push(`${at}: expected an object such as {"alertname": "KubeNodeNotReady", "action": "repair"}`);
    return undefined;
  }
  const fields = raw as Record<string, unknown>;
  const before = problems.length;
  for (const key of Object.keys(fields)) {
    if (!RULE_FIELDS.includes(key))
      problems.push(`${at}: unknown field "${key}"${didYouMean(key, RULE_FIELDS)} (fields: ${RULE_FIELDS.join(', ')})`);
  }
  const { name, alertname, matchers = [], nodeLabel = defaultNodeLabel, action } = fields;
  if (name !== undefined && (typeof name !== 'string' || name.trim() === ''))
    problems.push(`${at}.name: expected a non-empty text`);
  let alertnames: string[] | undefined;
  if (alertname !== undefined) {
    alertnames = typeof alertname === 'string' ? [alertname] : isStringList(alertname) ? alertname : undefined;
    if (!alertnames || alertnames.length === 0 || alertnames.some((a) => a === ''))
      problems.push(`${at}.alertname: expected an alert name or a non-empty list of them`);
  }
  const parsed: LabelMatcher[] = [];
  if (!isStringList(matchers)) {
    problems.push(`${at}.matchers: expected a list of matchers such as ["severity=~\\"critical|warning\\""]`);
  } else {
    matchers.forEach((text, i) => {
      const matcher = parseMatcher(text);
      if ('problem' in matcher) problems.push(`${at}.matchers[${i}]: ${matcher.problem}`);
      else parsed.push(matcher);
    });
  }
  if (typeof nodeLabel !== 'string' || nodeLabel.trim() === '')
    problems.push(`${at}.nodeLabel: expected the name of the label that names the node, e.g. "instance"`);
  if (action === undefined) problems.push(`${at}.action: required: ${ALERT_ACTIONS.join(', ')}`);
  else if (typeof action !== 'string' || !(ALERT_ACTIONS as readonly string[]).includes(action)) {
    const shown = typeof action === 'string' ? `"${action}"` : JSON.stringify(action);
    const hint = typeof action === 'string' ? didYouMean(action, ALERT_ACTIONS) : '';
    problems.push(`${at}.action: ${shown} is not one of ${ALERT_ACTIONS.join(', ')}${hint}`);
  }
  if (problems.length > before) return undefined;
  return {
    name: (name as string | undefined)?.trim() ?? `#${index + 1}`,
    ...(alertnames && { alertnames }),
    matchers: parsed,
    nodeLabel: (nodeLabel as string).trim(),
    action: action as AlertAction,
  } satisfies AlertRule;
}

/**
 * The table from its JSON text (a list of rules), each problem one line starting with where it is (`[2].action`);
 * `rules` is only complete when `problems` is empty.
 */
export function readAlertRules(text: string, defaultNodeLabel: string): { rules: AlertRule[]; problems: string[] } {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    return { rules: [], problems: [`not JSON (${(e as Error).message})`] };
  }
  if (!Array.isArray(raw))
    return { rules: [], problems: ['expected a JSON list of rules, e.g. [{"alertname": "X", "action": "repair"}]'] };
  if (raw.length === 0)
    return { rules: [], problems: ['no rule: to start nothing from any alert, give [{"action": "ignore"}]'] };
  const problems: string[] = [];
  const rules: AlertRule[] = [];
  raw.forEach((item, index) => {
    const rule = readRule(item, `[${index}]`, index, defaultNodeLabel, problems);
    if (rule) rules.push(rule);
  });
  const seen = new Map<string, number>();
  let catchAll: number | undefined;
  raw.forEach((item, index) => {
    const fields = (typeof item === 'object' && item !== null ? item : {}) as Record<string, unknown>;
    if (typeof fields.name === 'string' && fields.name.trim() !== '') {
      const name = fields.name.trim();
      const first = seen.get(name);
      if (first !== undefined) problems.push(`[${index}].name: "${name}" is already the name of [${first}]`);
      else seen.set(name, index);
    }
    if (catchAll !== undefined) {
      problems.push(
        `[${index}]: never used: [${catchAll}] before it matches every alert (it has no alertname or matchers)`,
      );
      return;
    }
    const noMatchers =
      fields.matchers === undefined || (Array.isArray(fields.matchers) && fields.matchers.length === 0);
    if (typeof item === 'object' && item !== null && fields.alertname === undefined && noMatchers) catchAll = index;
  });
  return { rules, problems };
}

/** The minimum of an alert the table reads. */
export interface AlertFacts {
  status: 'firing' | 'resolved';
  labels: Readonly<Record<string, string>>;
}

/** What one alert asks for. */
export type AlertVerdict =
  | { kind: 'resolved' }
  | { kind: 'unmatched' }
  | { kind: 'noNode'; rule: AlertRule }
  | { kind: 'badNode'; rule: AlertRule; node: string; problem: string }
  | { kind: 'node'; rule: AlertRule; node: string; action: AlertAction };

export function judgeAlert(rules: readonly AlertRule[], alert: AlertFacts): AlertVerdict {
  if (alert.status !== 'firing') return { kind: 'resolved' };
  const rule = firstMatchingRule(rules, alert.labels);
  if (!rule) return { kind: 'unmatched' };
  const node = alert.labels[rule.nodeLabel];
  if (node === undefined || node === '') return { kind: 'noNode', rule };
  const problem = nameProblem(node, 'node');
  if (problem !== undefined) return { kind: 'badNode', rule, node, problem };
  return { kind: 'node', rule, node, action: rule.action };
}

/** A node some alert asks a maintenance for. */
export interface NodeDecision {
  node: string;
  mode: AlertMode;
  /** The rule of the first alert that asked for `mode`. */
  rule: string;
  /** Index (in the payload) of the alert that decided: the first one asking for `mode`. */
  decidedBy: number;
  /** Indexes of the alerts this maintenance answers (the node's alerts that did not say ignore), in payload order. */
  alerts: number[];
}

export interface AlertSkip {
  index: number;
  node?: string;
  rule?: string;
  action?: AlertAction;
  reason: string;
}

/**
 * Applies the table to a payload's alerts: one decision per node a non-ignored firing alert names, and a reason for
 * each alert that starts nothing by itself. Only firing alerts count.
 */
export function decideAlerts(
  rules: readonly AlertRule[],
  alerts: readonly AlertFacts[],
): { nodes: NodeDecision[]; skipped: AlertSkip[] } {
  const byNode = new Map<string, NodeDecision>();
  const skipped: AlertSkip[] = [];
  alerts.forEach((alert, index) => {
    const verdict = judgeAlert(rules, alert);
    switch (verdict.kind) {
      case 'resolved':
        skipped.push({ index, reason: 'resolved: only firing alerts start anything' });
        return;
      case 'unmatched':
        skipped.push({ index, reason: 'no rule of the alert table matches it' });
        return;
      case 'noNode': {
        const { name, nodeLabel, action } = verdict.rule;
        skipped.push({ index, rule: name, action, reason: `no "${nodeLabel}" label: it does not name a node` });
        return;
      }
      case 'badNode': {
        const { name, nodeLabel, action } = verdict.rule;
        skipped.push({
          index,
          node: verdict.node,
          rule: name,
          action,
          reason: `label "${nodeLabel}": ${verdict.problem}`,
        });
        return;
      }
      case 'node': {
        const { node, action, rule } = verdict;
        if (action === 'ignore') {
          skipped.push({ index, node, rule: rule.name, action, reason: `rule ${rule.name} says ignore` });
          return;
        }
        const existing = byNode.get(node);
        if (!existing) {
          byNode.set(node, { node, mode: action, rule: rule.name, decidedBy: index, alerts: [index] });
          return;
        }
        existing.alerts.push(index);
        if (action === 'repair' && existing.mode !== 'repair') {
          existing.mode = 'repair';
          existing.rule = rule.name;
          existing.decidedBy = index;
        }
      }
    }
  });
  return { nodes: [...byNode.values()], skipped };
}
