// `npm run worker`: a Pitstop worker against the Temporal server and cluster named by the environment.
import { readFileSync } from 'node:fs';
import { NativeConnection } from '@temporalio/worker';
import { KubeClient } from '../k8s/client.js';
import { loadWorkerConfig, ConfigError, type WorkerConfig } from './config.js';
import { createPitstopWorker } from './worker.js';

export async function connectTemporal(config: WorkerConfig): Promise<NativeConnection> {
  const tls = config.tls
    ? {
        serverNameOverride: config.tls.serverName,
        serverRootCACertificate: config.tls.serverCaPath ? readFileSync(config.tls.serverCaPath) : undefined,
        clientCertPair:
          config.tls.clientCertPath && config.tls.clientKeyPath
            ? { crt: readFileSync(config.tls.clientCertPath), key: readFileSync(config.tls.clientKeyPath) }
            : undefined,
      }
    : undefined;
  return await NativeConnection.connect({ address: config.temporalAddress, tls, apiKey: config.apiKey });
}

async function main() {
  const config = loadWorkerConfig();
  const kube = config.kubeconfig ? KubeClient.fromFile(config.kubeconfig) : KubeClient.fromDefault();
  const connection = await connectTemporal(config);
  const worker = await createPitstopWorker({
    connection,
    namespace: config.temporalNamespace,
    taskQueue: config.taskQueue,
    kube,
  });
  console.log(
    `pitstop worker polling task queue "${config.taskQueue}" on ${config.temporalAddress}/${config.temporalNamespace}`,
  );
  await worker.run();
  await connection.close();
}

main().catch((e: unknown) => {
  console.error(e instanceof ConfigError ? `configuration error: ${e.message}` : e);
  process.exit(1);
});
