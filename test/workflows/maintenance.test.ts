// Whole maintenances through the real Temporal dev server and the sandbox cluster, checked from the cluster: real
// migrations, a real drain, real power. The runbook's branches are tested without a cluster in test/fast/.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WorkflowFailedError } from '@temporalio/client';
import type { MaintenanceResult } from '../../src/domain/progress.js';
import { paths, kv } from '../../src/k8s/client.js';
import { startTestEnv, eventually, type TestEnv, FAST_TIMING } from '../support/env.js';
import { bmhPathOf, nodeReady, untilVmisRunning, vmOf } from '../support/cluster.js';
import { reachPhase, startMaintenance, type Start } from '../support/maintenance.js';
import { invariantViolations, recordBefore } from '../support/invariants.js';
import { recordHistory } from '../support/histories.js';
import { releaseUpdate } from '../../src/workflows/messages.js';

let env: TestEnv;
const BMH = bmhPathOf;

beforeAll(async () => {
  env = await startTestEnv({
    scenario: {
      name: 'maintenance',
      timing: FAST_TIMING,
      kubevirt: { evictionStrategy: 'LiveMigrate' },
      nodes: [
        { name: 'cp-{n}', count: 3, controlPlane: true, memory: '64Gi' },
        { name: 'worker-1', memory: '256Gi' },
        { name: 'worker-7', memory: '256Gi' },
        { name: 'spare-{n}', count: 2, memory: '256Gi' },
      ],
      vms: [
        { name: 'w1-migrate-{n}', count: 3, node: 'worker-1', storage: 'rwx' },
        { name: 'w1-none', node: 'worker-1', evictionStrategy: 'None', terminationGracePeriodSeconds: 1 },
        { name: 'w1-stay-off', node: 'worker-1', labels: { 'pitstop.io/maintenance-strategy': 'ShutdownStayOff' } },
        {
          name: 'w1-elsewhere',
          node: 'worker-1',
          labels: { 'pitstop.io/maintenance-strategy': 'ShutdownRestartElsewhere' },
        },
      ],
      workloads: [
        { kind: 'Deployment', name: 'web', replicas: 3, pdb: { maxUnavailable: 1 } },
        { kind: 'DaemonSet', name: 'agent' },
        { kind: 'Pod', name: 'scratch', node: 'worker-7', emptyDir: true },
      ],
    },
  });
  await untilVmisRunning(env.kube, 6);
});

afterAll(async () => {
  await env?.stop();
});

const start = (input: Start) => startMaintenance(env, input);

const reach = reachPhase;

const vmisOn = async (node: string) =>
  (await env.kube.list(kv('virtualmachineinstances'), { labelSelector: `kubevirt.io/nodeName=${node}` })).items.map(
    (v) => v.metadata.name,
  );

describe('a maintenance from start to finish', () => {
  it('moves every VM off, powers the node down, holds, brings it back and restores the VMs', async () => {
    const before = await recordBefore(env.kube);
    const handle = await start({ node: 'worker-1', reason: 'DIMM replacement' });
    const held = await reach(handle, 'Hold');

    // While the repair is under way, as the cluster shows it:
    const node = await env.kube.get(paths.node('worker-1'));
    expect(node.spec.unschedulable).toBe(true);
    expect(node.spec.taints.map((t: { key: string }) => t.key)).toContain('pitstop.io/maintenance');
    expect((await env.kube.get(BMH('worker-1'))).spec.online).toBe(false);
    expect(nodeReady(node)).toBe(false);
    expect(await vmisOn('worker-1')).toEqual([]);
    expect((await vmOf(env.kube, 'vms', 'w1-none'))?.spec.runStrategy).toBe('Halted');
    expect(held.vms.find((r) => r.vmi === 'vms/w1-migrate-1')).toMatchObject({ state: 'migrated', attempts: 1 });
    expect(held.vms.find((r) => r.vmi === 'vms/w1-elsewhere')?.state).toBe('restored');
    expect(held.drainProgress).toBe(100);
    await eventually('a MaintenanceHold event on the node', async () => {
      const events = await env.kube.list(paths.events('default'), { fieldSelector: 'involvedObject.name=worker-1' });
      return events.items.some((e) => e.reason === 'MaintenanceHold');
    });

    await handle.executeUpdate(releaseUpdate, { args: [{ note: 'DIMM replaced' }] });
    const result = (await handle.result()) as MaintenanceResult;
    await recordHistory('maintenance-worker-1-completed', handle);

    expect(result.outcome).toBe('Completed');
    expect(result.summary).toMatchObject({ migrated: 3, restored: 2, leftOff: 1 });
    expect(nodeReady(await env.kube.get(paths.node('worker-1')))).toBe(true);
    expect(await invariantViolations(env.kube, before, 'worker-1', ['vms/w1-stay-off'])).toEqual([]);
    expect((await vmOf(env.kube, 'vms', 'w1-none'))?.spec.runStrategy).toBe('Always');
    expect((await vmOf(env.kube, 'vms', 'w1-stay-off'))?.spec.runStrategy).toBe('Halted');
    // `kubectl describe node` tells the story, phase by phase, and the phase annotation is gone.
    const events = await env.kube.list(paths.events('default'), { fieldSelector: 'involvedObject.name=worker-1' });
    // In the order they were written (etcd's revision; the timestamps have whole seconds only).
    const reasons = events.items
      .filter((e) => String(e.reason).startsWith('Maintenance'))
      .sort((a, b) => Number(a.metadata.resourceVersion) - Number(b.metadata.resourceVersion))
      .map((e) => e.reason);
    expect([...new Set(reasons)]).toEqual([
      'MaintenanceCordon',
      'MaintenanceEvacuateVMs',
      'MaintenanceEvictPods',
      'MaintenancePowerOff',
      'MaintenanceHold',
      'MaintenanceEnded',
    ]);
    const annotations = (await env.kube.get(paths.node('worker-1'))).metadata.annotations ?? {};
    expect(annotations['pitstop.io/maintenance-phase']).toBeUndefined();
  });
});

describe('drain policy', () => {
  it('refuses at once to drain a bare pod with emptyDir unless the policy allows it, and rolls back', async () => {
    const before = await recordBefore(env.kube);
    const handle = await start({ node: 'worker-7', hold: 'none' });
    const failure = await handle.result().catch((e: unknown) => e);
    expect((failure as WorkflowFailedError).cause?.message).toMatch(
      /rolled back: pods the drain policy does not allow to evict: apps\/scratch \(.*evictUnmanagedPods.*deleteEmptyDirData/,
    );
    expect(await env.kube.find(paths.pod('apps', 'scratch'))).toBeDefined();
    expect(await invariantViolations(env.kube, before, 'worker-7')).toEqual([]);
  });
});
