// The Alertmanager hook's alert table: Alertmanager's matchers and their anchoring, the default table with
// kube-prometheus' real alerts, first match wins, per-node precedence (repair over planned, ignore only when
// unanimous), and a bad table reported whole.
import { describe, expect, it } from 'vitest';
import {
  decideAlerts,
  defaultAlertRules,
  judgeAlert,
  matcherMatches,
  parseMatcher,
  readAlertRules,
  type AlertFacts,
  type AlertRule,
  type LabelMatcher,
} from '../../src/domain/alertRules.js';

const firing = (labels: Record<string, string>): AlertFacts => ({ status: 'firing', labels });

function matcher(text: string): LabelMatcher {
  const parsed = parseMatcher(text);
  if ('problem' in parsed) throw new Error(parsed.problem);
  return parsed;
}

function table(json: unknown, nodeLabel = 'node'): AlertRule[] {
  const { rules, problems } = readAlertRules(JSON.stringify(json), nodeLabel);
  expect(problems).toEqual([]);
  return rules;
}

describe('matchers, as Alertmanager writes and applies them', () => {
  it('parses the four operators, quoted or not, with whitespace and OpenMetrics escapes', () => {
    expect(matcher('severity="critical"')).toEqual({ label: 'severity', op: '=', value: 'critical' });
    expect(matcher('  severity != warning ')).toEqual({ label: 'severity', op: '!=', value: 'warning' });
    expect(matcher('job=~"node-exporter|kubelet"')).toMatchObject({ label: 'job', op: '=~' });
    expect(matcher('instance!~ "cp-.*"')).toMatchObject({ label: 'instance', op: '!~', value: 'cp-.*' });
    expect(matcher('summary="say \\"hi\\"\\nback\\\\slash"').value).toBe('say "hi"\nback\\slash');
    expect(matcher('empty=""').value).toBe('');
    expect(matcher('empty=').value).toBe('');
  });

  it('says what is wrong with a matcher that is not one', () => {
    const problem = (text: string) => {
      const parsed = parseMatcher(text);
      return 'problem' in parsed ? parsed.problem : undefined;
    };
    expect(problem('severity')).toMatch(/is not a matcher: use label=value, !=, =~ or !~/);
    expect(problem('1abc="x"')).toMatch(/is not a matcher/);
    expect(problem('severity=="x"')).toMatch(/unescaped double quote/);
    expect(problem('a="x')).toMatch(/no closing double quote/);
    expect(problem('a="x"y"')).toMatch(/unescaped double quote/);
    expect(problem('node=~"worker-(["')).toMatch(/not a valid regular expression/);
  });

  it('anchors regexes at both ends, around the whole alternation', () => {
    const one = matcher('node=~"worker-1"');
    expect(matcherMatches(one, { node: 'worker-1' })).toBe(true);
    expect(matcherMatches(one, { node: 'worker-10' })).toBe(false);
    expect(matcherMatches(one, { node: 'my-worker-1' })).toBe(false);
    const either = matcher('alertname=~"KubeNode.*|NodeRAID.*"');
    expect(matcherMatches(either, { alertname: 'KubeNodeNotReady' })).toBe(true);
    expect(matcherMatches(either, { alertname: 'NodeRAIDDegraded' })).toBe(true);
    // Unanchored, "|" would let "XNodeRAIDDegraded" match its second half, and "KubeNodeX-suffix" its first.
    expect(matcherMatches(either, { alertname: 'XNodeRAIDDegraded' })).toBe(false);
    const not = matcher('node!~"cp-.*"');
    expect(matcherMatches(not, { node: 'cp-1' })).toBe(false);
    expect(matcherMatches(not, { node: 'worker-cp-1' })).toBe(true);
    // RE2's leading (?i) is honoured.
    expect(matcherMatches(matcher('severity=~"(?i)critical"'), { severity: 'CRITICAL' })).toBe(true);
  });

  it('reads a missing label as the empty string', () => {
    expect(matcherMatches(matcher('node!="worker-1"'), {})).toBe(true);
    expect(matcherMatches(matcher('node=""'), {})).toBe(true);
    expect(matcherMatches(matcher('node!=""'), {})).toBe(false);
    expect(matcherMatches(matcher('node=~".+"'), {})).toBe(false);
    expect(matcherMatches(matcher('node=~".*"'), {})).toBe(true);
  });
});

describe('the default table', () => {
  const rules = defaultAlertRules('node');

  it('repairs a node kube-state-metrics reports NotReady or unreachable (kubernetes-mixin)', () => {
    for (const alertname of ['KubeNodeNotReady', 'KubeNodeUnreachable']) {
      const labels = { alertname, node: 'worker-3', job: 'kube-state-metrics', instance: '10.2.0.7:8443' };
      expect(judgeAlert(rules, firing(labels))).toMatchObject({
        kind: 'node',
        node: 'worker-3',
        action: 'repair',
        rule: { name: 'node-down' },
      });
    }
  });

  it('plans a drain for any other alert naming a node, and skips one that names none', () => {
    expect(judgeAlert(rules, firing({ alertname: 'KubeNodeReadinessFlapping', node: 'worker-2' }))).toMatchObject({
      kind: 'node',
      action: 'planned',
      rule: { name: 'names-a-node' },
    });
    // KubeletDown is absent(up{job="kubelet", metrics_path="/metrics"} == 1): only those labels, no node.
    expect(judgeAlert(rules, firing({ alertname: 'KubeletDown', job: 'kubelet', metrics_path: '/metrics' }))).toEqual({
      kind: 'noNode',
      rule: rules[1],
    });
    // node-exporter alerts carry the node as `instance` (kube-prometheus relabels it): not `node`.
    const disk = firing({ alertname: 'NodeFilesystemAlmostOutOfSpace', instance: 'worker-4', mountpoint: '/' });
    expect(judgeAlert(rules, disk)).toMatchObject({ kind: 'noNode' });
    expect(judgeAlert(defaultAlertRules('instance'), disk)).toMatchObject({ kind: 'node', node: 'worker-4' });
  });

  it('starts nothing from a resolved alert, and names a label value that is no node name', () => {
    expect(judgeAlert(rules, { status: 'resolved', labels: { alertname: 'KubeNodeNotReady', node: 'w-1' } })).toEqual({
      kind: 'resolved',
    });
    expect(judgeAlert(rules, firing({ alertname: 'KubeNodeNotReady', node: 'Worker_1' }))).toMatchObject({
      kind: 'badNode',
      problem: expect.stringMatching(/not a valid node name/),
    });
  });
});

describe('a configured table', () => {
  const rules = table(
    [
      { name: 'control-plane', matchers: ['node=~"cp-.*"'], action: 'ignore' },
      { alertname: ['KubeNodeNotReady', 'KubeNodeUnreachable'], action: 'repair' },
      {
        name: 'hardware',
        alertname: ['NodeRAIDDiskFailure', 'NodeRAIDDegraded'],
        nodeLabel: 'instance',
        action: 'planned',
      },
      {
        name: 'disk',
        matchers: ['alertname="NodeFilesystemAlmostOutOfSpace"', 'mountpoint="/"'],
        nodeLabel: 'instance',
        action: 'planned',
      },
      { name: 'noise', matchers: ['severity!~"critical|warning"'], action: 'ignore' },
      { name: 'rest', action: 'planned' },
    ],
    'node',
  );

  it('names unnamed rules by position and gives rules without nodeLabel the default one', () => {
    expect(rules.map((r) => [r.name, r.nodeLabel, r.action])).toEqual([
      ['control-plane', 'node', 'ignore'],
      ['#2', 'node', 'repair'],
      ['hardware', 'instance', 'planned'],
      ['disk', 'instance', 'planned'],
      ['noise', 'node', 'ignore'],
      ['rest', 'node', 'planned'],
    ]);
  });

  it('lets the first matching rule decide, even over a later, stronger one', () => {
    const cp = judgeAlert(rules, firing({ alertname: 'KubeNodeNotReady', node: 'cp-1', severity: 'warning' }));
    expect(cp).toMatchObject({ kind: 'node', action: 'ignore', rule: { name: 'control-plane' } });
    const raid = judgeAlert(
      rules,
      firing({ alertname: 'NodeRAIDDegraded', instance: 'worker-5', severity: 'critical' }),
    );
    expect(raid).toMatchObject({ kind: 'node', node: 'worker-5', action: 'planned', rule: { name: 'hardware' } });
  });

  it('needs every matcher of a rule (and its alertname) to hold', () => {
    const root = firing({ alertname: 'NodeFilesystemAlmostOutOfSpace', instance: 'worker-6', mountpoint: '/' });
    expect(judgeAlert(rules, root)).toMatchObject({ rule: { name: 'disk' }, node: 'worker-6' });
    const scratch = firing({
      alertname: 'NodeFilesystemAlmostOutOfSpace',
      instance: 'worker-6',
      mountpoint: '/scratch',
      severity: 'warning',
    });
    // Not "disk" (mountpoint), so "rest", whose label is `node`: this alert names none.
    expect(judgeAlert(rules, scratch)).toMatchObject({ kind: 'noNode', rule: { name: 'rest' } });
    expect(judgeAlert(rules, firing({ alertname: 'Watchdog', severity: 'none', node: 'worker-1' }))).toMatchObject({
      action: 'ignore',
      rule: { name: 'noise' },
    });
  });

  it('starts nothing from an alert no rule matches', () => {
    const only = table([{ alertname: 'KubeNodeNotReady', action: 'repair' }]);
    expect(judgeAlert(only, firing({ alertname: 'KubeNodeUnreachable', node: 'worker-1' }))).toEqual({
      kind: 'unmatched',
    });
  });
});

describe('one payload, several alerts per node', () => {
  const rules = table([
    { name: 'down', alertname: 'KubeNodeNotReady', action: 'repair' },
    { name: 'quiet', alertname: 'KubeNodeReadinessFlapping', action: 'ignore' },
    { name: 'rest', action: 'planned' },
  ]);
  const alert = (alertname: string, node?: string, status: 'firing' | 'resolved' = 'firing'): AlertFacts => ({
    status,
    labels: { alertname, ...(node && { node }) },
  });

  it('repairs a node when any of its alerts says repair, answering all its non-ignored alerts', () => {
    const { nodes, skipped } = decideAlerts(rules, [
      alert('KubeletTooManyPods', 'worker-1'),
      alert('KubeNodeReadinessFlapping', 'worker-1'),
      alert('KubeNodeNotReady', 'worker-1'),
      alert('KubePersistentVolumeFillingUp', 'worker-1'),
    ]);
    expect(nodes).toEqual([{ node: 'worker-1', mode: 'repair', rule: 'down', decidedBy: 2, alerts: [0, 2, 3] }]);
    // The ignored alert is reported: it did not decide anything.
    expect(skipped).toEqual([
      { index: 1, node: 'worker-1', rule: 'quiet', action: 'ignore', reason: 'rule quiet says ignore' },
    ]);
  });

  it('plans a drain when the alerts only ask for planned, decided by the first one', () => {
    const { nodes } = decideAlerts(rules, [alert('A', 'worker-2'), alert('B', 'worker-2'), alert('C', 'worker-3')]);
    expect(nodes).toEqual([
      { node: 'worker-2', mode: 'planned', rule: 'rest', decidedBy: 0, alerts: [0, 1] },
      { node: 'worker-3', mode: 'planned', rule: 'rest', decidedBy: 2, alerts: [2] },
    ]);
  });

  it('leaves a node alone only when every alert naming it says ignore', () => {
    const ignored = decideAlerts(rules, [
      alert('KubeNodeReadinessFlapping', 'worker-4'),
      alert('KubeNodeReadinessFlapping', 'worker-4'),
    ]);
    expect(ignored.nodes).toEqual([]);
    expect(ignored.skipped.map((s) => [s.index, s.reason])).toEqual([
      [0, 'rule quiet says ignore'],
      [1, 'rule quiet says ignore'],
    ]);
    const mixed = decideAlerts(rules, [alert('KubeNodeReadinessFlapping', 'worker-4'), alert('X', 'worker-4')]);
    expect(mixed.nodes).toMatchObject([{ node: 'worker-4', mode: 'planned', alerts: [1] }]);
  });

  it('counts firing alerts only: a resolved repair alert does not turn a planned node into a repair', () => {
    const { nodes, skipped } = decideAlerts(rules, [
      alert('KubeNodeNotReady', 'worker-5', 'resolved'),
      alert('X', 'worker-5'),
      alert('Y'),
    ]);
    expect(nodes).toEqual([{ node: 'worker-5', mode: 'planned', rule: 'rest', decidedBy: 1, alerts: [1] }]);
    expect(skipped).toEqual([
      { index: 0, reason: 'resolved: only firing alerts start anything' },
      { index: 2, rule: 'rest', action: 'planned', reason: 'no "node" label: it does not name a node' },
    ]);
  });
});

describe('reading a table', () => {
  it('reports every problem of a bad table at once, each where it is', () => {
    const { problems } = readAlertRules(
      JSON.stringify([
        { alertname: 'KubeNodeNotReady', action: 'repiar' },
        { name: 'disk', matchers: ['mountpoint="/"', 'severity=~"(critical"', 'oops'], aciton: 'planned' },
        'KubeNodeUnreachable',
        { name: 'disk', alertname: [], nodeLabel: '', action: 'ignore' },
        { matchers: 'severity="critical"', action: 'planned' },
        { action: 'planned' },
        { name: 'late', alertname: 'NodeRAIDDegraded', action: 'repair' },
      ]),
      'node',
    );
    expect(problems).toEqual([
      '[0].action: "repiar" is not one of repair, planned, ignore (did you mean "repair"?)',
      '[1]: unknown field "aciton" (did you mean "action"?) (fields: name, alertname, matchers, nodeLabel, action)',
      expect.stringMatching(/^\[1\]\.matchers\[1\]: "severity=~\\"\(critical\\"": not a valid regular expression/),
      '[1].matchers[2]: "oops" is not a matcher: use label=value, !=, =~ or !~',
      '[1].action: required: repair, planned, ignore',
      '[2]: expected an object such as {"alertname": "KubeNodeNotReady", "action": "repair"}',
      '[3].alertname: expected an alert name or a non-empty list of them',
      '[3].nodeLabel: expected the name of the label that names the node, e.g. "instance"',
      '[4].matchers: expected a list of matchers such as ["severity=~\\"critical|warning\\""]',
      '[3].name: "disk" is already the name of [1]',
      '[6]: never used: [5] before it matches every alert (it has no alertname or matchers)',
    ]);
  });

  it('refuses what is not a non-empty JSON list', () => {
    expect(readAlertRules('[{"action": "repair"', 'node').problems).toEqual([expect.stringMatching(/^not JSON \(/)]);
    expect(readAlertRules('{"action": "repair"}', 'node').problems).toEqual([
      'expected a JSON list of rules, e.g. [{"alertname": "X", "action": "repair"}]',
    ]);
    expect(readAlertRules('[]', 'node').problems).toEqual([
      'no rule: to start nothing from any alert, give [{"action": "ignore"}]',
    ]);
  });

  it('reads the default table written out as the same rules', () => {
    const written = table([
      { name: 'node-down', alertname: ['KubeNodeNotReady', 'KubeNodeUnreachable'], action: 'repair' },
      { name: 'names-a-node', action: 'planned' },
    ]);
    expect(written).toEqual(defaultAlertRules('node'));
  });
});
