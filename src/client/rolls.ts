// Rolling maintenance of many nodes: start (idempotent, every named node checked first), view, pause, resume,
// skip a node, cancel.
import { WORKFLOW_TYPES } from '../domain/workflowNames.js';
import { parseRollingRequest, rollingWorkflowIdFor, type RollingInput } from '../domain/rolling.js';
import type { RollingProgress } from '../domain/rollingProgress.js';
import { rollingStartText } from '../domain/startText.js';
import type { rollingMaintenance } from '../workflows/index.js';
import { rollingPauseUpdate, rollingProgressQuery, rollingResumeUpdate, skipUpdate } from '../workflows/messages.js';
import { NotFoundError } from './errors.js';
import { checkRollingName, parseSkip } from './inputs.js';
import type { RunView, StartOutcome, WorkflowRuns } from './runs.js';

export type RollingView = RunView<RollingProgress, unknown>;

const what = (name: string) => `rolling maintenance ${name}`;

export class RollingService {
  constructor(
    private readonly runs: WorkflowRuns,
    private readonly nodeExists?: (node: string) => Promise<boolean>,
  ) {}

  async startRolling(input: unknown): Promise<StartOutcome> {
    const request = parseRollingRequest(input);
    if (this.nodeExists && request.nodes) {
      const missing: string[] = [];
      for (const node of request.nodes) if (!(await this.nodeExists(node))) missing.push(node);
      if (missing.length > 0) {
        throw new NotFoundError(`nodes not in the cluster: ${missing.join(', ')}; nothing was started`);
      }
    }
    return await this.runs.startOrGet(rollingWorkflowIdFor(request.name), (common) =>
      this.runs.client.workflow.start<typeof rollingMaintenance>(WORKFLOW_TYPES.rollingMaintenance, {
        ...common,
        args: [input as RollingInput],
        ...rollingStartText(request),
      }),
    );
  }

  async getRolling(name: string): Promise<RollingView> {
    checkRollingName(name);
    return await this.runs.view<RollingProgress, unknown>(rollingWorkflowIdFor(name), what(name), rollingProgressQuery);
  }

  async pauseRolling(name: string): Promise<string> {
    checkRollingName(name);
    return await this.runs.update(rollingWorkflowIdFor(name), what(name), (h) => h.executeUpdate(rollingPauseUpdate));
  }

  async resumeRolling(name: string): Promise<string> {
    checkRollingName(name);
    return await this.runs.update(rollingWorkflowIdFor(name), what(name), (h) => h.executeUpdate(rollingResumeUpdate));
  }

  async skipNode(name: string, input: unknown): Promise<string> {
    checkRollingName(name);
    const skip = parseSkip(input);
    return await this.runs.update(rollingWorkflowIdFor(name), what(name), (h) =>
      h.executeUpdate(skipUpdate, { args: [skip] }),
    );
  }

  async cancelRolling(name: string): Promise<string> {
    checkRollingName(name);
    return await this.runs.cancel(rollingWorkflowIdFor(name), what(name));
  }
}
