// Node maintenance: start (idempotent), plan (dry run), view, wait, and the operator's updates and cancel.
import { randomUUID } from 'node:crypto';
import { InvalidInputError } from '../domain/errors.js';
import { parseMaintenanceRequest, type MaintenanceInput, type MaintenanceRequest } from '../domain/request.js';
import type { nodeMaintenance } from '../workflows/index.js';
import {
  decideUpdate,
  MAINTENANCE_NODE,
  pauseUpdate,
  progressQuery,
  releaseUpdate,
  resumeUpdate,
} from '../workflows/messages.js';
import { workflowIdFor } from '../domain/workflowNames.js';
import { maintenanceStartText } from '../domain/startText.js';
import type { MaintenanceResult, Progress } from '../domain/progress.js';
import { NotFoundError } from './errors.js';
import { checkNode, parseDecision, parseRelease } from './inputs.js';
import { type RunView, type StartOutcome, type WorkflowRuns } from './runs.js';
import { NODE_WORKFLOW_TYPE } from './visibility.js';

export type MaintenanceView = RunView<Progress, MaintenanceResult>;

const what = (node: string) => `maintenance of ${node}`;

export class MaintenanceService {
  constructor(
    private readonly runs: WorkflowRuns,
    /** When given, a start naming a node the cluster does not have is refused before anything starts. */
    private readonly nodeExists?: (node: string) => Promise<boolean>,
  ) {}

  /** Validates the input (and, when the service can see the cluster, that the node exists). */
  async validateMaintenance(input: unknown): Promise<MaintenanceRequest> {
    const request = parseMaintenanceRequest(input);
    if (this.nodeExists && !(await this.nodeExists(request.node))) {
      throw new NotFoundError(`node ${request.node} does not exist in the cluster; nothing was started`);
    }
    return request;
  }

  /**
   * Starts `maintenance-<node>`; if one is running already it is returned instead (started: false), whatever input
   * it was started with. `memo` is shown in the Temporal UI (e.g. the alert that caused the start).
   */
  async startMaintenance(input: unknown, memo?: Record<string, unknown>): Promise<StartOutcome> {
    const request = await this.validateMaintenance(input);
    if (request.dryRun) throw new InvalidInputError('dryRun: use plan for a dry run (it does not take the node id)');
    // The input as the caller sent it (checked above): the workflow parses its input itself.
    return await this.runs.startOrGet(workflowIdFor(request.node), (common) =>
      this.runs.client.workflow.start<typeof nodeMaintenance>(NODE_WORKFLOW_TYPE, {
        ...common,
        args: [input as MaintenanceInput],
        typedSearchAttributes: [{ key: MAINTENANCE_NODE, value: request.node }],
        ...maintenanceStartText(request),
        ...(memo !== undefined && { memo }),
      }),
    );
  }

  /** A dry run: the preflight verdict and per-VM plan, nothing changed. Runs under its own id, so it never blocks. */
  async planMaintenance(input: unknown): Promise<MaintenanceResult> {
    const request = await this.validateMaintenance(
      typeof input === 'object' && input !== null ? { ...input, dryRun: true } : input,
    );
    return await this.runs.client.workflow.execute<typeof nodeMaintenance>(NODE_WORKFLOW_TYPE, {
      taskQueue: this.runs.taskQueue,
      workflowId: `plan-${request.node}-${randomUUID().slice(0, 8)}`,
      args: [{ ...(input as MaintenanceInput), dryRun: true }],
      typedSearchAttributes: [{ key: MAINTENANCE_NODE, value: request.node }],
      ...maintenanceStartText(request),
    });
  }

  async getMaintenance(node: string): Promise<MaintenanceView> {
    checkNode(node);
    return await this.runs.view<Progress, MaintenanceResult>(workflowIdFor(node), what(node), progressQuery);
  }

  /** Waits for the latest run to end; returns its view. */
  async waitMaintenance(node: string): Promise<MaintenanceView> {
    checkNode(node);
    const { handle } = await this.runs.describe(workflowIdFor(node), what(node));
    await handle.result().catch(() => undefined);
    return await this.getMaintenance(node);
  }

  async decide(node: string, input: unknown): Promise<string> {
    checkNode(node);
    const decision = parseDecision(input);
    return await this.runs.update(workflowIdFor(node), what(node), (h) =>
      h.executeUpdate(decideUpdate, { args: [decision] }),
    );
  }

  async release(node: string, input: unknown = {}): Promise<string> {
    checkNode(node);
    const release = parseRelease(input);
    return await this.runs.update(workflowIdFor(node), what(node), (h) =>
      h.executeUpdate(releaseUpdate, { args: [release] }),
    );
  }

  async pauseMaintenance(node: string): Promise<string> {
    checkNode(node);
    return await this.runs.update(workflowIdFor(node), what(node), (h) => h.executeUpdate(pauseUpdate));
  }

  async resumeMaintenance(node: string): Promise<string> {
    checkNode(node);
    return await this.runs.update(workflowIdFor(node), what(node), (h) => h.executeUpdate(resumeUpdate));
  }

  async cancelMaintenance(node: string): Promise<string> {
    checkNode(node);
    return await this.runs.cancel(workflowIdFor(node), what(node));
  }
}
