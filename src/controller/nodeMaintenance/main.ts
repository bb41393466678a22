// The NodeMaintenance controller as its own process (`npm run controller`, `node dist/controller/nodeMaintenance/
// main.js`), configured like the worker (src/config/: Temporal address, namespace, TLS/API key, task queue, kube).
// Any number of replicas: only the one holding the Lease <POD_NAMESPACE>/pitstop-nodemaintenance-controller runs
// the controller (leader.ts); the Deployment gives each its POD_NAME and POD_NAMESPACE through the downward API.
// SIGTERM/SIGINT stop the watch, release the Lease and exit 0.
import { hostname } from 'node:os';
import { KubeConfig } from '@kubernetes/client-node';
import { ConfigError, loadConfig, type PitstopConfig } from '../../config/index.js';
import { KubeClient, paths } from '../../k8s/client.js';
import { PitstopService } from '../../client/service.js';
import { JsonLogger } from '../../observability/logger.js';
import { connectClient, temporalEndpoint } from '../../temporal/connection.js';
import { runNodeMaintenanceController } from './controller.js';
import { runWhileLeader } from './leader.js';

function kubeClientFor(config: PitstopConfig['kube']): KubeClient {
  if (config.kind === 'file') return KubeClient.fromFile(config.path);
  const kc = new KubeConfig();
  kc.loadFromCluster();
  return new KubeClient(kc);
}

async function main(): Promise<void> {
  let config: PitstopConfig;
  try {
    config = loadConfig();
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    for (const problem of e.problems) process.stderr.write(`pitstop-controller: configuration error: ${problem}\n`);
    process.exit(2);
  }
  const logger = new JsonLogger(config.logLevel);
  const kube = kubeClientFor(config.kube);
  const temporal = await connectClient(temporalEndpoint(config.temporal));
  const service = new PitstopService({
    client: temporal.client,
    taskQueue: config.taskQueue,
    nodeExists: async (node) => (await kube.find(paths.node(node))) !== undefined,
  });
  const stop = new AbortController();
  for (const s of ['SIGTERM', 'SIGINT'] as const) process.once(s, () => stop.abort());
  logger.info(`pitstop NodeMaintenance controller following nodemaintenances (task queue "${config.taskQueue}")`);
  const log = (line: string) => logger.warn(line);
  await runWhileLeader(
    {
      kube,
      namespace: process.env.POD_NAMESPACE || 'pitstop',
      identity: process.env.POD_NAME || hostname(),
      signal: stop.signal,
      log: (line) => logger.info(line),
    },
    (signal) => runNodeMaintenanceController({ kube, service, signal, log }),
  );
  await temporal.close();
  kube.close();
}

main().catch((e: unknown) => {
  process.stderr.write(`pitstop-controller: ${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
