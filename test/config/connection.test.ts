// The one Temporal connection module: TLS material read once from the configured files, a file that went away is a
// configuration error naming its variable, and the API key and the CA reach a real TLS handshake, for the client
// connection (API, CLI) and the worker's native connection alike.
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createSecureServer, type Http2SecureServer, type IncomingHttpHeaders } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generate } from 'selfsigned';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/index.js';
import { loadTemporalConfig } from '../../src/config/temporal.js';
import { connectClient, connectWorker, temporalEndpoint } from '../../src/temporal/connection.js';

const dir = mkdtempSync(join(tmpdir(), 'pitstop-connection-'));
let server: Http2SecureServer;
let address: string;
const seen: IncomingHttpHeaders[] = [];

/** A self-signed certificate for `localhost` only (not 127.0.0.1), its own CA: the server name override is needed. */
async function certificate() {
  const pem = await generate([{ name: 'commonName', value: 'localhost' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    extensions: [{ name: 'subjectAltName', altNames: [{ type: 2, value: 'localhost' }] }],
  });
  return { ca: pem.cert, cert: pem.cert, key: pem.private };
}

beforeAll(async () => {
  const pem = await certificate();
  writeFileSync(join(dir, 'ca.pem'), pem.ca);
  // A gRPC endpoint that records each call's headers and refuses it, as a server refusing a bad key would.
  server = createSecureServer({ cert: pem.cert, key: pem.key, allowHTTP1: false });
  server.on('stream', (stream, headers) => {
    seen.push(headers);
    stream.respond(
      { ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '16', 'grpc-message': 'recorded' },
      { endStream: true },
    );
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  address = `127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server?.close();
  rmSync(dir, { recursive: true, force: true });
});

const settings = (caPath: string) =>
  loadTemporalConfig({
    TEMPORAL_ADDRESS: address,
    TEMPORAL_NAMESPACE: 'ns-1',
    TEMPORAL_API_KEY: 'key-0123456789',
    TEMPORAL_TLS_SERVER_CA_CERT_PATH: caPath,
    TEMPORAL_TLS_SERVER_NAME: 'localhost',
  }).temporal;

describe('the Temporal connection', () => {
  it('reads the TLS files once: both connections handshake with the CA read then, and send the API key', async () => {
    const caPath = join(dir, 'ca-once.pem');
    writeFileSync(caPath, readFileSync(join(dir, 'ca.pem')));
    const endpoint = temporalEndpoint(settings(caPath));
    rmSync(caPath); // nothing reads it again: both connections below use what was read
    expect(endpoint.namespace).toBe('ns-1');

    seen.length = 0;
    await expect(connectClient(endpoint, { connectTimeoutMs: 5000 })).rejects.toThrow();
    const byClient = seen.length;
    await expect(connectWorker(endpoint)).rejects.toThrow();
    // Each connection got through the TLS handshake (the server saw its calls) and presented the API key.
    expect(byClient).toBeGreaterThanOrEqual(1);
    expect(seen.length).toBeGreaterThan(byClient);
    for (const headers of seen) expect(headers.authorization).toBe('Bearer key-0123456789');
  });

  it('a CA that did not sign the server certificate fails the handshake: the configured CA is the one used', async () => {
    const otherCa = join(dir, 'other-ca.pem');
    writeFileSync(otherCa, (await certificate()).ca);
    seen.length = 0;
    await expect(connectClient(temporalEndpoint(settings(otherCa)), { connectTimeoutMs: 3000 })).rejects.toThrow();
    expect(seen).toEqual([]);
  });

  it('a TLS file that went away after the configuration was read is a configuration error naming its variable', () => {
    const caPath = join(dir, 'ca-gone.pem');
    writeFileSync(caPath, 'x');
    const read = settings(caPath);
    rmSync(caPath);
    let error: unknown;
    try {
      temporalEndpoint(read);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual([
      `TEMPORAL_TLS_SERVER_CA_CERT_PATH ${caPath} cannot be read (ENOENT)`,
    ]);
  });

  it('without TLS settings the endpoint is plaintext and carries no key', () => {
    const endpoint = temporalEndpoint(loadTemporalConfig({ TEMPORAL_ADDRESS: 'temporal:7233' }).temporal);
    expect(endpoint).toEqual({ address: 'temporal:7233', namespace: 'default' });
  });
});
