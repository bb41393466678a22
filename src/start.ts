// `npm start`: the embedded default. Temporal dev server with its Web UI (state kept in .pitstop/), the sandbox
// cluster with the demo scenario (or your cluster with PITSTOP_KUBECONFIG), a Pitstop worker, and the HTTP API.
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { NativeConnection, Runtime, DefaultLogger } from '@temporalio/worker';
import { ensureTools } from './tools/binaries.js';
import { startTemporalDevServer } from './devserver/temporal.js';
import { freePort } from './sandbox/processes.js';
import { startSandbox, type Sandbox } from './sandbox/index.js';
import { loadScenarioFile } from './sandbox/scenario.js';
import { KubeClient } from './k8s/client.js';
import { createPitstopWorker } from './worker/worker.js';
import { TASK_QUEUE } from './domain/workflowNames.js';
import { readFileSync } from 'node:fs';
import { Client, Connection } from '@temporalio/client';
import { paths } from './k8s/client.js';
import { createApiServer } from './api/server.js';
import { generateToken, parseTokens, type ApiToken } from './api/auth.js';

/**
 * API tokens from PITSTOP_API_TOKENS_FILE, else PITSTOP_API_TOKENS (the file format as text) — the order the service's
 * configuration uses —; else one fresh write token.
 */
function apiTokens(): { tokens: ApiToken[]; generated?: string } {
  const file = process.env.PITSTOP_API_TOKENS_FILE;
  const text = file ? readFileSync(file, 'utf8') : process.env.PITSTOP_API_TOKENS;
  if (text !== undefined) return { tokens: parseTokens(text) };
  const token = generateToken();
  return { tokens: [{ role: 'write', token }], generated: token };
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
  const connection = await NativeConnection.connect({ address: temporal.address });
  const taskQueue = process.env.PITSTOP_TASK_QUEUE ?? TASK_QUEUE;
  const worker = await createPitstopWorker({ connection, namespace: 'default', taskQueue, kube });
  const running = worker.run();

  const { tokens, generated } = apiTokens();
  const clientConnection = await Connection.connect({ address: temporal.address });
  const api = createApiServer({
    client: new Client({ connection: clientConnection, namespace: 'default' }),
    namespace: 'default',
    taskQueue,
    tokens,
    alertmanagerNodeLabel: process.env.PITSTOP_ALERTMANAGER_NODE_LABEL ?? 'node',
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
    await clientConnection.close().catch(() => undefined);
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
  console.error(`[pitstop] ${(e as Error).message ?? e}`);
  process.exit(1);
});
