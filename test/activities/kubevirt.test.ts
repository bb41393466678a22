// The KubeVirt activities against the sandbox: what an administrator would see in the cluster afterwards.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubeClient, type KubeObject, kv } from '../../src/k8s/client.js';
import { PREVIOUS_RUN_STRATEGY } from '../../src/domain/contract.js';
import { cancelMigration, waitForMigration } from '../../src/activities/kubevirt/migrationWaits.js';
import {
  deleteVmi,
  restoreVm,
  stopVm,
  waitForVmiGone,
  waitForVmiOffNode,
  waitForVmiRunning,
} from '../../src/activities/kubevirt/lifecycle.js';
import { migrationsInFlight } from '../../src/activities/kubevirt/facts.js';
import { startMigration } from '../../src/activities/kubevirt/migrations.js';
import { type WaitDetails } from '../../src/k8s/watch.js';
import { eventually, startSandboxOnly } from '../support/env.js';
import {
  applicationFailureOf,
  createMigration,
  evict,
  launcherPodOf,
  migrationsOf,
  rejection,
  untilVmisRunning,
  vmOf,
  vmiOf,
} from '../support/cluster.js';
import type { Sandbox } from '../../src/sandbox/index.js';

const NS = 'vms';
const WORKFLOW = 'maintenance-a';
let sandbox: Sandbox;
/** The cluster as the test (the administrator) reads it. */
let kube: KubeClient;
/** The client the activities use, so the test can count what they ask of the API server. */
let act: KubeClient;

beforeAll(async () => {
  sandbox = await startSandboxOnly({
    name: 'kubevirt-activities',
    timing: { migrationDuration: '300ms', evacuationRetry: '200ms', vmStop: '300ms' },
    kubevirt: {
      evictionStrategy: 'LiveMigrate',
      parallelMigrationsPerCluster: 10,
      parallelOutboundMigrationsPerNode: 10,
    },
    nodes: [{ name: 'a', memory: '256Gi' }, { name: 'b' }, { name: 'c' }],
    vms: [
      { name: 'mover', node: 'a', knobs: { migrationDuration: '1500ms' } },
      { name: 'twice', node: 'a' },
      { name: 'evacuee', node: 'a', knobs: { migrationDuration: '2s' } },
      { name: 'rwo', node: 'a', storage: 'rwo' },
      { name: 'flaky', node: 'a', knobs: { migrationFailures: 1 } },
      { name: 'stuck', node: 'a', knobs: { migrationStuck: 'Pending' } },
      { name: 'slow', node: 'a', knobs: { migrationDuration: '20s' } },
      { name: 'beat', node: 'a', knobs: { migrationDuration: '1s' } },
      { name: 'stopper', node: 'a', terminationGracePeriodSeconds: 1 },
      { name: 'rerun', node: 'a', runStrategy: 'RerunOnFailure', terminationGracePeriodSeconds: 1 },
      { name: 'manual', node: 'a', runStrategy: 'Manual', terminationGracePeriodSeconds: 1 },
      { name: 'manual-done', node: 'a', runStrategy: 'Manual', terminationGracePeriodSeconds: 1 },
      { name: 'legacy', node: 'a', terminationGracePeriodSeconds: 1 },
      { name: 'hangs', node: 'a', knobs: { stopHangs: true } },
      { name: 'loner', node: 'a', standalone: true },
      { name: 'finished', node: 'a', standalone: true },
      { name: 'raced', node: 'a', knobs: { migrationDuration: '2s' } },
      { name: 'external', node: 'a', evictionStrategy: 'External' },
    ],
  });
  kube = sandbox.cluster.client;
  act = KubeClient.fromFile(sandbox.kubeconfigPath);
  await untilVmisRunning(kube, 18, NS);
});

afterAll(async () => {
  act?.close();
  await sandbox?.stop();
});

const vmimOf = (name: string) => kube.find(kv('virtualmachineinstancemigrations', NS, name));
const start = (vmi: string, attempt = 1) =>
  startMigration(act, { namespace: NS, vmi, workflowId: WORKFLOW, runId: 'run-1', attempt });
const waitFor = (name: string, timeoutMs = 30_000, pendingTimeoutMs = 30_000) =>
  waitForMigration(act, { namespace: NS, name, timeoutMs, pendingTimeoutMs });

const failureOf = applicationFailureOf;

describe('migrations', () => {
  it('migrates a VMI to another node, watching (not polling) until it lands', async () => {
    const started = await start('mover');
    expect(started).toEqual({ name: expect.stringMatching(/^pitstop-mover-1-[0-9a-f]{6}$/), adopted: false });
    const vmim = await vmimOf(started.name);
    expect(vmim?.spec.vmiName).toBe('mover');
    expect(vmim?.metadata.labels).toMatchObject({
      'kubevirt.io/vmi-name': 'mover',
      'pitstop.io/workflow-id': WORKFLOW,
      'app.kubernetes.io/managed-by': 'pitstop',
    });

    const gets = act.counter.byVerb.GET ?? 0;
    const result = await waitFor(started.name);
    const getsDuringWait = (act.counter.byVerb.GET ?? 0) - gets;

    const vmi = await vmiOf(kube, NS, 'mover');
    expect(result).toMatchObject({ outcome: 'Succeeded', phase: 'Succeeded', sourceNode: 'a' });
    expect(result.targetNode).toBe(vmi?.status.nodeName);
    expect(vmi?.status.nodeName).not.toBe('a');
    expect(vmi?.status.phase).toBe('Running');
    // One list to start the watch and one read of the VMI at the end, over a ~2 s migration.
    expect(getsDuringWait).toBeLessThanOrEqual(3);
    expect(act.counter.byVerb.WATCH ?? 0).toBeGreaterThanOrEqual(1);
  });

  it('creates exactly one migration for an attempt, however often it is called, before and after it ends', async () => {
    const [first, second] = await Promise.all([start('twice'), start('twice')]);
    expect(second.name).toBe(first.name);
    expect([first.adopted, second.adopted]).toEqual([false, false]);
    expect((await waitFor(first.name)).outcome).toBe('Succeeded');
    // An activity retried after the migration finished finds the same object, and starts nothing new.
    const retried = await start('twice');
    expect(retried).toEqual({ name: first.name, adopted: false });
    const all = await migrationsOf(kube, NS, 'twice');
    expect(all.map((m) => m.metadata.name)).toEqual([first.name]);
    expect(all[0]?.status.phase).toBe('Succeeded');
  });

  it('adopts the evacuation KubeVirt started when the launcher pod was evicted, and creates nothing', async () => {
    const pod = await launcherPodOf(kube, (await vmiOf(kube, NS, 'evacuee'))!);
    expect((await rejection(evict(kube, pod!))).statusCode).toBe(429);
    const evacuation = await eventually('evacuation in flight', async () =>
      (await migrationsOf(kube, NS, 'evacuee')).find((m) => m.status?.phase !== 'Succeeded'),
    );
    expect(evacuation.metadata.name).toMatch(/^kubevirt-evacuation-/);

    const started = await start('evacuee');
    expect(started).toEqual({ name: evacuation.metadata.name, adopted: true });
    const inFlight = await migrationsInFlight(act, { node: 'a' });
    expect(inFlight).toContainEqual(
      expect.objectContaining({ name: evacuation.metadata.name, vmi: 'evacuee', ours: false }),
    );
    expect((await waitFor(started.name)).outcome).toBe('Succeeded');
    expect((await migrationsOf(kube, NS, 'evacuee')).map((m) => m.metadata.name)).toEqual([evacuation.metadata.name]);
    expect((await vmiOf(kube, NS, 'evacuee'))?.status.nodeName).not.toBe('a');
  });

  it("refuses a VMI that cannot live-migrate with a short non-retryable failure naming KubeVirt's reason", async () => {
    const failure = await failureOf(start('rwo'));
    expect(failure.nonRetryable).toBe(true);
    expect(failure.type).toBe('NotMigratable');
    expect(failure.message).toBe('cannot migrate vms/rwo: DisksNotLiveMigratable');
    expect(await migrationsOf(kube, NS, 'rwo')).toHaveLength(0);
  });

  it('refuses a VMI that has finished (KubeVirt: 400 "finalized state") as VmiNotRunning, creating nothing', async () => {
    const vmi = (await vmiOf(kube, NS, 'finished'))!;
    const pod = await launcherPodOf(kube, vmi);
    await kube.delete(`/api/v1/namespaces/${NS}/pods/${pod!.metadata.name}`, { gracePeriodSeconds: 0 });
    await eventually('VMI finished', async () =>
      ['Succeeded', 'Failed'].includes((await vmiOf(kube, NS, 'finished'))?.status?.phase),
    );
    const failure = await failureOf(start('finished'));
    expect(failure).toMatchObject({ type: 'VmiNotRunning', nonRetryable: true });
    expect(failure.message).toBe('cannot migrate vms/finished: the VMI has finished (Succeeded or Failed)');
    expect(await migrationsOf(kube, NS, 'finished')).toHaveLength(0);
  });

  it('adopts a migration that started between its look and its create (KubeVirt: 400 "in-flight migration")', async () => {
    // Someone else's migration, created after Pitstop listed (its first list is made to see none): the create is
    // refused as in flight, and the activity adopts it instead of failing.
    const other = await createMigration(kube, NS, 'raced', 'someone-elses');
    // KubeVirt labels every VMIM with its VMI (its migration-create mutator); Pitstop finds migrations by it.
    await eventually(
      'labelled by KubeVirt',
      async () => (await vmimOf(other.metadata.name))?.metadata.labels?.['kubevirt.io/vmi-name'] === 'raced',
    );
    let lists = 0;
    const racing = new Proxy(act, {
      get(target, prop, receiver) {
        if (prop === 'list') {
          return async (...args: Parameters<KubeClient['list']>) => {
            const answer = await target.list(...args);
            return lists++ === 0 ? { ...answer, items: [] } : answer;
          };
        }
        const value = Reflect.get(target, prop, receiver);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const started = await startMigration(racing, { namespace: NS, vmi: 'raced', workflowId: WORKFLOW, attempt: 1 });
    expect(started).toEqual({ name: 'someone-elses', adopted: true });
    expect((await migrationsOf(kube, NS, 'raced')).map((m) => m.metadata.name)).toEqual(['someone-elses']);
  });

  it('reports a failed migration with its reason; the VMI stays where it was', async () => {
    const started = await start('flaky');
    const result = await waitFor(started.name);
    expect(result).toMatchObject({
      outcome: 'Failed',
      phase: 'Failed',
      failureReason: 'migration failed (sandbox knob)',
      nodeName: 'a',
    });
    expect((await vmiOf(kube, NS, 'flaky'))?.status.nodeName).toBe('a');
  });

  it('reports a migration stuck in Pending, on a clock that starts at its creation, and cancels it', async () => {
    const t0 = Date.now();
    const started = await start('stuck');
    const result = await waitFor(started.name, 30_000, 1000);
    expect(result).toMatchObject({ outcome: 'Stuck', phase: 'Pending' });
    expect(result.failureReason).toMatch(/^still Pending after \d/);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
    // A restarted activity does not restart the clock: it answers at once.
    const t1 = Date.now();
    expect((await waitFor(started.name, 30_000, 1000)).outcome).toBe('Stuck');
    expect(Date.now() - t1).toBeLessThan(500);

    const cancelled = await cancelMigration(act, { namespace: NS, name: started.name });
    expect(cancelled).toMatchObject({ outcome: 'Cancelled', stayedOnSource: true, nodeName: 'a' });
    await eventually('VMIM gone', async () => !(await vmimOf(started.name)));
  });

  it('times out a long migration; cancelling it aborts the transfer and the VMI stays on its source node', async () => {
    const started = await start('slow');
    const result = await waitFor(started.name, 1500, 10_000);
    expect(result).toMatchObject({ outcome: 'TimedOut', phase: 'Running' });
    expect(await migrationsInFlight(act, { node: 'a' })).toContainEqual({
      namespace: NS,
      name: started.name,
      vmi: 'slow',
      phase: 'Running',
      ours: true,
      workflowId: WORKFLOW,
      cancelling: false,
    });

    const cancelled = await cancelMigration(act, { namespace: NS, name: started.name });
    expect(cancelled).toEqual({
      outcome: 'Cancelled',
      phase: 'Failed',
      stayedOnSource: true,
      sourceNode: 'a',
      nodeName: 'a',
    });
    await eventually('VMIM gone', async () => !(await vmimOf(started.name)));
    const vmi = await vmiOf(kube, NS, 'slow');
    expect(vmi?.status).toMatchObject({ phase: 'Running', nodeName: 'a' });
    expect(vmi?.status.migrationState).toMatchObject({ failed: true, abortStatus: 'Succeeded' });
    expect((await migrationsInFlight(act, { node: 'a' })).map((m) => m.name)).not.toContain(started.name);
    // Cancelling again finds nothing to do.
    expect((await cancelMigration(act, { namespace: NS, name: started.name })).outcome).toBe('NotFound');
  });

  it('waits for an external controller to move a VMI off the node, and says when it did not', async () => {
    const idle = await waitForVmiOffNode(act, { namespace: NS, name: 'rwo', node: 'a', timeoutMs: 300 });
    expect(idle).toEqual({ outcome: 'TimedOut', phase: 'Running', nodeName: 'a' });
    const waiting = waitForVmiOffNode(act, { namespace: NS, name: 'external', node: 'a', timeoutMs: 15_000 });
    await createMigration(kube, NS, 'external'); // the test plays the external controller
    const moved = await waiting;
    expect(moved.outcome).toBe('Moved');
    expect(moved.nodeName).not.toBe('a');
    expect((await vmiOf(kube, NS, 'external'))?.status.nodeName).toBe(moved.nodeName);
  });

  it('heartbeats each phase change and periodically while a phase lasts, with the clock of the migration', async () => {
    const started = await start('beat');
    const beats: WaitDetails[] = [];
    const result = await waitForMigration(act, {
      namespace: NS,
      name: started.name,
      timeoutMs: 30_000,
      pendingTimeoutMs: 30_000,
      heartbeatIntervalMs: 200,
      heartbeat: (d) => beats.push(d),
    });
    expect(result.outcome).toBe('Succeeded');
    const phases = beats.map((b) => b.phase).filter((p, i, all) => p !== all[i - 1]);
    const order = ['Scheduling', 'Scheduled', 'PreparingTarget', 'TargetReady', 'Running', 'Succeeded'];
    expect(phases.slice(-order.length)).toEqual(order);
    expect(beats.filter((b) => b.phase === 'Running').length).toBeGreaterThanOrEqual(3);
    const created = Date.parse((await vmimOf(started.name))?.metadata.creationTimestamp ?? '');
    expect(new Set(beats.map((b) => b.since))).toEqual(new Set([created]));
  });
});

describe('stopping and restoring VMs', () => {
  const vmPath = (name: string) => kv('virtualmachines', NS, name);
  const stop = (name: string) => stopVm(act, { namespace: NS, name });
  const gone = (name: string, uid?: string) =>
    waitForVmiGone(act, { namespace: NS, name, uid, timeoutMs: 15_000 }).then((r) => r.outcome);
  const restore = (name: string) => restoreVm(act, { namespace: NS, name });
  const runningOn = async (name: string) => {
    const result = await waitForVmiRunning(act, { namespace: NS, name, timeoutMs: 15_000 });
    expect(result.outcome).toBe('Running');
    return result.nodeName;
  };
  const spec = async (name: string) => {
    const vm = (await vmOf(kube, NS, name)) as KubeObject;
    return {
      runStrategy: vm.spec.runStrategy,
      running: vm.spec.running,
      recorded: vm.metadata.annotations?.[PREVIOUS_RUN_STRATEGY],
    };
  };

  it('stop records runStrategy Always, halts the VM and its VMI goes away; stopping again keeps the record', async () => {
    const uid = (await vmiOf(kube, NS, 'stopper'))?.metadata.uid;
    expect(await stop('stopper')).toEqual({ previousRunStrategy: 'Always', vmiUid: uid });
    expect(await spec('stopper')).toEqual({ runStrategy: 'Halted', running: undefined, recorded: 'Always' });
    expect((await stop('stopper')).previousRunStrategy).toBe('Always');
    expect(await gone('stopper', uid)).toBe('Gone');
    expect(await vmiOf(kube, NS, 'stopper')).toBeUndefined();
    expect((await stop('stopper')).previousRunStrategy).toBe('Always');
    expect(await spec('stopper')).toEqual({ runStrategy: 'Halted', running: undefined, recorded: 'Always' });
    await eventually(
      'VM Stopped',
      async () => (await vmOf(kube, NS, 'stopper'))?.status?.printableStatus === 'Stopped',
    );
  });

  it('restore brings the stopped VM back Running with runStrategy Always; restoring again changes nothing', async () => {
    expect(await restore('stopper')).toEqual({ restored: true, runStrategy: 'Always' });
    expect(await spec('stopper')).toEqual({ runStrategy: 'Always', running: undefined, recorded: undefined });
    const node = await runningOn('stopper');
    expect((await vmiOf(kube, NS, 'stopper'))?.status).toMatchObject({ phase: 'Running', nodeName: node });
    expect(await restore('stopper')).toEqual({ restored: false, runStrategy: 'Always' });
  });

  /** What a GitOps tool compares: the spec and its generation. */
  const specOf = async (name: string) => {
    const vm = (await vmOf(kube, NS, name)) as KubeObject;
    return { spec: vm.spec, generation: vm.metadata.generation };
  };

  it('a RerunOnFailure VM is stopped and started through the subresources: its spec never changes', async () => {
    const before = await specOf('rerun');
    const uid = (await vmiOf(kube, NS, 'rerun'))?.metadata.uid;
    expect(await stop('rerun')).toEqual({ previousRunStrategy: 'RerunOnFailure', vmiUid: uid });
    expect(await spec('rerun')).toEqual({
      runStrategy: 'RerunOnFailure',
      running: undefined,
      recorded: 'RerunOnFailure',
    });
    // A retry while the VMI goes, and after it went, changes nothing and does not fail.
    expect((await stop('rerun')).previousRunStrategy).toBe('RerunOnFailure');
    expect(await gone('rerun', uid)).toBe('Gone');
    expect((await stop('rerun')).previousRunStrategy).toBe('RerunOnFailure');
    // Off it stays (RerunOnFailure does not restart a VM that was asked to stop).
    await new Promise((r) => setTimeout(r, 500));
    expect(await vmiOf(kube, NS, 'rerun')).toBeUndefined();
    expect(await specOf('rerun')).toEqual(before);
    expect(await restore('rerun')).toEqual({ restored: true, runStrategy: 'RerunOnFailure' });
    await runningOn('rerun');
    expect(await spec('rerun')).toEqual({ runStrategy: 'RerunOnFailure', running: undefined, recorded: undefined });
    expect(await specOf('rerun')).toEqual(before);
    expect(await restore('rerun')).toEqual({ restored: false, runStrategy: 'RerunOnFailure' });
  });

  it('a Manual VM is stopped and started again with runStrategy Manual throughout; a retried restore starts once', async () => {
    const before = await specOf('manual');
    expect((await stop('manual')).previousRunStrategy).toBe('Manual');
    expect(await spec('manual')).toEqual({ runStrategy: 'Manual', running: undefined, recorded: 'Manual' });
    expect(await gone('manual')).toBe('Gone');
    expect(await specOf('manual')).toEqual(before);
    expect(await restore('manual')).toEqual({ restored: true, runStrategy: 'Manual' });
    const node = await runningOn('manual');
    const uid = (await vmiOf(kube, NS, 'manual'))?.metadata.uid;
    expect(await spec('manual')).toEqual({ runStrategy: 'Manual', running: undefined, recorded: undefined });
    expect(await specOf('manual')).toEqual(before);
    // A retry of a restore that crashed before removing the record: the VMI that runs is kept, not started again.
    await kube.patch(vmPath('manual'), { metadata: { annotations: { [PREVIOUS_RUN_STRATEGY]: 'Manual' } } });
    expect(await restore('manual')).toEqual({ restored: true, runStrategy: 'Manual' });
    await new Promise((r) => setTimeout(r, 500));
    expect((await vmiOf(kube, NS, 'manual'))?.metadata.uid).toBe(uid);
    expect((await vmiOf(kube, NS, 'manual'))?.status).toMatchObject({ phase: 'Running', nodeName: node });
    expect(await specOf('manual')).toEqual(before);
  });

  it('where subresources.kubevirt.io is not served, a Manual VM is stopped by runStrategy Halted and comes back Manual', async () => {
    await sandbox.subresources.unserve();
    try {
      expect((await stop('manual')).previousRunStrategy).toBe('Manual');
      expect(await spec('manual')).toEqual({ runStrategy: 'Halted', running: undefined, recorded: 'Manual' });
      expect(await gone('manual')).toBe('Gone');
      expect(await restore('manual')).toEqual({ restored: true, runStrategy: 'Manual' });
      await runningOn('manual');
      expect(await spec('manual')).toEqual({ runStrategy: 'Manual', running: undefined, recorded: undefined });
    } finally {
      await sandbox.subresources.serve();
    }
  });

  it('a RerunOnFailure VM stopped through the subresource, restored where it is no longer served, runs again', async () => {
    expect((await stop('rerun')).previousRunStrategy).toBe('RerunOnFailure');
    expect(await spec('rerun')).toEqual({
      runStrategy: 'RerunOnFailure',
      running: undefined,
      recorded: 'RerunOnFailure',
    });
    expect(await gone('rerun')).toBe('Gone');
    await sandbox.subresources.unserve();
    try {
      // Nothing but Pitstop would start it now (it was asked to stop): runStrategy Always until it runs, then back.
      expect(await restore('rerun')).toEqual({ restored: true, runStrategy: 'RerunOnFailure' });
      await runningOn('rerun');
      expect(await spec('rerun')).toEqual({ runStrategy: 'RerunOnFailure', running: undefined, recorded: undefined });
    } finally {
      await sandbox.subresources.serve();
    }
  });

  it('a Manual VM whose VMI has finished is stopped by runStrategy Halted (the subresource would refuse it) and comes back Manual', async () => {
    const vmi = (await vmiOf(kube, NS, 'manual-done'))!;
    const pod = await launcherPodOf(kube, vmi);
    await kube.delete(`/api/v1/namespaces/${NS}/pods/${pod!.metadata.name}`, { gracePeriodSeconds: 0 });
    await eventually('VMI finished', async () =>
      ['Succeeded', 'Failed'].includes((await vmiOf(kube, NS, 'manual-done'))?.status?.phase),
    );
    expect(await stop('manual-done')).toEqual({ previousRunStrategy: 'Manual', vmiUid: vmi.metadata.uid });
    expect(await spec('manual-done')).toEqual({ runStrategy: 'Halted', running: undefined, recorded: 'Manual' });
    expect(await gone('manual-done', vmi.metadata.uid)).toBe('Gone');
    expect(await restore('manual-done')).toEqual({ restored: true, runStrategy: 'Manual' });
    await runningOn('manual-done');
    expect(await spec('manual-done')).toEqual({ runStrategy: 'Manual', running: undefined, recorded: undefined });
  });

  it('a VM with legacy spec.running is recorded as Always and comes back with runStrategy Always', async () => {
    await kube.patch(vmPath('legacy'), { spec: { runStrategy: null, running: true } });
    expect((await stop('legacy')).previousRunStrategy).toBe('Always');
    expect(await spec('legacy')).toEqual({ runStrategy: 'Halted', running: undefined, recorded: 'Always' });
    expect(await gone('legacy')).toBe('Gone');
    await restore('legacy');
    await runningOn('legacy');
    expect(await spec('legacy')).toEqual({ runStrategy: 'Always', running: undefined, recorded: undefined });
  });

  it('a guest that ignores shutdown: the wait times out, and a resumed wait keeps its clock', async () => {
    await stop('hangs');
    const t0 = Date.now();
    expect(await waitForVmiGone(act, { namespace: NS, name: 'hangs', timeoutMs: 800 })).toEqual({
      outcome: 'TimedOut',
      phase: 'Stopping',
    });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(700);
    const t1 = Date.now();
    const resumed = await waitForVmiGone(act, {
      namespace: NS,
      name: 'hangs',
      timeoutMs: 3000,
      resumeFrom: { phase: 'Stopping', since: Date.now() - 5000 },
    });
    expect(resumed.outcome).toBe('TimedOut');
    expect(Date.now() - t1).toBeLessThan(500);
    expect((await vmiOf(kube, NS, 'hangs'))?.status.phase).toBe('Running');
    // Cancelling the activity (its cancellation signal) ends the wait at once.
    const cancel = new AbortController();
    setTimeout(() => cancel.abort(new Error('activity cancelled')), 100);
    const t2 = Date.now();
    await expect(
      waitForVmiGone(act, { namespace: NS, name: 'hangs', timeoutMs: 30_000, signal: cancel.signal }),
    ).rejects.toThrow('activity cancelled');
    expect(Date.now() - t2).toBeLessThan(1000);
  });

  it('deleteVmi removes a standalone VMI for good; deleting it again is a no-op', async () => {
    const uid = (await vmiOf(kube, NS, 'loner'))?.metadata.uid;
    expect(await deleteVmi(act, { namespace: NS, name: 'loner', uid })).toEqual({ deleted: true });
    expect(await gone('loner')).toBe('Gone');
    await new Promise((r) => setTimeout(r, 500));
    expect(await vmiOf(kube, NS, 'loner')).toBeUndefined();
    expect(await deleteVmi(act, { namespace: NS, name: 'loner', uid })).toEqual({ deleted: false });
    expect(await deleteVmi(act, { namespace: NS, name: 'loner' })).toEqual({ deleted: false });
  });
});
