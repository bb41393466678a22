// The sandbox installs the real published CRD schemas (src/sandbox/crds/upstream/): what Pitstop's activities
// write through them is accepted and read back unchanged (nothing pruned), as on a real cluster, while a field the
// schema does not know is pruned and a wrongly typed one refused, which proves the schemas are the real ones.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubeClient, kv, paths } from '../../src/k8s/client.js';
import { PREVIOUS_RUN_STRATEGY } from '../../src/domain/contract.js';
import { startMigration } from '../../src/activities/kubevirt/migrations.js';
import { waitForMigration } from '../../src/activities/kubevirt/migrationWaits.js';
import { restoreVm, stopVm, waitForVmiGone, waitForVmiRunning } from '../../src/activities/kubevirt/lifecycle.js';
import { findBareMetalHost, resolvePowerProvider } from '../../src/activities/power/resolve.js';
import { powerOff, powerOn } from '../../src/activities/power/actions.js';
import { bmhPath } from '../../src/activities/power/metal3.js';
import { eventually, startSandboxOnly } from '../support/env.js';
import { rejection, untilVmisRunning, vmOf } from '../support/cluster.js';
import type { Sandbox } from '../../src/sandbox/index.js';

const NS = 'vms';
let sandbox: Sandbox;
let kube: KubeClient;
let act: KubeClient;

beforeAll(async () => {
  sandbox = await startSandboxOnly({
    name: 'upstream-schemas',
    timing: { migrationDuration: '300ms', vmStop: '200ms', bootDelay: '300ms', powerDelay: '100ms' },
    kubevirt: { evictionStrategy: 'LiveMigrate' },
    nodes: [{ name: 'a', memory: '64Gi' }, { name: 'b' }],
    vms: [
      { name: 'mover', node: 'a' },
      { name: 'stopper', node: 'a', terminationGracePeriodSeconds: 1 },
    ],
  });
  kube = sandbox.cluster.client;
  act = KubeClient.fromFile(sandbox.kubeconfigPath);
  await untilVmisRunning(kube, 2, NS);
});

afterAll(async () => {
  act?.close();
  await sandbox?.stop();
});

describe('the CRDs are the published ones', () => {
  it('installs each with its upstream names, short names and status subresource', async () => {
    const crd = (name: string) => kube.get(`/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`);
    const summary = async (name: string) => {
      const c = await crd(name);
      const v1 = c.spec.versions.find((v: { storage: boolean }) => v.storage);
      return {
        shortNames: c.spec.names.shortNames,
        status: !!v1.subresources?.status,
        typedSpec: !!v1.schema.openAPIV3Schema.properties.spec.properties,
      };
    };
    expect(await summary('virtualmachines.kubevirt.io')).toEqual({
      shortNames: ['vm', 'vms'],
      status: true,
      typedSpec: true,
    });
    expect(await summary('virtualmachineinstances.kubevirt.io')).toEqual({
      shortNames: ['vmi', 'vmis'],
      status: false,
      typedSpec: true,
    });
    expect(await summary('virtualmachineinstancemigrations.kubevirt.io')).toEqual({
      shortNames: ['vmim', 'vmims'],
      status: true,
      typedSpec: true,
    });
    expect(await summary('kubevirts.kubevirt.io')).toEqual({
      shortNames: ['kv', 'kvs'],
      status: true,
      typedSpec: true,
    });
    expect(await summary('baremetalhosts.metal3.io')).toEqual({
      shortNames: ['bmh', 'bmhost'],
      status: true,
      typedSpec: true,
    });
    expect((await summary('machines.machine.openshift.io')).status).toBe(true);
    // Pitstop's own shipped copy (deploy/): the OpenShift console's object is accepted as it creates it.
    expect(await summary('nodemaintenances.nodemaintenance.medik8s.io')).toEqual({
      shortNames: ['nm'],
      status: true,
      typedSpec: true,
    });
    const nm = await kube.create('/apis/nodemaintenance.medik8s.io/v1beta1/nodemaintenances', {
      apiVersion: 'nodemaintenance.medik8s.io/v1beta1',
      kind: 'NodeMaintenance',
      metadata: { generateName: 'worker-1-' },
      spec: { nodeName: 'worker-1', reason: 'console' },
    });
    expect(nm.metadata.name).toMatch(/^worker-1-/);
  });

  it('prunes a field the schema does not know and refuses a wrongly typed one', async () => {
    const created = await kube
      .create(kv('virtualmachineinstancemigrations', NS), {
        apiVersion: 'kubevirt.io/v1',
        kind: 'VirtualMachineInstanceMigration',
        metadata: { name: 'probe', namespace: NS },
        spec: { vmiName: 'no-such-vmi-for-probe', notAField: true },
      })
      .catch((e: Error) => e);
    // The migration webhook refuses a VMI that does not exist; schema validation and pruning ran before it.
    expect(String((created as Error).message)).toContain('does not exist');
    const typed = await rejection(
      kube.create(kv('virtualmachineinstancemigrations', NS), {
        apiVersion: 'kubevirt.io/v1',
        kind: 'VirtualMachineInstanceMigration',
        metadata: { name: 'typed', namespace: NS },
        spec: { vmiName: 42 },
      }),
    );
    expect(typed.statusCode).toBe(422);
    expect(typed.message).toContain('spec.vmiName');

    const vm = await kube.patch(kv('virtualmachines', NS, 'mover'), { spec: { notAField: 'x' } });
    expect(vm.spec.notAField).toBeUndefined();
  });
});

describe("what Pitstop's activities write is kept", () => {
  it('a migration: its labels, workflow annotation and vmiName read back as written, and it succeeds', async () => {
    const started = await startMigration(act, { namespace: NS, vmi: 'mover', workflowId: 'wf/schemas', attempt: 1 });
    const vmim = await kube.get(kv('virtualmachineinstancemigrations', NS, started.name));
    expect(vmim.spec).toMatchObject({ vmiName: 'mover' });
    expect(vmim.metadata.labels).toMatchObject({
      'kubevirt.io/vmi-name': 'mover',
      'pitstop.io/workflow-id': expect.stringMatching(/^wf-schemas/),
      'app.kubernetes.io/managed-by': 'pitstop',
    });
    expect(vmim.metadata.annotations).toMatchObject({ 'pitstop.io/workflow-id': 'wf/schemas' });
    const result = await waitForMigration(act, {
      namespace: NS,
      name: started.name,
      timeoutMs: 30_000,
      pendingTimeoutMs: 30_000,
    });
    expect(result).toMatchObject({ outcome: 'Succeeded', sourceNode: 'a' });
  });

  it('a stop and a restore: runStrategy and the recorded previous strategy read back as written', async () => {
    const stopped = await stopVm(act, { namespace: NS, name: 'stopper' });
    expect(stopped.previousRunStrategy).toBe('Always');
    const vm = await vmOf(kube, NS, 'stopper');
    expect(vm?.spec.runStrategy).toBe('Halted');
    expect(vm?.spec.running).toBeUndefined();
    expect(vm?.metadata.annotations?.[PREVIOUS_RUN_STRATEGY]).toBe('Always');
    const gone = await waitForVmiGone(act, { namespace: NS, name: 'stopper', uid: stopped.vmiUid, timeoutMs: 30_000 });
    expect(gone.outcome).toBe('Gone');

    const restored = await restoreVm(act, { namespace: NS, name: 'stopper' });
    expect(restored).toMatchObject({ restored: true, runStrategy: 'Always' });
    const after = await vmOf(kube, NS, 'stopper');
    expect(after?.spec.runStrategy).toBe('Always');
    expect(after?.metadata.annotations?.[PREVIOUS_RUN_STRATEGY]).toBeUndefined();
    await waitForVmiRunning(act, { namespace: NS, name: 'stopper', timeoutMs: 30_000 });
  });

  it('a Metal3 power cycle: spec.online reads back as written and the host status (real schema) follows', async () => {
    const ref = await findBareMetalHost(act, 'b');
    expect(ref).toBeDefined();
    const provider = await resolvePowerProvider(act, { node: 'b', power: 'metal3' });
    expect(await powerOff(act, provider, { graceful: false })).toEqual({ changed: true });
    expect((await kube.get(bmhPath(ref!.namespace, ref!.name))).spec.online).toBe(false);
    await eventually('BMH reports off', async () => {
      const host = await kube.get(bmhPath(ref!.namespace, ref!.name));
      return host.status?.poweredOn === false;
    });
    expect(await powerOn(act, provider)).toEqual({ changed: true });
    const host = await kube.get(bmhPath(ref!.namespace, ref!.name));
    expect(host.spec.online).toBe(true);
    await eventually('node Ready again', async () => {
      const node = await kube.get(paths.node('b'));
      return node.status.conditions.some(
        (c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True',
      );
    });
  });
});
