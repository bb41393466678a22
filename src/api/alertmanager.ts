/**
 * Alertmanager webhook (payload version 4): which maintenance each node named by a firing alert gets, under the
 * alert table (src/domain/alertRules.ts), merged per node. Pure: the server starts what this decides.
 * https://prometheus.io/docs/alerting/latest/configuration/#webhook_config
 */
import { z } from 'zod';
import { InvalidInputError } from '../domain/errors.js';
import { decideAlerts, type AlertAction, type AlertMode, type AlertRule } from '../domain/alertRules.js';

const alertSchema = z.looseObject({
  status: z.enum(['firing', 'resolved']),
  labels: z.record(z.string(), z.string()),
  annotations: z.record(z.string(), z.string()).default({}),
  startsAt: z.iso.datetime({ offset: true }),
  endsAt: z.string().optional(),
  generatorURL: z.string().optional(),
  fingerprint: z.string().optional(),
});

export const alertmanagerPayloadSchema = z.looseObject({
  version: z.literal('4', { error: 'expected "4" (Alertmanager webhook payload version 4)' }),
  groupKey: z.string().optional(),
  truncatedAlerts: z.int().min(0).optional(),
  status: z.enum(['firing', 'resolved']),
  receiver: z.string().optional(),
  groupLabels: z.record(z.string(), z.string()).optional(),
  commonLabels: z.record(z.string(), z.string()).optional(),
  commonAnnotations: z.record(z.string(), z.string()).optional(),
  externalURL: z.string().optional(),
  alerts: z.array(alertSchema).max(1000),
});

export type AlertmanagerPayload = z.output<typeof alertmanagerPayloadSchema>;
export type Alert = AlertmanagerPayload['alerts'][number];

export function parseAlertmanagerPayload(input: unknown): AlertmanagerPayload {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new InvalidInputError('input: expected an Alertmanager webhook payload (a JSON object with "alerts")');
  }
  const result = alertmanagerPayloadSchema.safeParse(input);
  if (!result.success) {
    throw new InvalidInputError(
      result.error.issues.map((issue) => {
        const where = issue.path.length ? issue.path.join('.') : 'input';
        return `${where}: ${issue.code === 'invalid_type' && issue.input === undefined ? 'required' : issue.message}`;
      }),
    );
  }
  return result.data;
}

/** How an alert is named in responses: alertname and fingerprint when present. */
export const alertName = (alert: Alert, index: number) =>
  `${alert.labels.alertname ?? `alert #${index + 1}`}${alert.fingerprint ? ` (${alert.fingerprint})` : ''}`;

export interface RepairCandidate {
  node: string;
  /** The runbook the node's alerts ask for (src/domain/alertRules.ts: repair wins over planned). */
  mode: AlertMode;
  /** The rule that chose `mode`. */
  rule: string;
  /** The alerts this maintenance answers (the deciding one gives the reason). */
  alerts: string[];
  /** The earliest startsAt among them: a maintenance started since then already answered them. */
  firingSince: Date;
  reason: string;
  memo: Record<string, unknown>;
}

export interface SkippedAlert {
  alert: string;
  node?: string;
  /** The rule of the alert table that matched it, when one did, and that rule's action. */
  rule?: string;
  action?: AlertAction;
  reason: string;
}

/** The maintenances a payload asks for under the alert table `rules`, and what it skips and why. */
export function repairCandidates(
  payload: AlertmanagerPayload,
  rules: readonly AlertRule[],
): { candidates: RepairCandidate[]; skipped: SkippedAlert[] } {
  const { alerts } = payload;
  const names = alerts.map(alertName);
  const { nodes, skipped } = decideAlerts(rules, alerts);
  const candidates = nodes.map((decision): RepairCandidate => {
    const alert = alerts[decision.decidedBy] as Alert;
    const firingSince = new Date(
      Math.min(...decision.alerts.map((index) => new Date((alerts[index] as Alert).startsAt).getTime())),
    );
    const summary = alert.annotations.summary ?? alert.annotations.description ?? '';
    const reason = `alert ${alert.labels.alertname ?? 'unnamed'}${summary ? `: ${summary}` : ''}`.slice(0, 1024);
    return {
      node: decision.node,
      mode: decision.mode,
      rule: decision.rule,
      alerts: decision.alerts.map((index) => names[index] ?? ''),
      firingSince,
      reason,
      memo: {
        source: 'alertmanager',
        alertname: alert.labels.alertname ?? '',
        ...(alert.fingerprint && { fingerprint: alert.fingerprint }),
        startsAt: alert.startsAt,
        ...(alert.generatorURL && { generatorURL: alert.generatorURL }),
        alertRule: decision.rule,
      },
    };
  });
  return {
    candidates,
    skipped: skipped.map(({ index, ...skip }) => ({ alert: names[index] ?? '', ...skip })),
  };
}
