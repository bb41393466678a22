// One test file's world: its own sandbox cluster (so cluster-wide facts such as capacity are the test's own),
// a Pitstop worker on its own task queue, and clients for Temporal and Kubernetes.
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { inject } from 'vitest';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Runtime, DefaultLogger, type Worker } from '@temporalio/worker';
import { KubeClient } from '../../src/k8s/client.js';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';
import { parseScenario, type ScenarioInput } from '../../src/sandbox/scenario.js';
import type { Timing } from '../../src/sandbox/model.js';
import { createPitstopWorker } from '../../src/worker/worker.js';
import type { AdmissionLimits } from '../../src/domain/admission.js';

/** Sandbox timing for whole maintenances in tests: fast migrations, boots, power changes and VM stops. */
export const FAST_TIMING = { migrationDuration: '300ms', bootDelay: '500ms', powerDelay: '200ms', vmStop: '200ms' };

export interface TestEnv {
  sandbox: Sandbox;
  kube: KubeClient;
  client: Client;
  taskQueue: string;
  stop(): Promise<void>;
}

let runtimeInstalled = false;

export async function startSandboxOnly(scenario?: ScenarioInput, timing?: Partial<Timing>): Promise<Sandbox> {
  const dir = mkdtempSync(join(inject('runDir'), 'sandbox-'));
  return await startSandbox({
    dir,
    binaries: inject('kubeBinaries'),
    scenario: scenario ? parseScenario(scenario) : undefined,
    timing,
    log: (line) => {
      if (process.env.PITSTOP_TEST_VERBOSE) console.log(line);
    },
  });
}

export async function startTestEnv(
  options: {
    scenario?: ScenarioInput;
    timing?: Partial<Timing>;
    worker?: boolean;
    /** A Temporal server of the test's own (e.g. one with the Web UI); the run's shared dev server otherwise. */
    temporalAddress?: string;
    /**
     * The worker's admission budget. Default: no budget (every node may be down), because the other files run
     * several maintenances at once on one shared cluster to test one runbook each; test/workflows/admission.test.ts
     * runs the production defaults.
     */
    admission?: AdmissionLimits;
  } = {},
): Promise<TestEnv> {
  if (!runtimeInstalled) {
    Runtime.install({ logger: new DefaultLogger('WARN') });
    runtimeInstalled = true;
  }
  const sandbox = await startSandboxOnly(options.scenario, options.timing);
  const kube = KubeClient.fromFile(sandbox.kubeconfigPath);
  const address = options.temporalAddress ?? inject('temporalAddress');
  const taskQueue = `test-${process.pid}-${Date.now()}`;
  const connection = await Connection.connect({ address });
  const client = new Client({ connection, namespace: 'default' });
  let worker: Worker | undefined;
  let running: Promise<void> | undefined;
  let nativeConnection: NativeConnection | undefined;
  if (options.worker !== false) {
    nativeConnection = await NativeConnection.connect({ address });
    worker = await createPitstopWorker({
      connection: nativeConnection,
      namespace: 'default',
      taskQueue,
      kube,
      workflowBundlePath: inject('workflowBundlePath'),
      admission: options.admission ?? { maxNodesDown: { percent: 100 }, maxUnhealthy: { percent: 100 } },
    });
    running = worker.run();
  }
  return {
    sandbox,
    kube,
    client,
    taskQueue,
    async stop() {
      if (worker) {
        worker.shutdown();
        await running;
      }
      await nativeConnection?.close();
      await connection.close();
      kube.close();
      await sandbox.stop();
    },
  };
}

/** Polls the cluster until `check` holds (the cluster's own account, not the workflow's). */
export async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined | false>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
