// The worker process the chaos runner starts, kills with SIGKILL and starts again: `npm run worker`'s set-up, but
// with the prebuilt workflow bundle (PITSTOP_WORKFLOW_BUNDLE), so a restart takes a second, not a bundling.
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { KubeClient } from '../k8s/client.js';
import { loadWorkerConfig } from '../worker/config.js';
import { createPitstopWorker } from '../worker/worker.js';

async function main() {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const config = loadWorkerConfig();
  if (!config.kubeconfig) throw new Error('KUBECONFIG is required');
  // The chaos runner's own local dev server: no TLS.
  const connection = await NativeConnection.connect({ address: config.temporalAddress });
  const worker = await createPitstopWorker({
    connection,
    namespace: config.temporalNamespace,
    taskQueue: config.taskQueue,
    kube: KubeClient.fromFile(config.kubeconfig),
    workflowBundlePath: process.env.PITSTOP_WORKFLOW_BUNDLE,
  });
  console.log(`pitstop worker polling task queue "${config.taskQueue}"`);
  await worker.run();
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
