// The first slice through every layer: the nodeMaintenance workflow with dryRun, on the real Temporal dev server,
// its activities reading the sandbox cluster. Each refusal and each row of the plan table as a user sees it.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WorkflowFailedError } from '@temporalio/client';
import type { MaintenanceInput } from '../../src/domain/request.js';
import type { MaintenanceResult } from '../../src/domain/progress.js';
import { paths, kv } from '../../src/k8s/client.js';
import { startTestEnv, eventually, type TestEnv } from '../support/env.js';
import { bmhPathOf, nodeReady, untilVmisRunning } from '../support/cluster.js';
import { recordHistory } from '../support/histories.js';
import { WORKFLOW_TYPES } from '../../src/domain/workflowNames.js';
import type { nodeMaintenance } from '../../src/workflows/index.js';
import { progressQuery, workflowMetadataQuery } from '../../src/workflows/messages.js';

let env: TestEnv;
const label = (strategy: string) => ({ 'pitstop.io/maintenance-strategy': strategy });

beforeAll(async () => {
  env = await startTestEnv({
    scenario: {
      name: 'dry-run',
      timing: { bootDelay: '300ms', powerDelay: '100ms' },
      kubevirt: { evictionStrategy: 'LiveMigrate' },
      nodes: [
        { name: 'cp-{n}', count: 3, controlPlane: true, memory: '64Gi' },
        { name: 'worker-{n}', count: 2, memory: '256Gi' },
        { name: 'big', memory: '1024Gi' },
        { name: 'small', memory: '8Gi' },
      ],
      vms: [
        { name: 'migrate', node: 'worker-1', storage: 'rwx' },
        { name: 'rwo', node: 'worker-1', storage: 'rwo' },
        { name: 'if-possible', node: 'worker-1', evictionStrategy: 'LiveMigrateIfPossible' },
        { name: 'if-possible-rwo', node: 'worker-1', evictionStrategy: 'LiveMigrateIfPossible', storage: 'rwo' },
        { name: 'none', node: 'worker-1', evictionStrategy: 'None' },
        { name: 'external', node: 'worker-1', evictionStrategy: 'External' },
        { name: 'standalone', node: 'worker-1', standalone: true, storage: 'rwo' },
        { name: 'elsewhere', node: 'worker-1', labels: label('ShutdownRestartElsewhere') },
        { name: 'after', node: 'worker-1', labels: label('ShutdownRestartAfter') },
        { name: 'stay-off', node: 'worker-1', labels: label('ShutdownStayOff') },
        { name: 'forced-migrate', node: 'worker-1', evictionStrategy: 'None', labels: label('Migrate') },
        { name: 'huge', node: 'big', memory: '600Gi' },
      ],
    },
  });
  await untilVmisRunning(env.kube, 12);
});

afterAll(async () => {
  await env?.stop();
});

async function dryRun(input: Omit<MaintenanceInput, 'dryRun'>): Promise<MaintenanceResult & { workflowId: string }> {
  const workflowId = `maintenance-${input.node}#${randomUUID().slice(0, 8)}`;
  const result = await env.client.workflow.execute<typeof nodeMaintenance>(WORKFLOW_TYPES.nodeMaintenance, {
    taskQueue: env.taskQueue,
    workflowId,
    args: [{ ...input, dryRun: true }],
  });
  return { ...result, workflowId };
}

async function failureOf(input: unknown): Promise<string> {
  try {
    // Untyped on purpose: the input is meant not to fit the workflow's.
    await env.client.workflow.execute(WORKFLOW_TYPES.nodeMaintenance, {
      taskQueue: env.taskQueue,
      workflowId: `maintenance-bad#${randomUUID().slice(0, 8)}`,
      args: [input],
    });
  } catch (e) {
    if (e instanceof WorkflowFailedError) return e.cause?.message ?? e.message;
    throw e;
  }
  throw new Error('the workflow was expected to fail');
}

describe('the per-VM plan, read from the cluster', () => {
  it('plans every row of the decision table for the VMs on worker-1', async () => {
    const { verdict, outcome, workflowId } = await dryRun({ node: 'worker-1' });
    await recordHistory('dry-run-plan-worker-1', env.client.workflow.getHandle(workflowId));
    expect(outcome).toBe('DryRun');
    expect(verdict.ok).toBe(true);
    const rows = Object.fromEntries(
      verdict.plan.map((p) => [
        p.vmi.replace('vms/', ''),
        { action: p.action, restore: p.restore, onFailure: p.onMigrationFailure, decisions: p.allowedDecisions },
      ]),
    );
    expect(rows).toMatchObject({
      migrate: { action: 'migrate', onFailure: 'escalate' },
      rwo: { action: 'escalate', decisions: expect.arrayContaining(['shutdown', 'delete']) },
      'if-possible': { action: 'migrate', onFailure: 'shutdown' },
      'if-possible-rwo': { action: 'shutdown', restore: 'afterMaintenance' },
      none: { action: 'shutdown', restore: 'afterMaintenance' },
      external: { action: 'awaitExternal' },
      standalone: { action: 'escalate', decisions: ['delete'] },
      elsewhere: { action: 'shutdown', restore: 'elsewhere' },
      after: { action: 'shutdown', restore: 'afterMaintenance' },
      'stay-off': { action: 'shutdown', restore: 'never' },
      'forced-migrate': { action: 'migrate' },
    });
    expect(verdict.plan).toHaveLength(11);
    const rwo = verdict.plan.find((p) => p.vmi === 'vms/rwo');
    expect(rwo?.reason).toMatch(/DisksNotLiveMigratable|not live-migratable|cannot/i);
  });

  it('follows escalation.onNonMigratable=shutdown: the RWO VM is shut down instead of asking', async () => {
    const { verdict } = await dryRun({ node: 'worker-1', policy: { escalation: { onNonMigratable: 'shutdown' } } });
    expect(verdict.plan.find((p) => p.vmi === 'vms/rwo')).toMatchObject({
      action: 'shutdown',
      restore: 'afterMaintenance',
    });
  });

  it('changes nothing in the cluster', async () => {
    await dryRun({ node: 'worker-1' });
    const node = await env.kube.get(paths.node('worker-1'));
    expect(node.spec?.unschedulable).toBeFalsy();
    expect((node.spec?.taints ?? []).length).toBe(0);
    expect(await env.kube.find(paths.lease('medik8s-leases', 'node-worker-1'))).toBeUndefined();
    const migrations = await env.kube.list(kv('virtualmachineinstancemigrations'));
    expect(migrations.items).toHaveLength(0);
  });

  it('shows its progress through the query, the search attributes and the UI details', async () => {
    const { workflowId } = await dryRun({ node: 'worker-2' });
    const handle = env.client.workflow.getHandle(workflowId);
    const progress = await handle.query(progressQuery);
    expect(progress).toMatchObject({ node: 'worker-2', phase: 'DryRun', dryRun: true });
    const found = await eventually('listed by MaintenanceNode', async () => {
      const ids: string[] = [];
      for await (const w of env.client.workflow.list({
        query: `MaintenanceNode="worker-2" AND MaintenancePhase="DryRun"`,
      }))
        ids.push(w.workflowId);
      return ids.includes(workflowId) ? ids : undefined;
    });
    expect(found).toContain(workflowId);
    // What the Temporal UI shows as "current details" comes from this built-in query.
    const metadata = await handle.query(workflowMetadataQuery);
    expect(metadata.currentDetails).toContain('Maintenance of `worker-2` (dry run)');
    expect(metadata.currentDetails).toContain('Preflight passed');
  });
});

describe('preflight refusals, each with a clear message', () => {
  it('refuses an unknown node', async () => {
    const { verdict } = await dryRun({ node: 'worker-9' });
    expect(verdict.ok).toBe(false);
    expect(verdict.refusals).toEqual([
      { code: 'NodeNotFound', message: expect.stringContaining('"worker-9" does not exist') },
    ]);
  });

  it('refuses a node whose lease another holder has (medik8s convention)', async () => {
    const now = new Date().toISOString().replace(/\.\d+Z$/, '.000000Z');
    await env.kube
      .create(paths.namespaces(), { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'medik8s-leases' } })
      .catch(() => undefined);
    await env.kube.create(paths.leases('medik8s-leases'), {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: 'node-worker-2', namespace: 'medik8s-leases' },
      spec: {
        holderIdentity: 'node-maintenance-operator',
        leaseDurationSeconds: 3600,
        acquireTime: now,
        renewTime: now,
      },
    });
    try {
      const { verdict } = await dryRun({ node: 'worker-2' });
      expect(verdict.refusals.map((r) => r.code)).toEqual(['AlreadyInMaintenance']);
      expect(verdict.refusals[0]?.message).toContain('node-maintenance-operator');
    } finally {
      await env.kube.delete(paths.lease('medik8s-leases', 'node-worker-2'));
    }
  });

  it('allows one control-plane node of three, but refuses when another is already down (quorum)', async () => {
    expect((await dryRun({ node: 'cp-1' })).verdict.ok).toBe(true);
    await env.kube.patch(bmhPathOf('cp-3'), {
      spec: { online: false },
    });
    try {
      await eventually('cp-3 NotReady', async () => !nodeReady(await env.kube.get(paths.node('cp-3'))));
      const { verdict } = await dryRun({ node: 'cp-1' });
      expect(verdict.refusals.map((r) => r.code)).toEqual(['QuorumAtRisk']);
      expect(verdict.refusals[0]?.message).toMatch(/control-plane/);
    } finally {
      await env.kube.patch(bmhPathOf('cp-3'), {
        spec: { online: true },
      });
      await eventually('cp-3 Ready', async () => nodeReady(await env.kube.get(paths.node('cp-3'))));
    }
  });

  it('refuses when the other nodes cannot take the VMs', async () => {
    const { verdict, workflowId } = await dryRun({ node: 'big' });
    await recordHistory('dry-run-refused-capacity', env.client.workflow.getHandle(workflowId));
    expect(verdict.refusals.map((r) => r.code)).toEqual(['InsufficientCapacity']);
    expect(verdict.refusals[0]?.message).toContain('vms/huge');
    expect(verdict.capacity.unplaced).toEqual(['vms/huge']);
  });
});

describe('bad input', () => {
  it('fails fast with every problem named, before touching the cluster', async () => {
    const message = await failureOf({
      node: 'worker-1',
      power: 'ipmi',
      policy: { migration: { timeout: '5 minutes' } },
    });
    expect(message).toContain('power');
    expect(message).toContain('policy.migration.timeout');
  });

  it('rejects credentials in the input: they belong in a Secret', async () => {
    const message = await failureOf({
      node: 'worker-1',
      power: 'redfish',
      redfish: { address: 'https://bmc', password: 'hunter2' },
    });
    expect(message).toMatch(/Secret/);
    expect(message).not.toContain('hunter2');
  });
});
