// Worker Versioning (docs/versioning.md): a maintenance started on one build is served by that build to its end, even
// after a newer build became current; new runs go to the newer build; a later build does not take over by itself
// unless told to. Real dev server, real workflow bundle; the one activity a dry run calls is a stub that says which
// build ran it, so no cluster is needed.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import type { Activities } from '../../src/activities/index.js';
import type { ClusterSnapshot } from '../../src/domain/preflight.js';
import type { MaintenanceResult } from '../../src/domain/progress.js';
import { readVersioning, type VersioningConfig } from '../../src/config/versioning.js';
import { deploymentOptions, promoteVersion } from '../../src/worker/versioning.js';
import { node } from '../domain/fixtures.js';
import { WORKFLOW_TYPES } from '../../src/domain/workflowNames.js';
import type { nodeMaintenance } from '../../src/workflows/index.js';

const namespace = 'default';
const suffix = `${process.pid}-${Date.now()}`;
const deploymentName = `pitstop-versioning-${suffix}`;
const taskQueue = `versioning-${suffix}`;
const version = (buildId: string): VersioningConfig => ({ enabled: true, deploymentName, buildId, promote: 'always' });

/** Which build ran each run's preflight; a run's preflight can be held until the test lets it go. */
const ranOn = new Map<string, string>();
const held = new Map<string, Promise<void>>();

function stubActivities(buildId: string): Partial<Activities> {
  return {
    async preflightSnapshot({ node: name, workflowId }): Promise<ClusterSnapshot> {
      ranOn.set(workflowId, buildId);
      await held.get(workflowId);
      return {
        node: node({ name }),
        nodes: [node({ name }), node({ name: 'worker-2' })],
        vms: [],
        leases: [],
        workflowId,
      };
    },
    // The dry run previews the cluster-wide admission; nothing here is down, so it would admit.
    async admitMaintenance() {
      return { admit: true, code: 'Admitted', reason: 'admitted', down: [], budget: 1 };
    },
  };
}

let connection: Connection;
let client: Client;
const workers: { worker: Worker; native: NativeConnection; running: Promise<void> }[] = [];

async function startWorker(buildId: string): Promise<void> {
  const native = await NativeConnection.connect({ address: inject('temporalAddress') });
  const worker = await Worker.create({
    connection: native,
    namespace,
    taskQueue,
    workflowBundle: { codePath: inject('workflowBundlePath') },
    activities: stubActivities(buildId),
    workerDeploymentOptions: deploymentOptions(version(buildId)),
  });
  workers.push({ worker, native, running: worker.run() });
}

async function until(what: string, check: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const startDryRun = (workflowId: string, nodeName: string) =>
  client.workflow.start<typeof nodeMaintenance>(WORKFLOW_TYPES.nodeMaintenance, {
    taskQueue,
    workflowId,
    args: [{ node: nodeName, dryRun: true }],
  });

/** The build ids that completed the run's workflow tasks, from its history. */
async function buildsThatServed(workflowId: string): Promise<string[]> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  return [
    ...new Set(
      (history.events ?? [])
        .map((e) => e.workflowTaskCompletedEventAttributes?.deploymentVersion?.buildId)
        .filter((b): b is string => !!b),
    ),
  ];
}

beforeAll(async () => {
  connection = await Connection.connect({ address: inject('temporalAddress') });
  client = new Client({ connection, namespace });
});

afterAll(async () => {
  for (const w of workers) w.worker.shutdown();
  await Promise.all(workers.map((w) => w.running));
  await Promise.all(workers.map((w) => w.native.close()));
  await connection?.close();
});

describe('Worker Versioning', () => {
  it('keeps a maintenance on the build that started it, and sends new runs to the current build', async () => {
    await startWorker('build-a');
    expect(await promoteVersion(connection, namespace, version('build-a'))).toBe('promoted');

    // A run on build-a, held inside its preflight.
    let letGo!: () => void;
    held.set('versioning-first', new Promise<void>((r) => (letGo = r)));
    const first = await startDryRun('versioning-first', 'worker-1');
    await until('the first run to reach its preflight', () => ranOn.has('versioning-first'));

    // A newer build arrives. A build that may only promote itself into an empty slot leaves build-a current.
    await startWorker('build-b');
    expect(await promoteVersion(connection, namespace, { ...version('build-b'), promote: 'ifUnset' })).toBe('left');
    expect(await promoteVersion(connection, namespace, version('build-b'))).toBe('promoted');

    const second = await startDryRun('versioning-second', 'worker-3');
    const secondResult: MaintenanceResult = await second.result();
    expect(secondResult.outcome).toBe('DryRun');

    letGo();
    const firstResult: MaintenanceResult = await first.result();
    expect(firstResult.outcome).toBe('DryRun');

    // The first run's activity and every workflow task ran on build-a; the second run's on build-b.
    expect(ranOn.get('versioning-first')).toBe('build-a');
    expect(ranOn.get('versioning-second')).toBe('build-b');
    expect(await buildsThatServed('versioning-first')).toEqual(['build-a']);
    expect(await buildsThatServed('versioning-second')).toEqual(['build-b']);
    const info = (await first.describe()).raw.workflowExecutionInfo?.versioningInfo;
    expect(info?.deploymentVersion?.buildId).toBe('build-a');
    expect(info?.behavior).toBe(1); // VERSIONING_BEHAVIOR_PINNED
  });

  it('reads its settings with every problem named', () => {
    const problems: string[] = [];
    const env: Partial<Record<string, string>> = { PITSTOP_WORKER_VERSIONING: 'maybe', PITSTOP_PROMOTE_VERSION: 'now' };
    readVersioning((name: string) => env[name], problems);
    expect(problems).toEqual([
      'PITSTOP_WORKER_VERSIONING must be on or off, not "maybe"',
      'PITSTOP_PROMOTE_VERSION must be one of ifUnset, always, never, not "now"',
    ]);
    const config = readVersioning(() => undefined, []);
    expect(config).toMatchObject({ enabled: true, deploymentName: 'pitstop', promote: 'ifUnset' });
    expect(config.buildId).toMatch(/^\d+\.\d+\.\d+/);
  });
});
