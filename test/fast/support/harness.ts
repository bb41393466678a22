// One fast-tier test file's setup: a worker with the real workflow bundle and the stub activities on a task queue
// of its own, on the run's shared Temporal dev server (test/support/global-setup.ts), and a client. No cluster.
import { randomUUID } from 'node:crypto';
import { basename } from 'node:path';
import { afterAll, beforeAll, expect, inject } from 'vitest';
import {
  ApplicationFailure,
  CancelledFailure,
  Client,
  Connection,
  WorkflowFailedError,
  type WorkflowHandle,
} from '@temporalio/client';
import { IllegalStateError } from '@temporalio/common';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { TAG_SEPARATOR } from '../../../src/domain/workflowNames.js';
import type { MaintenanceInput } from '../../../src/domain/request.js';
import type { RollingInput } from '../../../src/domain/rolling.js';
// Type-only: the workflow modules run only inside the worker's sandbox.
import type { nodeMaintenance, rollingMaintenance } from '../../../src/workflows/index.js';
import { progressQuery, rollingProgressQuery } from '../../../src/workflows/messages.js';
import type { Progress } from '../../../src/domain/progress.js';
import { stubActivities } from './stubs.js';
import { World } from './world.js';
import { WORKFLOW_TYPES } from '../../../src/domain/workflowNames.js';

/** Policy durations short enough that every deadline a test waits for passes in a second or two. */
export const FAST_POLICY = {
  migration: { attempts: 2, timeout: '5s', pendingTimeout: '2s', retryBackoff: '10ms' },
  drain: { timeout: '5s', evictionRetryInterval: '50ms' },
  power: { offTimeout: '5s', onTimeout: '5s' },
  hold: { deadline: '1m', reminderEvery: '1m' },
  ready: { timeout: '5s' },
  restore: { timeout: '5s' },
  shutdown: { timeout: '5s' },
  external: { timeout: '200ms' },
  escalation: { decisionTimeout: '1m' },
};

export type MaintenanceStart = Omit<MaintenanceInput, 'policy'> & { policy?: Record<string, unknown> };

/** One test's world, and how the test starts workflows whose activities act on it. */
export interface Fresh {
  world: World;
  /** Starts nodeMaintenance with FAST_POLICY (overridden per key by `input.policy`). */
  start(input: MaintenanceStart, options?: { workflowId?: string }): Promise<WorkflowHandle<typeof nodeMaintenance>>;
  /** Starts rollingMaintenance; its children (maintenance-<node>) act on the same world. */
  startRoll(input: RollingInput): Promise<WorkflowHandle<typeof rollingMaintenance>>;
}

export interface FastEnv {
  client: Client;
  /** A fresh world for one test. Tests of a file may run at once: each has its own world. */
  fresh(): Fresh;
}

/**
 * Registers the file's hooks: the worker before all tests, clean-up after them. The stubs find the world of the
 * workflow that calls them by its workflow id, so the tests of a file can run concurrently.
 */
export function useFastWorker(): FastEnv {
  let connection: Connection;
  let nativeConnection: NativeConnection;
  let worker: Worker;
  let running: Promise<void>;
  const worlds = new Map<string, World>();
  const started: WorkflowHandle[] = [];
  const taskQueue = `fast-${basename(expect.getState().testPath ?? 'test', '.test.ts')}-${randomUUID().slice(0, 8)}`;
  const env = {} as FastEnv;

  beforeAll(async () => {
    try {
      // Failures are what these tests script: the worker's warnings about them are noise.
      Runtime.install({ logger: new DefaultLogger('ERROR') });
    } catch (e) {
      // The unit tier runs many files in one process: an earlier file installed the runtime, or made the default one.
      if (!(e instanceof IllegalStateError)) throw e;
    }
    const address = inject('temporalAddress');
    connection = await Connection.connect({ address });
    env.client = new Client({ connection, namespace: 'default' });
    nativeConnection = await NativeConnection.connect({ address });
    worker = await Worker.create({
      connection: nativeConnection,
      namespace: 'default',
      taskQueue,
      workflowBundle: { codePath: inject('workflowBundlePath') },
      activities: stubActivities((workflowId) => worlds.get(workflowId)),
      // A cancel reaches a heartbeating stub within this time (the default is up to 30 s).
      defaultHeartbeatThrottleInterval: '50ms',
      maxHeartbeatThrottleInterval: '50ms',
    });
    running = worker.run();
  });

  afterAll(async () => {
    for (const world of worlds.values()) world.close();
    // A test that failed half-way leaves no run behind.
    await Promise.all(started.map((handle) => handle.terminate('test over').catch(() => undefined)));
    worker?.shutdown();
    await running;
    await nativeConnection?.close();
    await connection?.close();
  });

  env.fresh = () => {
    const world = new World();
    return {
      world,
      async start(input, options = {}) {
        const workflowId = options.workflowId ?? `maintenance-${input.node}${TAG_SEPARATOR}${randomUUID().slice(0, 8)}`;
        worlds.set(workflowId, world);
        const handle = await env.client.workflow.start<typeof nodeMaintenance>(WORKFLOW_TYPES.nodeMaintenance, {
          taskQueue,
          workflowId,
          args: [{ ...input, policy: { ...FAST_POLICY, ...(input.policy ?? {}) } } as MaintenanceInput],
        });
        started.push(handle);
        return handle;
      },
      async startRoll(input) {
        const workflowId = `rolling-${input.name}`;
        for (const id of [workflowId, ...[...world.nodes.keys()].map((n) => `maintenance-${n}`)]) worlds.set(id, world);
        const handle = await env.client.workflow.start<typeof rollingMaintenance>(WORKFLOW_TYPES.rollingMaintenance, {
          taskQueue,
          workflowId,
          args: [input],
        });
        started.push(handle);
        return handle;
      },
    };
  };
  return env;
}

export { refusal } from '../../support/maintenance.js';

/** A short random suffix: names of nodes and rolls that must be unique on the shared dev server. */
export const unique = () => randomUUID().slice(0, 6);

export const progressOf = (handle: WorkflowHandle) => handle.query(progressQuery);
export const rollingProgressOf = (handle: WorkflowHandle) => handle.query(rollingProgressQuery);

/**
 * Polls `read` until `check` holds; on a timeout, says what was seen last. The limit is generous: on a loaded
 * machine a step of a few stub activities can take seconds.
 */
export async function until<T>(what: string, read: () => Promise<T>, check: (value: T) => boolean, ms = 30_000) {
  const deadline = Date.now() + ms;
  let last: T | undefined;
  for (;;) {
    last = await read();
    if (check(last)) return last;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last seen: ${JSON.stringify(last)}`);
    // Each read of a workflow's progress is a query the worker answers: polled gently, it stays cheap.
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Waits until the maintenance is in `phase`. */
export const reach = (handle: WorkflowHandle, phase: Progress['phase']) =>
  until(
    `phase ${phase}`,
    () => progressOf(handle),
    (p) => p.phase === phase,
  );

/** The application failure a run ended with (type and message), failing the test if it did not fail so. */
export async function failureOf(handle: WorkflowHandle): Promise<ApplicationFailure> {
  const error = await handle.result().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(WorkflowFailedError);
  const cause = (error as WorkflowFailedError).cause;
  expect(cause).toBeInstanceOf(ApplicationFailure);
  return cause as ApplicationFailure;
}

/** Checks the run ended as a cancellation (not as a failure). */
export async function expectCancelled(handle: WorkflowHandle): Promise<void> {
  const error = await handle.result().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(WorkflowFailedError);
  expect((error as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);
  expect((await handle.describe()).status.name).toBe('CANCELLED');
}

/** The phases of a run's timeline, in order. */
export const phases = (p: Progress) => p.timeline.map((t) => t.phase);
