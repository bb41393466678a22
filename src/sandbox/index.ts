// The sandbox: a real control plane plus simulated KubeVirt, kubelet, Metal3 and a Redfish BMC, all
// acting through the API server, so code under test cannot tell it from a cluster.
import { mkdirSync } from 'node:fs';
import type { KubeObject } from '../k8s/client.js';
import { keyOf } from '../k8s/informer.js';
import type { KubeBinary } from '../tools/binaries.js';
import { startCluster, type SandboxCluster } from './cluster.js';
import { installCrds } from './crds.js';
import type { SimContext } from './context.js';
import { migrationsOfVmi, vmimPath } from './context.js';
import { reconcileVm } from './controllers/vm.js';
import { reconcileVmi } from './controllers/vmi.js';
import { reconcileMigration } from './controllers/migration.js';
import { MigrationSlots } from './controllers/migrationSlots.js';
import { reconcileEvacuation } from './controllers/evacuation.js';
import { reconcileNode, reconcilePod } from './controllers/kubelet.js';
import { reconcileBmh } from './controllers/metal3.js';
import { onlyHeartbeatChanged, reconcileHeartbeat } from './controllers/virtHandler.js';
import { DEFAULT_TIMING, LABEL, type Timing } from './model.js';
import { INDEX, makeInformers, WorkQueue } from './runtime.js';
import { startRedfish, type RedfishServer } from './redfish.js';
import { applyScenario } from './applyScenario.js';
import { scenarioTiming, type BmcCredential, type Scenario } from './scenario.js';
import { registerWebhooks, startWebhookServer, type WebhookServer } from './webhooks.js';
import { startSubresourceApi, type SubresourceApi } from './subresources.js';

export interface SandboxOptions {
  dir: string;
  binaries: Record<KubeBinary, string>;
  scenario?: Scenario;
  timing?: Partial<Timing>;
  log?: (line: string) => void;
}

export interface Sandbox {
  cluster: SandboxCluster;
  kubeconfigPath: string;
  redfishUrl: string;
  credentials: BmcCredential[];
  ctx: SimContext;
  /** KubeVirt's subresources.kubevirt.io API (VM stop/start); a test may take it away and bring it back. */
  subresources: SubresourceApi;
  applyScenario(scenario: Scenario): Promise<BmcCredential[]>;
  stop(): Promise<void>;
}

export async function startSandbox(options: SandboxOptions): Promise<Sandbox> {
  const log = options.log ?? (() => {});
  mkdirSync(options.dir, { recursive: true });
  const cluster = await startCluster({ dir: options.dir, binaries: options.binaries, log });
  await installCrds(cluster.client);

  const errors = new Map<string, number>();
  const onError = (queue: string, key: string, e: unknown) => {
    // Conflicts are routine (stale cache); anything else is worth a line, once in a while.
    const message = (e as Error).message ?? String(e);
    if (message.startsWith('409')) return;
    const count = (errors.get(queue) ?? 0) + 1;
    errors.set(queue, count);
    if (count <= 20 || count % 100 === 0) log(`sandbox ${queue} ${key}: ${message}`);
  };
  const informers = makeInformers(cluster.client, (e) => onError('informer', '', e));
  const timing: Timing = {
    ...DEFAULT_TIMING,
    ...(options.scenario ? scenarioTiming(options.scenario) : {}),
    ...options.timing,
  };
  const slots = new MigrationSlots();
  const queue = (name: string, fn: (key: string) => Promise<void>) => new WorkQueue(name, fn, onError);
  const ctx: SimContext = { client: cluster.client, informers, timing, log, queues: {} as SimContext['queues'] };
  ctx.queues = {
    vm: queue('vm', (k) => reconcileVm(ctx, k)),
    vmi: queue('vmi', (k) => reconcileVmi(ctx, k)),
    migration: queue('migration', (k) => reconcileMigration(ctx, slots, k)),
    evacuation: queue('evacuation', (k) => reconcileEvacuation(ctx, k)),
    pod: queue('pod', (k) => reconcilePod(ctx, k)),
    node: queue('node', (k) => reconcileNode(ctx, k)),
    heartbeat: queue('heartbeat', (k) => reconcileHeartbeat(ctx, k)),
    bmh: queue('bmh', (k) => reconcileBmh(ctx, k)),
  };
  wireEvents(ctx);
  await Promise.all(Object.values(informers).map((i) => i.start()));
  slots.rebuild(
    informers.vmims.list(),
    (m) => informers.vmis.get(`${m.metadata.namespace}/${m.spec?.vmiName}`)?.status?.nodeName,
  );
  resyncAll(ctx);

  const tls = cluster.serving;
  const webhooks: WebhookServer = await startWebhookServer(ctx, tls);
  await registerWebhooks(ctx, webhooks.url, cluster.ca.cert);
  await waitForWebhooks(ctx);
  const subresources = await startSubresourceApi(ctx, cluster.ca);
  const redfish: RedfishServer = await startRedfish(ctx, tls);
  log(`sandbox controllers, webhooks (${webhooks.url}) and Redfish BMC (${redfish.url}) running`);

  const credentials: BmcCredential[] = [];
  const apply = async (scenario: Scenario) => {
    const result = await applyScenario(cluster.client, scenario);
    for (const c of result.credentials) {
      redfish.addSystem({ systemId: c.nodeName, nodeName: c.nodeName, username: c.username, password: c.password });
    }
    credentials.push(...result.credentials);
    return result.credentials;
  };
  if (options.scenario) await apply(options.scenario);

  return {
    cluster,
    kubeconfigPath: cluster.kubeconfigPath,
    redfishUrl: redfish.url,
    credentials,
    ctx,
    subresources,
    applyScenario: apply,
    async stop() {
      for (const q of Object.values(ctx.queues)) q.stop();
      for (const i of Object.values(informers)) i.stop();
      await webhooks.close();
      await subresources.close();
      await redfish.close();
      await cluster.stop();
    },
  };
}

function wireEvents(ctx: SimContext) {
  const { informers: inf, queues: q } = ctx;
  inf.vms.on((_e, vm) => q.vm.add(keyOf(vm)));
  inf.vmis.on((_e, vmi) => {
    const key = keyOf(vmi);
    q.vmi.add(key);
    q.vm.add(key);
    q.evacuation.add(key);
    for (const m of migrationsOfVmi(ctx, vmi.metadata.namespace, vmi.metadata.name)) q.migration.add(keyOf(m));
  });
  inf.vmims.on((_e, m) => {
    q.migration.add(keyOf(m));
    q.vm.add(`${m.metadata.namespace}/${m.spec?.vmiName}`);
  });
  inf.pods.on((_e, pod) => {
    q.pod.add(keyOf(pod));
    const owner = pod.metadata.ownerReferences?.find((r) => r.kind === 'VirtualMachineInstance');
    if (owner) q.vmi.add(`${pod.metadata.namespace}/${owner.name}`);
    const job = pod.metadata.labels?.[LABEL.migrationJob];
    if (job) {
      const m = inf.vmims.byIndex(INDEX.uid, job)[0];
      if (m) q.migration.add(keyOf(m));
    }
  });
  inf.nodes.on((e, node, previous) => {
    q.heartbeat.add(keyOf(node));
    // A heartbeat (every node, every interval) changes nothing the other controllers read.
    if (e === 'update' && previous && onlyHeartbeatChanged(previous, node)) return;
    q.node.add(keyOf(node));
    for (const pod of inf.pods.byIndex(INDEX.node, node.metadata.name)) q.pod.add(keyOf(pod));
    for (const bmh of inf.bmhs.list()) q.bmh.add(keyOf(bmh));
  });
  inf.bmhs.on((_e, bmh) => q.bmh.add(keyOf(bmh)));
  inf.pvcs.on((_e, pvc) => {
    for (const vmi of inf.vmis.byIndex(INDEX.namespace, pvc.metadata.namespace ?? '')) q.vmi.add(keyOf(vmi));
  });
  inf.kubevirts.on(() => {
    for (const m of inf.vmims.list()) q.migration.add(keyOf(m));
  });
}

function resyncAll(ctx: SimContext) {
  const add = (q: WorkQueue, objects: KubeObject[]) => objects.forEach((o) => q.add(keyOf(o)));
  add(ctx.queues.vm, ctx.informers.vms.list());
  add(ctx.queues.vmi, ctx.informers.vmis.list());
  add(ctx.queues.evacuation, ctx.informers.vmis.list());
  add(ctx.queues.migration, ctx.informers.vmims.list());
  add(ctx.queues.pod, ctx.informers.pods.list());
  add(ctx.queues.node, ctx.informers.nodes.list());
  add(ctx.queues.heartbeat, ctx.informers.nodes.list());
  add(ctx.queues.bmh, ctx.informers.bmhs.list());
}

/** The API server picks up webhook configurations asynchronously; prove ours answers before going on. */
async function waitForWebhooks(ctx: SimContext) {
  let last = 'no answer';
  for (let i = 0; i < 200; i++) {
    try {
      await ctx.client.create(
        vmimPath('default'),
        {
          apiVersion: 'kubevirt.io/v1',
          kind: 'VirtualMachineInstanceMigration',
          metadata: { name: 'webhook-probe' },
          spec: { vmiName: 'no-such-vmi' },
        },
        { dryRun: 'All' },
      );
    } catch (e) {
      last = (e as Error).message;
      if (last.includes('does not exist')) return;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`the sandbox admission webhooks did not become active: ${last}`);
}
