// Adopted evacuations, refused inputs and secret-free histories: whole maintenances through the real Temporal dev
// server and the sandbox cluster, each test on its own node, checked from the cluster. Escalations and their
// answers are workflow logic, tested without a cluster in test/fast/escalation.test.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import type { MaintenanceResult } from '../../src/domain/progress.js';
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
  vmiOf,
} from '../support/cluster.js';
import { progressOf, startMaintenance, type Start } from '../support/maintenance.js';
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
        { name: 'worker-5', memory: '256Gi' },
        { name: 'worker-6', memory: '256Gi' },
        { name: 'bare-1', bmc: 'none', memory: '256Gi' },
        { name: 'rf-{n}', count: 2, bmc: 'redfish', memory: '256Gi' },
        { name: 'spare-{n}', count: 2, memory: '256Gi' },
      ],
      vms: [
        { name: 'w5-evac', node: 'worker-5', storage: 'rwx', knobs: { migrationDuration: '3s' } },
        { name: 'bare-vm', node: 'bare-1', storage: 'rwx' },
        { name: 'rf1-vm', node: 'rf-1', storage: 'rwx' },
        { name: 'rf2-vm', node: 'rf-2', storage: 'rwx' },
      ],
    },
  });
  await untilVmisRunning(env.kube, 4);
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
