// The one way Pitstop reaches Temporal: the worker (NativeConnection), the HTTP API and the CLI (Connection) and the
// chaos runner all connect through here, from the same settings (src/config/temporal.ts), so one environment serves
// every process and TLS is built one way.
import { readFileSync } from 'node:fs';
import { Client, Connection, type TLSConfig } from '@temporalio/client';
import type { NativeConnection } from '@temporalio/worker';
import { ConfigError } from '../config/read.js';
import { TLS_FILES, type TemporalSettings } from '../config/temporal.js';

/** Where and how to connect, with the TLS material already read: made once, used for every connection. */
export interface TemporalEndpoint {
  address: string;
  namespace: string;
  tls?: TLSConfig;
  apiKey?: string;
}

/**
 * Reads the TLS files once. The configuration checked them at start, but a file can go away before the connection
 * is made (a rotated Secret): that is a configuration error naming the variable, not a bare ENOENT.
 */
export function temporalEndpoint(settings: TemporalSettings): TemporalEndpoint {
  const { address, namespace, apiKey } = settings;
  const base = { address, namespace, ...(apiKey !== undefined && { apiKey }) };
  if (!settings.tls) return base;
  const problems: string[] = [];
  const pem: Partial<Record<(typeof TLS_FILES)[number]['key'], Buffer>> = {};
  for (const { key, variable } of TLS_FILES) {
    const path = settings.tls[key];
    if (!path) continue;
    try {
      pem[key] = readFileSync(path);
    } catch (e) {
      problems.push(`${variable} ${path} cannot be read (${(e as NodeJS.ErrnoException).code ?? 'unreadable'})`);
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  const tls: TLSConfig = {
    ...(settings.tls.serverName !== undefined && { serverNameOverride: settings.tls.serverName }),
    ...(pem.serverCaPath && { serverRootCACertificate: pem.serverCaPath }),
    ...(pem.clientCertPath &&
      pem.clientKeyPath && { clientCertPair: { crt: pem.clientCertPath, key: pem.clientKeyPath } }),
  };
  return { ...base, tls };
}

export interface ConnectedClient {
  client: Client;
  connection: Connection;
  close(): Promise<void>;
}

/** A client connection (API, CLI, chaos runner); fails within `connectTimeoutMs` when Temporal cannot be reached. */
export async function connectClient(
  endpoint: TemporalEndpoint,
  options: { connectTimeoutMs?: number } = {},
): Promise<ConnectedClient> {
  const connection = await Connection.connect({
    address: endpoint.address,
    tls: endpoint.tls,
    apiKey: endpoint.apiKey,
    connectTimeout: options.connectTimeoutMs ?? 10_000,
  });
  const client = new Client({ connection, namespace: endpoint.namespace });
  return { client, connection, close: () => connection.close() };
}

/**
 * A worker connection. The worker package loads Temporal's native core, so it is imported only here, when a worker
 * connection is wanted: the CLI, which imports this module too, does not pay for it on every command.
 */
export async function connectWorker(endpoint: TemporalEndpoint): Promise<NativeConnection> {
  const { NativeConnection } = await import('@temporalio/worker');
  return await NativeConnection.connect({ address: endpoint.address, tls: endpoint.tls, apiKey: endpoint.apiKey });
}
