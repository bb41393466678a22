/**
 * Alertmanager webhook (payload version 4): which firing alerts name a node, merged per node. Pure: the server
 * decides what to start from this.
 * https://prometheus.io/docs/alerting/latest/configuration/#webhook_config
 */
import { z } from 'zod';
import { InvalidInputError } from '../domain/errors.js';
import { nameProblem } from '../domain/names.js';

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
  /** The alerts naming this node (first one decides the reason). */
  alerts: string[];
  /** The earliest startsAt among them: a maintenance started since then already answered them. */
  firingSince: Date;
  reason: string;
  memo: Record<string, unknown>;
}

export interface SkippedAlert {
  alert: string;
  node?: string;
  reason: string;
}

export function repairCandidates(
  payload: AlertmanagerPayload,
  nodeLabel: string,
): { candidates: RepairCandidate[]; skipped: SkippedAlert[] } {
  const byNode = new Map<string, RepairCandidate>();
  const skipped: SkippedAlert[] = [];
  payload.alerts.forEach((alert, index) => {
    const name = alertName(alert, index);
    if (alert.status !== 'firing') {
      skipped.push({ alert: name, reason: 'resolved: nothing to repair' });
      return;
    }
    const node = alert.labels[nodeLabel];
    if (node === undefined) {
      skipped.push({ alert: name, reason: `no "${nodeLabel}" label: it does not name a node` });
      return;
    }
    const problem = nameProblem(node, 'node');
    if (problem !== undefined) {
      skipped.push({ alert: name, reason: `label "${nodeLabel}": ${problem}` });
      return;
    }
    const since = new Date(alert.startsAt);
    const existing = byNode.get(node);
    if (existing) {
      existing.alerts.push(name);
      if (since < existing.firingSince) existing.firingSince = since;
      return;
    }
    const summary = alert.annotations.summary ?? alert.annotations.description ?? '';
    const reason = `alert ${alert.labels.alertname ?? 'unnamed'}${summary ? `: ${summary}` : ''}`.slice(0, 1024);
    byNode.set(node, {
      node,
      alerts: [name],
      firingSince: since,
      reason,
      memo: {
        source: 'alertmanager',
        alertname: alert.labels.alertname ?? '',
        ...(alert.fingerprint && { fingerprint: alert.fingerprint }),
        startsAt: alert.startsAt,
        ...(alert.generatorURL && { generatorURL: alert.generatorURL }),
      },
    });
  });
  return { candidates: [...byNode.values()], skipped };
}
