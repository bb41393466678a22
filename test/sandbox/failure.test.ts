// A node whose OS dies, and a machine that is powered off, fail as real hardware does: nothing on the dead node
// answers, the pods stay in the API until the out-of-service taint (or a force delete) frees them, and only then
// does KubeVirt restart the VMs that want to run elsewhere.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kv, paths, type KubeClient, type KubeObject } from '../../src/k8s/client.js';
import type { Sandbox } from '../../src/sandbox/index.js';
import { startSandboxOnly, eventually } from '../support/env.js';
import {
  bmhPathOf,
  crashNode,
  createMigration,
  nodeReady,
  nodeReadyStatus,
  outOfService,
  untilVmisRunning,
  vmiOf,
} from '../support/cluster.js';

const NS = 'vms';
let sandbox: Sandbox;
let kube: KubeClient;

beforeAll(async () => {
  sandbox = await startSandboxOnly({
    name: 'failure-behaviour',
    timing: {
      nodeMonitorGracePeriod: '1s',
      deadSourceMigrationTimeout: '2s',
      migrationDuration: '300ms',
      bootDelay: '300ms',
      powerDelay: '200ms',
    },
    nodes: [{ name: 'dead' }, { name: 'cycled' }, { name: 'spare-{n}', count: 2, bmc: 'none' }],
    vms: [
      { name: 'always', node: 'dead', runStrategy: 'Always' },
      { name: 'rerun', node: 'dead', runStrategy: 'RerunOnFailure' },
      { name: 'manual', node: 'dead', runStrategy: 'Manual' },
      { name: 'stopper', node: 'dead', runStrategy: 'Always' },
      { name: 'victim', node: 'cycled', runStrategy: 'Always' },
    ],
  });
  kube = sandbox.cluster.client;
  await untilVmisRunning(kube, 5, NS);
});

afterAll(async () => {
  await sandbox?.stop();
});

const podsOn = async (node: string) =>
  (await kube.list(paths.pods(NS))).items.filter((p: KubeObject) => p.spec?.nodeName === node);

describe('a crashed node', () => {
  it('goes Ready=Unknown with the unreachable taint, while its BMC still reports the machine on', async () => {
    await crashNode(kube, 'dead');
    const node = await eventually('dead Ready=Unknown', async () => {
      const n = await kube.get(paths.node('dead'));
      return nodeReadyStatus(n) === 'Unknown' ? n : undefined;
    });
    expect((node.spec?.taints ?? []).map((t: { key: string }) => t.key)).toContain('node.kubernetes.io/unreachable');
    const bmh = await kube.get(bmhPathOf('dead'));
    expect(bmh.status?.poweredOn).toBe(true);
  });

  it('never completes a graceful stop, and a migration off it fails without reaching Running', async () => {
    await kube.patch(kv('virtualmachines', NS, 'stopper'), { spec: { runStrategy: 'Halted' } });
    await eventually('stopper deleting', async () => !!(await vmiOf(kube, NS, 'stopper'))?.metadata.deletionTimestamp);

    const m = await createMigration(kube, NS, 'always');
    const failed = await eventually('migration Failed', async () => {
      const current = await kube.find(kv('virtualmachineinstancemigrations', NS, m.metadata.name));
      return current?.status?.phase === 'Failed' ? current : undefined;
    });
    const phases = (failed.status.phaseTransitionTimestamps ?? []).map((t: { phase: string }) => t.phase);
    expect(phases).not.toContain('Running');
    expect((await vmiOf(kube, NS, 'always'))?.status?.nodeName).toBe('dead');

    // The stop was asked for before the migration's whole timeout: it is still not done.
    const stopper = await vmiOf(kube, NS, 'stopper');
    expect(stopper?.status?.phase).toBe('Running');
    expect((await podsOn('dead')).some((p) => p.metadata.labels?.['vm.kubevirt.io/name'] === 'stopper')).toBe(true);
  });

  it('the out-of-service taint frees its pods; Always and RerunOnFailure VMs restart elsewhere, Manual stays off', async () => {
    const before = await vmiOf(kube, NS, 'always');
    await outOfService(kube, 'dead');
    await eventually('no pods on dead', async () => (await podsOn('dead')).length === 0);
    for (const name of ['always', 'rerun']) {
      const vmi = await eventually(`${name} running elsewhere`, async () => {
        const v = await vmiOf(kube, NS, name);
        return v?.status?.phase === 'Running' && v.status.nodeName !== 'dead' ? v : undefined;
      });
      expect(vmi.status.nodeName).toMatch(/^(spare-\d|cycled)$/);
    }
    expect((await vmiOf(kube, NS, 'always'))?.metadata.uid).not.toBe(before?.metadata.uid);
    const manual = await eventually('manual Failed', async () => {
      const v = await vmiOf(kube, NS, 'manual');
      return v?.status?.phase === 'Failed' ? v : undefined;
    });
    expect(manual.status.reason).toBe('NodeUnresponsive');
    await eventually('stopper gone', async () => !(await vmiOf(kube, NS, 'stopper')));
  });
});

describe('a power-off', () => {
  it('kills what ran on the machine: after power-on the VM runs in a new VMI', async () => {
    const before = await vmiOf(kube, NS, 'victim');
    await kube.patch(bmhPathOf('cycled'), { spec: { online: false } });
    await eventually('cycled off', async () => (await kube.get(bmhPathOf('cycled'))).status?.poweredOn === false);
    await kube.patch(bmhPathOf('cycled'), { spec: { online: true } });
    await eventually('cycled Ready', async () => nodeReady(await kube.get(paths.node('cycled'))));
    const after = await eventually('victim running in a new VMI', async () => {
      const v = await vmiOf(kube, NS, 'victim');
      return v?.status?.phase === 'Running' && v.metadata.uid !== before?.metadata.uid ? v : undefined;
    });
    expect(after.metadata.uid).not.toBe(before?.metadata.uid);
  });
});
