// The cluster-wide admission as the runbook sees it: a run that does not fit waits in WaitingForAdmission with the
// reason, goes on once admitted, is refused at once with `admission: "refuse"`, and a cancel while waiting changes
// nothing. (The decision itself: test/domain/admission.test.ts; on the sandbox: test/workflows/admission.test.ts.)
import { describe, expect, it } from 'vitest';
import type { AdmissionVerdict } from '../../src/domain/admission.js';
import { expectCancelled, failureOf, progressOf, reach, useFastWorker } from './support/harness.js';
import { nodeWithTwoVms } from './support/scenes.js';
import type { World } from './support/world.js';

const env = useFastWorker();

const FULL: AdmissionVerdict = {
  admit: false,
  code: 'BudgetExhausted',
  reason:
    '1 of at most 1 node(s) already down (n9 (held by maintenance-n9)); PITSTOP_MAX_NODES_DOWN leaves no room for n1',
  down: ['n9 (held by maintenance-n9)'],
  budget: 1,
};

/** The admission says FULL while `room.full`, then admits (taking the lease as the real one does). */
function budgetTaken(world: World) {
  const room = { full: true };
  world.on('admitMaintenance', async (_input, real) => (room.full ? FULL : await real()));
  return room;
}

describe.concurrent('admission', () => {
  it('waits with the reason in the progress, then goes on once there is room', async () => {
    const { world, start } = env.fresh();
    const room = budgetTaken(nodeWithTwoVms(world));
    const handle = await start({ node: 'n1', hold: 'none' });
    await reach(handle, 'WaitingForAdmission');
    const waiting = await progressOf(handle);
    expect(waiting.message).toBe(FULL.reason);
    expect(waiting.admission).toMatchObject({ code: 'BudgetExhausted', down: ['n9 (held by maintenance-n9)'] });
    expect(world.leases.size).toBe(0);
    expect(world.called('cordon')).toEqual([]);
    room.full = false;
    expect((await handle.result()).outcome).toBe('Completed');
    expect(world.called('admitMaintenance').length).toBeGreaterThan(1);
  });

  it('admission "refuse": refused at once with the reason, nothing changed', async () => {
    const { world, start } = env.fresh();
    budgetTaken(nodeWithTwoVms(world));
    const handle = await start({ node: 'n1', hold: 'none', admission: 'refuse' });
    const failed = await failureOf(handle);
    expect(failed.type).toBe('PreflightRefused');
    expect(failed.message).toBe(`maintenance of n1 refused: not admitted: ${FULL.reason}`);
    expect(world.called('admitMaintenance')).toHaveLength(1);
    expect(world.called('cordon')).toEqual([]);
    expect(world.leases.size).toBe(0);
  });

  it('a cancel while waiting ends the run cancelled, with nothing taken or changed', async () => {
    const { world, start } = env.fresh();
    budgetTaken(nodeWithTwoVms(world));
    const handle = await start({ node: 'n1', hold: 'none' });
    await reach(handle, 'WaitingForAdmission');
    await handle.cancel();
    await expectCancelled(handle);
    expect(world.leases.size).toBe(0);
    expect(world.called('cordon')).toEqual([]);
    expect(world.nodeNamed('n1').unschedulable).toBe(false);
  });

  it('chaos seed 22: cancelled while an admission try is still taking the lease, the run ends with the lease free', async () => {
    const { world, start } = env.fresh();
    nodeWithTwoVms(world);
    // The try is slow and does not see the cancel (no heartbeat): it takes the lease after the cancel arrived.
    const asked = { at: 0 };
    world.on('admitMaintenance', async (_input, real) => {
      asked.at = Date.now();
      await new Promise((r) => setTimeout(r, 1500));
      return await real();
    });
    const handle = await start({ node: 'n1', hold: 'none' });
    while (asked.at === 0) await new Promise((r) => setTimeout(r, 20));
    await handle.cancel();
    await expectCancelled(handle);
    await new Promise((r) => setTimeout(r, Math.max(0, asked.at + 2000 - Date.now())));
    expect(world.leases.size).toBe(0);
    expect(world.called('cordon')).toEqual([]);
  });

  it('a dry run reports what the admission would say, and takes nothing', async () => {
    const { world, start } = env.fresh();
    budgetTaken(nodeWithTwoVms(world));
    const result = await (await start({ node: 'n1', dryRun: true })).result();
    expect(result.admission).toEqual(FULL);
    expect(world.leases.size).toBe(0);
  });
});
