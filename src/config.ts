// Pitstop's configuration, in one place: read from the environment once at start, every problem found at once and
// reported one line each, so a bad deployment stops before it touches Temporal or the cluster.
// Temporal settings use the standard Temporal variable names (as the Temporal CLI and SDKs do), so Temporal Cloud
// works with TEMPORAL_ADDRESS + TEMPORAL_NAMESPACE + TEMPORAL_API_KEY (or mTLS certificates).
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { readTokens, type ApiToken } from './api/auth.js';
import { durationProblem, parseDuration } from './domain/durations.js';
import { TASK_QUEUE } from './domain/workflowNames.js';

export type { ApiToken };

export type LogLevel = 'TRACE' | 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
export const LOG_LEVELS: readonly LogLevel[] = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR'];

export interface Listen {
  host: string;
  port: number;
}

export interface TemporalTls {
  clientCertPath?: string;
  clientKeyPath?: string;
  serverCaPath?: string;
  serverName?: string;
}

export interface PitstopConfig {
  temporal: {
    address: string;
    namespace: string;
    /** TLS on (server CA from the system when no CA file is given); undefined = plaintext. */
    tls?: TemporalTls;
    apiKey?: string;
  };
  taskQueue: string;
  /** A kubeconfig file, or `in-cluster` (the pod's ServiceAccount). */
  kube: { kind: 'file'; path: string } | { kind: 'in-cluster' };
  /** The HTTP API; undefined when PITSTOP_API_ADDRESS is `off`. */
  api?: { listen: Listen; tokens: ApiToken[]; alertmanagerNodeLabel: string };
  /** /metrics, /healthz, /readyz. */
  metrics: Listen;
  logLevel: LogLevel;
  shutdownGraceMs: number;
  /** A bundle made by `npm run bundle` (the image has one); undefined = bundle the workflows from source at start. */
  workflowBundlePath?: string;
}

/** Every variable Pitstop reads, with its default and meaning (the README's table is made from the same facts). */
export const CONFIG_VARIABLES = {
  TEMPORAL_ADDRESS: { default: undefined, meaning: 'Temporal frontend host:port (required)' },
  TEMPORAL_NAMESPACE: { default: 'default', meaning: 'Temporal namespace' },
  TEMPORAL_API_KEY: { default: undefined, meaning: 'API key (Temporal Cloud); turns TLS on' },
  TEMPORAL_API_KEY_FILE: { default: undefined, meaning: 'file holding the API key (instead of TEMPORAL_API_KEY)' },
  TEMPORAL_TLS: { default: 'false', meaning: 'true: TLS with the system CAs, without client certificates' },
  TEMPORAL_TLS_CLIENT_CERT_PATH: { default: undefined, meaning: 'mTLS client certificate (PEM file)' },
  TEMPORAL_TLS_CLIENT_KEY_PATH: { default: undefined, meaning: 'mTLS client key (PEM file)' },
  TEMPORAL_TLS_SERVER_CA_CERT_PATH: { default: undefined, meaning: 'CA of the Temporal server (PEM file)' },
  TEMPORAL_TLS_SERVER_NAME: { default: undefined, meaning: 'TLS server name override' },
  PITSTOP_TASK_QUEUE: { default: TASK_QUEUE, meaning: 'task queue of the worker (and of workflows the API starts)' },
  KUBECONFIG: { default: 'in-cluster, else ~/.kube/config', meaning: 'the cluster Pitstop maintains' },
  PITSTOP_API_ADDRESS: { default: '0.0.0.0:8080', meaning: 'HTTP API listen host:port, or `off`' },
  PITSTOP_API_TOKENS_FILE: { default: undefined, meaning: 'API bearer tokens, one `read|write <token>` a line' },
  PITSTOP_API_TOKENS: { default: undefined, meaning: 'the same lines in a variable' },
  PITSTOP_ALERTMANAGER_NODE_LABEL: { default: 'node', meaning: 'alert label naming the node (Alertmanager hook)' },
  PITSTOP_METRICS_ADDRESS: { default: '0.0.0.0:9464', meaning: '/metrics, /healthz, /readyz listen host:port' },
  PITSTOP_LOG_LEVEL: { default: 'INFO', meaning: 'TRACE, DEBUG, INFO, WARN or ERROR (JSON lines on stdout)' },
  PITSTOP_SHUTDOWN_GRACE: { default: '30s', meaning: 'on SIGTERM: how long running activities may take to finish' },
  PITSTOP_WORKFLOW_BUNDLE: { default: 'dist/workflow-bundle.js if present', meaning: 'pre-built workflow bundle' },
} as const;

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
  }
}

const IN_CLUSTER_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

function parseListen(name: string, text: string, problems: string[]): Listen {
  const m = /^(\[[0-9a-fA-F:]+\]|[^\s:[\]]+):(\d{1,5})$/.exec(text);
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535) {
    problems.push(`${name} "${text}" is not host:port (e.g. 0.0.0.0:8080)`);
    return { host: '0.0.0.0', port: 0 };
  }
  return { host: (m[1] ?? '').replace(/^\[|\]$/g, ''), port };
}

function readable(path: string): string | undefined {
  try {
    accessSync(path, constants.R_OK);
    return undefined;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code ?? 'unreadable';
  }
}

/** Token lines (`<role> <token>`) checked by the API's own reader; each problem prefixed with where it came from. */
function tokensFrom(text: string, source: string, problems: string[]): ApiToken[] {
  const read = readTokens(text);
  problems.push(...read.problems.map((problem) => `${source}: ${problem}`));
  return read.tokens;
}

type Getter = (name: keyof typeof CONFIG_VARIABLES) => string | undefined;
const getter =
  (env: NodeJS.ProcessEnv): Getter =>
  (name) => {
    const v = env[name]?.trim();
    return v ? v : undefined;
  };

/**
 * The Temporal part alone (address, namespace, TLS, API key, task queue), for clients such as the CLI; problems
 * are added to `problems`. `defaultAddress` lets a local tool default to the dev server; the service requires one.
 */
function readTemporal(
  get: Getter,
  problems: string[],
  defaultAddress?: string,
): Pick<PitstopConfig, 'temporal' | 'taskQueue'> {
  // Temporal.
  const address = get('TEMPORAL_ADDRESS') ?? defaultAddress;
  if (!address) problems.push('TEMPORAL_ADDRESS is not set: give the Temporal frontend as host:port');
  else if (!/^[^\s:/]+:\d{1,5}$/.test(address))
    problems.push(`TEMPORAL_ADDRESS "${address}" is not host:port (e.g. my-ns.a1b2c.tmprl.cloud:7233)`);
  let apiKey = get('TEMPORAL_API_KEY');
  const apiKeyFile = get('TEMPORAL_API_KEY_FILE');
  if (!apiKey && apiKeyFile) {
    const why = readable(apiKeyFile);
    if (why) problems.push(`TEMPORAL_API_KEY_FILE ${apiKeyFile} cannot be read (${why})`);
    else {
      apiKey = readFileSync(apiKeyFile, 'utf8').trim() || undefined;
      if (!apiKey) problems.push(`TEMPORAL_API_KEY_FILE ${apiKeyFile} is empty`);
    }
  }
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
  for (const [name, path] of [
    ['TEMPORAL_TLS_CLIENT_CERT_PATH', tls.clientCertPath],
    ['TEMPORAL_TLS_CLIENT_KEY_PATH', tls.clientKeyPath],
    ['TEMPORAL_TLS_SERVER_CA_CERT_PATH', tls.serverCaPath],
  ] as const) {
    const why = path ? readable(path) : undefined;
    if (why) problems.push(`${name} ${path} cannot be read (${why})`);
  }
  const tlsWanted =
    tlsFlag === 'true' ||
    (tlsFlag !== 'false' && (!!apiKey || !!tls.clientCertPath || !!tls.serverCaPath || !!tls.serverName));

  return {
    temporal: {
      address: address ?? '',
      namespace: get('TEMPORAL_NAMESPACE') ?? 'default',
      tls: tlsWanted ? tls : undefined,
      apiKey,
    },
    taskQueue: get('PITSTOP_TASK_QUEUE') ?? TASK_QUEUE,
  };
}

/** Temporal settings only (see readTemporal); throws ConfigError naming every problem. */
export function loadTemporalConfig(
  env: NodeJS.ProcessEnv = process.env,
  options: { defaultAddress?: string } = {},
): Pick<PitstopConfig, 'temporal' | 'taskQueue'> {
  const problems: string[] = [];
  const result = readTemporal(getter(env), problems, options.defaultAddress);
  if (problems.length) throw new ConfigError(problems);
  return result;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): PitstopConfig {
  const problems: string[] = [];
  const get = getter(env);
  const { temporal, taskQueue } = readTemporal(get, problems);

  // Kubernetes.
  let kube: PitstopConfig['kube'];
  const kubeconfig = get('KUBECONFIG');
  if (kubeconfig) {
    const why = readable(kubeconfig);
    if (why) problems.push(`KUBECONFIG ${kubeconfig} cannot be read (${why})`);
    kube = { kind: 'file', path: kubeconfig };
  } else if (env.KUBERNETES_SERVICE_HOST && existsSync(IN_CLUSTER_TOKEN)) {
    kube = { kind: 'in-cluster' };
  } else {
    const home = join(homedir(), '.kube', 'config');
    if (readable(home))
      problems.push(`no cluster: KUBECONFIG is not set, not running in a pod, and ${home} cannot be read`);
    kube = { kind: 'file', path: home };
  }

  // HTTP API.
  let api: PitstopConfig['api'];
  const apiAddress = get('PITSTOP_API_ADDRESS') ?? '0.0.0.0:8080';
  if (apiAddress !== 'off') {
    const listen = parseListen('PITSTOP_API_ADDRESS', apiAddress, problems);
    const tokensFile = get('PITSTOP_API_TOKENS_FILE');
    const tokensEnv = get('PITSTOP_API_TOKENS');
    let tokens: ApiToken[] = [];
    if (tokensFile) {
      const why = readable(tokensFile);
      if (why) problems.push(`PITSTOP_API_TOKENS_FILE ${tokensFile} cannot be read (${why})`);
      else {
        tokens = tokensFrom(readFileSync(tokensFile, 'utf8'), `PITSTOP_API_TOKENS_FILE ${tokensFile}`, problems);
      }
    } else if (tokensEnv) {
      tokens = tokensFrom(tokensEnv, 'PITSTOP_API_TOKENS', problems);
    } else {
      problems.push(
        'the HTTP API needs tokens: set PITSTOP_API_TOKENS_FILE (or PITSTOP_API_TOKENS), or PITSTOP_API_ADDRESS=off',
      );
    }
    api = { listen, tokens, alertmanagerNodeLabel: get('PITSTOP_ALERTMANAGER_NODE_LABEL') ?? 'node' };
  }

  const metrics = parseListen('PITSTOP_METRICS_ADDRESS', get('PITSTOP_METRICS_ADDRESS') ?? '0.0.0.0:9464', problems);

  const level = (get('PITSTOP_LOG_LEVEL') ?? 'INFO').toUpperCase();
  if (!LOG_LEVELS.includes(level as LogLevel))
    problems.push(`PITSTOP_LOG_LEVEL "${get('PITSTOP_LOG_LEVEL')}" is not one of ${LOG_LEVELS.join(', ')}`);

  const grace = get('PITSTOP_SHUTDOWN_GRACE') ?? '30s';
  const graceProblem = durationProblem(grace);
  if (graceProblem) problems.push(`PITSTOP_SHUTDOWN_GRACE: ${graceProblem}`);

  let workflowBundlePath = get('PITSTOP_WORKFLOW_BUNDLE');
  if (workflowBundlePath) {
    const why = readable(workflowBundlePath);
    if (why) problems.push(`PITSTOP_WORKFLOW_BUNDLE ${workflowBundlePath} cannot be read (${why})`);
  } else {
    const built = new URL('../dist/workflow-bundle.js', import.meta.url).pathname;
    // Only next to compiled code (dist/main.js): from source, a stale bundle must not shadow the workflows.
    if (import.meta.url.endsWith('.js') && existsSync(built)) workflowBundlePath = built;
  }

  if (problems.length) throw new ConfigError(problems);
  return {
    temporal,
    taskQueue,
    kube,
    api,
    metrics,
    logLevel: level as LogLevel,
    shutdownGraceMs: parseDuration(grace),
    workflowBundlePath,
  };
}
