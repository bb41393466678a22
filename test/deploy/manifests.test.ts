// `kubectl kustomize deploy/` (the project's kubectl v1.36.3) renders, and what it renders hangs together: the
// Deployment's probes, ports, grace period and security context match the configuration the code reads.
import { describe, expect, it } from 'vitest';
import { CONFIG_VARIABLES, loadConfig } from '../../src/config/index.js';
import { existsSync } from 'node:fs';
import { LEASE_NAME } from '../../src/controller/nodeMaintenance/leader.js';
import { byKind, renderDeploy, ROOT } from './kustomize.js';

const objects = renderDeploy();
const one = (kind: string) => {
  const found = byKind(objects, kind);
  expect(found, kind).toHaveLength(1);
  return found[0]!;
};
const named = (kind: string, name: string) => {
  const found = byKind(objects, kind).find((o) => o.metadata.name === name);
  expect(found, `${kind}/${name}`).toBeDefined();
  return found!;
};
const worker = () => named('Deployment', 'pitstop');

describe('deploy/ (kustomize)', () => {
  it('renders every object a deployment needs', () => {
    expect(objects.map((o) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`).sort()).toEqual(
      [
        'Namespace//medik8s-leases',
        'Namespace//pitstop',
        'ServiceAccount/pitstop/pitstop',
        'ClusterRole//pitstop',
        'ClusterRoleBinding//pitstop',
        'Role/medik8s-leases/pitstop-node-leases',
        'RoleBinding/medik8s-leases/pitstop-node-leases',
        'Role/pitstop/pitstop-bmc-credentials',
        'RoleBinding/pitstop/pitstop-bmc-credentials',
        `ConfigMap/pitstop/${one('ConfigMap').metadata.name}`,
        'Deployment/pitstop/pitstop',
        'Deployment/pitstop/pitstop-nodemaintenance',
        'Role/pitstop/pitstop-nodemaintenance-leader',
        'RoleBinding/pitstop/pitstop-nodemaintenance-leader',
        'PodDisruptionBudget/pitstop/pitstop',
        'Service/pitstop/pitstop',
      ].sort(),
    );
  });

  it('binds every role to the ServiceAccount the Deployment runs as', () => {
    const sa = one('ServiceAccount');
    for (const d of byKind(objects, 'Deployment'))
      expect(d.spec.template.spec.serviceAccountName).toBe(sa.metadata.name);
    for (const binding of [...byKind(objects, 'ClusterRoleBinding'), ...byKind(objects, 'RoleBinding')]) {
      expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: sa.metadata.name, namespace: 'pitstop' }]);
      const role = objects.find((o) => o.kind === binding.roleRef.kind && o.metadata.name === binding.roleRef.name);
      expect(role, binding.metadata.name).toBeDefined();
      expect(role?.metadata.namespace).toBe(binding.metadata.namespace);
    }
  });

  it('the Deployment: configuration the code accepts, probes, ports, grace, resources, non-root', () => {
    const configMap = one('ConfigMap');
    const deployment = worker();
    const pod = deployment.spec.template.spec;
    const container = pod.containers[0];
    expect(container.envFrom).toEqual([{ configMapRef: { name: configMap.metadata.name } }]);
    for (const name of [...Object.keys(configMap.data), ...container.env.map((e: { name: string }) => e.name)])
      expect(Object.keys(CONFIG_VARIABLES), name).toContain(name);
    // The tokens file is where the Secret is mounted.
    const tokensMount = container.volumeMounts.find((m: { name: string }) => m.name === 'api-tokens');
    expect(configMap.data.PITSTOP_API_TOKENS_FILE.startsWith(`${tokensMount.mountPath}/`)).toBe(true);
    expect(tokensMount.readOnly).toBe(true);
    const config = loadConfig({
      ...configMap.data,
      KUBECONFIG: `${ROOT}package.json`,
      PITSTOP_API_TOKENS_FILE: `${ROOT}test/deploy/fixtures/tokens`,
    });

    const port = (name: string) => container.ports.find((p: { name: string }) => p.name === name).containerPort;
    expect(port('metrics')).toBe(config.metrics.port);
    expect(port('api')).toBe(config.api!.listen.port);
    expect(container.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'metrics' });
    expect(container.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'metrics' });
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(config.shutdownGraceMs / 1000);
    expect(container.resources.requests).toMatchObject({ cpu: expect.any(String), memory: expect.any(String) });
    expect(container.resources.limits.memory).toBeDefined();
    expect(pod.securityContext.runAsNonRoot).toBe(true);
    expect(pod.securityContext.runAsUser).toBeGreaterThan(0);
    expect(container.securityContext).toMatchObject({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    });
    expect(container.image).toMatch(/pitstop:\d+\.\d+\.\d+$/);
  });

  it('the PodDisruptionBudget and the Service select the Deployment’s pods and name its ports', () => {
    const deployment = worker();
    const labels = deployment.spec.template.metadata.labels;
    const selects = (selector: Record<string, string>) => Object.entries(selector).every(([k, v]) => labels[k] === v);
    const pdb = one('PodDisruptionBudget');
    expect(selects(pdb.spec.selector.matchLabels)).toBe(true);
    expect(pdb.spec.maxUnavailable).toBeLessThan(deployment.spec.replicas);
    const service = one('Service');
    expect(selects(service.spec.selector)).toBe(true);
    const named = deployment.spec.template.spec.containers[0].ports.map((p: { name: string }) => p.name);
    for (const p of service.spec.ports) expect(named).toContain(p.targetPort);
  });

  it('the NodeMaintenance controller: its entry point, the configuration without an HTTP API, its own Lease', () => {
    const configMap = one('ConfigMap');
    const pod = named('Deployment', 'pitstop-nodemaintenance').spec.template.spec;
    const container = pod.containers[0];
    expect(container.command).toEqual(['node', 'dist/controller/nodeMaintenance/main.js']);
    expect(existsSync(`${ROOT}src/controller/nodeMaintenance/main.ts`)).toBe(true);
    const env = Object.fromEntries(
      container.env
        .filter((e: { value?: string }) => e.value !== undefined)
        .map((e: { name: string; value: string }) => [e.name, e.value]),
    );
    // Loads without API tokens: the process serves no HTTP API.
    expect(() => loadConfig({ ...configMap.data, ...env, KUBECONFIG: `${ROOT}package.json` })).not.toThrow();
    const fromPod = container.env.filter((e: { valueFrom?: { fieldRef?: unknown } }) => e.valueFrom?.fieldRef);
    expect(fromPod.map((e: { name: string }) => e.name).sort()).toEqual(['POD_NAME', 'POD_NAMESPACE']);
    const role = named('Role', 'pitstop-nodemaintenance-leader');
    expect(role.metadata.namespace).toBe(named('Deployment', 'pitstop-nodemaintenance').metadata.namespace);
    expect(role.rules.flatMap((r: { resourceNames?: string[] }) => r.resourceNames ?? [])).toEqual([LEASE_NAME]);
  });
});
