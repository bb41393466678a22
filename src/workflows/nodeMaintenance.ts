// The nodeMaintenance workflow: one JSON object in (what the Temporal UI's start form takes), the runbook out.
import {
  ApplicationFailure,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { InvalidInputError } from '../domain/errors.js';
import { preflight } from '../domain/preflight.js';
import { parseMaintenanceRequest, type MaintenanceInput, type MaintenanceRequest } from '../domain/request.js';
import type { Activities } from '../activities/index.js';
import { progressMarkdown } from './details.js';
import {
  MAINTENANCE_NODE,
  MAINTENANCE_PHASE,
  progressQuery,
  type MaintenanceResult,
  type Phase,
  type Progress,
} from './messages.js';

const { preflightSnapshot } = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1s', maximumInterval: '30s', maximumAttempts: 10 },
});

function parseInput(input: unknown): MaintenanceRequest {
  try {
    return parseMaintenanceRequest(input);
  } catch (e) {
    if (e instanceof InvalidInputError) {
      throw ApplicationFailure.create({
        type: 'InvalidInput',
        message: e.message,
        nonRetryable: true,
        details: [e.issues],
      });
    }
    throw e;
  }
}

export async function nodeMaintenance(input: MaintenanceInput): Promise<MaintenanceResult> {
  const request = parseInput(input);
  const progress: Progress = {
    node: request.node,
    phase: 'Preflight',
    dryRun: request.dryRun,
    startedAt: new Date(workflowInfo().startTime).toISOString(),
  };
  setHandler(progressQuery, () => progress);
  const enter = (phase: Phase, message?: string) => {
    progress.phase = phase;
    progress.message = message;
    upsertSearchAttributes([
      { key: MAINTENANCE_NODE, value: request.node },
      { key: MAINTENANCE_PHASE, value: phase },
    ]);
    setCurrentDetails(progressMarkdown(progress));
  };
  enter('Preflight');

  // 1. Preflight: read the cluster once, decide with pure functions. A refused preflight changes nothing.
  const snapshot = await preflightSnapshot({ node: request.node, workflowId: workflowInfo().workflowId });
  progress.verdict = preflight(snapshot, request);

  if (request.dryRun) {
    enter('DryRun', progress.verdict.ok ? 'plan computed, nothing changed' : 'preflight would refuse; nothing changed');
    return { node: request.node, outcome: 'DryRun', verdict: progress.verdict };
  }
  if (!progress.verdict.ok) {
    const reasons = progress.verdict.refusals.map((r) => r.message).join('; ');
    enter('Refused', reasons);
    throw ApplicationFailure.create({
      type: 'PreflightRefused',
      message: `maintenance of ${request.node} refused: ${reasons}`,
      nonRetryable: true,
      details: [progress.verdict.refusals],
    });
  }
  // The steps after preflight (cordon … restore) are not part of this release; say so rather than pretend.
  enter('Refused', 'only dryRun is supported in this version');
  throw ApplicationFailure.create({
    type: 'NotImplemented',
    message: 'this Pitstop version runs preflight and plans only: start it with "dryRun": true',
    nonRetryable: true,
  });
}
