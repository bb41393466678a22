// Escalations: a VM the plan cannot move asks an operator (the decide update, validated), or the policy answers
// (escalation.onNonMigratable, escalation.onTimeout at the decision deadline).
import { describe, expect, it } from 'vitest';
import type { WorkflowHandle } from '@temporalio/client';
import { failureOf, progressOf, refusal, until, useFastWorker } from './support/harness.js';
import { expectPutBack, expectRolledBackFrom } from './support/scenes.js';
import { failsPassingly, type World } from './support/world.js';
import { decideUpdate } from '../../src/workflows/messages.js';

const env = useFastWorker();

/** Node n1 with one VM the plan cannot live-migrate (its disk is ReadWriteOnce), and a spare. */
const rwoNode = (world: World) => world.node('n1').node('spare-1').vm('db', 'n1', { liveMigratable: false });

const decide = (handle: WorkflowHandle, vmi: string, action: string) =>
  handle.executeUpdate(decideUpdate, { args: [{ vmi, action }] });

const asking = (handle: WorkflowHandle) =>
  until(
    'a pending decision',
    () => progressOf(handle),
    (p) => p.decisionsPending.length > 0,
  );

describe.concurrent('an operator answers', () => {
  it('the question names the VM, the reason and the allowed answers; a wrong answer is refused', async () => {
    const { world, start } = env.fresh();
    rwoNode(world);
    const handle = await start({ node: 'n1', hold: 'none' });
    const asked = await asking(handle);
    expect(asked.decisionsPending).toEqual([
      expect.objectContaining({
        vmi: 'vms/db',
        allowed: ['shutdown', 'delete'],
        reason: expect.stringMatching(/not live-migratable \(DisksNotLiveMigratable\)/),
      }),
    ]);
    expect(asked.vms[0]).toMatchObject({ vmi: 'vms/db', action: 'escalate', state: 'awaitingDecision' });
    // `kubectl describe node` shows the question too (an activity just after it is asked).
    const warned = (e: string) => /^Warning MaintenanceEvacuateVMs: vms\/db needs a decision: /.test(e);
    await until(
      'the warning Event',
      async () => world.nodeNamed('n1').events,
      (events) => events.some(warned),
    );
    expect(await refusal(decide(handle, 'vms/nope', 'shutdown'))).toBe(
      'no decision is pending for vms/nope (pending: vms/db)',
    );
    expect(await refusal(decide(handle, 'vms/db', 'retry'))).toBe(
      '"retry" is not allowed for vms/db; allowed: shutdown, delete',
    );
    expect(await decide(handle, 'vms/db', 'shutdown')).toBe('shutdown recorded for vms/db');
    const result = await handle.result();
    expect(result).toMatchObject({ outcome: 'Completed', summary: { restored: 1 } });
    expect((await progressOf(handle)).vms[0]).toMatchObject({ state: 'restored', message: 'operator chose shutdown' });
    expectPutBack(world, 'n1');
  });

  it('retry: a migration that failed every attempt gets a fresh round, each attempt its own migration', async () => {
    const { world, start } = env.fresh();
    world.node('n1').node('spare-1').vm('flaky', 'n1');
    const failed = { outcome: 'Failed', phase: 'Failed', failureReason: 'target pod crashed' } as const;
    world.on('waitForMigration', async (input, real) => (input.name.endsWith('-4') ? await real() : failed));
    const handle = await start({ node: 'n1', hold: 'none' });
    const asked = await asking(handle);
    expect(asked.decisionsPending[0]).toMatchObject({
      allowed: ['shutdown', 'retry', 'delete'],
      reason: 'live migration failed 2 times; last: attempt 2: Failed (target pod crashed)',
    });
    await decide(handle, 'vms/flaky', 'retry');
    expect((await handle.result()).summary).toMatchObject({ migrated: 1 });
    expect(world.called('startMigration').map((m) => m.attempt)).toEqual([1, 2, 3, 4]);
    expect((await progressOf(handle)).vms[0]).toMatchObject({ state: 'migrated', attempts: 4, targetNode: 'spare-1' });
  });

  it('delete: a standalone VMI can only be deleted, and is gone for good', async () => {
    const { world, start } = env.fresh();
    world.node('n1').node('spare-1').vm('lonely', 'n1', { standalone: true, liveMigratable: false });
    const handle = await start({ node: 'n1', hold: 'none' });
    expect((await asking(handle)).decisionsPending[0]).toMatchObject({ vmi: 'vms/lonely', allowed: ['delete'] });
    expect(await refusal(decide(handle, 'vms/lonely', 'shutdown'))).toBe(
      '"shutdown" is not allowed for vms/lonely; allowed: delete',
    );
    await decide(handle, 'vms/lonely', 'delete');
    expect((await handle.result()).summary).toMatchObject({ deleted: 1, restored: 0 });
    expect(world.vms.has('vms/lonely')).toBe(false);
    expect(world.called('restoreVm')).toEqual([]);
  });

  it('a migration stuck pending is cancelled, then asked about; shutdown finishes the maintenance', async () => {
    const { world, start } = env.fresh();
    world.node('n1').node('spare-1').vm('stuck', 'n1');
    world.on('waitForMigration', async () => ({ outcome: 'Stuck', phase: 'Pending' }));
    const handle = await start({
      node: 'n1',
      hold: 'none',
      policy: { migration: { attempts: 1, timeout: '5s', pendingTimeout: '1s' } },
    });
    const asked = await asking(handle);
    expect(asked.decisionsPending[0]?.reason).toBe('live migration failed 1 time; last: attempt 1: Stuck');
    expect(world.called('cancelMigration')).toEqual([{ namespace: 'vms', name: 'pitstop-stuck-1' }]);
    await decide(handle, 'vms/stuck', 'shutdown');
    expect((await handle.result()).summary).toMatchObject({ restored: 1, migrated: 0 });
  });

  it('a pending decision does not hold back the other lane', async () => {
    const { world, start } = env.fresh();
    rwoNode(world).vm('web', 'n1');
    const handle = await start({ node: 'n1', hold: 'none', policy: { parallelMigrations: 2 } });
    await asking(handle);
    const moved = await until(
      'vms/web migrated while the question is open',
      () => progressOf(handle),
      (p) => p.vms.find((r) => r.vmi === 'vms/web')?.state === 'migrated',
    );
    expect(moved.decisionsPending.map((d) => d.vmi)).toEqual(['vms/db']);
    await decide(handle, 'vms/db', 'shutdown');
    expect((await handle.result()).outcome).toBe('Completed');
  });
});

describe.concurrent('the policy answers', () => {
  it('nobody answers, onTimeout abort (the default): rolled back, Aborted, at the decision deadline', async () => {
    const { world, start } = env.fresh();
    rwoNode(world);
    const handle = await start({ node: 'n1', hold: 'none', policy: { escalation: { decisionTimeout: '1s' } } });
    const failed = await failureOf(handle);
    expect(failed.type).toBe('Aborted');
    expect(failed.message).toBe('maintenance of n1 rolled back: no decision for vms/db within 1s');
    await expectRolledBackFrom(handle, world, 'EvacuateVMs', 'no decision for vms/db within 1s');
    expect((await progressOf(handle)).decisionsPending).toEqual([]);
    expectPutBack(world, 'n1');
  });

  it('nobody answers, onTimeout shutdown: the VM is shut down and restored, the maintenance completes', async () => {
    const { world, start } = env.fresh();
    rwoNode(world);
    const handle = await start({
      node: 'n1',
      hold: 'none',
      policy: { escalation: { decisionTimeout: '1s', onTimeout: 'shutdown' } },
    });
    expect(await handle.result()).toMatchObject({ outcome: 'Completed', summary: { restored: 1 } });
    expect(world.vmNamed('db')).toMatchObject({ running: true, starts: 1 });
  });

  it('onNonMigratable shutdown: the VM is shut down and restored without a question', async () => {
    const { world, start } = env.fresh();
    rwoNode(world);
    const handle = await start({ node: 'n1', hold: 'none', policy: { escalation: { onNonMigratable: 'shutdown' } } });
    expect(await handle.result()).toMatchObject({ outcome: 'Completed', summary: { restored: 1 } });
    expect(world.nodeNamed('n1').events.filter((e) => e.includes('needs a decision'))).toEqual([]);
    expect((await progressOf(handle)).vms[0]).toMatchObject({ action: 'shutdown', state: 'restored' });
  });

  it('onNonMigratable abort: refused by preflight, nothing changed', async () => {
    const { world, start } = env.fresh();
    rwoNode(world);
    const handle = await start({ node: 'n1', hold: 'none', policy: { escalation: { onNonMigratable: 'abort' } } });
    const failed = await failureOf(handle);
    expect(failed.type).toBe('PreflightRefused');
    expect(failed.message).toMatch(/policy escalation.onNonMigratable is abort and 1 VM cannot live-migrate: vms\/db/);
    expect(world.sequence()).toEqual(['preflightSnapshot']);
  });

  it('LiveMigrateIfPossible: after its failed migrations the VM is shut down and restored, no question', async () => {
    const { world, start } = env.fresh();
    world.node('n1').node('spare-1').vm('maybe', 'n1', { evictionStrategy: 'LiveMigrateIfPossible' });
    world.on('waitForMigration', async () => ({ outcome: 'Failed', phase: 'Failed' }));
    const handle = await start({ node: 'n1', hold: 'none' });
    expect((await handle.result()).summary).toMatchObject({ restored: 1, migrated: 0 });
    expect((await progressOf(handle)).vms[0]).toMatchObject({ action: 'migrate', state: 'restored', attempts: 2 });
  });

  it('External: a VM its controller did not move in time is asked about; moved in time, it is not', async () => {
    const { world, start } = env.fresh();
    world.node('n1').node('spare-1').vm('ext', 'n1', { evictionStrategy: 'External' });
    world.vm('ext-moved', 'n1', { evictionStrategy: 'External' });
    world.on('waitForVmiOffNode', async (input, real) => {
      if (input.name === 'ext-moved') world.vmNamed('ext-moved').node = 'spare-1';
      return await real();
    });
    const handle = await start({ node: 'n1', hold: 'none' });
    const asked = await asking(handle);
    expect(asked.decisionsPending[0]).toMatchObject({
      vmi: 'vms/ext',
      reason: 'the external controller did not move it within 0.2s',
    });
    await decide(handle, 'vms/ext', 'shutdown');
    expect((await handle.result()).summary).toMatchObject({ migrated: 1, restored: 1 });
    const rows = (await progressOf(handle)).vms.map((r) => [r.vmi, r.action, r.state]);
    expect(rows).toEqual([
      ['vms/ext', 'awaitExternal', 'restored'],
      ['vms/ext-moved', 'awaitExternal', 'movedExternally'],
    ]);
  });
});

describe.concurrent('what the roll-back leaves alone', () => {
  it('an evacuation KubeVirt started is adopted and never cancelled by the roll-back', async () => {
    const { world, start } = env.fresh();
    world.node('n1').node('spare-1').vm('evac', 'n1');
    world.on('startMigration', async () => ({ name: 'kubevirt-evacuation-x7k2p', adopted: true }));
    const gate = world.gate();
    world.on('waitForMigration', gate.hold);
    const handle = await start({ node: 'n1', hold: 'none' });
    await gate.entered;
    expect((await progressOf(handle)).vms[0]?.migration).toBe('kubevirt-evacuation-x7k2p');
    await handle.cancel();
    await handle.result().catch(() => undefined);
    expect(world.called('cancelMigration')).toEqual([]);
    expect((await progressOf(handle)).phase).toBe('RolledBack');
  });

  it('a roll-back step failing passingly is tried again until it works (roll-back steps have no attempt limit)', async () => {
    const { world, start } = env.fresh();
    rwoNode(world).on('uncordon', failsPassingly(3, 'the API server is unavailable'));
    const handle = await start({ node: 'n1', hold: 'none', policy: { escalation: { decisionTimeout: '500ms' } } });
    expect((await failureOf(handle)).type).toBe('Aborted');
    expect(world.calls.filter((c) => c.name === 'uncordon').map((c) => c.attempt)).toEqual([1, 2, 3, 4]);
    expectPutBack(world, 'n1');
  });
});
