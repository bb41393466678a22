// deploy/'s RBAC on a sandbox, as `kubectl apply -k deploy/` would create it, and a KubeClient authenticated as
// deploy/'s ServiceAccount (a token from the TokenRequest API): what the RBAC tests run Pitstop as.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isAlreadyExists, KubeClient, paths, type KubeObject } from '../../src/k8s/client.js';
import { kubeconfigYaml } from '../../src/sandbox/cluster.js';
import { eventually, type TestEnv } from '../support/env.js';
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

/** Whether the client may do `verb` on `resource` in `namespace` (its own SelfSubjectAccessReview). */
export async function mayDo(
  kube: KubeClient,
  verb: string,
  group: string,
  resource: string,
  subresource?: string,
  namespace = 'vms',
): Promise<boolean> {
  const review = await kube.request<{ status: { allowed: boolean } }>(
    'POST',
    '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews',
    {
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SelfSubjectAccessReview',
      spec: { resourceAttributes: { verb, group, resource, subresource, namespace } },
    },
  );
  return review.status.allowed;
}

interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}

/** deploy/'s role (ClusterRole or Role) that holds the rule for `resource`. */
export function roleWith(objects: Manifest[], resource: string): Manifest {
  const role = objects.find(
    (o) => ['ClusterRole', 'Role'].includes(o.kind!) && (o.rules as Rule[]).some((r) => r.resources.includes(resource)),
  );
  if (!role) throw new Error(`no rule in deploy/ for ${resource}`);
  return role;
}

/** Whether `saKube` holds the first verb of deploy/'s rule for `resource`. */
export function ruleCheck(saKube: KubeClient, objects: Manifest[], resource: string): () => Promise<boolean> {
  const role = roleWith(objects, resource);
  const rule = (role.rules as Rule[]).find((r) => r.resources.includes(resource))!;
  const [plural, sub] = resource.split('/');
  return () => mayDo(saKube, rule.verbs[0]!, rule.apiGroups[0]!, plural!, sub, role.metadata.namespace ?? 'vms');
}

/** deploy/'s rule for `resource` taken out of its role (by the admin) for the life of `body`, then put back. */
export async function withoutRule(
  env: TestEnv,
  saKube: KubeClient,
  objects: Manifest[],
  resource: string,
  body: () => Promise<void>,
): Promise<void> {
  const role = roleWith(objects, resource);
  const check = ruleCheck(saKube, objects, resource);
  const path = `${collection(role)}/${role.metadata.name}`;
  const rules = (role.rules as Rule[]).filter((r) => !r.resources.includes(resource));
  if (rules.length !== (role.rules as Rule[]).length - 1) throw new Error(`${resource}: not exactly one rule`);
  await env.kube.patch(path, { rules });
  try {
    await eventually(`the ${resource} rule gone`, async () => !(await check()));
    await body();
  } finally {
    await env.kube.patch(path, { rules: role.rules });
    await eventually(`the ${resource} rule back`, check);
  }
}
