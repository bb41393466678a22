// Finds Debian's Chromium for the browser tests, installing it with apt when it is missing (no browser downloads:
// only the Debian archive is reachable, and `npx playwright install` is not). Look-up order, as for the server
// binaries: explicit env (PITSTOP_CHROMIUM) → PATH (chromium, chromium-browser) → `apt-get install chromium`.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { onPath } from './binaries.js';

const run = promisify(execFile);

/** What Debian installs: the browser and a metric-compatible font set, so pages render as designed. */
export const CHROMIUM_PACKAGES = ['chromium', 'fonts-liberation'] as const;

/**
 * Flags for a headless Chromium on a machine with a closed network, running as root. Without the
 * background-networking flags Chromium keeps trying (and failing) to reach Google's hosts.
 */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
] as const;

type Log = (line: string) => void;
const defaultLog: Log = (line) => process.stderr.write(`[chromium] ${line}\n`);

const findOnPath = () => onPath('chromium') ?? onPath('chromium-browser');

/** `Chromium 148.0.7778.167 built on Debian …`, or undefined if the binary does not run. */
export async function chromiumVersion(binary: string): Promise<string | undefined> {
  try {
    const { stdout } = await run(binary, ['--version'], { timeout: 30_000 });
    return stdout.trim() || undefined;
  } catch {
    return undefined;
  }
}

/** How apt-get can be run here: directly as root, through password-less sudo, or not at all. */
async function aptCommand(): Promise<string[] | undefined> {
  const aptGet = onPath('apt-get');
  if (!aptGet) return undefined;
  if (process.getuid?.() === 0) return [aptGet];
  const sudo = onPath('sudo');
  if (!sudo) return undefined;
  try {
    await run(sudo, ['-n', 'true'], { timeout: 10_000 });
    return [sudo, '-n', aptGet];
  } catch {
    return undefined;
  }
}

const missingMessage =
  `Chromium is not installed and cannot be installed here (apt-get is unavailable, or this user is not root and ` +
  `has no password-less sudo). Install it with 'sudo apt-get install -y ${CHROMIUM_PACKAGES.join(' ')}' ` +
  `(Debian/Ubuntu), or set PITSTOP_CHROMIUM to a Chromium or Chrome binary.`;

async function apt(command: string[], args: string[], log: Log): Promise<void> {
  const [bin, ...pre] = command;
  // Wait for a lock another apt holds instead of failing at once; never ask questions.
  const full = [...pre, '-o', 'DPkg::Lock::Timeout=600', ...args];
  log(`${command.join(' ')} ${args.join(' ')}`);
  await run(bin!, full, {
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    maxBuffer: 64 * 1024 * 1024,
    timeout: 20 * 60_000,
  });
}

export async function ensureChromium(log: Log = defaultLog): Promise<string> {
  const fromEnv = process.env.PITSTOP_CHROMIUM;
  if (fromEnv) {
    if (!existsSync(fromEnv)) throw new Error(`PITSTOP_CHROMIUM=${fromEnv} does not exist`);
    return fromEnv;
  }
  const found = findOnPath();
  if (found) return found;

  const command = await aptCommand();
  if (!command) throw new Error(missingMessage);
  log(`Chromium is missing: installing Debian's ${CHROMIUM_PACKAGES.join(' ')} (first run only; a minute or two)…`);
  const started = Date.now();
  const install = ['install', '-y', '--no-install-recommends', ...CHROMIUM_PACKAGES];
  try {
    await apt(command, install, log);
  } catch {
    // A fresh machine may have empty package lists: refresh them once and try again.
    try {
      await apt(command, ['update'], log);
      await apt(command, install, log);
    } catch (e) {
      const err = e as { stderr?: string; message: string };
      const tail = (err.stderr ?? err.message).trim().split('\n').slice(-5).join('\n');
      throw new Error(`apt-get could not install ${CHROMIUM_PACKAGES.join(' ')}:\n${tail}`, { cause: e });
    }
  }
  const installed = findOnPath();
  if (!installed) throw new Error(`apt-get installed ${CHROMIUM_PACKAGES[0]}, but no chromium is on PATH`);
  log(
    `${(await chromiumVersion(installed)) ?? 'chromium'} installed in ${Math.round((Date.now() - started) / 1000)} s`,
  );
  return installed;
}

// `npx tsx src/tools/chromium.ts`: find or install Chromium, print where it is.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const binary = await ensureChromium();
  console.log(`${binary}  ${(await chromiumVersion(binary)) ?? '(does not run)'}`);
}
