// What the NodeMaintenance sandbox tests share: a test env with the controller running in-process (the service it
// starts runs through is the HTTP API's), the CR as a user writes it, and what they read back (status, Events).
import { PitstopService } from '../../src/client/service.js';
import { runNodeMaintenanceController } from '../../src/controller/nodeMaintenance/controller.js';
import { nmPath, NM_COMPONENT, NM_EVENT_NAMESPACE } from '../../src/controller/nodeMaintenance/kube.js';
import { paths, type KubeClient, type KubeObject } from '../../src/k8s/client.js';
import { eventually, startTestEnv, type TestEnv } from './env.js';

export interface ControllerEnv {
  env: TestEnv;
  /** The service the controller starts its runs through. */
  service: PitstopService;
  /** Stops the controller (as a crash would: nothing is finished first) and starts it again. */
  stopController(): Promise<void>;
  startController(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * `controllerKube`: who the controller is on the cluster (e.g. deploy/'s ServiceAccount); the admin otherwise.
 * `log` hears what the controller logs (a failed reconcile: a 403, a conflict).
 */
export async function startControllerEnv(
  options: Parameters<typeof startTestEnv>[0] & {
    controllerKube?: (env: TestEnv) => Promise<KubeClient>;
    log?: (line: string) => void;
  },
): Promise<ControllerEnv> {
  const env = await startTestEnv(options);
  const kube = options.controllerKube ? await options.controllerKube(env) : env.kube;
  const service = new PitstopService({
    client: env.client,
    taskQueue: env.taskQueue,
    nodeExists: async (node) => (await kube.find(paths.node(node))) !== undefined,
  });
  let abort = new AbortController();
  let controller: Promise<void> | undefined;
  const startController = () => {
    abort = new AbortController();
    controller = runNodeMaintenanceController({ kube, service, signal: abort.signal, log: options.log });
  };
  const stopController = async () => {
    abort.abort();
    await controller;
    controller = undefined;
  };
  startController();
  return {
    env,
    service,
    stopController,
    async startController() {
      if (!controller) startController();
    },
    async stop() {
      await stopController();
      if (kube !== env.kube) kube.close();
      await env.stop();
    },
  };
}

/** The object the OpenShift console's "Start maintenance" creates (plus annotations, as `kubectl apply` may add). */
export async function createNm(
  env: TestEnv,
  nodeName: string,
  reason: string,
  annotations?: Record<string, string>,
): Promise<KubeObject> {
  return await env.kube.create(nmPath(), {
    apiVersion: 'nodemaintenance.medik8s.io/v1beta1',
    kind: 'NodeMaintenance',
    metadata: { generateName: `${nodeName}-`, ...(annotations && { annotations }) },
    spec: { nodeName, reason },
  });
}

/**
 * Waits until the CR's status satisfies `check` (what `kubectl get nm -o yaml` would show), and returns the CR; on a
 * timeout, says what the status was last.
 */
export async function untilNm(
  env: TestEnv,
  name: string,
  what: string,
  check: (cr: KubeObject) => boolean,
  timeoutMs = 90_000,
): Promise<KubeObject> {
  let last: KubeObject | undefined;
  try {
    return await eventually(
      `NodeMaintenance ${name}: ${what}`,
      async () => {
        last = await env.kube.get(nmPath(name));
        return check(last) ? last : undefined;
      },
      timeoutMs,
    );
  } catch (e) {
    throw new Error(`${(e as Error).message}; its status last: ${JSON.stringify(last?.status)}`, { cause: e });
  }
}

export const untilNmGone = (env: TestEnv, name: string) =>
  eventually(`NodeMaintenance ${name} is gone`, async () => (await env.kube.find(nmPath(name))) === undefined, 120_000);

/** The reasons of the Events recorded on a CR (`kubectl describe nm`). */
export const eventReasons = async (env: TestEnv, cr: KubeObject) =>
  (
    await env.kube.list(paths.events(NM_EVENT_NAMESPACE), { fieldSelector: `involvedObject.uid=${cr.metadata.uid}` })
  ).items.map((e) => e.reason as string);

/** The reasons of the Events the controller recorded on a Node (`kubectl describe node`). */
export const nodeEventReasons = async (env: TestEnv, node: string) =>
  (
    await env.kube.list(paths.events(NM_EVENT_NAMESPACE), {
      fieldSelector: `involvedObject.kind=Node,involvedObject.name=${node},source=${NM_COMPONENT}`,
    })
  ).items.map((e) => e.reason as string);
