// The Alertmanager hook's settings: the label that names the node, and the alert table (src/domain/alertRules.ts)
// from PITSTOP_ALERTMANAGER_RULES_FILE, else PITSTOP_ALERTMANAGER_RULES, else the default table. Every problem of
// the table is reported at once, each prefixed with where the table came from.
import { readFileSync } from 'node:fs';
import { defaultAlertRules, readAlertRules, type AlertRule } from '../domain/alertRules.js';
import { unreadable, type Getter } from './read.js';
import { CONFIG_VARIABLES } from './variables.js';

export interface AlertmanagerSettings {
  /** The label that names the node, for rules that name none (and the default table). */
  nodeLabel: string;
  rules: AlertRule[];
}

export function readAlertmanager(get: Getter, problems: string[]): AlertmanagerSettings {
  const nodeLabel = get('PITSTOP_ALERTMANAGER_NODE_LABEL') ?? CONFIG_VARIABLES.PITSTOP_ALERTMANAGER_NODE_LABEL.default;
  const file = get('PITSTOP_ALERTMANAGER_RULES_FILE');
  const inline = get('PITSTOP_ALERTMANAGER_RULES');
  let source: string;
  let text: string;
  if (file) {
    const why = unreadable(file);
    if (why) {
      problems.push(`PITSTOP_ALERTMANAGER_RULES_FILE ${file} cannot be read (${why})`);
      return { nodeLabel, rules: defaultAlertRules(nodeLabel) };
    }
    if (inline) problems.push('PITSTOP_ALERTMANAGER_RULES_FILE and PITSTOP_ALERTMANAGER_RULES are both set: keep one');
    source = `PITSTOP_ALERTMANAGER_RULES_FILE ${file}`;
    text = readFileSync(file, 'utf8');
  } else if (inline) {
    source = 'PITSTOP_ALERTMANAGER_RULES';
    text = inline;
  } else return { nodeLabel, rules: defaultAlertRules(nodeLabel) };
  const read = readAlertRules(text, nodeLabel);
  problems.push(...read.problems.map((problem) => `${source}: ${problem}`));
  return { nodeLabel, rules: read.rules };
}
