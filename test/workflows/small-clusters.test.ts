// A one-worker cluster on the sandbox (policy capacity.onNoRoom): refused by default, since its VMs have nowhere to
// go; with `shutdown`, its VMs are shut down, the machine is powered off and on through Metal3, and every VM comes
// back on the same node as it was (a Manual VM started once, a Halted one left off). Read from the cluster, with the
// invariants of docs/architecture.md. (The decisions: test/domain/smallClusters.test.ts; the branches:
// test/fast/small-clusters.test.ts.)
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WorkflowFailedError } from '@temporalio/client';
import type { MaintenanceResult } from '../../src/domain/progress.js';
import { kv, paths, type KubeObject } from '../../src/k8s/client.js';
import { startTestEnv, FAST_TIMING, type TestEnv } from '../support/env.js';
import { bmhPathOf, nodeReady, untilVmisRunning, vmOf } from '../support/cluster.js';
import { reachPhase, startMaintenance } from '../support/maintenance.js';
import { invariantViolations, recordBefore } from '../support/invariants.js';
import { recordHistory } from '../support/histories.js';
import { releaseUpdate } from '../../src/workflows/messages.js';

let env: TestEnv;

beforeAll(async () => {
  env = await startTestEnv({
    scenario: {
      name: 'one-worker',
      timing: FAST_TIMING,
      kubevirt: { evictionStrategy: 'LiveMigrate' },
      nodes: [
        { name: 'cp-1', controlPlane: true, memory: '32Gi' },
        { name: 'worker-1', memory: '64Gi' },
      ],
      vms: [
        { name: 'web-{n}', count: 2, node: 'worker-1', storage: 'rwx' },
        { name: 'db', node: 'worker-1', evictionStrategy: 'None', terminationGracePeriodSeconds: 1 },
        { name: 'manual', node: 'worker-1', storage: 'rwx', runStrategy: 'Manual' },
        { name: 'off', node: 'worker-1', runStrategy: 'Halted' },
      ],
      workloads: [{ kind: 'Deployment', name: 'web', replicas: 1 }],
    },
  });
  await untilVmisRunning(env.kube, 4);
});

afterAll(async () => {
  await env?.stop();
});

const vmis = async () => (await env.kube.list(kv('virtualmachineinstances', 'vms'))).items;
const byName = (items: KubeObject[]) =>
  Object.fromEntries(items.map((v) => [v.metadata.name, { node: v.status?.nodeName, uid: v.metadata.uid }]));

describe('a one-worker cluster', () => {
  it('is refused by default: its VMs have nowhere to go, and nothing changes', async () => {
    const before = await recordBefore(env.kube);
    const handle = await startMaintenance(env, { node: 'worker-1', hold: 'none' });
    const failure = (await handle.result().catch((e: unknown) => e)) as WorkflowFailedError;
    expect(failure.cause?.message).toMatch(
      /refused: .* missing: .*vms\/web-1 .* do not fit on the other nodes \(no other node is Ready, schedulable/,
    );
    expect(await invariantViolations(env.kube, before, 'worker-1')).toEqual([]);
  });

  it('capacity.onNoRoom=shutdown: VMs shut down, node maintained, every VM back on it as it was', async () => {
    const before = await recordBefore(env.kube);
    const running = byName(await vmis());
    const handle = await startMaintenance(env, {
      node: 'worker-1',
      reason: 'PSU swap',
      policy: { capacity: { onNoRoom: 'shutdown' } },
    });

    // During the repair, as the cluster shows it: the machine off, no VMI anywhere, every VM Halted but the Manual
    // one, stopped through KubeVirt's stop subresource: its runStrategy stays Manual, its spec is never written.
    const manualBefore = await vmOf(env.kube, 'vms', 'manual');
    const held = await reachPhase(handle, 'Hold');
    expect((await env.kube.get(bmhPathOf('worker-1'))).spec.online).toBe(false);
    expect(nodeReady(await env.kube.get(paths.node('worker-1')))).toBe(false);
    expect(await vmis()).toEqual([]);
    for (const name of ['web-1', 'web-2', 'db', 'off']) {
      expect((await vmOf(env.kube, 'vms', name))?.spec.runStrategy, name).toBe('Halted');
    }
    expect((await vmOf(env.kube, 'vms', 'manual'))?.spec).toEqual(manualBefore?.spec);
    expect(held.verdict?.plan.filter((p) => p.action === 'migrate')).toEqual([]);
    expect(held.verdict?.warnings.join('\n')).toMatch(/fit on no other node: shut down and restarted after/);

    await handle.executeUpdate(releaseUpdate, { args: [{ note: 'PSU replaced' }] });
    const result = (await handle.result()) as MaintenanceResult;
    await recordHistory('small-clusters-one-worker-shutdown', handle);
    expect(result.outcome).toBe('Completed');
    expect(result.summary).toMatchObject({ migrated: 0, restored: 4, leftOff: 0 });

    // Back: the same VMs, restarted (new VMIs) on the same node; the runStrategies as they were.
    const after = byName(await vmis());
    expect(Object.keys(after).sort()).toEqual(Object.keys(running).sort());
    for (const [name, vmi] of Object.entries(after)) {
      expect(vmi.node, name).toBe('worker-1');
      expect(vmi.uid, `${name} was restarted`).not.toBe(running[name]?.uid);
    }
    expect((await vmOf(env.kube, 'vms', 'manual'))?.spec.runStrategy).toBe('Manual');
    expect((await vmOf(env.kube, 'vms', 'manual'))?.metadata.generation).toBe(manualBefore?.metadata.generation);
    expect((await vmOf(env.kube, 'vms', 'db'))?.spec.runStrategy).toBe('Always');
    expect((await vmOf(env.kube, 'vms', 'off'))?.spec.runStrategy).toBe('Halted');
    expect(nodeReady(await env.kube.get(paths.node('worker-1')))).toBe(true);
    expect(await invariantViolations(env.kube, before, 'worker-1', [], { workflowId: handle.workflowId })).toEqual([]);
  });
});
