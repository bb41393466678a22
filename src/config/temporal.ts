// The Temporal part of the configuration (address, namespace, TLS, API key, task queue): what the service, the CLI
// and the chaos worker all connect with. src/temporal/connection.ts turns it into connection options.
import { readFileSync } from 'node:fs';
import { ConfigError, getter, unreadable, type Getter } from './read.js';
import { CONFIG_VARIABLES } from './variables.js';

/** PEM files for TLS, by path; each is read once, when the connection options are made. */
export interface TemporalTls {
  clientCertPath?: string;
  clientKeyPath?: string;
  serverCaPath?: string;
  serverName?: string;
}

export interface TemporalSettings {
  address: string;
  namespace: string;
  /** TLS on (server CA from the system when no CA file is given); undefined = plaintext. */
  tls?: TemporalTls;
  apiKey?: string;
}

export interface TemporalConfig {
  temporal: TemporalSettings;
  taskQueue: string;
}

/** Which variable names each TLS file, so a file that cannot be read is reported by the name the operator set. */
export const TLS_FILES = [
  { key: 'clientCertPath', variable: 'TEMPORAL_TLS_CLIENT_CERT_PATH' },
  { key: 'clientKeyPath', variable: 'TEMPORAL_TLS_CLIENT_KEY_PATH' },
  { key: 'serverCaPath', variable: 'TEMPORAL_TLS_SERVER_CA_CERT_PATH' },
] as const;

function readApiKey(get: Getter, problems: string[]): string | undefined {
  const apiKey = get('TEMPORAL_API_KEY');
  const apiKeyFile = get('TEMPORAL_API_KEY_FILE');
  if (apiKey || !apiKeyFile) return apiKey;
  const why = unreadable(apiKeyFile);
  if (why) {
    problems.push(`TEMPORAL_API_KEY_FILE ${apiKeyFile} cannot be read (${why})`);
    return undefined;
  }
  const fromFile = readFileSync(apiKeyFile, 'utf8').trim() || undefined;
  if (!fromFile) problems.push(`TEMPORAL_API_KEY_FILE ${apiKeyFile} is empty`);
  return fromFile;
}

/**
 * The Temporal settings; problems are added to `problems`. `defaultAddress` lets a local tool default to the dev
 * server; the service requires one.
 */
export function readTemporal(get: Getter, problems: string[], defaultAddress?: string): TemporalConfig {
  const address = get('TEMPORAL_ADDRESS') ?? defaultAddress;
  if (!address) problems.push('TEMPORAL_ADDRESS is not set: give the Temporal frontend as host:port');
  else if (!/^[^\s:/]+:\d{1,5}$/.test(address))
    problems.push(`TEMPORAL_ADDRESS "${address}" is not host:port (e.g. my-ns.a1b2c.tmprl.cloud:7233)`);
  const apiKey = readApiKey(get, problems);
  const tlsFlag = get('TEMPORAL_TLS');
  if (tlsFlag && !['true', 'false'].includes(tlsFlag)) problems.push(`TEMPORAL_TLS "${tlsFlag}" is not true or false`);
  const tls: TemporalTls = {
    clientCertPath: get('TEMPORAL_TLS_CLIENT_CERT_PATH'),
    clientKeyPath: get('TEMPORAL_TLS_CLIENT_KEY_PATH'),
    serverCaPath: get('TEMPORAL_TLS_SERVER_CA_CERT_PATH'),
    serverName: get('TEMPORAL_TLS_SERVER_NAME'),
  };
  if (!!tls.clientCertPath !== !!tls.clientKeyPath)
    problems.push('TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH must be given together');
  for (const [name, path] of TLS_FILES.map((f) => [f.variable, tls[f.key]] as const)) {
    const why = path ? unreadable(path) : undefined;
    if (why) problems.push(`${name} ${path} cannot be read (${why})`);
  }
  const tlsWanted =
    tlsFlag === 'true' ||
    (tlsFlag !== 'false' && (!!apiKey || !!tls.clientCertPath || !!tls.serverCaPath || !!tls.serverName));

  return {
    temporal: {
      address: address ?? '',
      namespace: get('TEMPORAL_NAMESPACE') ?? CONFIG_VARIABLES.TEMPORAL_NAMESPACE.default,
      tls: tlsWanted ? tls : undefined,
      apiKey,
    },
    taskQueue: get('PITSTOP_TASK_QUEUE') ?? CONFIG_VARIABLES.PITSTOP_TASK_QUEUE.default,
  };
}

/** Temporal settings only (for clients such as the CLI); throws ConfigError naming every problem. */
export function loadTemporalConfig(
  env: NodeJS.ProcessEnv = process.env,
  options: { defaultAddress?: string } = {},
): TemporalConfig {
  const problems: string[] = [];
  const result = readTemporal(getter(env), problems, options.defaultAddress);
  if (problems.length) throw new ConfigError(problems);
  return result;
}
