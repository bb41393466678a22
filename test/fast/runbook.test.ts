// The runbook from start to finish with stub activities: what it calls, in which order, and what it leaves; and
// the runs that end before they change anything (dry run, refusal, bad input).
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { WorkflowHandle } from '@temporalio/client';
import { failureOf, phases, progressOf, unique, until, useFastWorker } from './support/harness.js';
import { POWERED_RUNBOOK, nodeWithTwoVms } from './support/scenes.js';
import { workflowMetadataQuery } from '../../src/workflows/messages.js';

const env = useFastWorker();

/** The summaries of the run's scheduled activities, in order (what the Temporal UI's event history shows). */
async function activitySummaries(handle: WorkflowHandle): Promise<string[]> {
  const { events } = await handle.fetchHistory();
  return (events ?? []).flatMap((e) => {
    const data = e.activityTaskScheduledEventAttributes ? e.userMetadata?.summary?.data : undefined;
    return data ? [JSON.parse(Buffer.from(data).toString()) as string] : [];
  });
}

describe.concurrent('a maintenance from start to finish', () => {
  it('cordons, moves the VMs off, drains, powers off and on, uncordons, restores, and releases the lease', async () => {
    const { world, start } = env.fresh();
    nodeWithTwoVms(world);
    const handle = await start({ node: 'n1', power: 'metal3', hold: 'none' });
    const result = await handle.result();
    expect(result).toMatchObject({ node: 'n1', outcome: 'Completed' });
    expect(result.summary).toEqual({ migrated: 1, restored: 1, leftOff: 0, deleted: 0, podsEvicted: 1 });
    const end = await progressOf(handle);
    expect(phases(end)).toEqual(POWERED_RUNBOOK);
    const n1 = world.nodeNamed('n1');
    expect(n1).toMatchObject({ unschedulable: false, power: 'on', ready: true, pods: [] });
    expect(n1.cordonedBy).toBeUndefined();
    expect(n1.phase).toBeUndefined();
    expect(world.leases.has('n1')).toBe(false);
    expect(world.vmNamed('mig')).toMatchObject({ running: true, node: 'spare-1' });
    expect(world.vmNamed('stop')).toMatchObject({ running: true, runStrategy: 'Always' });
    expect(world.callsFor('restoreVm', 'stop')).toBe(1);
    // The event history reads as the runbook: the VM and power steps carry summaries (the Temporal UI shows them).
    // (The two VMs' lanes run side by side: the order between them is not fixed.)
    expect((await activitySummaries(handle)).sort()).toEqual(
      [
        'migrate vms/mig off n1, attempt 1',
        'wait for vms/mig to migrate (pitstop-mig-1)',
        'stop vms/stop',
        'wait for vms/stop to stop',
        'power n1 off (graceful)',
        'power n1 on',
        'start vms/stop again',
        'wait for vms/stop to run again',
      ].sort(),
    );
  });
});

describe.concurrent('how a run starts', () => {
  it('on a node an admin had cordoned: it completes, and the node stays cordoned', async () => {
    const { world, start } = env.fresh();
    nodeWithTwoVms(world).nodeNamed('n1').unschedulable = true;
    const handle = await start({ node: 'n1', hold: 'none' });
    expect((await handle.result()).outcome).toBe('Completed');
    expect((await progressOf(handle)).verdict?.warnings).toContain(
      'node "n1" is already cordoned: it will stay cordoned afterwards',
    );
    expect(world.nodeNamed('n1').unschedulable).toBe(true);
    expect(world.nodeNamed('n1').cordonedBy).toBeUndefined();
    expect(world.leases.size).toBe(0);
  });

  it('a dry run computes the plan and changes nothing; the query, search attributes and UI details show it', async () => {
    const { world, start } = env.fresh();
    const node = `dry-${unique()}`;
    nodeWithTwoVms(world, node);
    const handle = await start({ node, dryRun: true });
    const result = await handle.result();
    expect(result.outcome).toBe('DryRun');
    expect(result.verdict.plan.map((p) => [p.vmi, p.action])).toEqual([
      ['vms/mig', 'migrate'],
      ['vms/stop', 'shutdown'],
    ]);
    // The admission is asked what it would say, taking nothing (no lease).
    expect(world.sequence()).toEqual(['preflightSnapshot', 'admitMaintenance']);
    expect(world.called('admitMaintenance')[0]?.dryRun).toBe(true);
    expect(result.admission).toMatchObject({ admit: true, code: 'Admitted' });
    expect(world.leases.size).toBe(0);
    expect(await progressOf(handle)).toMatchObject({ node, phase: 'DryRun', dryRun: true });
    const listed = await until(
      'the run listed by its search attributes',
      async () => {
        const ids: string[] = [];
        const query = `MaintenanceNode="${node}" AND MaintenancePhase="DryRun"`;
        for await (const w of env.client.workflow.list({ query })) ids.push(w.workflowId);
        return ids;
      },
      (ids) => ids.length > 0,
    );
    expect(listed).toEqual([handle.workflowId]);
    // The Temporal UI's "current details" come from this built-in query.
    const metadata = await handle.query(workflowMetadataQuery);
    expect(metadata.currentDetails).toContain(`Maintenance of \`${node}\` (dry run)`);
    expect(metadata.currentDetails).toContain('Preflight passed');
  });

  it('a node another maintenance holds is refused, naming the holder, and nothing changes', async () => {
    const { world, start } = env.fresh();
    nodeWithTwoVms(world).leases.set('n1', 'maintenance-n1-first');
    const handle = await start({ node: 'n1', hold: 'none' });
    const failed = await failureOf(handle);
    expect(failed.type).toBe('PreflightRefused');
    expect(failed.message).toBe(
      'maintenance of n1 refused: node "n1" is already in maintenance: its lease is held by workflow maintenance-n1-first',
    );
    expect((await progressOf(handle)).phase).toBe('Refused');
    expect(world.sequence()).toEqual(['preflightSnapshot']);
    expect(world.leases.get('n1')).toBe('maintenance-n1-first');
  });

  it('bad input fails at once, InvalidInput naming every problem, before any activity', async () => {
    const { world, start } = env.fresh();
    const bad = await start({ node: 'n1', power: 'ipmi', policy: { migration: { timeout: '5 minutes' } } } as never);
    const failed = await failureOf(bad);
    expect(failed.type).toBe('InvalidInput');
    expect(failed.message).toContain('power');
    expect(failed.message).toContain('policy.migration.timeout');
    const secret = { node: 'n1', power: 'redfish', redfish: { address: 'https://bmc', password: 'hunter2' } };
    const credentials = await failureOf(await start(secret as never));
    expect(credentials.message).toMatch(/credentials never go in the input; put them in a Secret/);
    expect(credentials.message).not.toContain('hunter2');
    expect(world.calls).toEqual([]);
  });

  it('a start under another workflow id (typed into the Temporal UI) fails at once, naming the id to use', async () => {
    const { world, start } = env.fresh();
    nodeWithTwoVms(world);
    const handle = await start({ node: 'n1', hold: 'none' }, { workflowId: `n1-by-hand-${randomUUID().slice(0, 8)}` });
    const failed = await failureOf(handle);
    expect(failed.type).toBe('InvalidInput');
    expect(failed.message).toMatch(
      /^workflow id "n1-by-hand-[0-9a-f]{8}": a maintenance of n1 runs as workflow id "maintenance-n1" \(the API, CLI, alerts and rolls find its run by that id\); start it again with that id; nothing was changed$/,
    );
    expect(world.calls).toEqual([]);
    // A dry run changes nothing: any id will do.
    const plan = await start({ node: 'n1', dryRun: true }, { workflowId: `n1-plan-${randomUUID().slice(0, 8)}` });
    expect((await plan.result()).outcome).toBe('DryRun');
  });
});
