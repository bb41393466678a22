// Everything the chaos runs share: a Temporal dev server on a persistent SQLite file (so it can be restarted
// mid-run), a client, and the current sandbox behind the fault proxy with its worker process, replaced every K runs.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { startTemporalDevServer, type DevServer } from '../devserver/temporal.js';
import type { KubeClient } from '../k8s/client.js';
import { startSandbox, type Sandbox } from '../sandbox/index.js';
import { freePort } from '../sandbox/processes.js';
import { connectClient, type ConnectedClient } from '../temporal/connection.js';
import { ensureTools, type ToolPaths } from '../tools/binaries.js';
import { writeWorkflowBundle } from '../worker/bundle.js';
import { startFaultProxy, type FaultProxy } from './faultProxy.js';
import { StormApi } from './storm.js';
import { CHAOS_TIMING } from './scenario.js';
import { sleep } from './retry.js';
import { WorkerProcess } from './workerProcess.js';

/** Everything the runs share. */
export class World {
  devServer!: DevServer;
  client!: Client;
  /** Pitstop's HTTP API, in process, for alert storms. */
  storms!: StormApi;
  private connected: ConnectedClient | undefined;
  sandbox: Sandbox | undefined;
  direct: KubeClient | undefined;
  proxy: FaultProxy | undefined;
  worker: WorkerProcess | undefined;
  private tools!: ToolPaths;
  private bundlePath!: string;
  private port!: number;
  private sandboxes = 0;
  runsOnSandbox = 0;
  temporalRestarts = 0;
  readonly taskQueue = `chaos-${process.pid}`;

  constructor(
    private readonly dir: string,
    private readonly seed: number,
    private readonly log: (line: string) => void,
    /** A workflow bundle already written (the test run's, from its global setup): bundling again costs 5–10 s. */
    private readonly workflowBundlePath?: string,
  ) {}

  async start(): Promise<void> {
    mkdirSync(join(this.dir, 'temporal'), { recursive: true });
    this.tools = await ensureTools();
    this.bundlePath = this.workflowBundlePath ?? (await writeWorkflowBundle(join(this.dir, 'workflow-bundle.js')));
    this.port = await freePort();
    await this.startTemporal();
    // The runner's own dev server: local and plaintext.
    this.connected = await connectClient({ address: this.devServer.address, namespace: 'default' });
    this.client = this.connected.client;
    this.storms = new StormApi(this.client, this.taskQueue, () => this.direct);
  }

  private async startTemporal() {
    this.devServer = await startTemporalDevServer({
      binary: this.tools.temporal,
      logDir: join(this.dir, 'temporal'),
      dbFile: join(this.dir, 'temporal', 'temporal.db'),
      port: this.port,
    });
  }

  /** Stops the dev server and starts it again on the same port and database file. */
  restartTemporal(downMs: number): Promise<void> {
    // One restart at a time: concurrent runs may each ask for one.
    const next = this.restarts.then(async () => {
      await this.devServer.stop();
      await sleep(downMs);
      await this.startTemporal();
      this.temporalRestarts += 1;
    });
    this.restarts = next.catch(() => undefined);
    return next;
  }
  private restarts: Promise<unknown> = Promise.resolve();

  /** A fresh sandbox (with its proxy and worker) when there is none yet or the current one served `every` runs. */
  async sandboxFor(every: number): Promise<void> {
    if (this.sandbox && this.runsOnSandbox < every) return;
    await this.stopSandbox();
    this.sandboxes += 1;
    const started = Date.now();
    const dir = join(this.dir, `sandbox-${this.sandboxes}`);
    this.sandbox = await startSandbox({ dir, binaries: this.tools.kube, timing: CHAOS_TIMING });
    this.direct = this.sandbox.cluster.client;
    this.proxy = await startFaultProxy({
      upstream: this.sandbox.cluster.server,
      upstreamCa: this.sandbox.cluster.ca.cert,
      serving: this.sandbox.cluster.serving,
      seed: this.seed + this.sandboxes,
      onUpstreamError: (what) => this.log(`fault proxy upstream error: ${what}`),
    });
    const kubeconfig = this.proxy.writeKubeconfig(join(dir, 'kubeconfig-chaos'), this.sandbox.cluster.adminToken);
    this.worker = new WorkerProcess(
      {
        TEMPORAL_ADDRESS: this.devServer.address,
        TEMPORAL_NAMESPACE: 'default',
        PITSTOP_TASK_QUEUE: this.taskQueue,
        KUBECONFIG: kubeconfig,
        PITSTOP_WORKFLOW_BUNDLE: this.bundlePath,
        // Several maintenances at once (--concurrent) test the runbook under contention, not the budget: the
        // admission still judges capacity, but lets every node be down (the budget has its own sandbox test).
        PITSTOP_MAX_NODES_DOWN: '100%',
      },
      this.log,
    );
    await this.worker.start();
    this.runsOnSandbox = 0;
    this.log(`sandbox ${this.sandboxes} with fault proxy and worker ready in ${Date.now() - started} ms`);
  }

  private async stopSandbox() {
    await this.worker?.kill();
    await this.proxy?.close();
    await this.sandbox?.stop();
    this.worker = this.proxy = this.sandbox = this.direct = undefined;
  }

  async stop(): Promise<void> {
    await this.stopSandbox();
    await this.storms?.close();
    await this.connected?.close();
    await this.devServer?.stop();
  }
}
