// Creates everything a scenario describes in the sandbox's API server: namespaces, the KubeVirt CR, nodes with their
// BMCs, VMs, workloads. Objects that already exist are left as they are, so applying twice is harmless.
import { paths, type KubeClient } from '../k8s/client.js';
import { GVR } from './model.js';
import { createIgnoringExisting } from './objects/create.js';
import { createNode } from './objects/nodes.js';
import { createVm } from './objects/vms.js';
import { createWorkload } from './objects/workloads.js';
import { BMC_NAMESPACE, MACHINE_NAMESPACE, expand, type BmcCredential, type Scenario } from './scenario.js';

export interface ApplyResult {
  credentials: BmcCredential[];
  vmis: string[];
}

/** Creates everything the scenario describes (objects that already exist are left as they are). */
export async function applyScenario(client: KubeClient, scenario: Scenario): Promise<ApplyResult> {
  const kv = scenario.kubevirt;
  const nodes = expand(scenario.nodes);
  const vms = expand(scenario.vms);
  const namespaces = new Set([
    kv.namespace,
    BMC_NAMESPACE,
    MACHINE_NAMESPACE,
    ...vms.map((v) => v.namespace),
    ...scenario.workloads.map((w) => w.namespace),
  ]);
  for (const ns of namespaces)
    await createIgnoringExisting(client, paths.namespaces(), {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: ns },
    });

  await createIgnoringExisting(
    client,
    paths.resource(GVR.kubevirt.group, GVR.kubevirt.version, GVR.kubevirt.plural, kv.namespace),
    {
      apiVersion: 'kubevirt.io/v1',
      kind: 'KubeVirt',
      metadata: { name: 'kubevirt', namespace: kv.namespace },
      spec: {
        configuration: {
          evictionStrategy: kv.evictionStrategy,
          migrations: {
            parallelMigrationsPerCluster: kv.parallelMigrationsPerCluster,
            parallelOutboundMigrationsPerNode: kv.parallelOutboundMigrationsPerNode,
            completionTimeoutPerGiB: 150,
            progressTimeout: 150,
          },
        },
      },
    },
  );

  // Nodes before VMs (a VM names its first node); within each, a few requests at once (large scenarios).
  const credentials = (await mapConcurrently(nodes, CREATE_CONCURRENCY, (node) => createNode(client, node))).flat();
  await mapConcurrently(vms, CREATE_CONCURRENCY, (vm) => createVm(client, vm));
  for (const w of scenario.workloads) await createWorkload(client, w);
  return { credentials, vmis: vms.map((v) => `${v.namespace}/${v.name}`) };
}

const CREATE_CONCURRENCY = 16;

/** `fn` over `items` with at most `limit` calls in flight; results in the items' order. */
async function mapConcurrently<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const lane = async () => {
    for (let i = next++; i < items.length; i = next++) results[i] = await fn(items[i] as T);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return results;
}
