// A node whose OS dies, and a machine that is powered off, fail as real hardware does: nothing on the dead node
// answers, the pods stay in the API until the out-of-service taint (or a force delete) frees them, and only then
// does KubeVirt restart the VMs that want to run elsewhere. virt-handler's heartbeat goes stale with it, and
// virt-controller then marks the node kubevirt.io/schedulable=false.
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
  reviveNode,
  untilVmisRunning,
  vmiOf,
} from '../support/cluster.js';

const NS = 'vms';
let sandbox: Sandbox;
let kube: KubeClient;
const HEARTBEAT = 'kubevirt.io/heartbeat';
const SCHEDULABLE = 'kubevirt.io/schedulable';
const ON_DEAD = ['always', 'rerun', 'manual', 'once', 'orphan', 'lone', 'stopper'];
/** The uid of each VMI on the node that crashes, as it was before the crash. */
const uids = new Map<string, string>();

beforeAll(async () => {
  sandbox = await startSandboxOnly({
    name: 'failure-behaviour',
    timing: {
      nodeMonitorGracePeriod: '1s',
      deadSourceMigrationTimeout: '2s',
      virtHandlerHeartbeatInterval: '500ms',
      virtHandlerHeartbeatTimeout: '2s',
      migrationDuration: '300ms',
      bootDelay: '300ms',
      powerDelay: '200ms',
    },
    nodes: [{ name: 'dead' }, { name: 'cycled' }, { name: 'spare-{n}', count: 2, bmc: 'none' }],
    vms: [
      { name: 'always', node: 'dead', runStrategy: 'Always' },
      { name: 'rerun', node: 'dead', runStrategy: 'RerunOnFailure' },
      { name: 'manual', node: 'dead', runStrategy: 'Manual' },
      { name: 'once', node: 'dead', runStrategy: 'Once' },
      { name: 'orphan', node: 'dead', runStrategy: 'Manual' },
      { name: 'lone', node: 'dead', standalone: true },
      { name: 'stopper', node: 'dead', runStrategy: 'Always' },
      { name: 'victim', node: 'cycled', runStrategy: 'Always' },
    ],
  });
  kube = sandbox.cluster.client;
  await untilVmisRunning(kube, 8, NS);
  for (const name of ON_DEAD) uids.set(name, (await vmiOf(kube, NS, name))?.metadata.uid ?? '');
});

afterAll(async () => {
  await sandbox?.stop();
});

const podsOn = async (node: string) =>
  (await kube.list(paths.pods(NS))).items.filter((p: KubeObject) => p.spec?.nodeName === node);

const heartbeatOf = async (node: string) =>
  Date.parse((await kube.get(paths.node(node))).metadata.annotations?.[HEARTBEAT] ?? '');

describe('virt-handler', () => {
  it("keeps a live node's kubevirt.io/heartbeat fresh (RFC 3339, whole seconds) and kubevirt.io/schedulable=true", async () => {
    const node = await kube.get(paths.node('spare-1'));
    expect(node.metadata.annotations?.[HEARTBEAT]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(node.metadata.labels?.[SCHEDULABLE]).toBe('true');
    const first = await heartbeatOf('spare-1');
    await eventually('a newer heartbeat', async () => (await heartbeatOf('spare-1')) > first);
  });
});

describe('a crashed node', () => {
  it('goes Ready=Unknown with the unreachable taint, while its BMC still reports the machine on', async () => {
    await crashNode(kube, 'dead');
    // The node lifecycle controller sets Ready=Unknown in its monitor pass and taints the node in its tainting
    // passes, which run on their own timers: the taint follows, not necessarily in the same instant.
    await eventually('dead Ready=Unknown and tainted unreachable', async () => {
      const n = await kube.get(paths.node('dead'));
      const tainted = (n.spec?.taints ?? []).some((t: { key: string }) => t.key === 'node.kubernetes.io/unreachable');
      return nodeReadyStatus(n) === 'Unknown' && tainted ? n : undefined;
    });
    const bmh = await kube.get(bmhPathOf('dead'));
    expect(bmh.status?.poweredOn).toBe(true);
  });

  it('its heartbeat goes stale: kubevirt.io/schedulable=false after the timeout, its VMIs still Running with their pods', async () => {
    const node = await eventually('dead marked unschedulable by virt-controller', async () => {
      const n = await kube.get(paths.node('dead'));
      return n.metadata.labels?.[SCHEDULABLE] === 'false' ? n : undefined;
    });
    expect(Date.now() - Date.parse(node.metadata.annotations?.[HEARTBEAT] ?? '')).toBeGreaterThanOrEqual(2000);
    // Nothing fails and nothing restarts while the launcher pods are in the API: a pod on a dead node looks Running.
    const pods = await podsOn('dead');
    for (const name of ON_DEAD) {
      const vmi = await vmiOf(kube, NS, name);
      expect(vmi?.status?.phase, name).toBe('Running');
      expect(vmi?.metadata.uid, name).toBe(uids.get(name));
      expect(
        pods.some((p) => p.metadata.labels?.['kubevirt.io/created-by'] === uids.get(name)),
        name,
      ).toBe(true);
    }
  });

  it('a VMI whose launcher pod is no longer alive there is failed by virt-controller, reason NodeUnresponsive', async () => {
    // The kubelet's last word before the node went silent: the launcher had died.
    const pod = (await podsOn('dead')).find(
      (p) => p.metadata.labels?.['kubevirt.io/created-by'] === uids.get('orphan'),
    );
    await kube.patch(paths.podStatus(NS, pod!.metadata.name), { status: { phase: 'Failed' } });
    const vmi = await eventually('orphan Failed', async () => {
      const v = await vmiOf(kube, NS, 'orphan');
      return v?.status?.phase === 'Failed' ? v : undefined;
    });
    expect(vmi.status.reason).toBe('NodeUnresponsive');
    expect((await vmiOf(kube, NS, 'always'))?.status?.phase).toBe('Running');
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

  it('the out-of-service taint frees its pods; Always and RerunOnFailure VMs restart elsewhere in a new VMI, once the old pods are gone', async () => {
    await outOfService(kube, 'dead');
    await eventually('no pods on dead', async () => (await podsOn('dead')).length === 0);
    for (const name of ['always', 'rerun']) {
      const vmi = await eventually(`${name} running elsewhere`, async () => {
        const v = await vmiOf(kube, NS, name);
        return v?.status?.phase === 'Running' && v.status.nodeName !== 'dead' ? v : undefined;
      });
      expect(vmi.status.nodeName).toMatch(/^(spare-\d|cycled)$/);
      expect(vmi.metadata.uid).not.toBe(uids.get(name));
      const old = (await kube.list(paths.pods(NS), { labelSelector: `kubevirt.io/created-by=${uids.get(name)}` }))
        .items;
      expect(old).toEqual([]);
    }
  });

  it('Manual, Once and Halted VMs stay off; a standalone VMI stays Failed', async () => {
    // Failed by virt-controller once the pod is gone (its VMI controller gives no reason; its node controller, had it
    // come first, NodeUnresponsive).
    for (const name of ['manual', 'once', 'lone']) {
      const vmi = await eventually(`${name} Failed`, async () => {
        const v = await vmiOf(kube, NS, name);
        return v?.status?.phase === 'Failed' ? v : undefined;
      });
      expect([undefined, 'NodeUnresponsive']).toContain(vmi.status.reason);
    }
    await eventually('stopper gone', async () => !(await vmiOf(kube, NS, 'stopper')));
    // Long enough for a controller that would start them again to have done so.
    await new Promise((r) => setTimeout(r, 1500));
    for (const name of ['manual', 'once', 'orphan', 'lone']) {
      const vmi = await vmiOf(kube, NS, name);
      expect(vmi?.status?.phase, name).toBe('Failed');
      expect(vmi?.metadata.uid, name).toBe(uids.get(name));
    }
    expect(await vmiOf(kube, NS, 'stopper')).toBeUndefined();
    expect((await kube.get(kv('virtualmachines', NS, 'stopper'))).status?.printableStatus).toBe('Stopped');
  });

  it('lives again: virt-handler beats at once and sets kubevirt.io/schedulable=true itself', async () => {
    const stale = await heartbeatOf('dead');
    await reviveNode(kube, 'dead');
    const node = await eventually('dead schedulable again', async () => {
      const n = await kube.get(paths.node('dead'));
      return n.metadata.labels?.[SCHEDULABLE] === 'true' ? n : undefined;
    });
    expect(Date.parse(node.metadata.annotations?.[HEARTBEAT] ?? '')).toBeGreaterThan(stale);
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
