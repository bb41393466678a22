// `npm run bench`: start-up figures of the embedded default, printed (benchmarks measure; tests assert).
//   - tool look-up (warm cache), Temporal dev server start, sandbox start (control plane, CRDs, controllers,
//     webhooks) and demo scenario until every VMI runs;
//   - dry-run latency: workflow start to result, median and worst of 20 runs on the demo cluster.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { ensureTools } from '../src/tools/binaries.js';
import { startTemporalDevServer } from '../src/devserver/temporal.js';
import { startSandbox } from '../src/sandbox/index.js';
import { loadScenarioFile } from '../src/sandbox/scenario.js';
import { kv } from '../src/k8s/client.js';
import { startBenchWorker } from './worker.js';
import { WORKFLOW_TYPES } from '../src/domain/workflowNames.js';
import type { nodeMaintenance } from '../src/workflows/index.js';

const dir = mkdtempSync(join(tmpdir(), 'pitstop-bench-'));
const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const figures: [string, string][] = [];

let t = Date.now();
const tools = await ensureTools();
figures.push(['tool look-up (cached)', seconds(Date.now() - t)]);

t = Date.now();
const temporal = await startTemporalDevServer({ binary: tools.temporal, logDir: dir });
figures.push(['Temporal dev server start', seconds(Date.now() - t)]);

t = Date.now();
const scenario = loadScenarioFile(new URL('../src/sandbox/scenarios/demo.yaml', import.meta.url).pathname);
const sandbox = await startSandbox({ dir: join(dir, 'sandbox'), binaries: tools.kube, scenario });
figures.push(['sandbox start + demo scenario applied', seconds(Date.now() - t)]);
const kube = sandbox.cluster.client;
for (;;) {
  const vmis = await kube.list(kv('virtualmachineinstances'));
  if (vmis.items.length === 21 && vmis.items.every((v) => v.status?.phase === 'Running')) break;
  await new Promise((r) => setTimeout(r, 50));
}
figures.push(['… until all 21 demo VMIs run', seconds(Date.now() - t)]);

const worker = await startBenchWorker({ address: temporal.address, kube, taskQueue: 'bench', dir });
const client = new Client({ connection: await Connection.connect({ address: temporal.address }) });
const latencies: number[] = [];
for (let i = 0; i < 20; i++) {
  const start = Date.now();
  await client.workflow.execute<typeof nodeMaintenance>(WORKFLOW_TYPES.nodeMaintenance, {
    taskQueue: 'bench',
    workflowId: `maintenance-worker-1#${randomUUID()}`,
    args: [{ node: 'worker-1', dryRun: true }],
  });
  latencies.push(Date.now() - start);
}
latencies.sort((a, b) => a - b);
figures.push(['dry run of worker-1 (15 VMs), median', `${latencies[10]} ms`]);
figures.push(['dry run of worker-1 (15 VMs), worst of 20', `${latencies[19]} ms`]);

await worker.stop();
await client.connection.close();
await sandbox.stop();
await temporal.stop();
rmSync(dir, { recursive: true, force: true });

console.log(`\nPitstop start-up benchmark (${new Date().toISOString()})`);
for (const [name, value] of figures) console.log(`  ${name.padEnd(42)} ${value}`);
