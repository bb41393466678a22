// Pitstop's configuration, in one place: read from the environment once at start, every problem found at once and
// reported one line each, so a bad deployment stops before it touches Temporal or the cluster. This layer imports
// only the domain and Node built-ins: everything else imports it.
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { parseNodeCount, type AdmissionLimits } from '../domain/admission.js';
import type { AlertRule } from '../domain/alertRules.js';
import { durationProblem, parseDuration } from '../domain/durations.js';
import { readAlertmanager } from './alertmanager.js';
import { ConfigError, getter, parseListen, unreadable, type Getter, type Listen } from './read.js';
import { readTemporal, type TemporalSettings } from './temporal.js';
import { readApiTokens, type ApiToken } from './tokens.js';
import { readVersioning, type VersioningConfig } from './versioning.js';
import { CONFIG_VARIABLES } from './variables.js';

export { ConfigError, CONFIG_VARIABLES };
export type { ApiToken, Listen, TemporalSettings, VersioningConfig };

export type LogLevel = 'TRACE' | 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
export const LOG_LEVELS: readonly LogLevel[] = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR'];

export interface PitstopConfig {
  temporal: TemporalSettings;
  taskQueue: string;
  /** A kubeconfig file, or `in-cluster` (the pod's ServiceAccount). */
  kube: { kind: 'file'; path: string } | { kind: 'in-cluster' };
  /** The HTTP API; undefined when PITSTOP_API_ADDRESS is `off`. */
  api?: { listen: Listen; tokens: ApiToken[]; alertmanagerNodeLabel: string; alertmanagerRules: AlertRule[] };
  /** /metrics, /healthz, /readyz. */
  metrics: Listen;
  logLevel: LogLevel;
  shutdownGraceMs: number;
  /** A bundle made by `npm run bundle` (the image has one); undefined = bundle the workflows from source at start. */
  workflowBundlePath?: string;
  /** Worker Versioning: the deployment version the worker announces (docs/versioning.md). */
  versioning: VersioningConfig;
  /** The cluster-wide admission's budget and storm guard (src/domain/admission.ts). */
  admission: AdmissionLimits;
}

const IN_CLUSTER_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

function readKube(get: Getter, env: NodeJS.ProcessEnv, problems: string[]): PitstopConfig['kube'] {
  const kubeconfig = get('KUBECONFIG');
  if (kubeconfig) {
    const why = unreadable(kubeconfig);
    if (why) problems.push(`KUBECONFIG ${kubeconfig} cannot be read (${why})`);
    return { kind: 'file', path: kubeconfig };
  }
  if (env.KUBERNETES_SERVICE_HOST && existsSync(IN_CLUSTER_TOKEN)) return { kind: 'in-cluster' };
  const home = join(homedir(), '.kube', 'config');
  if (unreadable(home))
    problems.push(`no cluster: KUBECONFIG is not set, not running in a pod, and ${home} cannot be read`);
  return { kind: 'file', path: home };
}

function readApi(get: Getter, problems: string[]): PitstopConfig['api'] {
  const apiAddress = get('PITSTOP_API_ADDRESS') ?? CONFIG_VARIABLES.PITSTOP_API_ADDRESS.default;
  if (apiAddress === 'off') return undefined;
  const listen = parseListen('PITSTOP_API_ADDRESS', apiAddress, problems);
  const tokens = readApiTokens(get, problems);
  if (!tokens) {
    problems.push(
      'the HTTP API needs tokens: set PITSTOP_API_TOKENS_FILE (or PITSTOP_API_TOKENS), or PITSTOP_API_ADDRESS=off',
    );
  }
  const alertmanager = readAlertmanager(get, problems);
  return {
    listen,
    tokens: tokens ?? [],
    alertmanagerNodeLabel: alertmanager.nodeLabel,
    alertmanagerRules: alertmanager.rules,
  };
}

function readWorkflowBundle(get: Getter, problems: string[]): string | undefined {
  const path = get('PITSTOP_WORKFLOW_BUNDLE');
  if (path) {
    const why = unreadable(path);
    if (why) problems.push(`PITSTOP_WORKFLOW_BUNDLE ${path} cannot be read (${why})`);
    return path;
  }
  const built = new URL('../../dist/workflow-bundle.js', import.meta.url).pathname;
  // Only next to compiled code (dist/config/index.js): from source, a stale bundle must not shadow the workflows.
  return import.meta.url.endsWith('.js') && existsSync(built) ? built : undefined;
}

function readAdmission(get: Getter, problems: string[]): AdmissionLimits {
  const read = (name: 'PITSTOP_MAX_NODES_DOWN' | 'PITSTOP_MAX_UNHEALTHY') => {
    const text = get(name) ?? CONFIG_VARIABLES[name].default;
    const value = parseNodeCount(text);
    if (!value) problems.push(`${name} "${text}" is not a count (e.g. 2) nor a percentage (e.g. 25%)`);
    return value ?? { count: 1 };
  };
  return { maxNodesDown: read('PITSTOP_MAX_NODES_DOWN'), maxUnhealthy: read('PITSTOP_MAX_UNHEALTHY') };
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): PitstopConfig {
  const problems: string[] = [];
  const get = getter(env);
  const { temporal, taskQueue } = readTemporal(get, problems);
  const kube = readKube(get, env, problems);
  const api = readApi(get, problems);
  const metrics = parseListen(
    'PITSTOP_METRICS_ADDRESS',
    get('PITSTOP_METRICS_ADDRESS') ?? CONFIG_VARIABLES.PITSTOP_METRICS_ADDRESS.default,
    problems,
  );

  const level = (get('PITSTOP_LOG_LEVEL') ?? CONFIG_VARIABLES.PITSTOP_LOG_LEVEL.default).toUpperCase();
  if (!LOG_LEVELS.includes(level as LogLevel))
    problems.push(`PITSTOP_LOG_LEVEL "${get('PITSTOP_LOG_LEVEL')}" is not one of ${LOG_LEVELS.join(', ')}`);

  const grace = get('PITSTOP_SHUTDOWN_GRACE') ?? CONFIG_VARIABLES.PITSTOP_SHUTDOWN_GRACE.default;
  const graceProblem = durationProblem(grace);
  if (graceProblem) problems.push(`PITSTOP_SHUTDOWN_GRACE: ${graceProblem}`);

  const workflowBundlePath = readWorkflowBundle(get, problems);
  const versioning = readVersioning(get, problems);
  const admission = readAdmission(get, problems);

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
    versioning,
    admission,
  };
}
