// A roll-back that cannot power the machine on (chaos seed 34): it ends, bounded, as RollbackIncomplete; every VM
// it stopped runs again elsewhere; the node is left cordoned and marked NeedsAttention, the lease released; and the
// follow-up README documents (power on by hand, then a maintenance with power none) puts the node back as it was.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApplicationFailure, WorkflowFailedError } from '@temporalio/client';
import type { Progress, MaintenanceResult } from '../../src/domain/progress.js';
import { paths } from '../../src/k8s/client.js';
import { NODE_MARKS } from '../../src/domain/contract.js';
import { powerOnRedfish } from '../../src/activities/power/redfish.js';
import { KNOB } from '../../src/sandbox/model.js';
import { startTestEnv, eventually, type TestEnv } from '../support/env.js';
import { nodeReady, untilVmisRunning, vmiOf } from '../support/cluster.js';
import { progressOf, reachPhase, startMaintenance, TEST_POLICY } from '../support/maintenance.js';
import { invariantViolations, recordBefore } from '../support/invariants.js';
import { WORKFLOW_TYPES } from '../../src/domain/workflowNames.js';
import type { nodeMaintenance } from '../../src/workflows/index.js';

let env: TestEnv;
const NODE = 'rf-1';

beforeAll(async () => {
  env = await startTestEnv({
    scenario: {
      name: 'rollback-incomplete',
      timing: { migrationDuration: '300ms', bootDelay: '500ms', powerDelay: '200ms', vmStop: '200ms' },
      kubevirt: { evictionStrategy: 'LiveMigrate' },
      nodes: [
        { name: 'cp-{n}', count: 3, controlPlane: true, memory: '64Gi' },
        { name: NODE, bmc: 'redfish', memory: '256Gi' },
        { name: 'spare-{n}', count: 2, memory: '256Gi' },
      ],
      vms: [
        { name: 'migrates', node: NODE },
        { name: 'stops', node: NODE, evictionStrategy: 'None', terminationGracePeriodSeconds: 1 },
      ],
    },
  });
  await untilVmisRunning(env.kube, 2);
});

afterAll(async () => {
  await env?.stop();
});

const redfish = () => ({
  address: env.sandbox.redfishUrl,
  systemId: NODE,
  credentialsSecret: { namespace: 'pitstop-bmc', name: `${NODE}-bmc-secret` },
  insecureSkipVerify: true,
});
const setBmcUnreachable = (on: boolean) =>
  env.kube.patch(paths.node(NODE), { metadata: { annotations: { [KNOB.bmcUnreachable]: on ? 'true' : null } } });

describe('roll-back when the machine cannot be powered on', () => {
  it('seed 34: the BMC stops answering while the machine is off: the run ends RollbackIncomplete, VMs run elsewhere, the node is left cordoned for the operator', async () => {
    const before = await recordBefore(env.kube);
    const handle = await startMaintenance(env, {
      node: NODE,
      power: 'redfish',
      redfish: redfish(),
      hold: 'untilReleased',
      policy: { power: { offTimeout: '20s', onTimeout: '10s' } },
    });
    await reachPhase(handle, 'Hold');
    expect((await progressOf(handle)).power).toBe('off');
    await setBmcUnreachable(true);
    await handle.cancel();

    // It ends (the power-on is bounded), failed with a type of its own and a message that says what is left.
    const failure = await handle.result().catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(WorkflowFailedError);
    const cause = (failure as WorkflowFailedError).cause as ApplicationFailure;
    expect(cause).toBeInstanceOf(ApplicationFailure);
    expect(cause.type).toBe('RollbackIncomplete');
    expect(cause.message).toContain('could not be powered on');
    expect(cause.message).toContain('power the machine on by hand');
    expect((await handle.describe()).status.name).toBe('FAILED');
    const end: Progress = await progressOf(handle);
    expect(end.phase).toBe('NeedsAttention');
    expect(end.power).toBe('unknown');
    expect(end.timeline.map((t) => t.phase).slice(-3)).toEqual(['Hold', 'RollingBack', 'NeedsAttention']);

    // From the cluster: the stopped VM runs again on another node, the migrated one still runs elsewhere; the node
    // is cordoned by this maintenance and marked NeedsAttention, the lease released (invariants, outcome-aware).
    expect(
      await invariantViolations(env.kube, before, NODE, [], {
        workflowId: handle.workflowId,
        rollbackIncomplete: true,
      }),
    ).toEqual([]);
    for (const vm of ['migrates', 'stops']) {
      const vmi = await vmiOf(env.kube, 'vms', vm);
      expect(vmi?.status?.phase).toBe('Running');
      expect(vmi?.status?.nodeName).not.toBe(NODE);
    }
    const node = await env.kube.get(paths.node(NODE));
    expect(node.spec.unschedulable).toBe(true);
    expect(node.metadata.annotations?.[NODE_MARKS.phase]).toBe('NeedsAttention');
    const events = await env.kube.list(paths.events('default'), { fieldSelector: `involvedObject.name=${NODE}` });
    const warning = events.items.find((e) => e.reason === 'MaintenanceNeedsAttention');
    expect(warning?.type).toBe('Warning');
    expect(warning?.message).toContain('power the machine on by hand');
    // The same check without the outcome flag is not satisfied: the node was not put back.
    expect(await invariantViolations(env.kube, before, NODE, [], { workflowId: handle.workflowId })).not.toEqual([]);

    // The operator follows the message: powers the machine on by hand, then runs the follow-up maintenance under
    // the same workflow id (as `maintenance-<node>` is in production). The node ends as it was before.
    await setBmcUnreachable(false);
    await powerOnRedfish(env.kube, redfish());
    await eventually(`${NODE} Ready`, async () => nodeReady(await env.kube.get(paths.node(NODE))), 60_000);
    const followUp = await env.client.workflow.start<typeof nodeMaintenance>(WORKFLOW_TYPES.nodeMaintenance, {
      taskQueue: env.taskQueue,
      workflowId: handle.workflowId,
      args: [{ node: NODE, power: 'none', hold: 'none', policy: TEST_POLICY }],
    });
    expect(((await followUp.result()) as MaintenanceResult).outcome).toBe('Completed');
    expect(await invariantViolations(env.kube, before, NODE, [], { workflowId: handle.workflowId })).toEqual([]);
    expect((await env.kube.get(paths.node(NODE))).spec.unschedulable).toBeUndefined();
  });
});
