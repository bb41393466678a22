// Worker Versioning (docs/versioning.md): every worker announces the deployment version it runs, and a workflow stays
// on the build that started it (pinned), so a release never hands a running maintenance to code that would replay
// its history differently. A roll moves to the newest build at each continue-as-new instead.
import type { temporal } from '@temporalio/proto';
import type { WorkerDeploymentOptions } from '@temporalio/worker';
import type { VersioningConfig } from '../config/versioning.js';

/** A client Connection or a worker's NativeConnection: both reach the WorkflowService. */
interface ServiceConnection {
  workflowService: temporal.api.workflowservice.v1.WorkflowService;
}

/** The worker's deployment options: pinned by default, each workflow type may say otherwise (src/workflows). */
export function deploymentOptions(config: VersioningConfig): WorkerDeploymentOptions | undefined {
  if (!config.enabled) return undefined;
  return {
    useWorkerVersioning: true,
    version: { deploymentName: config.deploymentName, buildId: config.buildId },
    defaultVersioningBehavior: 'PINNED',
  };
}

export type PromotionResult = 'promoted' | 'alreadyCurrent' | 'left' | 'off';

/**
 * Makes the worker's version current as `promote` says. The server knows a version only once a worker of it has
 * polled, so this retries until the version is registered (at most `timeoutMs`).
 */
export async function promoteVersion(
  connection: ServiceConnection,
  namespace: string,
  config: VersioningConfig,
  options: { timeoutMs?: number; identity?: string } = {},
): Promise<PromotionResult> {
  if (!config.enabled || config.promote === 'never') return 'off';
  const service = connection.workflowService;
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  for (;;) {
    try {
      const current = await currentBuildId(connection, namespace, config.deploymentName);
      if (current === config.buildId) return 'alreadyCurrent';
      if (current !== undefined && config.promote === 'ifUnset') return 'left';
      await service.setWorkerDeploymentCurrentVersion({
        namespace,
        deploymentName: config.deploymentName,
        buildId: config.buildId,
        identity: options.identity ?? 'pitstop-worker',
        // The server refuses a version no worker of which polls the queues the current version serves;
        // Pitstop's workers all poll one task queue, so there is nothing to ignore.
        ignoreMissingTaskQueues: false,
      });
      return 'promoted';
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

/** The build id new workflows of the deployment go to, or undefined when none is set (or it does not exist yet). */
export async function currentBuildId(
  connection: ServiceConnection,
  namespace: string,
  deploymentName: string,
): Promise<string | undefined> {
  try {
    const { workerDeploymentInfo } = await connection.workflowService.describeWorkerDeployment({
      namespace,
      deploymentName,
    });
    return workerDeploymentInfo?.routingConfig?.currentDeploymentVersion?.buildId || undefined;
  } catch (e) {
    // NOT_FOUND: no worker of this deployment has polled yet.
    if ((e as { code?: number }).code === 5) return undefined;
    throw e;
  }
}
