// KubeVirt's `stop` and `start` subresources of VirtualMachines, served to the real API server the way virt-api
// serves them: an aggregated API (an APIService for subresources.kubevirt.io/v1 naming a Service), so the API
// server authenticates and authorizes the caller (RBAC on virtualmachines/stop and virtualmachines/start in group
// subresources.kubevirt.io, verb update) and proxies the PUT here. What each answers, with KubeVirt's codes and
// texts, after kubevirt/kubevirt pkg/virt-api/rest/lifecycle.go (`StopVMRequestHandler`, `StartVMRequestHandler`,
// `getChangeRequestJson`, `getRunningPatch`) and subresource.go (`fetchVirtualMachine`, the `vmNotRunning` text):
// - Manual and RerunOnFailure keep spec.runStrategy: the request becomes an entry of status.stateChangeRequests
//   (Stop with the VMI's uid, Start), written with a JSON patch that tests the list first; virt-controller acts on
//   it (src/sandbox/controllers/vm.ts);
// - Always (and Once) stop by patching runStrategy Halted, Halted starts by patching runStrategy Always (a legacy
//   spec.running becomes false/true instead);
// - refusals are 409 Conflicts on `virtualmachine.kubevirt.io "<name>"`, a VM that is not there a 404, a request
//   while another is underway a 500 InternalError, and success a 202 with no body.
// A body that does not parse is a 400 BadRequest. Not modelled: StopOptions.gracePeriod (so a Halted VM's stop is
// always refused), StartOptions.paused, dryRun.
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { generate } from 'selfsigned';
import { KUBEVIRT_SUBRESOURCES } from '../domain/contract.js';
import { isNotFound, type KubeObject } from '../k8s/client.js';
import { runStrategyOf } from './controllers/vm.js';
import { vmPath, vmiPath, type SimContext } from './context.js';

export const SUBRESOURCE_GROUP = KUBEVIRT_SUBRESOURCES.group;
const API_SERVICE = `/apis/apiregistration.k8s.io/v1/apiservices/v1.${SUBRESOURCE_GROUP}`;
/** virt-api's Service, as KubeVirt names it; the API server checks the serving certificate against this name. */
const SERVICE = { namespace: 'kubevirt', name: 'virt-api' };

interface Answer {
  code: number;
  body?: unknown;
}

/** A Status as the API server's errors package builds it for virt-api (`errors.NewConflict`, `NewNotFound`, …). */
function status(code: number, reason: string, message: string, name?: string): Answer {
  const details = name === undefined ? undefined : { name, group: 'kubevirt.io', kind: 'virtualmachine' };
  return {
    code,
    body: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, details, code },
  };
}
const conflict = (name: string, why: string) =>
  status(409, 'Conflict', `Operation cannot be fulfilled on virtualmachine.kubevirt.io "${name}": ${why}`, name);
const internal = (why: string) => status(500, 'InternalError', `Internal error occurred: ${why}`);
const accepted: Answer = { code: 202 };

const isFinal = (vmi: KubeObject) => vmi.status?.phase === 'Succeeded' || vmi.status?.phase === 'Failed';

type Change = { action: 'Stop'; uid: string } | { action: 'Start' };

/**
 * The status patch that queues `changes` (lifecycle.go `getChangeRequestJson`): a VM with no status gets one; else
 * the list is tested as read, then added to when empty or replaced by a lone Stop; anything else is refused.
 */
function changeRequestPatch(vm: KubeObject, changes: Change[]): unknown[] | string {
  const current: unknown[] | undefined = vm.status?.stateChangeRequests;
  if (!vm.status || Object.keys(vm.status).length === 0) {
    return [{ op: 'add', path: '/status', value: { stateChangeRequests: changes } }];
  }
  const ops: unknown[] = [{ op: 'test', path: '/status/stateChangeRequests', value: current ?? null }];
  if (!current || current.length === 0) ops.push({ op: 'add', path: '/status/stateChangeRequests', value: changes });
  else if (changes.length === 1 && changes[0]?.action === 'Stop')
    ops.push({ op: 'replace', path: '/status/stateChangeRequests', value: changes });
  else return 'unable to complete request: stop/start already underway';
  return ops;
}

/** lifecycle.go `getRunningPatch`: runStrategy Halted/Always, or spec.running for a VM that still uses it. */
function runningPatch(vm: KubeObject, running: boolean): unknown[] {
  if (vm.spec?.runStrategy !== undefined) {
    return [
      { op: 'test', path: '/spec/runStrategy', value: vm.spec.runStrategy },
      { op: 'replace', path: '/spec/runStrategy', value: running ? 'Always' : 'Halted' },
    ];
  }
  return [
    { op: 'test', path: '/spec/running', value: vm.spec?.running ?? null },
    { op: 'replace', path: '/spec/running', value: running },
  ];
}

async function applyPatch(ctx: SimContext, path: string, name: string, ops: unknown[]): Promise<Answer> {
  try {
    await ctx.client.patch(path, ops, 'json');
    return accepted;
  } catch (e) {
    const message = (e as Error).message.replace(/^\d+ \w+: /, '');
    // A list or field that changed since it was read: virt-api turns the failed test into a Conflict.
    if (message.includes('test operation does not apply')) return conflict(name, message);
    return internal(message);
  }
}

async function read(ctx: SimContext, ns: string, name: string) {
  const vm = await ctx.client.find(vmPath(ns, name));
  const vmi = vm ? await ctx.client.find(vmiPath(ns, name)) : undefined;
  return { vm, vmi };
}

async function stop(ctx: SimContext, ns: string, name: string): Promise<Answer> {
  const { vm, vmi } = await read(ctx, ns, name);
  if (!vm) return status(404, 'NotFound', `virtualmachine.kubevirt.io "${name}" not found`, name);
  const strategy = runStrategyOf(vm);
  const running = vmi !== undefined && !isFinal(vmi);
  switch (strategy) {
    case 'Halted':
      if (!running) return conflict(name, 'VM is not running');
      // Only a shorter grace period would be accepted, and StopOptions.gracePeriod is not modelled.
      return conflict(name, 'Halted only supports manual stop requests with a shorter graceperiod');
    case 'Manual':
    case 'RerunOnFailure': {
      if (!running) return conflict(name, 'VM is not running');
      const patch = changeRequestPatch(vm, [{ action: 'Stop', uid: vmi.metadata.uid as string }]);
      if (typeof patch === 'string') return internal(patch);
      return await applyPatch(ctx, vmPath(ns, name, 'status'), name, patch);
    }
    default: // Always, Once
      return await applyPatch(ctx, vmPath(ns, name), name, runningPatch(vm, false));
  }
}

async function start(ctx: SimContext, ns: string, name: string): Promise<Answer> {
  const { vm, vmi } = await read(ctx, ns, name);
  if (!vm) return status(404, 'NotFound', `virtualmachine.kubevirt.io "${name}" not found`, name);
  const phase: string = vmi?.status?.phase ?? '';
  if (vmi && !isFinal(vmi) && phase !== 'Unknown' && phase !== '') return conflict(name, 'VM is already running');
  const strategy = runStrategyOf(vm);
  switch (strategy) {
    case 'Halted':
      return await applyPatch(ctx, vmPath(ns, name), name, runningPatch(vm, true));
    case 'Manual':
    case 'RerunOnFailure': {
      if (strategy === 'RerunOnFailure' && phase === 'Failed')
        return conflict(name, 'RerunOnFailure does not support starting VM from failed state');
      // A finished VMI is still there: stop it first, then start a new one (the restart KubeVirt queues).
      const restart = vmi !== undefined && (strategy === 'Manual' ? isFinal(vmi) : phase === 'Succeeded');
      const changes: Change[] = restart
        ? [{ action: 'Stop', uid: vmi.metadata.uid as string }, { action: 'Start' }]
        : [{ action: 'Start' }];
      const patch = changeRequestPatch(vm, changes);
      if (typeof patch === 'string') return internal(patch);
      return await applyPatch(ctx, vmPath(ns, name, 'status'), name, patch);
    }
    default: // Always, Once
      return conflict(name, `${strategy} does not support manual start requests`);
  }
}

const RESOURCES = {
  kind: 'APIResourceList',
  apiVersion: 'v1',
  groupVersion: `${SUBRESOURCE_GROUP}/v1`,
  resources: ['stop', 'start'].map((sub) => ({
    name: `virtualmachines/${sub}`,
    singularName: '',
    namespaced: true,
    kind: 'VirtualMachine',
    verbs: ['update'],
  })),
};
const GROUP = {
  name: SUBRESOURCE_GROUP,
  versions: [{ groupVersion: `${SUBRESOURCE_GROUP}/v1`, version: 'v1' }],
  preferredVersion: { groupVersion: `${SUBRESOURCE_GROUP}/v1`, version: 'v1' },
};

async function route(ctx: SimContext, method: string, path: string, body: string): Promise<Answer> {
  // Discovery: the API server's availability check and aggregated discovery read these.
  if (method === 'GET' && path === '/apis') return { code: 200, body: { kind: 'APIGroupList', groups: [GROUP] } };
  if (method === 'GET' && path === `/apis/${SUBRESOURCE_GROUP}`)
    return { code: 200, body: { kind: 'APIGroup', ...GROUP } };
  if (method === 'GET' && path === `/apis/${SUBRESOURCE_GROUP}/v1`) return { code: 200, body: RESOURCES };
  const m = new RegExp(`^/apis/${SUBRESOURCE_GROUP}/v1/namespaces/([^/]+)/virtualmachines/([^/]+)/(stop|start)$`).exec(
    path,
  );
  if (m && method === 'PUT') {
    const [, ns, name, action] = m as unknown as [string, string, string, string];
    // subresource.go `decodeBody`: an empty body is fine, one that does not parse is a 400 before anything is read
    // or written (the error after "error: " is Go's decoder's own text upstream, the JSON parser's here).
    if (body.trim() !== '') {
      try {
        JSON.parse(body);
      } catch (e) {
        return status(400, 'BadRequest', `Can not unmarshal Request body to struct, error: ${(e as Error).message}`);
      }
    }
    return action === 'stop' ? await stop(ctx, ns, name) : await start(ctx, ns, name);
  }
  if (m) return status(405, 'MethodNotAllowed', `the server does not allow this method on the requested resource`);
  return status(404, 'NotFound', 'the server could not find the requested resource');
}

export interface SubresourceApi {
  /** Registers the APIService (again, e.g. after a test took it away) and waits until the API server serves it. */
  serve(): Promise<void>;
  /** Removes the APIService, as on a cluster whose KubeVirt does not serve the subresources. */
  unserve(): Promise<void>;
  close(): Promise<void>;
}

export async function startSubresourceApi(ctx: SimContext, ca: { cert: string; key: string }): Promise<SubresourceApi> {
  const host = `${SERVICE.name}.${SERVICE.namespace}.svc`;
  const pems = await generate([{ name: 'commonName', value: host }], {
    keyType: 'ec',
    algorithm: 'sha256',
    notAfterDate: new Date(Date.now() + 365 * 24 * 3600 * 1000),
    ca: { key: ca.key, cert: ca.cert },
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: [{ type: 2, value: host }] },
    ],
  });
  const server = https.createServer({ cert: pems.cert, key: pems.private }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        let answer: Answer;
        try {
          const path = new URL(req.url ?? '/', 'https://virt-api').pathname;
          answer = await route(ctx, req.method ?? 'GET', path, Buffer.concat(chunks).toString('utf8'));
        } catch (e) {
          answer = internal(`sandbox virt-api: ${(e as Error).message}`);
        }
        if (answer.body === undefined) res.writeHead(answer.code).end();
        else res.writeHead(answer.code, { 'Content-Type': 'application/json' }).end(JSON.stringify(answer.body));
      })();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  const serve = async () => {
    await ensure(ctx, `/api/v1/namespaces/${SERVICE.namespace}`, {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: SERVICE.namespace },
    });
    // No kube-proxy and no pod network here: an ExternalName Service naming the loopback address is what the
    // API server's aggregator resolves (it dials <externalName>:<APIService port>, checking the certificate
    // against <service>.<namespace>.svc).
    await ensure(ctx, `/api/v1/namespaces/${SERVICE.namespace}/services/${SERVICE.name}`, {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: SERVICE.name, namespace: SERVICE.namespace },
      spec: { type: 'ExternalName', externalName: '127.0.0.1', ports: [{ port: 443 }] },
    });
    await ensure(ctx, API_SERVICE, {
      apiVersion: 'apiregistration.k8s.io/v1',
      kind: 'APIService',
      metadata: { name: `v1.${SUBRESOURCE_GROUP}` },
      spec: {
        group: SUBRESOURCE_GROUP,
        version: 'v1',
        groupPriorityMinimum: 1000,
        versionPriority: 15,
        service: { ...SERVICE, port },
        caBundle: Buffer.from(ca.cert).toString('base64'),
      },
    });
    await untilServed(ctx, true);
  };
  await serve();
  return {
    serve,
    async unserve() {
      try {
        await ctx.client.delete(API_SERVICE);
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
      await untilServed(ctx, false);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Creates `object` at `path`, or replaces what is there (a restarted sandbox listens on another port). */
async function ensure(ctx: SimContext, path: string, object: KubeObject) {
  const existing = await ctx.client.find(path);
  if (!existing) {
    await ctx.client.create(path.slice(0, path.lastIndexOf('/')), object);
  } else if (object.kind !== 'Namespace') {
    await ctx.client.replace(path, {
      ...object,
      metadata: { ...object.metadata, resourceVersion: existing.metadata.resourceVersion },
    });
  }
}

/**
 * The aggregator picks an APIService up asynchronously: wait until a PUT of a VM that does not exist reaches us
 * (our 404 names the VM) or, once unregistered, gets the API server's own 404 again.
 */
async function untilServed(ctx: SimContext, served: boolean) {
  const probe = `/apis/${SUBRESOURCE_GROUP}/v1/namespaces/default/virtualmachines/sandbox-probe/stop`;
  let last = 'no answer';
  for (let i = 0; i < 600; i++) {
    try {
      await ctx.client.request('PUT', probe, {});
      last = 'accepted';
    } catch (e) {
      last = (e as Error).message;
      const ours = last.includes('virtualmachine.kubevirt.io "sandbox-probe" not found');
      // The API server's own answer for a group nobody serves: a plain-text 404 ("404 page not found").
      const apiServers = last.startsWith('404') && !ours;
      if (served ? ours : apiServers) return;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`the sandbox's ${SUBRESOURCE_GROUP} API did not become ${served ? 'served' : 'unserved'}: ${last}`);
}
