// Finds (or builds) the real server binaries Pitstop is tested and demoed against.
// Look-up order for each binary: explicit env → PATH (same version only) → versioned user cache → `go build`.
// The cache lives outside the clone (~/.cache/pitstop) so a fresh CI clone reuses it.
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync, mkdtempSync, readdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const TEMPORAL_CLI_VERSION = 'v1.5.1';
export const KUBERNETES_VERSION = 'v1.36.3';
/** Binaries built from the wrapper module in tools/kube (one pinned Kubernetes release). */
export const KUBE_BINARIES = [
  'kube-apiserver',
  'etcd',
  'kubectl',
  'kube-controller-manager',
  'kube-scheduler',
] as const;
export type KubeBinary = (typeof KUBE_BINARIES)[number];

export interface ToolPaths {
  temporal: string;
  kube: Record<KubeBinary, string>;
}

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export function cacheDir(): string {
  if (process.env.PITSTOP_CACHE_DIR) return process.env.PITSTOP_CACHE_DIR;
  const base = process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache');
  return join(base, 'pitstop');
}

type Log = (line: string) => void;
const defaultLog: Log = (line) => process.stderr.write(`[tools] ${line}\n`);

/** The first `name` on PATH, as a shell would find it. */
export function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}

async function versionOf(binary: string, args: string[]): Promise<string> {
  try {
    const { stdout, stderr } = await run(binary, args, { timeout: 15_000 });
    return stdout + stderr;
  } catch {
    return '';
  }
}

/** The semver without the leading "v", as the binaries print it. */
const bare = (version: string) => version.replace(/^v/, '');

async function goAvailable(): Promise<boolean> {
  return (await versionOf('go', ['version'])).startsWith('go version');
}

function missingGoMessage(what: string): string {
  return (
    `${what} is not installed and Go is not available to build it. ` +
    `Install Go ≥ 1.26 (https://go.dev/doc/install, or 'apt-get install golang-go') and run 'npm run tools' again, ` +
    `or point TEMPORAL_CLI / KUBEBUILDER_ASSETS at existing binaries.`
  );
}

/** Runs `go` with its output streamed line by line, so a cold build shows progress. */
async function go(args: string[], cwd: string, env: NodeJS.ProcessEnv, log: Log): Promise<void> {
  await new Promise<void>((resolvePromise, reject) => {
    const child = spawn('go', args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let count = 0;
    const tail: string[] = [];
    const onLine = (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n')) {
        if (!line.trim()) continue;
        count += 1;
        tail.push(line);
        if (tail.length > 20) tail.shift();
        if (count % 100 === 0) log(`  … ${count} packages, now ${line.trim()}`);
      }
    };
    child.stdout.on('data', onLine);
    child.stderr.on('data', onLine);
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0
        ? resolvePromise()
        : reject(new Error(`go ${args.join(' ')} failed (exit ${code}):\n${tail.join('\n')}`)),
    );
  });
}

export async function ensureTemporal(log: Log = defaultLog): Promise<string> {
  const fromEnv = process.env.TEMPORAL_CLI;
  if (fromEnv) {
    if (!existsSync(fromEnv)) throw new Error(`TEMPORAL_CLI=${fromEnv} does not exist`);
    return fromEnv;
  }
  const pathBinary = onPath('temporal');
  if (pathBinary && (await versionOf(pathBinary, ['--version'])).includes(bare(TEMPORAL_CLI_VERSION)))
    return pathBinary;

  const dir = join(cacheDir(), `temporal-${TEMPORAL_CLI_VERSION}`);
  const cached = join(dir, 'temporal');
  if (existsSync(cached)) return cached;

  if (!(await goAvailable())) throw new Error(missingGoMessage(`Temporal CLI ${TEMPORAL_CLI_VERSION}`));
  log(`building Temporal CLI ${TEMPORAL_CLI_VERSION} with go install (first run only; a few minutes)…`);
  const started = Date.now();
  const staging = stagingDir(dir);
  await go(
    ['install', '-v', `github.com/temporalio/cli/cmd/temporal@${TEMPORAL_CLI_VERSION}`],
    repoRoot,
    { GOBIN: staging },
    log,
  );
  publish(staging, dir);
  log(`Temporal CLI built in ${Math.round((Date.now() - started) / 1000)} s → ${cached}`);
  return cached;
}

export async function ensureKubeBinaries(log: Log = defaultLog): Promise<Record<KubeBinary, string>> {
  const found: Partial<Record<KubeBinary, string>> = {};
  const assets = process.env.KUBEBUILDER_ASSETS;
  const dir = join(cacheDir(), `kubernetes-${KUBERNETES_VERSION}`);
  for (const name of KUBE_BINARIES) {
    const candidates = [
      assets ? join(assets, name) : undefined,
      onPath(name) && (await pathVersionMatches(name)) ? onPath(name) : undefined,
      join(dir, name),
    ];
    found[name] = candidates.find((c): c is string => !!c && existsSync(c));
  }
  const missing = KUBE_BINARIES.filter((name) => !found[name]);
  if (missing.length > 0) {
    if (!(await goAvailable()))
      throw new Error(missingGoMessage(`Kubernetes ${KUBERNETES_VERSION} (${missing.join(', ')})`));
    log(
      `building ${missing.join(', ')} of Kubernetes ${KUBERNETES_VERSION} from Go modules (first run only; about ten minutes)…`,
    );
    const started = Date.now();
    const staging = stagingDir(dir);
    await go(
      [
        'build',
        '-v',
        '-trimpath',
        // Stamp the release, as upstream's build does, so `--version` and /version tell the truth.
        `-ldflags=-X k8s.io/component-base/version.gitVersion=${KUBERNETES_VERSION} -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=${KUBERNETES_VERSION.split('.')[1]}`,
        '-o',
        staging + '/',
        ...missing.map((m) => `./${m}`),
      ],
      join(repoRoot, 'tools', 'kube'),
      {},
      log,
    );
    publish(staging, dir);
    log(`built in ${Math.round((Date.now() - started) / 1000)} s → ${dir}`);
    for (const name of missing) found[name] = join(dir, name);
  }
  return found as Record<KubeBinary, string>;
}

/** A binary on PATH counts only if it is the pinned release (an older kubectl on PATH must not shadow ours). */
async function pathVersionMatches(name: KubeBinary): Promise<boolean> {
  const binary = onPath(name);
  if (!binary) return false;
  const args = name === 'etcd' ? ['--version'] : name === 'kubectl' ? ['version', '--client'] : ['--version'];
  const out = await versionOf(binary, args);
  if (name === 'etcd') return out.includes('etcd Version: 3.6');
  return out.includes(`${KUBERNETES_VERSION}`) && !out.includes(`${KUBERNETES_VERSION}-`);
}

function stagingDir(finalDir: string): string {
  mkdirSync(dirname(finalDir), { recursive: true });
  return mkdtempSync(`${finalDir}.tmp-`);
}

/** Moves freshly built binaries into place; each rename is atomic, so a half-built binary is never found. */
function publish(staging: string, finalDir: string): void {
  mkdirSync(finalDir, { recursive: true });
  for (const file of readdirSync(staging)) renameSync(join(staging, file), join(finalDir, file));
  rmSync(staging, { recursive: true, force: true });
}

export async function ensureTools(log: Log = defaultLog): Promise<ToolPaths> {
  // Sequential on purpose: both builds are CPU-bound and the machines have 2 cores.
  const temporal = await ensureTemporal(log);
  const kube = await ensureKubeBinaries(log);
  return { temporal, kube };
}
