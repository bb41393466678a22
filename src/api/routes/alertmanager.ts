// The Alertmanager webhook: a node maintenance for each node a firing alert names, in the mode the alert table gives
// (src/domain/alertRules.ts), at most once per alert.
import type { FastifyPluginAsync } from 'fastify';
import { type AlertAction, type AlertMode, type AlertRule } from '../../domain/alertRules.js';
import { InvalidInputError } from '../../domain/errors.js';
import { NotFoundError, RefusedError } from '../../client/errors.js';
import type { PitstopService } from '../../client/service.js';
import {
  alertmanagerPayloadSchema,
  parseAlertmanagerPayload,
  repairCandidates,
  type RepairCandidate,
  type SkippedAlert,
} from '../alertmanager.js';
import { WRITE } from '../authenticate.js';
import { body, routeSchema } from '../replies.js';
import { list, object, oneOf, optional, text } from '../schemas/json.js';
import { requestSchema } from '../schemas/request.js';

export type RepairOperations = Pick<PitstopService, 'startMaintenance' | 'maintenanceStartedSince'>;

export interface StartedRepair {
  node: string;
  /** The maintenance's mode: repair (fence and recover) or planned (drain). */
  mode: AlertMode;
  /** The rule of the alert table that chose the mode. */
  rule: string;
  workflowId: string;
  runId: string;
  alerts: string[];
}

export interface HookAnswer {
  started: StartedRepair[];
  skipped: SkippedAlert[];
}

const answerSchema = object<HookAnswer>({
  started: list(
    object<StartedRepair>({
      node: text(),
      mode: oneOf<AlertMode>({ repair: true, planned: true }, 'The runbook: repair wins over planned per node'),
      rule: text('The rule of the alert table that chose the mode (its name, else #<position>)'),
      workflowId: text(),
      runId: text(),
      alerts: list(text(), 'The alerts this repair answers ("alertname (fingerprint)")'),
    }),
  ),
  skipped: list(
    object<SkippedAlert>({
      alert: text(),
      node: optional(text()),
      rule: optional(text('The rule of the alert table that matched it')),
      action: optional(oneOf<AlertAction>({ repair: true, planned: true, ignore: true }, "That rule's action")),
      reason: text('Why nothing was started for it'),
    }),
  ),
});

/** Starts the repair of one candidate node, or says why not (into `answer.skipped`). */
async function repair(service: RepairOperations, candidate: RepairCandidate, answer: HookAnswer): Promise<void> {
  const { node, alerts, mode, rule } = candidate;
  const skip = (reason: string) =>
    answer.skipped.push(...alerts.map((alert) => ({ alert, node, rule, action: mode, reason })));
  try {
    // Alertmanager repeats firing alerts (repeat_interval): a maintenance started since the alert fired already
    // answered it, even if it has finished by now.
    const earlier = await service.maintenanceStartedSince(node, candidate.firingSince);
    if (earlier) {
      skip(
        earlier.status === 'Running'
          ? `already in maintenance (${earlier.workflowId})`
          : `already handled: ${earlier.workflowId} started ${earlier.startTime}, after the alert fired (${earlier.status})`,
      );
      return;
    }
    const outcome = await service.startMaintenance(
      { node, mode, reason: candidate.reason, requestedBy: 'alertmanager' },
      candidate.memo,
    );
    if (outcome.started)
      answer.started.push({ node, mode, rule, workflowId: outcome.workflowId, runId: outcome.runId, alerts });
    else skip(`already in maintenance (${outcome.workflowId})`);
  } catch (e) {
    // A node the hook cannot repair is reported, not a failed hook: the other nodes' repairs go on.
    if (e instanceof InvalidInputError || e instanceof NotFoundError || e instanceof RefusedError) skip(e.message);
    else throw e;
  }
}

export const alertmanagerRoutes: FastifyPluginAsync<{
  service: RepairOperations;
  rules: readonly AlertRule[];
}> = async (api, { service, rules }) => {
  api.post(
    '/v1/hooks/alertmanager',
    {
      config: WRITE,
      schema: routeSchema({
        tag: 'hooks',
        summary: 'Start a maintenance (repair or planned, per the alert table) for each node firing alerts name',
        body: requestSchema(alertmanagerPayloadSchema),
        ok: { 200: body('What was started and what was skipped, and why', answerSchema) },
      }),
    },
    async (request): Promise<HookAnswer> => {
      const { candidates, skipped } = repairCandidates(parseAlertmanagerPayload(request.body), rules);
      const answer: HookAnswer = { started: [], skipped };
      for (const candidate of candidates) await repair(service, candidate, answer);
      return answer;
    },
  );
};
