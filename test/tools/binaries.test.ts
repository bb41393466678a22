// How the project finds its server binaries, and what it says when it cannot.
import { mkdtempSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ensureKubeBinaries, ensureTemporal, KUBE_BINARIES } from '../../src/tools/binaries.js';

const saved = { ...process.env };
afterEach(() => {
  process.env = { ...saved };
});

function isolate() {
  const empty = mkdtempSync(join(tmpdir(), 'pitstop-tools-'));
  process.env.PATH = empty; // no go, no temporal, no kube binaries
  process.env.PITSTOP_CACHE_DIR = join(empty, 'cache');
  delete process.env.TEMPORAL_CLI;
  delete process.env.KUBEBUILDER_ASSETS;
  return empty;
}

describe('tool look-up', () => {
  it('says what to install when neither the binaries nor Go are there', async () => {
    isolate();
    await expect(ensureTemporal(() => {})).rejects.toThrow(
      /Temporal CLI v1\.5\.1 is not installed and Go is not available.*Install Go/,
    );
    await expect(ensureKubeBinaries(() => {})).rejects.toThrow(
      /Kubernetes v1\.36\.3 \(kube-apiserver, etcd, kubectl, kube-controller-manager, kube-scheduler\)/,
    );
  });

  it('uses TEMPORAL_CLI and KUBEBUILDER_ASSETS first, as envtest does', async () => {
    const dir = isolate();
    for (const name of ['temporal', ...KUBE_BINARIES]) {
      writeFileSync(join(dir, name), '#!/bin/sh\n');
      chmodSync(join(dir, name), 0o755);
    }
    process.env.TEMPORAL_CLI = join(dir, 'temporal');
    process.env.KUBEBUILDER_ASSETS = dir;
    expect(await ensureTemporal(() => {})).toBe(join(dir, 'temporal'));
    expect(await ensureKubeBinaries(() => {})).toEqual(Object.fromEntries(KUBE_BINARIES.map((b) => [b, join(dir, b)])));
  });

  it('refuses a TEMPORAL_CLI that does not exist', async () => {
    isolate();
    process.env.TEMPORAL_CLI = '/nonexistent/temporal';
    await expect(ensureTemporal(() => {})).rejects.toThrow('TEMPORAL_CLI=/nonexistent/temporal does not exist');
  });
});
