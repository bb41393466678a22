// A Pitstop worker for benchmarks, in this process, with a KubeClient the benchmark owns (so it can count).
import { join } from 'node:path';
import { NativeConnection, Runtime, DefaultLogger } from '@temporalio/worker';
import type { KubeClient } from '../src/k8s/client.js';
import { createPitstopWorker } from '../src/worker/worker.js';
import { writeWorkflowBundle } from '../src/worker/bundle.js';

export async function startBenchWorker(options: { address: string; kube: KubeClient; taskQueue: string; dir: string }) {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const connection = await NativeConnection.connect({ address: options.address });
  const worker = await createPitstopWorker({
    connection,
    namespace: 'default',
    taskQueue: options.taskQueue,
    kube: options.kube,
    workflowBundlePath: await writeWorkflowBundle(join(options.dir, 'bundle.js')),
  });
  const running = worker.run();
  return {
    async stop() {
      worker.shutdown();
      await running;
      await connection.close();
    },
  };
}
