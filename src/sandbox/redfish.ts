// A Redfish BMC over HTTPS with basic auth, one ComputerSystem per node that has a BMC in the scenario.
// Power state is the machine's (the Node's simulated hardware), so the node goes NotReady when it is off.
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { timingSafeEqual } from 'node:crypto';
import type { SimContext } from './context.js';
import { KNOB, durationKnob, isTrue } from './model.js';
import { machinePower, setMachinePower } from './controllers/kubelet.js';

export interface RedfishAccount {
  systemId: string;
  nodeName: string;
  username: string;
  password: string;
}

export interface RedfishServer {
  url: string;
  addSystem(account: RedfishAccount): void;
  close(): Promise<void>;
}

const sameSecret = (a: string, b: string) => {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
};

export async function startRedfish(ctx: SimContext, tls: { cert: string; key: string }): Promise<RedfishServer> {
  const systems = new Map<string, RedfishAccount>();
  const server = https.createServer({ cert: tls.cert, key: tls.key }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void handle(
        req.method ?? 'GET',
        req.url ?? '/',
        req.headers.authorization,
        Buffer.concat(chunks).toString('utf8'),
      )
        .then(({ status, body }) => {
          if (status === 0) return req.socket.destroy(); // "unreachable"
          res
            .writeHead(status, body ? { 'Content-Type': 'application/json' } : {})
            .end(body ? JSON.stringify(body) : undefined);
        })
        .catch((e: Error) => res.writeHead(500).end(JSON.stringify(redfishError(e.message))));
    });
  });

  const redfishError = (message: string) => ({ error: { code: 'Base.1.0.GeneralError', message } });

  async function handle(
    method: string,
    url: string,
    auth: string | undefined,
    body: string,
  ): Promise<{ status: number; body?: unknown }> {
    if (url === '/redfish/v1' || url === '/redfish/v1/') {
      return {
        status: 200,
        body: { '@odata.id': '/redfish/v1/', Id: 'RootService', Systems: { '@odata.id': '/redfish/v1/Systems' } },
      };
    }
    const match = /^\/redfish\/v1\/Systems\/([^/]+)(\/Actions\/ComputerSystem\.Reset)?\/?$/.exec(url);
    const account = match ? systems.get(decodeURIComponent(match[1] ?? '')) : undefined;
    if (!match || !account) return { status: 404, body: redfishError(`no such resource: ${url}`) };
    const node = ctx.informers.nodes.get(account.nodeName);
    if (isTrue(node, KNOB.bmcUnreachable)) return { status: 0 };
    const [user, pass] = Buffer.from((auth ?? '').replace(/^Basic /, ''), 'base64')
      .toString('utf8')
      .split(':');
    if (
      !auth?.startsWith('Basic ') ||
      !sameSecret(user ?? '', account.username) ||
      !sameSecret(pass ?? '', account.password)
    ) {
      return { status: 401, body: redfishError('authentication required') };
    }
    const on = machinePower(ctx, account.nodeName) ?? false;
    if (!match[2] && method === 'GET') {
      return {
        status: 200,
        body: {
          '@odata.id': `/redfish/v1/Systems/${account.systemId}`,
          Id: account.systemId,
          PowerState: on ? 'On' : 'Off',
          Status: { State: 'Enabled', Health: 'OK' },
        },
      };
    }
    if (match[2] && method === 'POST') {
      let resetType: string | undefined;
      try {
        resetType = (JSON.parse(body) as { ResetType?: string }).ResetType;
      } catch {
        return { status: 400, body: redfishError('body is not JSON') };
      }
      if (isTrue(node, KNOB.powerFails))
        return { status: 500, body: redfishError('power action failed (sandbox knob)') };
      const delay = durationKnob(node, KNOB.powerDelay, ctx.timing.powerDelayMs);
      const later = (fn: () => Promise<void>, ms: number) =>
        setTimeout(() => void fn().catch((e: Error) => ctx.log(`redfish: ${e.message}`)), ms).unref();
      switch (resetType) {
        case 'On':
        case 'ForceOn':
          if (!on) later(() => setMachinePower(ctx, account.nodeName, true), delay);
          return { status: 204 };
        case 'ForceOff':
          if (on) await setMachinePower(ctx, account.nodeName, false);
          return { status: 204 };
        case 'GracefulShutdown':
          if (on) later(() => setMachinePower(ctx, account.nodeName, false), delay);
          return { status: 204 };
        case 'ForceRestart':
        case 'GracefulRestart':
        case 'PowerCycle':
          await setMachinePower(ctx, account.nodeName, false);
          later(() => setMachinePower(ctx, account.nodeName, true), delay);
          return { status: 204 };
        default:
          return { status: 400, body: redfishError(`unsupported ResetType ${resetType}`) };
      }
    }
    return { status: 405, body: redfishError(`${method} not allowed on ${url}`) };
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `https://127.0.0.1:${port}`,
    addSystem: (account) => systems.set(account.systemId, account),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
