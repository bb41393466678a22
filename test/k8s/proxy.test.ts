// A kubeconfig's `proxy-url` is honoured as kubectl honours it: the client asks the proxy for a CONNECT tunnel to
// the API server and speaks TLS to the API server inside it. The proxy here is a tiny one started by the test: it
// counts the tunnels it opens and the targets asked for.
import { readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { KubeClient, paths, type KubeObject } from '../../src/k8s/client.js';
import type { Sandbox } from '../../src/sandbox/index.js';
import { startSandboxOnly } from '../support/env.js';

let sandbox: Sandbox;
let proxy: http.Server;
let proxyUrl: string;
const tunnels: string[] = [];

beforeAll(async () => {
  sandbox = await startSandboxOnly();
  proxy = http.createServer((_req, res) => res.writeHead(405).end('CONNECT only'));
  proxy.on('connect', (req: http.IncomingMessage, client: net.Socket, head: Buffer) => {
    tunnels.push(req.url ?? '');
    const [host, port] = (req.url ?? '').split(':');
    const upstream = net.connect(Number(port), host, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    const close = () => {
      upstream.destroy();
      client.destroy();
    };
    upstream.on('error', close);
    client.on('error', close);
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
});

afterAll(async () => {
  proxy?.closeAllConnections();
  await new Promise((resolve) => proxy?.close(resolve));
  await sandbox?.stop();
});

/** The sandbox's kubeconfig with `proxy-url` set on its cluster. */
function kubeconfigWithProxy(): string {
  const config = parse(readFileSync(sandbox.kubeconfigPath, 'utf8')) as {
    clusters: { cluster: Record<string, unknown> }[];
  };
  for (const { cluster } of config.clusters) cluster['proxy-url'] = proxyUrl;
  const file = join(sandbox.cluster.dir, 'kubeconfig-proxied');
  writeFileSync(file, stringify(config));
  return file;
}

it('sends requests and watches through the proxy-url of the kubeconfig, TLS to the API server inside a CONNECT tunnel', async () => {
  const apiServer = new URL(sandbox.cluster.server).host;
  const client = KubeClient.fromFile(kubeconfigWithProxy());
  try {
    const before = tunnels.length;
    const namespaces = await client.list(paths.namespaces());
    expect(namespaces.items.map((n) => n.metadata.name)).toContain('default');
    await client.get(paths.namespace('default'));
    await client.get(paths.namespace('kube-system'));
    // Requests share one keep-alive tunnel; a watch opens its own.
    expect(tunnels.slice(before)).toEqual([apiServer]);

    const events: string[] = [];
    const stop = new AbortController();
    // The patch's answer can arrive after the watch event it causes: it is awaited before the client closes, or
    // closing the client would cut it off mid-answer (an unhandled "socket hang up").
    let patched: Promise<unknown> = Promise.resolve();
    await client.watch<KubeObject>(
      paths.namespaces(),
      { fieldSelector: 'metadata.name=default', resourceVersion: namespaces.metadata.resourceVersion },
      (e) => {
        events.push(e.type);
        stop.abort();
      },
      stop.signal,
      {
        onOpen: () => {
          patched = client.patch(paths.namespace('default'), { metadata: { labels: { proxied: 'yes' } } });
        },
      },
    );
    await patched;
    expect(events).toEqual(['MODIFIED']);
    expect(tunnels.slice(before)).toEqual([apiServer, apiServer]);
  } finally {
    client.close();
  }
});

it('connects directly when the kubeconfig names no proxy', async () => {
  const before = tunnels.length;
  const client = KubeClient.fromFile(sandbox.kubeconfigPath);
  try {
    await client.list(paths.namespaces());
    expect(tunnels.length).toBe(before);
  } finally {
    client.close();
  }
});
