// Alertmanager's label matchers for the alert table (src/domain/alertRules.ts): parsed from its classic syntax and
// matched against an alert's labels as Alertmanager matches them.
export const MATCH_OPERATORS = ['=', '!=', '=~', '!~'] as const;
export type MatchOperator = (typeof MATCH_OPERATORS)[number];

export interface LabelMatcher {
  label: string;
  op: MatchOperator;
  value: string;
  /** For `=~` and `!~`: the value, anchored. */
  regex?: RegExp;
}

// Alertmanager's classic matcher (pkg/labels/parse.go): a Prometheus label name, an operator ('=~' before '='), and
// a value that may be double-quoted, with OpenMetrics escapes (\" \n \\) inside.
const MATCHER = /^\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(=~|=|!=|!~)\s*([\s\S]*?)\s*$/;

/** The anchored regex Alertmanager builds (`^(?:v)$`); a leading `(?i)` (RE2's inline flag) becomes the `i` flag. */
export function anchoredRegex(value: string): RegExp {
  const insensitive = value.startsWith('(?i)');
  return new RegExp(`^(?:${insensitive ? value.slice(4) : value})$`, insensitive ? 'i' : '');
}

function unquote(raw: string): { value: string } | { problem: string } {
  const quoted = raw.startsWith('"');
  const body = quoted ? raw.slice(1) : raw;
  let value = '';
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (c === '\\' && i < body.length - 1) {
      const next = body[++i];
      value += next === 'n' ? '\n' : next === '"' || next === '\\' ? next : `\\${next}`;
    } else if (c === '"') {
      if (!quoted || i < body.length - 1) return { problem: 'the value contains an unescaped double quote' };
      return { value };
    } else value += c;
  }
  return quoted ? { problem: 'the value has no closing double quote' } : { value };
}

/** A matcher from Alertmanager's syntax (`severity=~"critical|warning"`), or why it is not one. */
export function parseMatcher(text: string): LabelMatcher | { problem: string } {
  const m = MATCHER.exec(text);
  if (!m) return { problem: `${JSON.stringify(text)} is not a matcher: use label=value, !=, =~ or !~` };
  const [, label = '', op = '=', raw = ''] = m;
  const unquoted = unquote(raw);
  if ('problem' in unquoted) return { problem: `${JSON.stringify(text)}: ${unquoted.problem}` };
  const matcher: LabelMatcher = { label, op: op as MatchOperator, value: unquoted.value };
  if (op === '=~' || op === '!~') {
    try {
      matcher.regex = anchoredRegex(unquoted.value);
    } catch (e) {
      return { problem: `${JSON.stringify(text)}: not a valid regular expression (${(e as Error).message})` };
    }
  }
  return matcher;
}

/** Whether the labels satisfy the matcher; a missing label is the empty string, as in Alertmanager. */
export function matcherMatches(matcher: LabelMatcher, labels: Readonly<Record<string, string>>): boolean {
  const value = labels[matcher.label] ?? '';
  switch (matcher.op) {
    case '=':
      return value === matcher.value;
    case '!=':
      return value !== matcher.value;
    case '=~':
      return matcher.regex?.test(value) ?? false;
    case '!~':
      return !(matcher.regex?.test(value) ?? false);
  }
}
