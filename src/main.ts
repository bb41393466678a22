// The production entry point (`npm run serve`, `node dist/main.js`, the container's command): the Pitstop worker,
// the HTTP API, and the operations endpoint (/metrics, /healthz, /readyz), configured by the environment
// (src/config/). SIGTERM (and SIGINT) is graceful: polling stops, running activities get PITSTOP_SHUTDOWN_GRACE
// to finish (long waits heartbeat, so another worker takes them over), and the process exits 0.
import { createServer, type AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import type { FastifyInstance } from 'fastify';
import { Runtime, makeTelemetryFilterString, type NativeConnection, type Worker } from '@temporalio/worker';
import { ConfigError, loadConfig, type PitstopConfig } from './config/index.js';
import { createApiServer } from './api/server.js';
import { KubeClient, paths } from './k8s/client.js';
import { JsonLogger, nodeLogAttributes } from './observability/logger.js';
import { apiRequestRecorder, recordDecisionsPending, startOpsServer, type OpsServer } from './observability/server.js';
import { RunListing } from './client/visibility.js';
import {
  connectClient,
  connectWorker,
  temporalEndpoint,
  type ConnectedClient,
  type TemporalEndpoint,
} from './temporal/connection.js';
import { promoteVersion } from './worker/versioning.js';
import { createPitstopWorker } from './worker/worker.js';

export function kubeClientFor(config: PitstopConfig['kube']): KubeClient {
  if (config.kind === 'file') return KubeClient.fromFile(config.path);
  const kc = new KubeConfig();
  kc.loadFromCluster();
  return new KubeClient(kc);
}

/** Makes the worker's build current when PITSTOP_PROMOTE_VERSION says so, and says what it did. */
async function announceVersion(connection: NativeConnection, config: PitstopConfig, logger: JsonLogger) {
  const { versioning } = config;
  if (!versioning.enabled) return logger.warn('Worker Versioning is off: this worker serves every run of the queue');
  const version = { deploymentName: versioning.deploymentName, buildId: versioning.buildId };
  try {
    const result = await promoteVersion(connection, config.temporal.namespace, versioning);
    if (result === 'left') {
      logger.info(
        `build ${versioning.buildId} is not current: new runs go to the current build until ` +
          `temporal worker deployment set-current-version --deployment-name ${versioning.deploymentName} ` +
          `--build-id ${versioning.buildId}`,
        version,
      );
    } else
      logger.info(`worker deployment version ${versioning.deploymentName}/${versioning.buildId}: ${result}`, version);
  } catch (e) {
    logger.error(`could not make build ${versioning.buildId} current: ${(e as Error).message}`, version);
  }
}

async function loopbackPort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const s = createServer().once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

async function main(): Promise<void> {
  let config: PitstopConfig;
  let endpoint: TemporalEndpoint;
  try {
    config = loadConfig();
    endpoint = temporalEndpoint(config.temporal);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    for (const problem of e.problems) process.stderr.write(`pitstop: configuration error: ${problem}\n`);
    process.exit(2);
  }

  const logger = new JsonLogger(config.logLevel);
  const sdkMetricsPort = await loopbackPort();
  Runtime.install({
    logger,
    telemetryOptions: {
      logging: { filter: makeTelemetryFilterString({ core: 'WARN', other: 'ERROR' }), forward: {} },
      metrics: { prometheus: { bindAddress: `127.0.0.1:${sdkMetricsPort}` } },
    },
  });

  const kube = kubeClientFor(config.kube);
  let connection: NativeConnection;
  try {
    connection = await connectWorker(endpoint);
  } catch (e) {
    logger.error(`cannot connect to Temporal at ${config.temporal.address}: ${(e as Error).message}`);
    process.exit(1);
  }
  const worker: Worker = await createPitstopWorker({
    connection,
    namespace: config.temporal.namespace,
    taskQueue: config.taskQueue,
    kube,
    workflowBundlePath: config.workflowBundlePath,
    versioning: config.versioning,
    admission: config.admission,
    overrides: {
      shutdownGraceTime: config.shutdownGraceMs,
      interceptors: { activity: [nodeLogAttributes] },
    },
  });

  const ops: OpsServer = await startOpsServer({
    listen: config.metrics,
    sdkMetricsUrl: `http://127.0.0.1:${sdkMetricsPort}/metrics`,
    readiness: {
      temporal: async () => {
        await connection.workflowService.getSystemInfo({});
      },
      worker: async () => {
        const state = worker.getState();
        if (state !== 'RUNNING') throw new Error(`worker is ${state}`);
      },
      kubernetes: async () => {
        await kube.request('GET', '/version');
      },
    },
  });

  // The HTTP API, with its own Temporal client connection (same address, TLS and API key as the worker's).
  let api: FastifyInstance | undefined;
  let apiClient: ConnectedClient | undefined;
  let apiUrl: string | undefined;
  if (config.api) {
    apiClient = await connectClient(endpoint);
    api = createApiServer({
      client: apiClient.client,
      namespace: config.temporal.namespace,
      taskQueue: config.taskQueue,
      tokens: config.api.tokens,
      alertmanagerNodeLabel: config.api.alertmanagerNodeLabel,
      alertmanagerRules: config.api.alertmanagerRules,
      onResponse: apiRequestRecorder(Runtime.instance().metricMeter),
      nodeExists: async (node) => (await kube.find(paths.node(node))) !== undefined,
    });
    await api.listen({ host: config.api.listen.host, port: config.api.listen.port });
    const { address, port } = api.server.address() as AddressInfo;
    apiUrl = `http://${address.includes(':') ? `[${address}]` : address}:${port}`;
  }

  // The gauge of runs waiting for an operator, from visibility (the API's client, or one of its own).
  const statsClient = apiClient ?? (await connectClient(endpoint));
  const listing = new RunListing(statsClient.client);
  const decisionsPending = recordDecisionsPending(Runtime.instance().metricMeter, () =>
    listing.countDecisionsPending(),
  );

  const running = worker.run();
  await announceVersion(connection, config, logger);
  logger.info(
    `pitstop worker polling task queue "${config.taskQueue}" on ${config.temporal.address}/${config.temporal.namespace}`,
    {
      taskQueue: config.taskQueue,
      namespace: config.temporal.namespace,
      metrics: `${ops.url}/metrics`,
      ...(apiUrl ? { api: apiUrl } : {}),
    },
  );

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info(`${signal}: stopping (running activities get ${config.shutdownGraceMs} ms to finish)`, { signal });
    // No new requests; the worker stops polling and lets running activities finish.
    void api?.close();
    worker.shutdown();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));

  let failed = false;
  try {
    await running;
  } catch (e) {
    failed = true;
    logger.error(`worker stopped: ${(e as Error).message}`, { error: e });
  }
  await api?.close();
  decisionsPending.stop();
  await statsClient.close();
  await ops.close();
  await connection.close();
  kube.close();
  logger.info(failed ? 'stopped after a failure' : 'stopped');
  process.exit(failed ? 1 : 0);
}

main().catch((e: unknown) => {
  process.stderr.write(`pitstop: ${(e as Error).message ?? String(e)}\n`);
  process.exit(1);
});
