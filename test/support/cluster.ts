// Small readers and actions on the sandbox cluster for tests, named for what a user would do.
import { paths, type KubeClient, type KubeObject } from '../../src/k8s/client.js';
import { kv } from '../../src/activities/kubevirt.js';

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

export const nodeReady = (node: KubeObject | undefined) =>
  (node?.status?.conditions ?? []).find((c: { type: string }) => c.type === 'Ready')?.status === 'True';
