// Worker configuration from the environment (the standard Temporal variable names, so Temporal Cloud works).
import { readFileSync } from 'node:fs';
import { TASK_QUEUE } from '../workflows/messages.js';

export interface WorkerConfig {
  temporalAddress: string;
  temporalNamespace: string;
  taskQueue: string;
  kubeconfig?: string;
  tls?: { clientCertPath?: string; clientKeyPath?: string; serverCaPath?: string; serverName?: string };
  apiKey?: string;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

export function loadWorkerConfig(env: NodeJS.ProcessEnv = process.env): WorkerConfig {
  const address = env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233';
  if (!/^[^\s:]+:\d+$/.test(address)) throw new ConfigError(`TEMPORAL_ADDRESS "${address}" is not host:port`);
  const apiKeyFile = env.TEMPORAL_API_KEY_FILE;
  let apiKey = env.TEMPORAL_API_KEY;
  if (!apiKey && apiKeyFile) {
    apiKey = readFileSync(apiKeyFile, 'utf8').trim();
    if (!apiKey) throw new ConfigError(`TEMPORAL_API_KEY_FILE ${apiKeyFile} is empty`);
  }
  const tlsWanted = env.TEMPORAL_TLS === 'true' || !!env.TEMPORAL_TLS_CLIENT_CERT_PATH || !!apiKey;
  return {
    temporalAddress: address,
    temporalNamespace: env.TEMPORAL_NAMESPACE ?? 'default',
    taskQueue: env.PITSTOP_TASK_QUEUE ?? TASK_QUEUE,
    kubeconfig: env.KUBECONFIG,
    tls: tlsWanted
      ? {
          clientCertPath: env.TEMPORAL_TLS_CLIENT_CERT_PATH,
          clientKeyPath: env.TEMPORAL_TLS_CLIENT_KEY_PATH,
          serverCaPath: env.TEMPORAL_TLS_SERVER_CA_CERT_PATH,
          serverName: env.TEMPORAL_TLS_SERVER_NAME,
        }
      : undefined,
    apiKey,
  };
}
