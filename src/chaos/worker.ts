// The worker process the chaos runner starts, kills with SIGKILL and starts again: the production worker's
// configuration and connection, with the prebuilt workflow bundle (PITSTOP_WORKFLOW_BUNDLE), so a restart takes a
// second, not a bundling, and without the HTTP API.
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { loadConfig } from '../config/index.js';
import { KubeClient } from '../k8s/client.js';
import { connectWorker, temporalEndpoint } from '../temporal/connection.js';
import { createPitstopWorker } from '../worker/worker.js';

async function main() {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const config = loadConfig({ ...process.env, PITSTOP_API_ADDRESS: 'off' });
  if (config.kube.kind !== 'file') throw new Error('KUBECONFIG is required');
  const worker = await createPitstopWorker({
    connection: await connectWorker(temporalEndpoint(config.temporal)),
    namespace: config.temporal.namespace,
    taskQueue: config.taskQueue,
    kube: KubeClient.fromFile(config.kube.path),
    workflowBundlePath: config.workflowBundlePath,
    admission: config.admission,
  });
  console.log(`pitstop worker polling task queue "${config.taskQueue}"`);
  await worker.run();
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
