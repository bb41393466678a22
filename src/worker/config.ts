// The Temporal settings in the shape the client side (src/client/connect.ts, the CLI) reads; the configuration
// itself lives in one place, src/config.ts. A local tool defaults to the dev server's address.
import { loadTemporalConfig } from '../config.js';

export { ConfigError } from '../config.js';

export interface WorkerConfig {
  temporalAddress: string;
  temporalNamespace: string;
  taskQueue: string;
  kubeconfig?: string;
  tls?: { clientCertPath?: string; clientKeyPath?: string; serverCaPath?: string; serverName?: string };
  apiKey?: string;
}

export function loadWorkerConfig(env: NodeJS.ProcessEnv = process.env): WorkerConfig {
  const { temporal, taskQueue } = loadTemporalConfig(env, { defaultAddress: '127.0.0.1:7233' });
  return {
    temporalAddress: temporal.address,
    temporalNamespace: temporal.namespace,
    taskQueue,
    kubeconfig: env.KUBECONFIG,
    tls: temporal.tls,
    apiKey: temporal.apiKey,
  };
}
