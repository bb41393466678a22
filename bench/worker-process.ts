// A Pitstop worker in its own process, for the scale benchmark: its memory is the worker's alone (the sandbox's
// caches live in the parent). Started with fork(); argv: <temporal address> <kubeconfig> <task queue> <bundle>.
// Samples its RSS every 500 ms; on 'stop' it shuts down and sends {peakRssMiB, maxRssMiB, heapPeakMiB, requests}.
import { NativeConnection, Runtime, DefaultLogger } from '@temporalio/worker';
import { KubeClient } from '../src/k8s/client.js';
import { createPitstopWorker } from '../src/worker/worker.js';

const [address, kubeconfig, taskQueue, bundle] = process.argv.slice(2);
if (!address || !kubeconfig || !taskQueue || !bundle || !process.send) {
  console.error('usage (from fork): worker-process.ts <temporal address> <kubeconfig> <task queue> <bundle>');
  process.exit(2);
}
const send = (message: unknown) => process.send?.(message);

Runtime.install({ logger: new DefaultLogger('WARN') });
const kube = KubeClient.fromFile(kubeconfig);
const connection = await NativeConnection.connect({ address });
const worker = await createPitstopWorker({
  connection,
  namespace: 'default',
  taskQueue,
  kube,
  workflowBundlePath: bundle,
  // Enough slots for many node maintenances at once (each runs a few long-waiting activities).
  overrides: { maxConcurrentActivityTaskExecutions: 1000, maxCachedWorkflows: 1000 },
});
let peakRss = 0;
let peakHeap = 0;
const sample = () => {
  const m = process.memoryUsage();
  peakRss = Math.max(peakRss, m.rss);
  peakHeap = Math.max(peakHeap, m.heapUsed);
};
const sampler = setInterval(sample, 500);
const running = worker.run();
process.on('message', (message) => {
  if (message !== 'stop') return;
  void (async () => {
    sample();
    clearInterval(sampler);
    worker.shutdown();
    await running;
    await connection.close();
    kube.close();
    send({
      peakRssMiB: peakRss / 2 ** 20,
      maxRssMiB: process.resourceUsage().maxRSS / 1024,
      heapPeakMiB: peakHeap / 2 ** 20,
      requests: kube.counter,
    });
    process.disconnect?.();
  })();
});
send('ready');
