// Small readers and actions on the sandbox cluster for tests, named for what a user would do.
import { paths, type KubeClient, type KubeObject, kv } from '../../src/k8s/client.js';
import { ApplicationFailure } from '@temporalio/common';
import { bmhPath } from '../../src/sandbox/context.js';
import { MACHINE_NAMESPACE } from '../../src/sandbox/scenario.js';
import { eventually } from './env.js';
import { nodeReadiness } from '../../src/domain/nodeReadiness.js';

export const vmiOf = (kube: KubeClient, ns: string, name: string) => kube.find(kv('virtualmachineinstances', ns, name));
export const vmOf = (kube: KubeClient, ns: string, name: string) => kube.find(kv('virtualmachines', ns, name));

export async function migrationsOf(kube: KubeClient, ns: string, vmi: string): Promise<KubeObject[]> {
  const list = await kube.list(kv('virtualmachineinstancemigrations', ns));
  return list.items.filter((m) => m.spec?.vmiName === vmi);
}

export async function launcherPodOf(kube: KubeClient, vmi: KubeObject): Promise<KubeObject | undefined> {
  const pods = await kube.list(paths.pods(vmi.metadata.namespace), {
    labelSelector: `kubevirt.io/created-by=${vmi.metadata.uid}`,
  });
  return pods.items.find((p) => p.spec?.nodeName === vmi.status?.nodeName && !p.metadata.deletionTimestamp);
}

export function createMigration(kube: KubeClient, ns: string, vmi: string, name?: string) {
  return kube.create(kv('virtualmachineinstancemigrations', ns), {
    apiVersion: 'kubevirt.io/v1',
    kind: 'VirtualMachineInstanceMigration',
    metadata: name ? { name, namespace: ns } : { generateName: `${vmi}-`, namespace: ns },
    spec: { vmiName: vmi },
  });
}

export function evict(kube: KubeClient, pod: KubeObject) {
  const ns = pod.metadata.namespace ?? 'default';
  return kube.create(paths.podEviction(ns, pod.metadata.name), {
    apiVersion: 'policy/v1',
    kind: 'Eviction',
    metadata: { name: pod.metadata.name, namespace: ns },
  });
}

export async function rejection(promise: Promise<unknown>): Promise<{ statusCode: number; message: string }> {
  try {
    await promise;
  } catch (e) {
    const err = e as { statusCode?: number; message: string };
    return { statusCode: err.statusCode ?? 0, message: err.message };
  }
  throw new Error('expected the API server to refuse the request, but it was accepted');
}

export const nodeReady = (node: KubeObject | undefined) => nodeReadiness('', node).ready;

/** Waits until exactly `count` VMIs exist (in `namespace`, or anywhere) and every one of them runs. */
export async function untilVmisRunning(kube: KubeClient, count: number, namespace?: string): Promise<void> {
  await eventually(`${count} VMIs running`, async () => {
    const list = await kube.list(kv('virtualmachineinstances', namespace));
    return list.items.length === count && list.items.every((v) => v.status?.phase === 'Running');
  });
}

/** The REST path of the BareMetalHost the scenario made for `node`. */
export const bmhPathOf = (node: string) => bmhPath(MACHINE_NAMESPACE, node);

/** The ApplicationFailure a call ends with (the test fails if it succeeds or throws something else). */
export async function applicationFailureOf(promise: Promise<unknown>): Promise<ApplicationFailure> {
  try {
    await promise;
  } catch (e) {
    if (e instanceof ApplicationFailure) return e;
    throw e;
  }
  throw new Error('expected a failure, but the call succeeded');
}

/** The node's OS dies (kernel panic, NIC gone): the machine stays on, the kubelet and virt-handler go silent. */
export const crashNode = (kube: KubeClient, node: string) =>
  kube.patch(paths.node(node), { metadata: { annotations: { 'sandbox.pitstop.io/crashed': 'true' } } });

/** The crash ends (the network comes back): the kubelet and virt-handler answer again. */
export const reviveNode = (kube: KubeClient, node: string) =>
  kube.patch(paths.node(node), { metadata: { annotations: { 'sandbox.pitstop.io/crashed': null } } });

/** The `node.kubernetes.io/out-of-service=nodeshutdown:NoExecute` taint, as an operator adds it to a fenced node. */
export async function outOfService(kube: KubeClient, node: string): Promise<void> {
  const current = await kube.get(paths.node(node));
  const taints = [
    ...(current.spec?.taints ?? []),
    { key: 'node.kubernetes.io/out-of-service', value: 'nodeshutdown', effect: 'NoExecute' },
  ];
  await kube.patch(paths.node(node), {
    metadata: { resourceVersion: current.metadata.resourceVersion },
    spec: { taints },
  });
}

/** The node's Ready condition status: True, False, Unknown (the kubelet went silent) or Missing. */
export const nodeReadyStatus = (node: KubeObject | undefined) => nodeReadiness('', node).status;
