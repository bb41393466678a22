// Builds a Pitstop worker: workflows (from a prebuilt bundle when given) and activities with real clients.
import { fileURLToPath } from 'node:url';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { createActivities, type ActivityDeps } from '../activities/index.js';
import type { VersioningConfig } from '../config/versioning.js';
import { deploymentOptions } from './versioning.js';

// The same file name as this module's own extension: .ts when run from source (tsx), .js when compiled.
const extension = import.meta.url.endsWith('.ts') ? 'ts' : 'js';
export const workflowsPath = fileURLToPath(new URL(`../workflows/index.${extension}`, import.meta.url));

export interface PitstopWorkerOptions extends ActivityDeps {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  /** Path of a bundle made by `npm run bundle`; without it the worker bundles the workflows itself. */
  workflowBundlePath?: string;
  /** Worker Versioning (docs/versioning.md); unversioned without it. */
  versioning?: VersioningConfig;
  overrides?: Partial<WorkerOptions>;
}

export async function createPitstopWorker(options: PitstopWorkerOptions): Promise<Worker> {
  return await Worker.create({
    connection: options.connection,
    namespace: options.namespace,
    taskQueue: options.taskQueue,
    ...(options.workflowBundlePath ? { workflowBundle: { codePath: options.workflowBundlePath } } : { workflowsPath }),
    activities: createActivities({
      kube: options.kube,
      podRequests: options.podRequests,
      admission: options.admission,
    }),
    ...(options.versioning && { workerDeploymentOptions: deploymentOptions(options.versioning) }),
    ...options.overrides,
  });
}
