// Escalations and their answers, adopted evacuations, refused inputs and secret-free histories: whole maintenances
// through the real Temporal dev server and the sandbox cluster, each test on its own node, checked from the cluster.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import type { MaintenanceResult, Progress } from '../../src/domain/progress.js';
import { paths, type KubeObject, kv } from '../../src/k8s/client.js';
import { NODE_LEASE } from '../../src/domain/contract.js';
import { startTestEnv, eventually, type TestEnv, FAST_TIMING } from '../support/env.js';
import {
  evict,
  launcherPodOf,
  migrationsOf,
  nodeReady,
  rejection,
  untilVmisRunning,
  vmOf,
  vmiOf,
} from '../support/cluster.js';
import {
  progressOf,
  reachPhase,
  refusal,
  startMaintenance,
  TEST_POLICY as policy,
  type Start,
} from '../support/maintenance.js';
import { invariantViolations, recordBefore } from '../support/invariants.js';

let env: TestEnv;
const NS = 'vms';
const BMC_NS = 'pitstop-bmc';

beforeAll(async () => {
  env = await startTestEnv({
    scenario: {
      name: 'escalation',
      timing: FAST_TIMING,
      kubevirt: { evictionStrategy: 'LiveMigrate' },
      nodes: [
        // worker-1's VM fails its first migrations; it may only move to the spares, never onto another test's node
        // (where the next maintenance would meet its failures again).
        { name: 'worker-1', memory: '256Gi', labels: { 'retry-pool': 'yes' } },
        ...[2, 3, 4, 5, 6].map((n) => ({ name: `worker-${n}`, memory: '256Gi' })),
        { name: 'bare-1', bmc: 'none', memory: '256Gi' },
        { name: 'rf-{n}', count: 2, bmc: 'redfish', memory: '256Gi' },
        { name: 'spare-{n}', count: 2, memory: '256Gi', labels: { 'retry-pool': 'yes' } },
        { name: 'lanes-1', memory: '256Gi' },
      ],
      vms: [
        {
          name: 'w1-retry',
          node: 'worker-1',
          storage: 'rwx',
          nodeSelector: { 'retry-pool': 'yes' },
          knobs: { migrationFailures: 3 },
        },
        { name: 'w2-lonely', node: 'worker-2', storage: 'rwo', standalone: true, terminationGracePeriodSeconds: 1 },
        { name: 'w3-rwo', node: 'worker-3', storage: 'rwo', terminationGracePeriodSeconds: 1 },
        {
          name: 'w4-stuck',
          node: 'worker-4',
          storage: 'rwx',
          terminationGracePeriodSeconds: 1,
          knobs: { migrationStuck: 'Pending' },
        },
        { name: 'w5-evac', node: 'worker-5', storage: 'rwx', knobs: { migrationDuration: '3s' } },
        { name: 'bare-vm', node: 'bare-1', storage: 'rwx' },
        { name: 'rf1-vm', node: 'rf-1', storage: 'rwx' },
        { name: 'rf2-vm', node: 'rf-2', storage: 'rwx' },
        // Taken in name order: the one needing a decision first, the migratable one second. The RWO one is tied to
        // its node, so its restore never lands it on another test's node (where it would ask again).
        {
          name: 'lanes-db',
          node: 'lanes-1',
          storage: 'rwo',
          terminationGracePeriodSeconds: 1,
          nodeSelector: { 'kubernetes.io/hostname': 'lanes-1' },
        },
        { name: 'lanes-web', node: 'lanes-1', storage: 'rwx' },
      ],
    },
  });
  await untilVmisRunning(env.kube, 10);
});

afterAll(async () => {
  await env?.stop();
});

/** Every workflow this file started: the last test reads all their histories. */
const started: WorkflowHandle[] = [];

async function start(input: Start): Promise<WorkflowHandle> {
  const handle = await startMaintenance(env, input);
  started.push(handle);
  return handle;
}

const reach = reachPhase;

/** The progress once a decision is pending (or the run has ended, so a test fails fast instead of waiting). */
async function asking(handle: WorkflowHandle, timeoutMs = 30_000): Promise<Progress> {
  return await eventually(
    'a pending decision',
    async () => {
      const p = await progressOf(handle);
      return p.decisionsPending.length > 0 || ['Done', 'RolledBack', 'Refused'].includes(p.phase) ? p : undefined;
    },
    timeoutMs,
  );
}

const decide = (handle: WorkflowHandle, vmi: string, action: string) =>
  handle.executeUpdate<string, [{ vmi: string; action: string }]>('decide', { args: [{ vmi, action }] });

/** A failed run's error, with every message of its cause chain (workflow → activity → application failure). */
async function failureOf(handle: WorkflowHandle): Promise<{ types: string[]; text: string }> {
  const error = await handle.result().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(WorkflowFailedError);
  const types: string[] = [];
  const messages: string[] = [];
  for (let c = error as { message?: string; type?: string; cause?: unknown } | undefined; c; c = c.cause as typeof c) {
    if (c.type) types.push(c.type);
    messages.push(c.message ?? '');
  }
  return { types, text: messages.join(' <- ') };
}

/** A test that failed half-way must not leave its maintenance holding a node for the tests after it. */
async function settle(handle: WorkflowHandle): Promise<void> {
  const { status } = await handle.describe();
  if (status.name !== 'RUNNING') return;
  await handle.cancel();
  await handle.result().catch(() => undefined);
}

const vmisOn = async (node: string) =>
  (await env.kube.list(kv('virtualmachineinstances'), { labelSelector: `kubevirt.io/nodeName=${node}` })).items.map(
    (v) => `${v.metadata.namespace}/${v.metadata.name}`,
  );

const phaseOf = (m: KubeObject) => m.status?.phase as string | undefined;
const inFlight = (ms: KubeObject[]) => ms.filter((m) => !['Succeeded', 'Failed'].includes(phaseOf(m) ?? ''));

async function leaseHolder(node: string): Promise<string | undefined> {
  const lease = await env.kube.find(paths.lease(NODE_LEASE.namespace, NODE_LEASE.name(node)));
  return lease?.spec?.holderIdentity || undefined;
}

/** Nothing changed on a node whose maintenance was refused: schedulable, untainted, unannotated, no lease. */
async function untouched(node: string) {
  const n = await env.kube.get(paths.node(node));
  expect(n.spec?.unschedulable ?? false).toBe(false);
  expect((n.spec?.taints ?? []).map((t: { key: string }) => t.key)).not.toContain('pitstop.io/maintenance');
  expect(Object.keys(n.metadata.annotations ?? {}).filter((k) => k.startsWith('pitstop.io/'))).toEqual([]);
  expect(await leaseHolder(node)).toBeUndefined();
}

describe('operator answers to an escalation', () => {
  it('retry: a migration failing N times is retried, escalated, and retried again on the answer', async () => {
    const before = await recordBefore(env.kube);
    const handle = await start({ node: 'worker-1', hold: 'none' });
    try {
      // migrationFailures 3 with 2 attempts: both attempts fail, then the question.
      const asked = await asking(handle);
      expect(asked.decisionsPending).toEqual([
        expect.objectContaining({
          vmi: 'vms/w1-retry',
          allowed: ['shutdown', 'retry', 'delete'],
          reason: expect.stringMatching(/live migration failed 2 times; last: attempt 2: Failed/),
        }),
      ]);
      expect(asked.vms.find((r) => r.vmi === 'vms/w1-retry')).toMatchObject({
        action: 'migrate',
        state: 'awaitingDecision',
        attempts: 2,
      });
      const firstRound = await migrationsOf(env.kube, NS, 'w1-retry');
      expect(firstRound.map(phaseOf)).toEqual(['Failed', 'Failed']);
      expect((await vmiOf(env.kube, NS, 'w1-retry'))?.status.nodeName).toBe('worker-1');

      // retry = a fresh round of 2 attempts: the 3rd migration fails (knob), the 4th succeeds.
      expect(await decide(handle, 'vms/w1-retry', 'retry')).toMatch(/retry recorded/);
      const after = await eventually('the retried migrations to end', async () => {
        const p = await progressOf(handle);
        const row = p.vms.find((r) => r.vmi === 'vms/w1-retry');
        return p.decisionsPending.length > 0 || (row && row.state !== 'awaitingDecision' && row.state !== 'migrating')
          ? p
          : undefined;
      });
      const migrations = await migrationsOf(env.kube, NS, 'w1-retry');
      const seen = migrations.map((m) => `${m.metadata.name}: ${phaseOf(m)}`).sort();
      expect(seen, 'the retry starts 2 new migrations (4 VMIMs in all)').toHaveLength(4);
      expect(migrations.map(phaseOf).sort()).toEqual(['Failed', 'Failed', 'Failed', 'Succeeded']);
      expect(after.decisionsPending).toEqual([]);

      const result = (await handle.result()) as MaintenanceResult;
      expect(result.outcome).toBe('Completed');
      expect(result.summary).toMatchObject({ migrated: 1 });
      const row = (await progressOf(handle)).vms.find((r) => r.vmi === 'vms/w1-retry');
      expect(row?.state).toBe('migrated');
      const vmi = await vmiOf(env.kube, NS, 'w1-retry');
      expect(vmi?.status.phase).toBe('Running');
      expect(vmi?.status.nodeName).not.toBe('worker-1');
      expect(row?.targetNode).toBe(vmi?.status.nodeName);
      expect(await invariantViolations(env.kube, before, 'worker-1')).toEqual([]);
    } finally {
      await settle(handle);
    }
  });

  it('delete: a standalone VMI can only be deleted, and is gone for good', async () => {
    const before = await recordBefore(env.kube);
    const handle = await start({ node: 'worker-2', hold: 'none' });
    try {
      const asked = await asking(handle);
      expect(asked.decisionsPending).toEqual([
        expect.objectContaining({
          vmi: 'vms/w2-lonely',
          allowed: ['delete'],
          reason: expect.stringMatching(/standalone VMI/),
        }),
      ]);
      expect(await refusal(decide(handle, 'vms/w2-lonely', 'shutdown'))).toMatch(
        /"shutdown" is not allowed for vms\/w2-lonely; allowed: delete/,
      );
      const uid = (await vmiOf(env.kube, NS, 'w2-lonely'))?.metadata.uid;
      expect(uid).toBeDefined();
      await decide(handle, 'vms/w2-lonely', 'delete');
      const result = (await handle.result()) as MaintenanceResult;
      expect(result.outcome).toBe('Completed');
      expect(result.summary).toMatchObject({ deleted: 1, restored: 0 });
      expect((await progressOf(handle)).vms.find((r) => r.vmi === 'vms/w2-lonely')?.state).toBe('deleted');
      // Nothing brings a standalone VMI back: still absent a while after the node returned.
      await new Promise((r) => setTimeout(r, 1000));
      expect(await vmiOf(env.kube, NS, 'w2-lonely')).toBeUndefined();
      expect(await vmisOn('worker-2')).toEqual([]);
      expect(await invariantViolations(env.kube, before, 'worker-2', ['vms/w2-lonely'])).toEqual([]);
    } finally {
      await settle(handle);
    }
  });

  it('a pending decision does not hold back the other lane: with two VMs and two slots both move at once', async () => {
    const before = await recordBefore(env.kube);
    const handle = await start({ node: 'lanes-1', policy: { parallelMigrations: 2 } });
    try {
      const asked = await asking(handle);
      expect(asked.decisionsPending.map((d) => d.vmi)).toEqual(['vms/lanes-db']);
      // While the question is open, the migratable VM leaves the node (one lane used to wait for the answer).
      await eventually('lanes-web migrated while the decision is pending', async () => {
        const row = (await progressOf(handle)).vms.find((r) => r.vmi === 'vms/lanes-web');
        return row?.state === 'migrated' ? row : undefined;
      });
      expect((await progressOf(handle)).decisionsPending.map((d) => d.vmi)).toEqual(['vms/lanes-db']);
      expect(await vmisOn('lanes-1')).toEqual(['vms/lanes-db']);

      await decide(handle, 'vms/lanes-db', 'shutdown');
      await reach(handle, 'Hold');
      await handle.executeUpdate('release', { args: [{}] });
      expect(((await handle.result()) as MaintenanceResult).outcome).toBe('Completed');
      expect(await invariantViolations(env.kube, before, 'lanes-1')).toEqual([]);
    } finally {
      await settle(handle);
    }
  });
});

describe('escalation policy', () => {
  it('onNonMigratable=shutdown: an RWO VM is shut down and restored without any question', async () => {
    const before = await recordBefore(env.kube);
    const handle = await start({ node: 'worker-3', policy: { escalation: { onNonMigratable: 'shutdown' } } });
    const seen: Progress[] = [];
    let polling = true;
    const poller = (async () => {
      while (polling) {
        seen.push(await progressOf(handle).catch(() => seen[seen.length - 1] as Progress));
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    try {
      const held = await reach(handle, 'Hold');
      expect(held.verdict?.plan.find((p) => p.vmi === 'vms/w3-rwo')).toMatchObject({
        action: 'shutdown',
        restore: 'afterMaintenance',
      });
      expect(held.vms.find((r) => r.vmi === 'vms/w3-rwo')?.state).toBe('stopped');
      expect((await vmOf(env.kube, NS, 'w3-rwo'))?.spec.runStrategy).toBe('Halted');
      expect(await vmiOf(env.kube, NS, 'w3-rwo')).toBeUndefined();

      await handle.executeUpdate('release', { args: [{}] });
      const result = (await handle.result()) as MaintenanceResult;
      polling = false;
      await poller;
      expect(result.outcome).toBe('Completed');
      expect(result.summary).toMatchObject({ restored: 1 });
      // The poller samples (sparsely on a loaded machine); the timeline and the node's events are the full record.
      expect(seen.length).toBeGreaterThan(0);
      expect(seen.filter((p) => p?.decisionsPending.length > 0)).toEqual([]);
      expect(seen.flatMap((p) => p?.vms ?? []).filter((r) => r.state === 'awaitingDecision')).toEqual([]);
      const end = await progressOf(handle);
      expect(end.timeline.map((t) => t.phase)).toEqual(expect.arrayContaining(['EvacuateVMs', 'Hold']));
      expect(end.vms.find((r) => r.vmi === 'vms/w3-rwo')?.message ?? '').not.toMatch(/operator chose/);
      const events = await env.kube.list(paths.events('default'), { fieldSelector: 'involvedObject.name=worker-3' });
      expect(events.items.filter((e) => String(e.message).includes('needs a decision'))).toEqual([]);
      expect((await vmOf(env.kube, NS, 'w3-rwo'))?.spec.runStrategy).toBe('Always');
      expect((await vmiOf(env.kube, NS, 'w3-rwo'))?.status.phase).toBe('Running');
      expect(await invariantViolations(env.kube, before, 'worker-3')).toEqual([]);
    } finally {
      polling = false;
      await poller;
      await settle(handle);
    }
  });

  it('a migration stuck in Pending is cancelled and escalated; shutdown finishes the maintenance', async () => {
    const before = await recordBefore(env.kube);
    const handle = await start({
      node: 'worker-4',
      hold: 'none',
      policy: { migration: { ...policy.migration, attempts: 1, pendingTimeout: '1s' } },
    });
    try {
      const asked = await asking(handle);
      expect(asked.decisionsPending).toEqual([
        expect.objectContaining({
          vmi: 'vms/w4-stuck',
          allowed: ['shutdown', 'retry', 'delete'],
          reason: expect.stringMatching(/live migration failed 1 time; last: attempt 1: Stuck/),
        }),
      ]);
      const row = asked.vms.find((r) => r.vmi === 'vms/w4-stuck');
      expect(row?.attempts).toBe(1);
      expect(row?.migration).toMatch(/^pitstop-w4-stuck-/);
      // Cancelled = its VMIM deleted; nothing in flight for the VMI, which stays where it was.
      await eventually('the stuck VMIM deleted', async () =>
        (await env.kube.find(kv('virtualmachineinstancemigrations', NS, row?.migration))) ? undefined : true,
      );
      expect(inFlight(await migrationsOf(env.kube, NS, 'w4-stuck'))).toEqual([]);
      expect((await vmiOf(env.kube, NS, 'w4-stuck'))?.status.nodeName).toBe('worker-4');

      await decide(handle, 'vms/w4-stuck', 'shutdown');
      const result = (await handle.result()) as MaintenanceResult;
      expect(result.outcome).toBe('Completed');
      expect(result.summary).toMatchObject({ restored: 1, migrated: 0 });
      expect((await progressOf(handle)).vms.find((r) => r.vmi === 'vms/w4-stuck')).toMatchObject({
        state: 'restored',
        message: expect.stringMatching(/operator chose shutdown/),
      });
      expect((await vmOf(env.kube, NS, 'w4-stuck'))?.spec.runStrategy).toBe('Always');
      expect(await migrationsOf(env.kube, NS, 'w4-stuck')).toEqual([]);
      expect(await invariantViolations(env.kube, before, 'worker-4')).toEqual([]);
    } finally {
      await settle(handle);
    }
  });
});

describe('migrations KubeVirt already started', () => {
  it('adopts an evacuation in flight instead of starting a second migration', async () => {
    const before = await recordBefore(env.kube);
    const vmi = await vmiOf(env.kube, NS, 'w5-evac');
    const pod = await launcherPodOf(env.kube, vmi!);
    expect(pod).toBeDefined();
    // What `kubectl drain` does: KubeVirt answers 429 and evacuates the VM itself.
    const refused = await rejection(evict(env.kube, pod!));
    expect(refused.statusCode).toBe(429);
    const evacuation = await eventually('an evacuation migration in flight', async () =>
      inFlight(await migrationsOf(env.kube, NS, 'w5-evac')).find((m) =>
        m.metadata.name.startsWith('kubevirt-evacuation-'),
      ),
    );
    const handle = await start({ node: 'worker-5', hold: 'none' });
    try {
      const result = (await handle.result()) as MaintenanceResult;
      expect(result.outcome).toBe('Completed');
      expect(result.verdict.plan.find((p) => p.vmi === 'vms/w5-evac')?.adoptMigration).toBe(evacuation.metadata.name);
      expect((await progressOf(handle)).vms.find((r) => r.vmi === 'vms/w5-evac')).toMatchObject({
        state: 'migrated',
        attempts: 1,
        migration: evacuation.metadata.name,
      });
      const migrations = await migrationsOf(env.kube, NS, 'w5-evac');
      expect(migrations.map((m) => [m.metadata.name, phaseOf(m)])).toEqual([[evacuation.metadata.name, 'Succeeded']]);
      const moved = await vmiOf(env.kube, NS, 'w5-evac');
      expect(moved?.status.phase).toBe('Running');
      expect(moved?.status.nodeName).not.toBe('worker-5');
      expect(await invariantViolations(env.kube, before, 'worker-5')).toEqual([]);
    } finally {
      await settle(handle);
    }
  });
});

describe('bad input fails before anything changes', () => {
  it('a second maintenance of a node in maintenance is refused, naming the lease holder', async () => {
    const before = await recordBefore(env.kube);
    // Whatever the node carries (earlier tests' VMs land where the scheduler puts them), the lease is taken at once.
    const first = await start({ node: 'worker-6' });
    try {
      await eventually(
        'the first maintenance holds the lease',
        async () => (await leaseHolder('worker-6')) === first.workflowId,
      );
      const second = await start({ node: 'worker-6', hold: 'none' });
      const failure = await failureOf(second);
      expect(failure.types).toContain('PreflightRefused');
      expect(failure.text).toMatch(/already in maintenance/);
      expect(failure.text).toContain(`lease is held by workflow ${first.workflowId}`);
      expect((await progressOf(second)).phase).toBe('Refused');
      // The first maintenance is undisturbed: still running, still the lease holder.
      expect(await leaseHolder('worker-6')).toBe(first.workflowId);
      expect((await first.describe()).status.name).toBe('RUNNING');

      await first.cancel();
      await first.result().catch(() => undefined);
      expect((await progressOf(first)).phase).toBe('RolledBack');
      expect(await invariantViolations(env.kube, before, 'worker-6')).toEqual([]);
    } finally {
      await settle(first);
    }
  });

  it('power metal3 on a node without a BareMetalHost', async () => {
    const before = await recordBefore(env.kube);
    const handle = await start({ node: 'bare-1', power: 'metal3', hold: 'none' });
    const failure = await failureOf(handle);
    expect(failure.text).toMatch(/node bare-1 has no BareMetalHost/);
    await untouched('bare-1');
    expect(await vmisOn('bare-1')).toEqual(['vms/bare-vm']);
    expect(await migrationsOf(env.kube, NS, 'bare-vm')).toEqual([]);
    expect(await invariantViolations(env.kube, before, 'bare-1')).toEqual([]);
  });

  it('power redfish with a credentials Secret that does not exist', async () => {
    const before = await recordBefore(env.kube);
    const handle = await start({
      node: 'rf-1',
      power: 'redfish',
      hold: 'none',
      redfish: {
        address: env.sandbox.redfishUrl,
        systemId: 'rf-1',
        credentialsSecret: { namespace: BMC_NS, name: 'no-such-secret' },
        insecureSkipVerify: true,
      },
    });
    const failure = await failureOf(handle);
    expect(failure.text).toContain(`${BMC_NS}/no-such-secret`);
    expect(failure.text).toMatch(/not found/);
    await untouched('rf-1');
    expect(await vmisOn('rf-1')).toEqual(['vms/rf1-vm']);
    expect(await migrationsOf(env.kube, NS, 'rf1-vm')).toEqual([]);
    expect(await invariantViolations(env.kube, before, 'rf-1')).toEqual([]);
  });
});

/** A history as JSON, plus the decoded text of every payload (`data` is base64 in the JSON form). */
async function historyText(handle: WorkflowHandle): Promise<string> {
  const history = await env.client.workflow.getHandle(handle.workflowId).fetchHistory();
  const json = JSON.stringify(history, (_key, value: unknown) =>
    value instanceof Uint8Array ? Buffer.from(value).toString('base64') : value,
  );
  const decoded: string[] = [];
  const walk = (value: unknown, key?: string): void => {
    if (key === 'data' && typeof value === 'string') decoded.push(Buffer.from(value, 'base64').toString('utf8'));
    else if (key === 'data' && Array.isArray(value) && value.every((b) => typeof b === 'number'))
      decoded.push(Buffer.from(value as number[]).toString('utf8'));
    else if (Array.isArray(value)) value.forEach((v) => walk(v));
    else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) walk(v, k);
  };
  walk(JSON.parse(json));
  return [json, ...decoded].join('\n');
}

describe('secrets', () => {
  it('a Redfish maintenance leaves no BMC password in any history of this file', async () => {
    const before = await recordBefore(env.kube);
    const secretName = 'rf-2-bmc-secret';
    const handle = await start({
      node: 'rf-2',
      power: 'redfish',
      hold: 'none',
      redfish: {
        address: env.sandbox.redfishUrl,
        systemId: 'rf-2',
        credentialsSecret: { namespace: BMC_NS, name: secretName },
        insecureSkipVerify: true,
      },
    });
    try {
      const result = (await handle.result()) as MaintenanceResult;
      expect(result.outcome).toBe('Completed');
      const done = await progressOf(handle);
      expect(done.power).toBe('on');
      expect(done.timeline.map((t) => t.phase)).toEqual(expect.arrayContaining(['PowerOff', 'PowerOn', 'WaitReady']));
      expect(nodeReady(await env.kube.get(paths.node('rf-2')))).toBe(true);
      expect(await invariantViolations(env.kube, before, 'rf-2')).toEqual([]);
    } finally {
      await settle(handle);
    }

    expect(env.sandbox.credentials.map((c) => c.nodeName)).toContain('rf-2');
    const forbidden = env.sandbox.credentials.flatMap((c) => [
      c.password,
      Buffer.from(c.password).toString('base64'),
      Buffer.from(`${c.username}:${c.password}`).toString('base64'),
    ]);
    expect(started).toContain(handle);
    for (const h of started) {
      const text = await historyText(h);
      const leaks = forbidden.filter((secret) => text.includes(secret));
      expect(leaks, `history of ${h.workflowId}`).toEqual([]);
    }
    // The search really looks into payloads: the Redfish run's input (the Secret's name) decodes from them.
    const redfishHistory = await historyText(handle);
    expect(redfishHistory).toContain(`"name":"${secretName}"`);
    expect(redfishHistory).toContain('"power":"redfish"');
  });
});
