// How the browser tests find Chromium, and what they say when they cannot (installing it is the UI test's job).
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { chromiumVersion, ensureChromium } from '../../src/tools/chromium.js';

const saved = { ...process.env };
afterEach(() => {
  process.env = { ...saved };
});

/** A PATH with nothing on it: no chromium, no apt-get, no sudo. */
function isolate(): string {
  const empty = mkdtempSync(join(tmpdir(), 'pitstop-chromium-'));
  process.env.PATH = empty;
  delete process.env.PITSTOP_CHROMIUM;
  return empty;
}

function fakeChromium(dir: string, name: string): string {
  const path = join(dir, name);
  writeFileSync(path, '#!/bin/sh\necho "Chromium 148.0.7778.167 built on Debian GNU/Linux 12 (bookworm)"\n');
  chmodSync(path, 0o755);
  return path;
}

describe('Chromium look-up', () => {
  it('says how to install it when it is missing and apt-get cannot run', async () => {
    isolate();
    await expect(ensureChromium(() => {})).rejects.toThrow(
      /Chromium is not installed and cannot be installed here.*apt-get install -y chromium fonts-liberation.*PITSTOP_CHROMIUM/,
    );
  });

  it('uses PITSTOP_CHROMIUM first, and refuses one that does not exist', async () => {
    const dir = isolate();
    fakeChromium(dir, 'chromium');
    process.env.PITSTOP_CHROMIUM = fakeChromium(dir, 'my-chrome');
    expect(await ensureChromium(() => {})).toBe(join(dir, 'my-chrome'));
    process.env.PITSTOP_CHROMIUM = '/nonexistent/chromium';
    await expect(ensureChromium(() => {})).rejects.toThrow('PITSTOP_CHROMIUM=/nonexistent/chromium does not exist');
  });

  it('finds Debian and Ubuntu names on PATH without installing anything', async () => {
    const dir = isolate();
    const browser = fakeChromium(dir, 'chromium-browser');
    expect(await ensureChromium(() => {})).toBe(browser);
    expect(await chromiumVersion(browser)).toMatch(/^Chromium 148\./);
    expect(await chromiumVersion(join(dir, 'absent'))).toBeUndefined();
  });
});
