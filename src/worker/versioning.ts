// Worker Versioning (docs/versioning.md): every worker announces the deployment version it runs, and a workflow stays
// on the build that started it (pinned), so a release never hands a running maintenance to code that would replay
// its history differently. A roll moves to the newest build at each continue-as-new instead.
import { readFileSync } from 'node:fs';
import type { temporal } from '@temporalio/proto';
import type { WorkerDeploymentOptions } from '@temporalio/worker';

/** A client Connection or a worker's NativeConnection: both reach the WorkflowService. */
interface ServiceConnection {
  workflowService: temporal.api.workflowservice.v1.WorkflowService;
}

/** Who may make a worker's version the one new workflows go to. */
export const PROMOTIONS = ['ifUnset', 'always', 'never'] as const;
export type Promotion = (typeof PROMOTIONS)[number];

export interface VersioningConfig {
  /** Off: an unversioned worker (tests, and a Temporal server without Worker Deployments). */
  enabled: boolean;
  deploymentName: string;
  buildId: string;
  /**
   * `ifUnset` (default): the first build of a deployment takes new runs at once; a later build waits for the
   * operator's `temporal worker deployment set-current-version`, so old and new builds can run side by side.
   * `always`: the build makes itself current when it starts (one worker, as in `npm start`). `never`: operator only.
   */
  promote: Promotion;
}

export const DEFAULT_DEPLOYMENT_NAME = 'pitstop';

/** The package version: the build id of every release (a workflow change ships with a version bump). */
export function packageVersion(): string {
  // src/worker/ and dist/worker/ both sit two levels below package.json.
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
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

/** Reads the versioning settings; problems are added to `problems` (the configuration's all-problems report). */
export function readVersioning(
  get: (name: string) => string | undefined,
  problems: string[],
  defaults: { enabled: boolean; promote: Promotion } = { enabled: true, promote: 'ifUnset' },
): VersioningConfig {
  const mode = get('PITSTOP_WORKER_VERSIONING') ?? (defaults.enabled ? 'on' : 'off');
  if (mode !== 'on' && mode !== 'off') problems.push(`PITSTOP_WORKER_VERSIONING must be on or off, not "${mode}"`);
  const promote = get('PITSTOP_PROMOTE_VERSION') ?? defaults.promote;
  if (!(PROMOTIONS as readonly string[]).includes(promote)) {
    problems.push(`PITSTOP_PROMOTE_VERSION must be one of ${PROMOTIONS.join(', ')}, not "${promote}"`);
  }
  const buildId = get('PITSTOP_BUILD_ID') ?? packageVersion();
  // The server's limit for deployment names and build ids, and "." separates them in version strings.
  for (const [name, value] of [
    ['PITSTOP_DEPLOYMENT_NAME', get('PITSTOP_DEPLOYMENT_NAME') ?? DEFAULT_DEPLOYMENT_NAME],
    ['PITSTOP_BUILD_ID', buildId],
  ] as const) {
    if (!value || value.length > 255) problems.push(`${name} must be 1 to 255 characters`);
  }
  return {
    enabled: mode === 'on',
    deploymentName: get('PITSTOP_DEPLOYMENT_NAME') ?? DEFAULT_DEPLOYMENT_NAME,
    buildId,
    promote: promote as Promotion,
  };
}
