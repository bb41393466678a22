// deploy/'s RBAC on a sandbox, as `kubectl apply -k deploy/` would create it, and a KubeClient authenticated as
// deploy/'s ServiceAccount (a token from the TokenRequest API): what the RBAC tests run Pitstop as.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isAlreadyExists, KubeClient, paths, type KubeObject } from '../../src/k8s/client.js';
import { kubeconfigYaml } from '../../src/sandbox/cluster.js';
import type { TestEnv } from '../support/env.js';
import { byKind, type Manifest } from './kustomize.js';

const RBAC_KINDS = ['Namespace', 'ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding'];

/** A kind's REST collection on the sandbox (only what deploy/'s RBAC objects need). */
export function collection(o: KubeObject): string {
  const ns = o.metadata.namespace;
  switch (o.kind) {
    case 'Namespace':
      return paths.namespaces();
    case 'ServiceAccount':
      return `/api/v1/namespaces/${ns}/serviceaccounts`;
    case 'ClusterRole':
    case 'ClusterRoleBinding':
      return `/apis/rbac.authorization.k8s.io/v1/${o.kind.toLowerCase()}s`;
    default:
      return `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/${o.kind!.toLowerCase()}s`;
  }
}

/** Creates deploy/'s RBAC objects and returns a client that is its ServiceAccount. */
export async function serviceAccountClient(env: TestEnv, objects: Manifest[]): Promise<KubeClient> {
  for (const o of objects.filter((x) => RBAC_KINDS.includes(x.kind!))) {
    await env.kube.create(collection(o), o).catch((e: unknown) => {
      if (!isAlreadyExists(e)) throw e;
    });
  }
  const sa = byKind(objects, 'ServiceAccount')[0]!;
  const { status } = await env.kube.request<{ status: { token: string } }>(
    'POST',
    `/api/v1/namespaces/${sa.metadata.namespace}/serviceaccounts/${sa.metadata.name}/token`,
    { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 3600 } },
  );
  const kubeconfig = join(env.sandbox.cluster.dir, 'pitstop-sa.kubeconfig');
  const user = `system:serviceaccount:${sa.metadata.namespace}:${sa.metadata.name}`;
  writeFileSync(
    kubeconfig,
    kubeconfigYaml(env.sandbox.cluster.server, env.sandbox.cluster.ca.cert, user, status.token),
    {
      mode: 0o600,
    },
  );
  return KubeClient.fromFile(kubeconfig);
}
