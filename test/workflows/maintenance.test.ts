// Whole maintenances through the real Temporal dev server and the sandbox cluster, checked from the cluster.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WorkflowFailedError } from '@temporalio/client';
import type { MaintenanceResult } from '../../src/domain/progress.js';
import { paths, kv } from '../../src/k8s/client.js';
import { startTestEnv, eventually, type TestEnv, FAST_TIMING } from '../support/env.js';
import { bmhPathOf, nodeReady, untilVmisRunning, vmOf } from '../support/cluster.js';
import { progressOf, reachPhase, refusal, startMaintenance, type Start } from '../support/maintenance.js';
import { invariantViolations, recordBefore } from '../support/invariants.js';
import { recordHistory } from '../support/histories.js';

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
        { name: 'worker-{n}', count: 7, memory: '256Gi' },
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
        { name: 'w2-rwo', node: 'worker-2', storage: 'rwo' },
        { name: 'w2-migrate', node: 'worker-2' },
        { name: 'w3-none', node: 'worker-3', evictionStrategy: 'None', terminationGracePeriodSeconds: 1 },
        { name: 'w3-migrate', node: 'worker-3' },
        { name: 'w4-migrate', node: 'worker-4' },
        { name: 'w5-rwo', node: 'worker-5', storage: 'rwo' },
        { name: 'w6-external', node: 'worker-6', evictionStrategy: 'External' },
        { name: 'w6-if-possible-rwo', node: 'worker-6', evictionStrategy: 'LiveMigrateIfPossible', storage: 'rwo' },
        {
          name: 'w6-if-possible-flaky',
          node: 'worker-6',
          evictionStrategy: 'LiveMigrateIfPossible',
          knobs: { migrationFailures: 5 },
        },
        { name: 'w6-after', node: 'worker-6', labels: { 'pitstop.io/maintenance-strategy': 'ShutdownRestartAfter' } },
      ],
      workloads: [
        { kind: 'Deployment', name: 'web', replicas: 3, pdb: { maxUnavailable: 1 } },
        { kind: 'DaemonSet', name: 'agent' },
        { kind: 'Pod', name: 'scratch', node: 'worker-7', emptyDir: true },
      ],
    },
  });
  await untilVmisRunning(env.kube, 16);
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

    await handle.executeUpdate('release', { args: [{ note: 'DIMM replaced' }] });
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

  it('leaves a node that was already cordoned cordoned, and reboots straight through with hold: none', async () => {
    await env.kube.patch(paths.node('worker-4'), { spec: { unschedulable: true } });
    const before = await recordBefore(env.kube);
    const handle = await start({ node: 'worker-4', hold: 'none' });
    const result = (await handle.result()) as MaintenanceResult;
    expect(result.outcome).toBe('Completed');
    expect((await env.kube.get(paths.node('worker-4'))).spec.unschedulable).toBe(true);
    expect(await invariantViolations(env.kube, before, 'worker-4')).toEqual([]);
    await env.kube.patch(paths.node('worker-4'), { spec: { unschedulable: false } });
  });
});

describe('the other rows of the plan table', () => {
  it('shuts down what may not move, falls back to shutdown after failed migrations, and escalates an External VM nobody moved', async () => {
    const before = await recordBefore(env.kube);
    const handle = await start({ node: 'worker-6', hold: 'none', policy: { external: { timeout: '1s' } } });
    const asking = await eventually('the External VM escalated', async () => {
      const p = await progressOf(handle);
      return p.decisionsPending.find((d) => d.vmi === 'vms/w6-external') ? p : undefined;
    });
    expect(asking.decisionsPending[0]?.reason).toMatch(/external controller did not move it/);
    await handle.executeUpdate('decide', { args: [{ vmi: 'vms/w6-external', action: 'shutdown' }] });
    const result = (await handle.result()) as MaintenanceResult;
    expect(result.outcome).toBe('Completed');
    const rows = Object.fromEntries((await progressOf(handle)).vms.map((r) => [r.vmi.replace('vms/', ''), r]));
    expect(rows['w6-if-possible-rwo']).toMatchObject({ action: 'shutdown', state: 'restored' });
    expect(rows['w6-if-possible-flaky']).toMatchObject({ action: 'migrate', state: 'restored', attempts: 2 });
    expect(rows['w6-after']).toMatchObject({ action: 'shutdown', state: 'restored' });
    expect(rows['w6-external']).toMatchObject({ action: 'awaitExternal', state: 'restored' });
    expect(await invariantViolations(env.kube, before, 'worker-6')).toEqual([]);
  });
});

describe('escalation', () => {
  it('asks about a VM that cannot migrate, validates the answer, and shuts it down when told to', async () => {
    const before = await recordBefore(env.kube);
    const handle = await start({ node: 'worker-2', hold: 'none' });
    const asking = await eventually('a pending decision', async () => {
      const p = await progressOf(handle);
      return p.decisionsPending.length ? p : undefined;
    });
    expect(asking.decisionsPending).toEqual([
      expect.objectContaining({
        vmi: 'vms/w2-rwo',
        allowed: ['shutdown', 'delete'],
        reason: expect.stringMatching(/DisksNotLiveMigratable|not live-migratable|cannot/i),
      }),
    ]);
    const decide = (vmi: string, action: string) => handle.executeUpdate('decide', { args: [{ vmi, action }] });
    expect(await refusal(decide('vms/nope', 'shutdown'))).toMatch(/no decision is pending for vms\/nope/);
    expect(await refusal(decide('vms/w2-rwo', 'retry'))).toMatch(
      /"retry" is not allowed for vms\/w2-rwo; allowed: shutdown, delete/,
    );
    await handle.executeUpdate('decide', { args: [{ vmi: 'vms/w2-rwo', action: 'shutdown' }] });
    const result = (await handle.result()) as MaintenanceResult;
    expect(result.outcome).toBe('Completed');
    expect(await invariantViolations(env.kube, before, 'worker-2')).toEqual([]);
  });

  it('rolls back when nobody answers before the decision deadline', async () => {
    const before = await recordBefore(env.kube);
    const handle = await start({ node: 'worker-5', policy: { escalation: { decisionTimeout: '1s' } } });
    const failure = await handle.result().catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(WorkflowFailedError);
    expect((failure as WorkflowFailedError).cause?.message).toMatch(/rolled back: no decision for vms\/w5-rwo/);
    expect((await progressOf(handle)).phase).toBe('RolledBack');
    expect(await invariantViolations(env.kube, before, 'worker-5')).toEqual([]);
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

describe('cancel', () => {
  it('rolls back from the hold: powered on, uncordoned, stopped VMs running again', async () => {
    const before = await recordBefore(env.kube);
    const handle = await start({ node: 'worker-3' });
    await reach(handle, 'Hold');
    expect((await env.kube.get(BMH('worker-3'))).spec.online).toBe(false);
    await handle.cancel();
    await expect(handle.result()).rejects.toThrow();
    expect((await progressOf(handle)).phase).toBe('RolledBack');
    expect((await env.kube.get(BMH('worker-3'))).spec.online).toBe(true);
    await eventually('worker-3 Ready', async () => nodeReady(await env.kube.get(paths.node('worker-3'))));
    await eventually(
      'w3-none running',
      async () => (await vmOf(env.kube, 'vms', 'w3-none'))?.status?.printableStatus === 'Running',
    );
    expect(await invariantViolations(env.kube, before, 'worker-3')).toEqual([]);
  });
});
