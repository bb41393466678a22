// A single-node cluster (single-node OpenShift) on the sandbox: Pitstop refuses it with the reason, and the
// out-of-cluster recipe (deploy/single-node/maintain-single-node.sh, docs/small-clusters.md) runs against it as an
// administrator would run it from their own host: every VM shut down, the machine rebooted through its Redfish BMC,
// the API and the node waited for, every VM restored as it was.
//
// What this cannot show: the sandbox's API server runs beside the simulated node, not on it, so it stays up while the
// machine reboots; the script's "API unreachable" branch is not exercised here (its "node NotReady" twin is).
import { execFile } from 'node:child_process';
import { mkdtempSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { WorkflowFailedError } from '@temporalio/client';
import { kv, paths, type KubeObject } from '../../src/k8s/client.js';
import { startTestEnv, type TestEnv } from '../support/env.js';
import { nodeReadyStatus, untilVmisRunning, vmOf } from '../support/cluster.js';
import { startMaintenance } from '../support/maintenance.js';
import { invariantViolations, recordBefore } from '../support/invariants.js';

const run = promisify(execFile);
const SCRIPT = new URL('../../deploy/single-node/maintain-single-node.sh', import.meta.url).pathname;

let env: TestEnv;

beforeAll(async () => {
  env = await startTestEnv({
    scenario: {
      name: 'single-node',
      // The machine stays off a few seconds: the script polls for the node going down every 2 s.
      timing: { migrationDuration: '300ms', bootDelay: '3s', powerDelay: '4s', vmStop: '200ms' },
      nodes: [
        {
          name: 'sno',
          controlPlane: true,
          schedulable: true,
          labels: { 'node-role.kubernetes.io/worker': '' },
          bmc: 'redfish',
          memory: '64Gi',
        },
      ],
      vms: [
        { name: 'web', node: 'sno', storage: 'rwx' },
        { name: 'db', node: 'sno', evictionStrategy: 'None', terminationGracePeriodSeconds: 1 },
        { name: 'manual', node: 'sno', runStrategy: 'Manual' },
        { name: 'off', node: 'sno', runStrategy: 'Halted' },
      ],
    },
  });
  await untilVmisRunning(env.kube, 3);
});

afterAll(async () => {
  await env?.stop();
});

const vmis = async () => (await env.kube.list(kv('virtualmachineinstances', 'vms'))).items;
const uids = (items: KubeObject[]) => Object.fromEntries(items.map((v) => [v.metadata.name, v.metadata.uid]));

describe('a single-node cluster', () => {
  it('Pitstop refuses it, saying why and where the recipe is; nothing changes', async () => {
    const before = await recordBefore(env.kube);
    const handle = await startMaintenance(env, {
      node: 'sno',
      hold: 'none',
      policy: { capacity: { onNoRoom: 'shutdown' } },
    });
    const failure = (await handle.result().catch((e: unknown) => e)) as WorkflowFailedError;
    expect(failure.cause?.message).toBe(
      'maintenance of sno refused: node "sno" is the cluster\'s only node (control plane and worker): the API ' +
        'server and etcd go down with it, so nothing in the cluster could bring it back into service or restart ' +
        'its VMs; maintain it from outside the cluster (docs/small-clusters.md#single-node-openshift)',
    );
    expect(await invariantViolations(env.kube, before, 'sno')).toEqual([]);
  });

  it('the out-of-cluster recipe: every VM down, a BMC reboot, the node back, every VM restored', async () => {
    const before = await recordBefore(env.kube);
    const started = uids(await vmis());
    const credential = env.sandbox.credentials.find((c) => c.nodeName === 'sno');
    if (!credential) throw new Error('the scenario gave sno no BMC');
    const home = mkdtempSync(join(inject('runDir'), 'sno-'));
    const stateFile = join(home, 'sno-vms.json');
    const kubectl = inject('kubeBinaries').kubectl;

    // Watch the node while the script runs: it must really go down and come back.
    const seen = new Set<string>();
    let watching = true;
    const watch = (async () => {
      while (watching) {
        seen.add(nodeReadyStatus(await env.kube.find(paths.node('sno'))) ?? 'none');
        await new Promise((r) => setTimeout(r, 200));
      }
    })();
    const { stderr } = await run(SCRIPT, [], {
      timeout: 180_000,
      env: {
        PATH: `${dirname(kubectl)}:${process.env.PATH ?? ''}`,
        // kubectl's discovery cache goes to $HOME/.kube: the run's directory, not the repository.
        HOME: home,
        KUBECONFIG: env.sandbox.kubeconfigPath,
        NODE: 'sno',
        BMC_URL: env.sandbox.redfishUrl,
        BMC_SYSTEM: 'sno',
        BMC_USER: credential.username,
        BMC_PASSWORD: credential.password,
        BMC_INSECURE: '1',
        STATE_FILE: stateFile,
        TIMEOUT: '120',
      },
    }).finally(() => (watching = false));
    await watch;

    expect(stderr).toContain('maintain-single-node: recorded 4 VMs');
    expect(stderr).toContain('maintain-single-node: reset GracefulRestart sent');
    expect(stderr).toContain('maintain-single-node: every VM restored');
    expect([...seen]).toContain('True');
    expect(
      [...seen].some((status) => status !== 'True'),
      `the node went down (seen: ${[...seen]})`,
    ).toBe(true);
    expect(nodeReadyStatus(await env.kube.get(paths.node('sno')))).toBe('True');
    // Every VM that ran runs again, restarted (a new VMI); the runStrategies are as they were; the record is gone.
    await untilVmisRunning(env.kube, 3, 'vms');
    const after = uids(await vmis());
    expect(Object.keys(after).sort()).toEqual(['db', 'manual', 'web']);
    for (const name of Object.keys(after)) expect(after[name], name).not.toBe(started[name]);
    expect((await vmOf(env.kube, 'vms', 'manual'))?.spec.runStrategy).toBe('Manual');
    expect((await vmOf(env.kube, 'vms', 'web'))?.spec.runStrategy).toBe('Always');
    expect((await vmOf(env.kube, 'vms', 'off'))?.spec.runStrategy).toBe('Halted');
    expect(existsSync(stateFile)).toBe(false);
    expect(await invariantViolations(env.kube, before, 'sno')).toEqual([]);
  });

  it('the recipe refuses a cluster of more than one node, changing nothing', async () => {
    await expect(
      run(SCRIPT, [], {
        env: {
          PATH: `${dirname(inject('kubeBinaries').kubectl)}:${process.env.PATH ?? ''}`,
          HOME: mkdtempSync(join(inject('runDir'), 'sno-')),
          KUBECONFIG: env.sandbox.kubeconfigPath,
          NODE: 'other',
          BMC_URL: 'https://bmc.invalid',
          BMC_SYSTEM: '1',
          BMC_USER: 'u',
          BMC_PASSWORD: 'p',
        },
      }),
    ).rejects.toMatchObject({ stderr: expect.stringContaining('the cluster\'s nodes are "sno", not just other') });
  });
});
