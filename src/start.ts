// `npm start`: the embedded default. Temporal dev server with its Web UI (state kept in .pitstop/), the sandbox
// cluster with the demo scenario (or your cluster with PITSTOP_KUBECONFIG), a Pitstop worker, and the HTTP API.
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Runtime, DefaultLogger } from '@temporalio/worker';
import { createApiServer } from './api/server.js';
import { CONFIG_VARIABLES, ConfigError } from './config/index.js';
import { readAlertmanager } from './config/alertmanager.js';
import { getter } from './config/read.js';
import { generateToken, readApiTokens, type ApiToken } from './config/tokens.js';
import { startTemporalDevServer } from './devserver/temporal.js';
import { KubeClient, paths } from './k8s/client.js';
import { freePort } from './sandbox/processes.js';
import { startSandbox, type Sandbox } from './sandbox/index.js';
import { loadScenarioFile } from './sandbox/scenario.js';
import { connectClient, connectWorker, type TemporalEndpoint } from './temporal/connection.js';
import { ensureTools } from './tools/binaries.js';
import { readVersioning } from './config/versioning.js';
import { promoteVersion } from './worker/versioning.js';
import { createPitstopWorker } from './worker/worker.js';

/** API tokens as the service reads them (PITSTOP_API_TOKENS_FILE, else PITSTOP_API_TOKENS); else one fresh write token. */
function apiTokens(): { tokens: ApiToken[]; generated?: string } {
  const problems: string[] = [];
  const tokens = readApiTokens(getter(process.env), problems);
  if (problems.length > 0) throw new ConfigError(problems);
  if (tokens) return { tokens };
  const token = generateToken();
  return { tokens: [{ role: 'write', token }], generated: token };
}

/** The Alertmanager hook's alert table as the service reads it (PITSTOP_ALERTMANAGER_RULES_FILE, ...). */
function alertRules() {
  const problems: string[] = [];
  const { rules } = readAlertmanager(getter(process.env), problems);
  if (problems.length > 0) throw new ConfigError(problems);
  return rules;
}

const say = (line: string) => console.log(`[pitstop] ${line}`);

async function portOr(preferred: number): Promise<number> {
  const net = await import('node:net');
  const free = await new Promise<boolean>((ok) => {
    const server = net.createServer().once('error', () => ok(false));
    server.listen(preferred, '127.0.0.1', () => server.close(() => ok(true)));
  });
  return free ? preferred : await freePort();
}

async function main() {
  const home = resolve(process.env.PITSTOP_HOME ?? '.pitstop');
  mkdirSync(home, { recursive: true });
  const started = Date.now();
  const tools = await ensureTools((line) => say(line));

  const temporalPort = await portOr(Number(process.env.PITSTOP_TEMPORAL_PORT ?? 7233));
  const uiPort = await portOr(Number(process.env.PITSTOP_UI_PORT ?? 8233));
  const temporal = await startTemporalDevServer({
    binary: tools.temporal,
    logDir: home,
    dbFile: join(home, 'temporal.db'),
    ui: true,
    port: temporalPort,
    uiPort,
  });
  say(`Temporal dev server at ${temporal.address} (state in ${join(home, 'temporal.db')})`);

  let sandbox: Sandbox | undefined;
  let kubeconfigPath = process.env.PITSTOP_KUBECONFIG;
  if (!kubeconfigPath) {
    const scenarioPath =
      process.env.PITSTOP_SCENARIO ?? new URL('./sandbox/scenarios/demo.yaml', import.meta.url).pathname;
    sandbox = await startSandbox({
      dir: join(home, 'sandbox'),
      binaries: tools.kube,
      scenario: loadScenarioFile(scenarioPath),
      log: (line) => say(line),
    });
    kubeconfigPath = sandbox.kubeconfigPath;
    say(`sandbox cluster up (scenario ${scenarioPath})`);
  } else {
    say(`using the cluster in ${kubeconfigPath}`);
  }

  Runtime.install({ logger: new DefaultLogger('WARN') });
  const kube = KubeClient.fromFile(kubeconfigPath);
  // The embedded dev server: local, plaintext, namespace default (the shell's TEMPORAL_* variables are not for it).
  const endpoint: TemporalEndpoint = { address: temporal.address, namespace: 'default' };
  const connection = await connectWorker(endpoint);
  const taskQueue = getter(process.env)('PITSTOP_TASK_QUEUE') ?? CONFIG_VARIABLES.PITSTOP_TASK_QUEUE.default;
  // One worker: its build takes new runs at once (docs/versioning.md), and runs it pinned come back to it.
  const versioning = readVersioning(getter(process.env), [], { enabled: true, promote: 'always' });
  const worker = await createPitstopWorker({ connection, namespace: 'default', taskQueue, kube, versioning });
  const running = worker.run();
  await promoteVersion(connection, 'default', versioning);

  const { tokens, generated } = apiTokens();
  const apiClient = await connectClient(endpoint);
  const api = createApiServer({
    client: apiClient.client,
    namespace: 'default',
    taskQueue,
    tokens,
    alertmanagerRules: alertRules(),
    nodeExists: async (node) => (await kube.find(paths.node(node))) !== undefined,
  });
  const apiPort = await portOr(Number(process.env.PITSTOP_API_PORT ?? 8080));
  await api.listen({ host: process.env.PITSTOP_API_HOST ?? '127.0.0.1', port: apiPort });
  const apiUrl = `http://${process.env.PITSTOP_API_HOST ?? '127.0.0.1'}:${apiPort}`;
  const shownToken = generated ?? '<your write token>';

  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  console.log(`
Pitstop is running (ready in ${seconds} s).

  Temporal Web UI   ${temporal.uiUrl}
  Temporal address  ${temporal.address}   (namespace default, task queue ${taskQueue})
  Kubeconfig        ${kubeconfigPath}
  kubectl           ${tools.kube.kubectl} --kubeconfig ${kubeconfigPath} get nodes,vmis -A

Start a maintenance from the UI: Workflows → Start Workflow, then
  Workflow ID    maintenance-worker-1
  Task Queue     ${taskQueue}
  Workflow Type  nodeMaintenance
  Input (JSON)   {"node": "worker-1", "reason": "NIC swap", "dryRun": true}

or from the Temporal CLI:
  ${tools.temporal} workflow execute --address ${temporal.address} --task-queue ${taskQueue} \\
    --type nodeMaintenance --workflow-id maintenance-worker-1 --input '{"node":"worker-1","dryRun":true}'

HTTP API          ${apiUrl}/v1   (OpenAPI document: ${apiUrl}/v1/openapi.json)
  ${generated ? `write token (generated for this run; set PITSTOP_API_TOKENS_FILE to choose your own): ${generated}` : 'tokens from PITSTOP_API_TOKENS / PITSTOP_API_TOKENS_FILE'}
  curl -s -H "Authorization: Bearer ${shownToken}" -H 'content-type: application/json' \\
    -d '{"node":"worker-1","dryRun":true}' ${apiUrl}/v1/plans

CLI (same Temporal): TEMPORAL_ADDRESS=${temporal.address} npm run pitstop -- plan worker-1

Ctrl-C stops everything.`);

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    say('stopping…');
    try {
      worker.shutdown();
    } catch {
      // The SDK drains the worker on SIGINT/SIGTERM by itself; it may already be shutting down.
    }
    await api.close().catch(() => undefined);
    await apiClient.close().catch(() => undefined);
    await running.catch(() => undefined);
    await connection.close();
    kube.close();
    await sandbox?.stop();
    await temporal.stop();
    say('stopped');
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
  await running;
}

main().catch((e: unknown) => {
  if (e instanceof ConfigError)
    for (const problem of e.problems) console.error(`[pitstop] configuration error: ${problem}`);
  else console.error(`[pitstop] ${(e as Error).message ?? e}`);
  process.exit(1);
});
