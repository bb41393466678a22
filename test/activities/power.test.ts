// Power activities against the sandbox: Node → BareMetalHost mapping, provider resolution, Metal3 and Redfish
// power off/on with the node following, and every failure an administrator can cause (no BareMetalHost, missing
// Secret, wrong password, untrusted certificate, unreachable or failing BMC) with short messages and no secrets.
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { paths, type KubeClient } from '../../src/k8s/client.js';
import type { RedfishTarget } from '../../src/domain/request.js';
import type { Sandbox } from '../../src/sandbox/index.js';
import { findBareMetalHost, resolvePowerProvider } from '../../src/activities/power/resolve.js';
import { metal3PowerState } from '../../src/activities/power/metal3.js';
import { powerOff, powerOn, powerState } from '../../src/activities/power/actions.js';
import { POWER_FAILURE, type ResolvedPowerProvider } from '../../src/activities/power/types.js';
import { openRedfish, redfishPowerState } from '../../src/activities/power/redfish.js';
import { waitForPowerState, type PowerWaitProgress } from '../../src/activities/power/waits.js';
import { eventually, startSandboxOnly } from '../support/env.js';
import { applicationFailureOf, nodeReady } from '../support/cluster.js';

const MACHINES = 'openshift-machine-api';
const BMC_NS = 'pitstop-bmc';
const UNREACHABLE = 'sandbox.pitstop.io/bmc-unreachable';
let sandbox: Sandbox;
let kube: KubeClient;

beforeAll(async () => {
  sandbox = await startSandboxOnly({
    name: 'power-activities',
    timing: { bootDelay: '300ms', powerDelay: '100ms' },
    nodes: [
      { name: 'plain', bmc: 'none' },
      { name: 'm3-a' },
      { name: 'm3-ref' },
      { name: 'm3-fails', powerFails: true },
      { name: 'rf-a', bmc: 'redfish' },
      { name: 'rf-b', bmc: 'redfish' },
      { name: 'rf-fails', bmc: 'redfish', powerFails: true },
    ],
  });
  kube = sandbox.cluster.client;
  await eventually('every node Ready', async () => {
    const nodes = await kube.list(paths.nodes());
    return nodes.items.length === 7 && nodes.items.every(nodeReady);
  });
  const rfA = credential('rf-a');
  await secret('rf-a-verified', { username: rfA.username, password: rfA.password, 'ca.crt': sandbox.cluster.ca.cert });
  await secret('rf-b-wrong', { username: 'admin', password: WRONG_PASSWORD, 'ca.crt': sandbox.cluster.ca.cert });
  await secret('rf-b-nopassword', { username: 'admin' });
});

afterAll(async () => {
  await sandbox?.stop();
});

const WRONG_PASSWORD = 'Wr0ng-pa55word-xyzzy';

function credential(node: string) {
  const c = sandbox.credentials.find((x) => x.nodeName === node);
  if (!c) throw new Error(`no BMC credential for ${node}`);
  return c;
}
const everyPassword = () => [WRONG_PASSWORD, ...sandbox.credentials.map((c) => c.password)];

function secret(name: string, stringData: Record<string, string>) {
  return kube.create(paths.secrets(BMC_NS), {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name, namespace: BMC_NS },
    stringData,
  });
}

function target(
  secretName: string,
  options: { systemId?: string | undefined; insecure?: boolean; address?: string } = {},
): RedfishTarget {
  return {
    address: options.address ?? sandbox.redfishUrl,
    ...(options.systemId !== undefined && { systemId: options.systemId }),
    credentialsSecret: { namespace: BMC_NS, name: secretName },
    insecureSkipVerify: options.insecure ?? false,
  };
}
const redfish = (t: RedfishTarget): ResolvedPowerProvider => ({ kind: 'redfish', ...t });

const failureOf = applicationFailureOf;

function expectNoPassword(text: string) {
  for (const password of everyPassword()) expect(text).not.toContain(password);
}

const nodeIs = (name: string, ready: boolean) =>
  eventually(
    `${name} ${ready ? 'Ready' : 'NotReady'}`,
    async () => nodeReady(await kube.get(paths.node(name))) === ready,
  );

describe('Node → BareMetalHost', () => {
  it('follows the Node annotation to the Machine and its metal3.io/BareMetalHost annotation', async () => {
    expect(await findBareMetalHost(kube, 'm3-a')).toEqual({ namespace: MACHINES, name: 'm3-a' });
  });

  it("falls back to the BareMetalHost whose consumerRef names the node's Machine", async () => {
    const machine = paths.resource('machine.openshift.io', 'v1beta1', 'machines', MACHINES, 'm3-ref-machine');
    await kube.patch(machine, { metadata: { annotations: { 'metal3.io/BareMetalHost': null } } });
    expect((await kube.get(machine)).metadata.annotations?.['metal3.io/BareMetalHost']).toBeUndefined();
    expect(await findBareMetalHost(kube, 'm3-ref')).toEqual({ namespace: MACHINES, name: 'm3-ref' });
  });

  it('finds nothing for a node without a BMC, a Redfish-only node, or a node that does not exist', async () => {
    expect(await findBareMetalHost(kube, 'plain')).toBeUndefined();
    expect(await findBareMetalHost(kube, 'rf-a')).toBeUndefined();
    expect(await findBareMetalHost(kube, 'no-such-node')).toBeUndefined();
  });
});

describe('resolvePowerProvider', () => {
  it('auto: Metal3 for a node with a BareMetalHost, none for nodes without one', async () => {
    expect(await resolvePowerProvider(kube, { node: 'm3-a', power: 'auto' })).toEqual({
      kind: 'metal3',
      bmh: { namespace: MACHINES, name: 'm3-a' },
    });
    expect(await resolvePowerProvider(kube, { node: 'plain', power: 'auto' })).toEqual({ kind: 'none' });
    expect(await resolvePowerProvider(kube, { node: 'rf-a', power: 'auto' })).toEqual({ kind: 'none' });
    expect(await resolvePowerProvider(kube, { node: 'm3-a', power: 'none' })).toEqual({ kind: 'none' });
  });

  it('metal3 for a node without a BareMetalHost: a clear non-retryable failure', async () => {
    const failure = await failureOf(resolvePowerProvider(kube, { node: 'plain', power: 'metal3' }));
    expect(failure.message).toBe('node plain has no BareMetalHost (power: metal3)');
    expect(failure.nonRetryable).toBe(true);
    expect(failure.type).toBe(POWER_FAILURE.noBareMetalHost);
  });

  it('redfish: the target comes back without any credential; a missing Secret fails naming it', async () => {
    const ok = await resolvePowerProvider(kube, {
      node: 'rf-a',
      power: 'redfish',
      redfish: target('rf-a-verified', { systemId: 'rf-a' }),
    });
    expect(ok).toEqual({ kind: 'redfish', ...target('rf-a-verified', { systemId: 'rf-a' }) });
    expectNoPassword(JSON.stringify(ok));

    const missing = await failureOf(
      resolvePowerProvider(kube, { node: 'rf-a', power: 'redfish', redfish: target('rf-a-missing') }),
    );
    expect(missing.message).toBe('BMC credentials Secret pitstop-bmc/rf-a-missing not found');
    expect(missing.nonRetryable).toBe(true);
    expectNoPassword(missing.message);

    const incomplete = await failureOf(
      resolvePowerProvider(kube, { node: 'rf-b', power: 'redfish', redfish: target('rf-b-nopassword') }),
    );
    expect(incomplete.message).toBe('BMC credentials Secret pitstop-bmc/rf-b-nopassword has no password');
    expect(incomplete.nonRetryable).toBe(true);

    const noTarget = await failureOf(resolvePowerProvider(kube, { node: 'rf-a', power: 'redfish' }));
    expect(noTarget.nonRetryable).toBe(true);
  });
});

describe('Metal3', () => {
  const provider: ResolvedPowerProvider = { kind: 'metal3', bmh: { namespace: MACHINES, name: 'm3-a' } };
  const bmhPath = paths.resource('metal3.io', 'v1alpha1', 'baremetalhosts', MACHINES, 'm3-a');

  it('powers off through spec.online (idempotently): poweredOn false, node NotReady; on: node Ready', async () => {
    expect(await metal3PowerState(kube, provider.bmh)).toEqual({ poweredOn: true, state: 'On' });
    expect(await powerOff(kube, provider, { graceful: true })).toEqual({ changed: true });
    expect(await powerOff(kube, provider, { graceful: true })).toEqual({ changed: false });
    expect((await kube.get(bmhPath)).spec.online).toBe(false);

    const beats: PowerWaitProgress[] = [];
    const off = await waitForPowerState(kube, provider, {
      on: false,
      timeoutMs: 10_000,
      heartbeat: (p) => beats.push(p),
    });
    expect(off).toEqual({ poweredOn: false, state: 'Off' });
    expect(beats.length).toBeGreaterThan(0);
    expect(beats.at(-1)).toMatchObject({ since: expect.any(Number), reading: { state: 'Off' } });
    expect(await metal3PowerState(kube, provider.bmh)).toMatchObject({ poweredOn: false });
    await nodeIs('m3-a', false);

    expect(await powerOn(kube, provider)).toEqual({ changed: true });
    expect((await kube.get(bmhPath)).spec.online).toBe(true);
    expect(await waitForPowerState(kube, provider, { on: true, timeoutMs: 10_000 })).toEqual({
      poweredOn: true,
      state: 'On',
    });
    await nodeIs('m3-a', true);
    expect(await powerState(kube, provider)).toEqual({ poweredOn: true, state: 'On' });
  });

  it('a wait resumed after its deadline looks once: done if the state is reached, else a timeout naming it', async () => {
    expect(await waitForPowerState(kube, provider, { on: true, timeoutMs: 5000, since: Date.now() - 6000 })).toEqual({
      poweredOn: true,
      state: 'On',
    });
    const failure = await failureOf(
      waitForPowerState(kube, provider, { on: false, timeoutMs: 5000, since: Date.now() - 6000 }),
    );
    expect(failure.type).toBe(POWER_FAILURE.timeout);
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).toMatch(/^BareMetalHost openshift-machine-api\/m3-a not off after .* \(state On\)$/);
  });

  it('stops waiting when the activity is cancelled', async () => {
    const controller = new AbortController();
    const reason = new Error('activity cancelled');
    setTimeout(() => controller.abort(reason), 200);
    const started = Date.now();
    await expect(
      waitForPowerState(kube, provider, { on: false, timeoutMs: 30_000, signal: controller.signal }),
    ).rejects.toBe(reason);
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('surfaces a failing power action from the BareMetalHost status, and the wait fails with it', async () => {
    const failing: ResolvedPowerProvider = { kind: 'metal3', bmh: { namespace: MACHINES, name: 'm3-fails' } };
    await powerOff(kube, failing, { graceful: true });
    const reading = await eventually('BareMetalHost error surfaced', async () => {
      const r = await metal3PowerState(kube, failing.bmh);
      return r.error ? r : undefined;
    });
    expect(reading.poweredOn).toBe(true);
    expect(reading.error).toMatch(/power off: BMC returned an error/);
    const failure = await failureOf(
      waitForPowerState(kube, failing, { on: false, timeoutMs: 10_000, errorGraceMs: 300 }),
    );
    expect(failure.type).toBe(POWER_FAILURE.actionFailed);
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).toContain('BareMetalHost openshift-machine-api/m3-fails: Failed to set power state');
    expect(nodeReady(await kube.get(paths.node('m3-fails')))).toBe(true);
  });
});

describe('Redfish', () => {
  it('powers off (graceful, then forced) and on, verifying the BMC certificate against ca.crt', async () => {
    const provider = await resolvePowerProvider(kube, {
      node: 'rf-a',
      power: 'redfish',
      redfish: target('rf-a-verified', { systemId: 'rf-a' }),
    });
    expect(await powerState(kube, provider)).toEqual({ poweredOn: true, state: 'On' });

    expect(await powerOff(kube, provider, { graceful: true })).toEqual({ changed: true });
    const beats: PowerWaitProgress[] = [];
    expect(
      await waitForPowerState(kube, provider, {
        on: false,
        timeoutMs: 10_000,
        pollMs: 200,
        heartbeat: (p) => beats.push(p),
      }),
    ).toEqual({ poweredOn: false, state: 'Off' });
    expectNoPassword(JSON.stringify(beats));
    await nodeIs('rf-a', false);
    expect(await powerOff(kube, provider, { graceful: true })).toEqual({ changed: false });

    expect(await powerOn(kube, provider)).toEqual({ changed: true });
    await waitForPowerState(kube, provider, { on: true, timeoutMs: 10_000, pollMs: 200 });
    await nodeIs('rf-a', true);
    expect(await powerOn(kube, provider)).toEqual({ changed: false });

    // ForceOff takes effect at once.
    expect(await powerOff(kube, provider, { graceful: false })).toEqual({ changed: true });
    expect(await powerState(kube, provider)).toEqual({ poweredOn: false, state: 'Off' });
    await nodeIs('rf-a', false);
    await powerOn(kube, provider);
    await waitForPowerState(kube, provider, { on: true, timeoutMs: 10_000, pollMs: 200 });
    await nodeIs('rf-a', true);
  });

  it('keeps the credentials out of sight: not in the client object when printed or serialized', async () => {
    const bmc = await openRedfish(kube, target('rf-a-verified', { systemId: 'rf-a' }));
    expect((await bmc.powerState()).state).toBe('On');
    expectNoPassword(inspect(bmc, { depth: 5, showHidden: true }));
    expectNoPassword(JSON.stringify(bmc));
  });

  it('rejects an untrusted certificate (no ca.crt) unless insecureSkipVerify', async () => {
    const sandboxSecret = credential('rf-b').secretName;
    const failure = await failureOf(redfishPowerState(kube, target(sandboxSecret, { systemId: 'rf-b' })));
    expect(failure.type).toBe(POWER_FAILURE.certificateRejected);
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).toContain(`Secret pitstop-bmc/${sandboxSecret} key ca.crt`);
    expect(failure.message).toContain('insecureSkipVerify');

    const insecure = target(sandboxSecret, { systemId: 'rf-b', insecure: true });
    expect(await redfishPowerState(kube, insecure)).toEqual({ poweredOn: true, state: 'On' });
  });

  it('wrong password: a non-retryable credentials failure without the password, which also ends a wait', async () => {
    const wrong = redfish(target('rf-b-wrong', { systemId: 'rf-b' }));
    const failure = await failureOf(powerOff(kube, wrong, { graceful: true }));
    expect(failure.message).toBe('BMC rejected the credentials in Secret pitstop-bmc/rf-b-wrong');
    expect(failure.type).toBe(POWER_FAILURE.credentialsRejected);
    expect(failure.nonRetryable).toBe(true);
    expectNoPassword(failure.message);
    expectNoPassword(JSON.stringify(failure));

    const started = Date.now();
    const waited = await failureOf(waitForPowerState(kube, wrong, { on: false, timeoutMs: 20_000, pollMs: 100 }));
    expect(waited.type).toBe(POWER_FAILURE.credentialsRejected);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(nodeReady(await kube.get(paths.node('rf-b')))).toBe(true);
  });

  it('unreachable BMC: retryable failures; a wait keeps trying and times out with the last error', async () => {
    const sandboxSecret = credential('rf-b').secretName;
    const provider = redfish(target(sandboxSecret, { systemId: 'rf-b', insecure: true }));
    await kube.patch(paths.node('rf-b'), { metadata: { annotations: { [UNREACHABLE]: 'true' } } });
    try {
      await eventually('BMC of rf-b unreachable', async () => {
        const f = await failureOf(powerState(kube, provider)).catch(() => undefined);
        return f?.type === POWER_FAILURE.unreachable ? f : undefined;
      });
      const failure = await failureOf(powerOff(kube, provider, { graceful: false }));
      expect(failure.type).toBe(POWER_FAILURE.unreachable);
      expect(failure.nonRetryable).toBe(false);
      expect(failure.message).toMatch(/^BMC unreachable: https:\/\/127\.0\.0\.1:\d+ \(\w+\)$/);

      const waited = await failureOf(waitForPowerState(kube, provider, { on: false, timeoutMs: 1000, pollMs: 100 }));
      expect(waited.type).toBe(POWER_FAILURE.timeout);
      expect(waited.message).toContain('not off after 1s; last error: BMC unreachable');
    } finally {
      await kube.patch(paths.node('rf-b'), { metadata: { annotations: { [UNREACHABLE]: null } } });
    }
    expect(await powerState(kube, provider)).toEqual({ poweredOn: true, state: 'On' });
  });

  it('a failing power action (5xx) is retryable and carries the Redfish message', async () => {
    const provider = redfish(target(credential('rf-fails').secretName, { systemId: 'rf-fails', insecure: true }));
    const failure = await failureOf(powerOff(kube, provider, { graceful: true }));
    expect(failure.type).toBe(POWER_FAILURE.bmcError);
    expect(failure.nonRetryable).toBe(false);
    expect(failure.message).toContain('500 power action failed (sandbox knob)');
    expect(failure.message.length).toBeLessThan(300);
  });
});

describe('Redfish system discovery and error bodies (a single-system BMC, served here)', () => {
  let server: https.Server;
  let address: string;
  let members = ['/redfish/v1/Systems/only-one'];
  const posts: { url: string; body: string }[] = [];
  const secretName = 'fake-bmc';
  const password = 's3cret-fake-bmc-pw';
  const echoPassword = { on: false };

  beforeAll(async () => {
    await secret(secretName, { username: 'root', password, 'ca.crt': sandbox.cluster.ca.cert });
    const expected = `Basic ${Buffer.from(`root:${password}`).toString('base64')}`;
    server = https.createServer(
      { cert: sandbox.cluster.serving.cert, key: sandbox.cluster.serving.key },
      (req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          const json = (status: number, body?: unknown) =>
            res.writeHead(status, { 'Content-Type': 'application/json' }).end(body ? JSON.stringify(body) : undefined);
          if (req.headers.authorization !== expected) return json(401, { error: { message: 'unauthorized' } });
          if (req.url === '/redfish/v1/Systems') {
            return json(200, { Members: members.map((m) => ({ '@odata.id': m })) });
          }
          if (req.url === '/redfish/v1/Systems/only-one' && req.method === 'GET') {
            return json(200, {
              Id: 'only-one',
              PowerState: 'On',
              Actions: { '#ComputerSystem.Reset': { target: '/redfish/v1/Systems/only-one/Actions/Vendor.Reset' } },
            });
          }
          if (req.method === 'POST') {
            posts.push({ url: req.url ?? '', body: Buffer.concat(chunks).toString('utf8') });
            if (echoPassword.on) {
              return json(503, {
                error: {
                  code: 'Base.1.0.GeneralError',
                  message: 'general error',
                  '@Message.ExtendedInfo': [{ Message: `service busy; login root/${password} is throttled` }],
                },
              });
            }
            return res.writeHead(204).end();
          }
          json(404, { error: { message: 'no such resource' } });
        });
      },
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    address = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
  });

  it('uses the only member of /redfish/v1/Systems and the reset target the system advertises', async () => {
    const provider = redfish(target(secretName, { address }));
    expect(await powerState(kube, provider)).toEqual({ poweredOn: true, state: 'On' });
    expect(await powerOff(kube, provider, { graceful: false })).toEqual({ changed: true });
    expect(posts.at(-1)).toEqual({
      url: '/redfish/v1/Systems/only-one/Actions/Vendor.Reset',
      body: JSON.stringify({ ResetType: 'ForceOff' }),
    });
  });

  it('asks for a systemId when the BMC has several systems', async () => {
    members = ['/redfish/v1/Systems/a', '/redfish/v1/Systems/b'];
    try {
      const failure = await failureOf(powerState(kube, redfish(target(secretName, { address }))));
      expect(failure.type).toBe(POWER_FAILURE.systemAmbiguous);
      expect(failure.nonRetryable).toBe(true);
      expect(failure.message).toBe(`BMC ${address} has 2 systems (a, b): set redfish.systemId`);
    } finally {
      members = ['/redfish/v1/Systems/only-one'];
    }
  });

  it('keeps the Redfish message of a 5xx short and scrubs a password the BMC echoes', async () => {
    echoPassword.on = true;
    try {
      const failure = await failureOf(powerOff(kube, redfish(target(secretName, { address })), { graceful: true }));
      expect(failure.type).toBe(POWER_FAILURE.bmcError);
      expect(failure.nonRetryable).toBe(false);
      expect(failure.message).toContain('503 service busy; login root/*** is throttled');
      expect(failure.message).not.toContain(password);
    } finally {
      echoPassword.on = false;
    }
  });
});
