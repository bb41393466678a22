// The simulated KubeVirt behaves as docs/kubevirt.md says, observed only through the real API server.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KubeClient, KubeObject } from '../../src/k8s/client.js';
import { kv } from '../../src/k8s/client.js';
import { startSandboxOnly, eventually } from '../support/env.js';
import { createMigration, evict, launcherPodOf, migrationsOf, rejection, vmiOf, vmOf } from '../support/cluster.js';
import type { Sandbox } from '../../src/sandbox/index.js';

const NS = 'vms';
let sandbox: Sandbox;
let kube: KubeClient;

beforeAll(async () => {
  sandbox = await startSandboxOnly({
    name: 'kubevirt-behaviour',
    timing: { migrationDuration: '300ms', unschedulableTimeout: '1500ms', evacuationRetry: '200ms' },
    kubevirt: {
      evictionStrategy: 'LiveMigrate',
      parallelMigrationsPerCluster: 5,
      parallelOutboundMigrationsPerNode: 2,
    },
    nodes: [
      { name: 'src', memory: '256Gi' },
      { name: 'zone-a-{n}', count: 2, labels: { zone: 'a' } },
      { name: 'zone-b', labels: { zone: 'b' } },
    ],
    vms: [
      { name: 'rwo', node: 'src', storage: 'rwo' },
      { name: 'bridge', node: 'src', network: 'bridge' },
      { name: 'gpu', node: 'src', hostDevice: true },
      { name: 'evict-me', node: 'src' },
      { name: 'evict-rwo', node: 'src', storage: 'rwo' },
      { name: 'evict-none', node: 'src', evictionStrategy: 'None', terminationGracePeriodSeconds: 1 },
      { name: 'evict-ifpossible', node: 'src', evictionStrategy: 'LiveMigrateIfPossible', storage: 'rwo' },
      { name: 'evict-external', node: 'src', evictionStrategy: 'External' },
      { name: 'par-{n}', count: 5, node: 'src', knobs: { migrationDuration: '1500ms' } },
      { name: 'zoned', node: 'zone-a-1', nodeSelector: { zone: 'a' } },
      { name: 'flaky', node: 'zone-b', knobs: { migrationFailures: 2 } },
      { name: 'stuck-pending', node: 'zone-b', knobs: { migrationStuck: 'Pending' } },
      { name: 'stuck-scheduling', node: 'zone-b', knobs: { migrationStuck: 'Scheduling' } },
      { name: 'slow', node: 'zone-b', knobs: { migrationDuration: '20s' } },
      { name: 'unabortable', node: 'zone-b', knobs: { migrationDuration: '3s', migrationAbortFails: true } },
      { name: 'halt-me', node: 'zone-b', terminationGracePeriodSeconds: 1 },
      { name: 'manual', node: 'zone-b', runStrategy: 'Manual' },
      { name: 'hangs', node: 'zone-b', knobs: { stopHangs: true } },
      { name: 'history', node: 'zone-a-2', knobs: { migrationDuration: '50ms' } },
      { name: 'loner', node: 'zone-b', standalone: true },
      { name: 'finished', node: 'zone-b', standalone: true },
    ],
  });
  kube = sandbox.cluster.client;
  let states = '';
  await eventually('every VMI running', async () => {
    const list = await kube.list(kv('virtualmachineinstances', NS));
    states = list.items.map((v) => `${v.metadata.name}:${v.status?.phase}`).join(' ');
    return list.items.length === 25 && list.items.every((v) => v.status?.phase === 'Running');
  }).catch(async (e: Error) => {
    const vms = await kube.list(kv('virtualmachines', NS));
    const vmStates = vms.items.map((v) => `${v.metadata.name}:${v.status?.printableStatus}`).join(' ');
    throw new Error(`${e.message}: VMIs ${states}; VMs ${vmStates}`);
  });
});

afterAll(async () => {
  await sandbox?.stop();
});

const running = (ns: string, name: string) =>
  eventually(`${name} running`, async () => {
    const vmi = await vmiOf(kube, ns, name);
    return vmi?.status?.phase === 'Running' ? vmi : undefined;
  });

const migrationPhase = (m: KubeObject, phases: string[], timeoutMs = 30_000) =>
  eventually(
    `${m.metadata.name} in ${phases.join('|')}`,
    async () => {
      const current = await kube.find(kv('virtualmachineinstancemigrations', NS, m.metadata.name));
      return current && phases.includes(current.status?.phase) ? current : undefined;
    },
    timeoutMs,
  );

describe('VMIs and their launcher pods', () => {
  it('runs each VMI where the scenario placed it, with a virt-launcher pod and LiveMigratable computed from the spec', async () => {
    const reasons: Record<string, string | undefined> = {};
    for (const name of ['rwo', 'bridge', 'gpu', 'evict-me']) {
      const vmi = await running(NS, name);
      expect(vmi.status.nodeName).toBe('src');
      expect(vmi.metadata.labels?.['kubevirt.io/nodeName']).toBe('src');
      const pod = await launcherPodOf(kube, vmi);
      expect(pod?.metadata.labels?.['kubevirt.io']).toBe('virt-launcher');
      expect(pod?.metadata.annotations?.['kubevirt.io/domain']).toBe(name);
      const condition = vmi.status.conditions.find((c: { type: string }) => c.type === 'LiveMigratable');
      reasons[name] = condition.status === 'True' ? 'migratable' : condition.reason;
    }
    expect(reasons).toEqual({
      rwo: 'DisksNotLiveMigratable',
      bridge: 'InterfaceNotLiveMigratable',
      gpu: 'HostDeviceNotLiveMigratable',
      'evict-me': 'migratable',
    });
  });
});

describe('migration admission (KubeVirt webhook)', () => {
  // KubeVirt answers through ToAdmissionResponseError: HTTP 400, no reason, the admitter's text after the API
  // server's "admission webhook ... denied the request: ".
  // (Pitstop's client words an answer without a reason "<code> error: <message>".)
  const denied = '400 error: admission webhook "migration-create-validator.kubevirt.io" denied the request: ';

  it('refuses a migration of a non-migratable VMI with 400 and the LiveMigratable condition', async () => {
    const refused = await rejection(createMigration(kube, NS, 'rwo'));
    expect(refused.statusCode).toBe(400);
    const condition = (await vmiOf(kube, NS, 'rwo'))?.status.conditions.find(
      (c: { type: string }) => c.type === 'LiveMigratable',
    );
    expect(refused.message).toBe(
      `${denied}Cannot migrate VMI, Reason: DisksNotLiveMigratable, Message: ${condition.message}`,
    );
    expect(await migrationsOf(kube, NS, 'rwo')).toHaveLength(0);
  });

  it('refuses a migration of a VMI that does not exist, or has finished, with 400', async () => {
    const missing = await rejection(createMigration(kube, NS, 'no-such-vmi'));
    expect(missing).toEqual({ statusCode: 400, message: `${denied}the VMI "vms/no-such-vmi" does not exist` });

    // The guest is gone (its launcher pod killed): the standalone VMI has finished and stays so.
    const vmi = await running(NS, 'finished');
    const pod = await launcherPodOf(kube, vmi);
    await kube.delete(`/api/v1/namespaces/${NS}/pods/${pod!.metadata.name}`, { gracePeriodSeconds: 0 });
    await eventually('VMI finished', async () =>
      ['Succeeded', 'Failed'].includes((await vmiOf(kube, NS, 'finished'))?.status?.phase),
    );
    const finalized = await rejection(createMigration(kube, NS, 'finished'));
    expect(finalized).toEqual({ statusCode: 400, message: `${denied}Cannot migrate VMI in finalized state.` });
    expect(await migrationsOf(kube, NS, 'finished')).toHaveLength(0);
  });

  it('refuses a second migration while one is in flight with 400, naming the running one by its uid', async () => {
    const first = await createMigration(kube, NS, 'slow');
    await migrationPhase(first, ['Running']);
    const refused = await rejection(createMigration(kube, NS, 'slow'));
    expect(refused).toEqual({
      statusCode: 400,
      message: `${denied}in-flight migration detected. Active migration job (${first.metadata.uid}) is currently already in progress for VMI slow.`,
    });
    await kube.delete(kv('virtualmachineinstancemigrations', NS, first.metadata.name));
  });
});

describe('migrations', () => {
  it('walks the phases and moves the VMI, its label and its launcher pod to a node matching its nodeSelector', async () => {
    const before = await running(NS, 'zoned');
    const m = await createMigration(kube, NS, 'zoned');
    const done = await migrationPhase(m, ['Succeeded', 'Failed']);
    const state = (await vmiOf(kube, NS, 'zoned'))?.status?.migrationState;
    expect(done.status.phase, JSON.stringify({ state, phases: done.status.phaseTransitionTimestamps })).toBe(
      'Succeeded',
    );
    const phases = done.status.phaseTransitionTimestamps.map((t: { phase: string }) => t.phase);
    expect(phases).toEqual([
      'Pending',
      'Scheduling',
      'Scheduled',
      'PreparingTarget',
      'TargetReady',
      'Running',
      'Succeeded',
    ]);
    const after = await running(NS, 'zoned');
    expect(before.status.nodeName).toBe('zone-a-1');
    expect(after.status.nodeName).toBe('zone-a-2'); // zone-b has room but does not match the nodeSelector
    expect(after.metadata.labels?.['kubevirt.io/nodeName']).toBe('zone-a-2');
    expect(after.status.migrationState).toMatchObject({
      sourceNode: 'zone-a-1',
      targetNode: 'zone-a-2',
      completed: true,
    });
    const pods = await kube.list(`/api/v1/namespaces/${NS}/pods`, {
      labelSelector: `kubevirt.io/created-by=${after.metadata.uid}`,
    });
    await eventually('source launcher pod gone', async () => {
      const now = await kube.list(`/api/v1/namespaces/${NS}/pods`, {
        labelSelector: `kubevirt.io/created-by=${after.metadata.uid}`,
      });
      return now.items.length === 1 && now.items[0]?.spec.nodeName === 'zone-a-2';
    });
    expect(pods.items.length).toBeGreaterThanOrEqual(1);
  });

  it('runs at most 2 outbound migrations per node at once; the rest wait in Pending and all finish', async () => {
    const created = [];
    for (let i = 1; i <= 5; i++) created.push(await createMigration(kube, NS, `par-${i}`));
    let maxActive = 0;
    let sawPending = false;
    await eventually(
      'all 5 migrations finished',
      async () => {
        const list = await kube.list(kv('virtualmachineinstancemigrations', NS));
        const ours = list.items.filter((m) => m.spec.vmiName.startsWith('par-'));
        const active = ours.filter((m) =>
          ['Scheduling', 'Scheduled', 'PreparingTarget', 'TargetReady', 'Running'].includes(m.status?.phase),
        );
        maxActive = Math.max(maxActive, active.length);
        sawPending ||= ours.some((m) => m.status?.phase === 'Pending');
        return ours.length === 5 && ours.every((m) => m.status?.phase === 'Succeeded');
      },
      60_000,
    );
    expect(maxActive).toBe(2);
    expect(sawPending).toBe(true);
    for (let i = 1; i <= 5; i++) expect((await running(NS, `par-${i}`)).status.nodeName).not.toBe('src');
  });

  it('fails the first N migrations when told to, then succeeds', async () => {
    const outcomes: string[] = [];
    for (let i = 0; i < 3; i++) {
      const m = await createMigration(kube, NS, 'flaky');
      outcomes.push((await migrationPhase(m, ['Succeeded', 'Failed'])).status.phase);
    }
    expect(outcomes).toEqual(['Failed', 'Failed', 'Succeeded']);
    const vmi = await running(NS, 'flaky');
    expect(vmi.status.nodeName).not.toBe('zone-b');
  });

  it('keeps a migration in Pending, or in Scheduling until KubeVirt gives up on the unschedulable target', async () => {
    const pending = await createMigration(kube, NS, 'stuck-pending');
    const scheduling = await createMigration(kube, NS, 'stuck-scheduling');
    await migrationPhase(scheduling, ['Scheduling']);
    const failed = await migrationPhase(scheduling, ['Failed'], 10_000);
    expect(failed.status.phase).toBe('Failed');
    const stillPending = await kube.get(kv('virtualmachineinstancemigrations', NS, pending.metadata.name));
    expect(stillPending.status.phase).toBe('Pending');
    await kube.delete(kv('virtualmachineinstancemigrations', NS, pending.metadata.name));
    expect((await running(NS, 'stuck-scheduling')).status.nodeName).toBe('zone-b');
  });

  it('aborts a running migration when its VMIM is deleted; the VMI stays on its node', async () => {
    const m = await createMigration(kube, NS, 'slow');
    await migrationPhase(m, ['Running']);
    await kube.delete(kv('virtualmachineinstancemigrations', NS, m.metadata.name));
    await eventually(
      'VMIM gone',
      async () => !(await kube.find(kv('virtualmachineinstancemigrations', NS, m.metadata.name))),
    );
    const vmi = await running(NS, 'slow');
    expect(vmi.status.nodeName).toBe('zone-b');
    expect(vmi.status.migrationState).toMatchObject({ failed: true, abortStatus: 'Succeeded' });
  });

  it('lets a migration that cannot be aborted complete even though its VMIM was deleted', async () => {
    const m = await createMigration(kube, NS, 'unabortable');
    await migrationPhase(m, ['Running']);
    await kube.delete(kv('virtualmachineinstancemigrations', NS, m.metadata.name));
    await eventually(
      'VMIM gone',
      async () => !(await kube.find(kv('virtualmachineinstancemigrations', NS, m.metadata.name))),
      15_000,
    );
    const vmi = await running(NS, 'unabortable');
    expect(vmi.status.nodeName).not.toBe('zone-b');
  });

  it('keeps only the 5 newest finished migrations of a VMI', async () => {
    for (let i = 0; i < 7; i++) await migrationPhase(await createMigration(kube, NS, 'history'), ['Succeeded']);
    await eventually('old migrations collected', async () => (await migrationsOf(kube, NS, 'history')).length === 5);
  });
});

describe('eviction of virt-launcher pods (KubeVirt eviction webhook)', () => {
  it('answers 429 for a migratable LiveMigrate VM, then migrates it with a kubevirt-evacuation migration', async () => {
    const vmi = await running(NS, 'evict-me');
    const pod = await launcherPodOf(kube, vmi);
    const refused = await rejection(evict(kube, pod!));
    expect(refused).toEqual({
      statusCode: 429,
      message:
        '429 error: admission webhook "virt-launcher-eviction-interceptor.kubevirt.io" denied the request: Eviction triggered evacuation of VMI "vms/evict-me"',
    });
    const moved = await eventually('evacuated', async () => {
      const now = await vmiOf(kube, NS, 'evict-me');
      return now?.status?.nodeName !== 'src' && now?.status?.phase === 'Running' ? now : undefined;
    });
    expect(moved.status.evacuationNodeName).toBeUndefined();
    const names = (await migrationsOf(kube, NS, 'evict-me')).map((m) => m.metadata.name);
    expect(names).toHaveLength(1);
    expect(names[0]).toMatch(/^kubevirt-evacuation-/);
  });

  it('answers 429 forever for a LiveMigrate VM that cannot migrate, and starts nothing', async () => {
    const vmi = await running(NS, 'evict-rwo');
    const pod = await launcherPodOf(kube, vmi);
    for (let i = 0; i < 2; i++) {
      expect(await rejection(evict(kube, pod!))).toEqual({
        statusCode: 429,
        message:
          '429 error: admission webhook "virt-launcher-eviction-interceptor.kubevirt.io" denied the request: VMI evict-rwo is configured with an eviction strategy but is not live-migratable',
      });
    }
    expect(await migrationsOf(kube, NS, 'evict-rwo')).toHaveLength(0);
    expect((await vmiOf(kube, NS, 'evict-rwo'))?.status.nodeName).toBe('src');
  });

  it('allows eviction for None: the VM shuts down and (runStrategy Always) starts again elsewhere', async () => {
    const vmi = await running(NS, 'evict-none');
    const pod = await launcherPodOf(kube, vmi);
    await evict(kube, pod!);
    const restarted = await eventually('started again as a new VMI', async () => {
      const now = await vmiOf(kube, NS, 'evict-none');
      return now && now.metadata.uid !== vmi.metadata.uid && now.status?.phase === 'Running' ? now : undefined;
    });
    expect(await migrationsOf(kube, NS, 'evict-none')).toHaveLength(0);
    expect(restarted.metadata.ownerReferences?.[0]?.name).toBe('evict-none');
  });

  it('allows eviction for LiveMigrateIfPossible when the VM cannot migrate', async () => {
    const vmi = await running(NS, 'evict-ifpossible');
    const pod = await launcherPodOf(kube, vmi);
    await evict(kube, pod!);
    await eventually(
      'old VMI replaced',
      async () => (await vmiOf(kube, NS, 'evict-ifpossible'))?.metadata.uid !== vmi.metadata.uid,
    );
  });

  it('answers 429 for External and marks the VMI for evacuation without migrating it', async () => {
    const vmi = await running(NS, 'evict-external');
    const pod = await launcherPodOf(kube, vmi);
    expect((await rejection(evict(kube, pod!))).statusCode).toBe(429);
    const marked = await eventually('evacuationNodeName set', async () => {
      const now = await vmiOf(kube, NS, 'evict-external');
      return now?.status?.evacuationNodeName === 'src' ? now : undefined;
    });
    expect(marked.status.nodeName).toBe('src');
    // Asked again while the VMI is marked: refused, and KubeVirt says the evacuation is under way.
    expect(await rejection(evict(kube, pod!))).toEqual({
      statusCode: 429,
      message:
        '429 error: admission webhook "virt-launcher-eviction-interceptor.kubevirt.io" denied the request: Evacuation in progress: Eviction triggered evacuation of VMI "vms/evict-external"',
    });
    expect(await migrationsOf(kube, NS, 'evict-external')).toHaveLength(0);
  });
});

describe('VM runStrategy', () => {
  it('Halted stops the VMI gracefully and Always starts it again', async () => {
    await running(NS, 'halt-me');
    await kube.patch(kv('virtualmachines', NS, 'halt-me'), { spec: { runStrategy: 'Halted' } });
    await eventually('VMI gone', async () => !(await vmiOf(kube, NS, 'halt-me')));
    await eventually(
      'VM Stopped',
      async () => (await vmOf(kube, NS, 'halt-me'))?.status?.printableStatus === 'Stopped',
    );
    await kube.patch(kv('virtualmachines', NS, 'halt-me'), { spec: { runStrategy: 'Always' } });
    await running(NS, 'halt-me');
    await eventually(
      'VM Running',
      async () => (await vmOf(kube, NS, 'halt-me'))?.status?.printableStatus === 'Running',
    );
  });

  it('a guest that ignores shutdown keeps its VMI Running and Stopping', async () => {
    await running(NS, 'hangs');
    await kube.patch(kv('virtualmachines', NS, 'hangs'), { spec: { runStrategy: 'Halted' } });
    await eventually(
      'VM Stopping',
      async () => (await vmOf(kube, NS, 'hangs'))?.status?.printableStatus === 'Stopping',
    );
    await new Promise((r) => setTimeout(r, 1500));
    const vmi = await vmiOf(kube, NS, 'hangs');
    expect(vmi?.metadata.deletionTimestamp).toBeTruthy();
    expect(vmi?.status?.phase).toBe('Running');
  });

  it('Manual does not bring a stopped VMI back', async () => {
    const vmi = await running(NS, 'manual');
    await kube.delete(kv('virtualmachineinstances', NS, 'manual'));
    await eventually('VMI gone', async () => !(await vmiOf(kube, NS, 'manual')));
    await new Promise((r) => setTimeout(r, 1000));
    expect(await vmiOf(kube, NS, 'manual')).toBeUndefined();
    expect(vmi.metadata.ownerReferences?.[0]?.kind).toBe('VirtualMachine');
  });

  it('a standalone VMI has no owner and is not recreated once deleted', async () => {
    const vmi = await running(NS, 'loner');
    expect(vmi.metadata.ownerReferences ?? []).toHaveLength(0);
    await kube.delete(kv('virtualmachineinstances', NS, 'loner'));
    await eventually('VMI gone', async () => !(await vmiOf(kube, NS, 'loner')));
    await new Promise((r) => setTimeout(r, 500));
    expect(await vmiOf(kube, NS, 'loner')).toBeUndefined();
  });
});
