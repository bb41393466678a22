// Bad configuration stops the real entry point at start, before it connects anywhere, with one clear line per
// problem on stderr and exit code 2; good configuration parses into what the worker uses.
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/index.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'pitstop-config-'));
const kubeconfig = join(dir, 'kubeconfig');
writeFileSync(kubeconfig, 'apiVersion: v1\nkind: Config\n');
const tokens = join(dir, 'tokens');
writeFileSync(tokens, '# operators\nwrite s3cret-write-token\nread r3ad-token-0123456789\n');

/** A configuration that is valid in every respect; each case breaks one thing. */
const GOOD = {
  TEMPORAL_ADDRESS: '127.0.0.1:1',
  KUBECONFIG: kubeconfig,
  PITSTOP_API_TOKENS_FILE: tokens,
  PITSTOP_SHUTDOWN_GRACE: '10s',
};

function clean(env: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const base: NodeJS.ProcessEnv = {};
  // Only what node needs from the outside; no stray TEMPORAL_*/PITSTOP_*/KUBECONFIG from the caller.
  for (const key of ['PATH', 'HOME', 'NODE_OPTIONS']) if (process.env[key]) base[key] = process.env[key];
  for (const [k, v] of Object.entries(env)) if (v !== undefined) base[k] = v;
  return base;
}

async function runMain(env: Record<string, string | undefined>): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: ROOT,
    env: clean(env),
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  return { code, stderr };
}

// Each case starts the real entry point, 5 s of module loading (8 s under load): side by side, not six in a row.
describe.concurrent('the entry point refuses bad configuration at start, one line per problem', () => {
  const unreadable = join(dir, 'unreadable-kubeconfig');
  writeFileSync(unreadable, 'x');
  chmodSync(unreadable, 0o000);
  const empty = join(dir, 'empty-tokens');
  writeFileSync(empty, '\n# nobody yet\n');

  it.each([
    ['missing address', { TEMPORAL_ADDRESS: undefined }, /TEMPORAL_ADDRESS is not set/],
    [
      'malformed address',
      { TEMPORAL_ADDRESS: 'http://temporal' },
      /TEMPORAL_ADDRESS "http:\/\/temporal" is not host:port/,
    ],
    [
      'malformed duration',
      { PITSTOP_SHUTDOWN_GRACE: '30 seconds' },
      /PITSTOP_SHUTDOWN_GRACE: "30 seconds" is not a duration/,
    ],
    [
      'unreadable kubeconfig',
      // root reads a mode-000 file anyway; a missing file is unreadable for everyone.
      { KUBECONFIG: process.getuid?.() === 0 ? join(dir, 'missing') : unreadable },
      /KUBECONFIG .* cannot be read \((ENOENT|EACCES)\)/,
    ],
    ['empty token file', { PITSTOP_API_TOKENS_FILE: empty }, /PITSTOP_API_TOKENS_FILE .*: no token given/],
  ])('%s', async (_name, change, expected) => {
    const { code, stderr } = await runMain({ ...GOOD, ...change });
    expect(code).toBe(2);
    const lines = stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^pitstop: configuration error: /);
    expect(lines[0]).toMatch(expected);
  });

  it('a malformed token line is named by its number, never echoed', async () => {
    const bad = join(dir, 'bad-tokens');
    writeFileSync(bad, 'write good-token-0123456789\nadmin leaked-token-value\nread short\n');
    const { code, stderr } = await runMain({ ...GOOD, PITSTOP_API_TOKENS_FILE: bad });
    expect(code).toBe(2);
    expect(stderr).toMatch(/line 2: role must be "read" or "write"/);
    expect(stderr).toMatch(/line 3: token is shorter than 16 characters/);
    expect(stderr).not.toContain('leaked-token-value');
  });
});

describe('loadConfig', () => {
  it('reads every setting, with Temporal Cloud style API key and TLS', () => {
    const config = loadConfig({
      ...GOOD,
      TEMPORAL_ADDRESS: 'my-ns.a1b2c.tmprl.cloud:7233',
      TEMPORAL_NAMESPACE: 'my-ns.a1b2c',
      TEMPORAL_API_KEY: 'key-123',
      PITSTOP_TASK_QUEUE: 'pitstop-prod',
      PITSTOP_METRICS_ADDRESS: '127.0.0.1:9999',
      PITSTOP_API_ADDRESS: '[::]:8081',
      PITSTOP_LOG_LEVEL: 'debug',
    });
    expect(config.temporal).toEqual({
      address: 'my-ns.a1b2c.tmprl.cloud:7233',
      namespace: 'my-ns.a1b2c',
      apiKey: 'key-123',
      tls: { clientCertPath: undefined, clientKeyPath: undefined, serverCaPath: undefined, serverName: undefined },
    });
    expect(config.taskQueue).toBe('pitstop-prod');
    expect(config.kube).toEqual({ kind: 'file', path: kubeconfig });
    expect(config.api?.listen).toEqual({ host: '::', port: 8081 });
    expect(config.api?.tokens).toEqual([
      { role: 'write', token: 's3cret-write-token' },
      { role: 'read', token: 'r3ad-token-0123456789' },
    ]);
    expect(config.metrics).toEqual({ host: '127.0.0.1', port: 9999 });
    expect(config.logLevel).toBe('DEBUG');
    expect(config.shutdownGraceMs).toBe(10_000);
  });

  it('defaults: plaintext Temporal, namespace default, task queue pitstop, API off needs no tokens', () => {
    const config = loadConfig({
      TEMPORAL_ADDRESS: 'temporal:7233',
      KUBECONFIG: kubeconfig,
      PITSTOP_API_ADDRESS: 'off',
    });
    expect(config.temporal.tls).toBeUndefined();
    expect(config.temporal.namespace).toBe('default');
    expect(config.taskQueue).toBe('pitstop');
    expect(config.api).toBeUndefined();
    expect(config.shutdownGraceMs).toBe(30_000);
    expect(config.metrics).toEqual({ host: '0.0.0.0', port: 9464 });
    expect(config.admission).toEqual({ maxNodesDown: { count: 1 }, maxUnhealthy: { percent: 49 } });
  });

  it('reads the admission budget as a count or a percentage, and refuses anything else', () => {
    const base = { TEMPORAL_ADDRESS: 'temporal:7233', KUBECONFIG: kubeconfig, PITSTOP_API_ADDRESS: 'off' };
    const config = loadConfig({ ...base, PITSTOP_MAX_NODES_DOWN: '25%', PITSTOP_MAX_UNHEALTHY: '2' });
    expect(config.admission).toEqual({ maxNodesDown: { percent: 25 }, maxUnhealthy: { count: 2 } });
    expect(() => loadConfig({ ...base, PITSTOP_MAX_NODES_DOWN: 'two' })).toThrow(
      'PITSTOP_MAX_NODES_DOWN "two" is not a count (e.g. 2) nor a percentage (e.g. 25%)',
    );
  });

  it('reads the Alertmanager alert table from a file or a variable, and reports every bad rule at once', () => {
    const base = { TEMPORAL_ADDRESS: 'temporal:7233', KUBECONFIG: kubeconfig, PITSTOP_API_TOKENS_FILE: tokens };
    const defaults = loadConfig(base).api;
    expect(defaults?.alertmanagerNodeLabel).toBe('node');
    expect(defaults?.alertmanagerRules.map((r) => [r.name, r.action])).toEqual([
      ['node-down', 'repair'],
      ['names-a-node', 'planned'],
    ]);
    const rules = [
      { name: 'disk', alertname: 'NodeFilesystemAlmostOutOfSpace', nodeLabel: 'instance', action: 'planned' },
      { matchers: ['severity="critical"'], action: 'repair' },
    ];
    const file = join(dir, 'alert-rules.json');
    writeFileSync(file, JSON.stringify(rules, null, 2));
    const fromFile = loadConfig({
      ...base,
      PITSTOP_ALERTMANAGER_RULES_FILE: file,
      PITSTOP_ALERTMANAGER_NODE_LABEL: 'host',
    });
    expect(fromFile.api?.alertmanagerRules.map((r) => [r.name, r.nodeLabel, r.action])).toEqual([
      ['disk', 'instance', 'planned'],
      ['#2', 'host', 'repair'],
    ]);
    const inline = loadConfig({ ...base, PITSTOP_ALERTMANAGER_RULES: JSON.stringify(rules) });
    expect(inline.api?.alertmanagerRules).toHaveLength(2);

    const bad = JSON.stringify([{ alertname: 'KubeNodeNotReady', action: 'fence' }, { matchers: ['node~"x"'] }]);
    let error: unknown;
    try {
      loadConfig({ ...base, PITSTOP_ALERTMANAGER_RULES: bad, PITSTOP_LOG_LEVEL: 'loud' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual([
      'PITSTOP_ALERTMANAGER_RULES: [0].action: "fence" is not one of repair, planned, ignore',
      'PITSTOP_ALERTMANAGER_RULES: [1].matchers[0]: "node~\\"x\\"" is not a matcher: use label=value, !=, =~ or !~',
      'PITSTOP_ALERTMANAGER_RULES: [1].action: required: repair, planned, ignore',
      'PITSTOP_LOG_LEVEL "loud" is not one of TRACE, DEBUG, INFO, WARN, ERROR',
    ]);
    const missing = join(dir, 'no-such-rules.json');
    expect(() => loadConfig({ ...base, PITSTOP_ALERTMANAGER_RULES_FILE: missing })).toThrow(
      `PITSTOP_ALERTMANAGER_RULES_FILE ${missing} cannot be read (ENOENT)`,
    );
    writeFileSync(join(dir, 'not-json.json'), 'action: repair\n');
    expect(() => loadConfig({ ...base, PITSTOP_ALERTMANAGER_RULES_FILE: join(dir, 'not-json.json') })).toThrow(
      /PITSTOP_ALERTMANAGER_RULES_FILE .*not-json\.json: not JSON/,
    );
  });

  it('collects every problem at once', () => {
    let error: unknown;
    try {
      loadConfig({
        KUBECONFIG: kubeconfig,
        PITSTOP_API_TOKENS: 'write 0123456789abcdef',
        PITSTOP_LOG_LEVEL: 'loud',
        PITSTOP_METRICS_ADDRESS: '9464',
        TEMPORAL_TLS_CLIENT_CERT_PATH: kubeconfig,
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual([
      'TEMPORAL_ADDRESS is not set: give the Temporal frontend as host:port',
      'TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH must be given together',
      'PITSTOP_METRICS_ADDRESS "9464" is not host:port (e.g. 0.0.0.0:8080)',
      'PITSTOP_LOG_LEVEL "loud" is not one of TRACE, DEBUG, INFO, WARN, ERROR',
    ]);
  });
});
