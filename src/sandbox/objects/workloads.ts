// Scenario workloads: the ordinary pods a drain meets (Deployments with PDBs, DaemonSets, bare pods).
import { paths, type KubeClient } from '../../k8s/client.js';
import { createIgnoringExisting } from './create.js';
import { KNOB } from '../model.js';
import type { WorkloadSpec } from '../scenario.js';

function podTemplate(name: string, memory: string, emptyDir: boolean) {
  return {
    containers: [
      {
        name: 'app',
        image: `registry.example/${name}:1`,
        resources: { requests: { memory, cpu: '100m' } },
        ...(emptyDir ? { volumeMounts: [{ name: 'scratch', mountPath: '/scratch' }] } : {}),
      },
    ],
    ...(emptyDir ? { volumes: [{ name: 'scratch', emptyDir: {} }] } : {}),
    terminationGracePeriodSeconds: 5,
  };
}

export async function createWorkload(client: KubeClient, w: WorkloadSpec) {
  const apps = (plural: string) => paths.resource('apps', 'v1', plural, w.namespace);
  const selector = { matchLabels: { app: w.name } };
  if (w.kind === 'Deployment') {
    await createIgnoringExisting(client, apps('deployments'), {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: w.name, namespace: w.namespace },
      spec: {
        replicas: w.replicas,
        selector,
        template: { metadata: { labels: { app: w.name } }, spec: podTemplate(w.name, w.memory, w.emptyDir) },
      },
    });
    if (w.pdb) {
      await createIgnoringExisting(client, paths.resource('policy', 'v1', 'poddisruptionbudgets', w.namespace), {
        apiVersion: 'policy/v1',
        kind: 'PodDisruptionBudget',
        metadata: { name: w.name, namespace: w.namespace },
        spec: { selector, ...w.pdb },
      });
    }
  } else if (w.kind === 'DaemonSet') {
    await createIgnoringExisting(client, apps('daemonsets'), {
      apiVersion: 'apps/v1',
      kind: 'DaemonSet',
      metadata: { name: w.name, namespace: w.namespace },
      spec: {
        selector,
        template: {
          metadata: { labels: { app: w.name } },
          spec: { ...podTemplate(w.name, w.memory, false), tolerations: [{ operator: 'Exists' }] },
        },
      },
    });
  } else {
    await createIgnoringExisting(client, paths.pods(w.namespace), {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: w.name,
        namespace: w.namespace,
        labels: { app: w.name },
        annotations: {
          ...(w.mirror ? { 'kubernetes.io/config.mirror': 'sandbox', 'kubernetes.io/config.source': 'file' } : {}),
          ...(w.stuckTerminating ? { [KNOB.stuckTerminating]: 'true' } : {}),
        },
      },
      spec: { ...podTemplate(w.name, w.memory, w.emptyDir), nodeName: w.node },
    });
  }
}
