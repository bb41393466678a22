// A Temporal client from the standard environment variables (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TLS, API key):
// the same reading as the worker's (src/worker/config.ts), so one environment serves worker, API and CLI.
import { readFileSync } from 'node:fs';
import { Client, Connection } from '@temporalio/client';
import { loadWorkerConfig, type WorkerConfig } from '../worker/config.js';

export interface ConnectedClient {
  client: Client;
  config: WorkerConfig;
  close(): Promise<void>;
}

export async function connectClient(
  env: NodeJS.ProcessEnv = process.env,
  options: { connectTimeoutMs?: number } = {},
): Promise<ConnectedClient> {
  const config = loadWorkerConfig(env);
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
  const connection = await Connection.connect({
    address: config.temporalAddress,
    tls,
    apiKey: config.apiKey,
    connectTimeout: options.connectTimeoutMs ?? 10_000,
  });
  const client = new Client({ connection, namespace: config.temporalNamespace });
  return { client, config, close: () => connection.close() };
}
