// docker-compose.yml, the Dockerfile and .dockerignore cannot run here (no Docker engine): their structure is
// checked against the code instead — configuration names, ports, search attributes, the pre-built bundle.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { CONFIG_VARIABLES, loadConfig } from '../../src/config/index.js';
import { SEARCH_ATTRIBUTES } from '../../src/devserver/temporal.js';
import { defaultBundlePath } from '../../src/worker/bundle.js';
import { ROOT } from './kustomize.js';

interface Service {
  image?: string;
  build?: unknown;
  environment?: Record<string, string>;
  ports?: string[];
  volumes?: string[];
  command?: string[] | string;
  depends_on?: string[] | Record<string, { condition: string }>;
  stop_grace_period?: string;
}
const compose = parse(readFileSync(`${ROOT}docker-compose.yml`, 'utf8')) as { services: Record<string, Service> };
const services = compose.services;
const pitstop = services.pitstop!;
const env = pitstop.environment ?? {};

/** Dockerfile stages: name, FROM line and instructions (continuations joined). */
function dockerfileStages() {
  const text = readFileSync(`${ROOT}Dockerfile`, 'utf8').replace(/\\\n/g, ' ');
  const stages: { name: string; from: string; lines: string[] }[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const from = /^FROM\s+(\S+)(?:\s+AS\s+(\S+))?/i.exec(line);
    if (from) stages.push({ name: from[2] ?? String(stages.length), from: from[1]!, lines: [] });
    else stages.at(-1)?.lines.push(line);
  }
  return stages;
}
const portOf = (address: string) => Number(address.split(':').at(-1));
const containerPorts = (s: Service) => (s.ports ?? []).map((p) => Number(p.split(':').at(-1)));

describe('docker-compose.yml', () => {
  it('has Temporal on PostgreSQL, the Web UI and Pitstop, each service with an image or a build', () => {
    expect(Object.keys(services).sort()).toEqual(
      ['pitstop', 'postgresql', 'temporal', 'temporal-search-attributes', 'temporal-ui'].sort(),
    );
    for (const [name, s] of Object.entries(services)) expect(s.image ?? s.build, name).toBeTruthy();
    expect(pitstop.build).toBe('.');
    const temporal = services.temporal!;
    expect(temporal.image).toMatch(/^temporalio\/auto-setup:\d+\.\d+\.\d+$/);
    expect(temporal.environment).toMatchObject({ DB: 'postgres12', POSTGRES_SEEDS: 'postgresql' });
    expect(temporal.environment?.POSTGRES_USER).toBe(services.postgresql!.environment?.POSTGRES_USER);
    expect(temporal.environment?.POSTGRES_PWD).toBe(services.postgresql!.environment?.POSTGRES_PASSWORD);
    expect(containerPorts(temporal)).toContain(7233);
    expect(services['temporal-ui']!.environment?.TEMPORAL_ADDRESS).toBe('temporal:7233');
  });

  it("Pitstop's environment uses only the code's configuration names, and is a valid configuration", () => {
    for (const name of Object.keys(env)) expect(Object.keys(CONFIG_VARIABLES), name).toContain(name);
    expect(env.TEMPORAL_ADDRESS).toBe('temporal:7233');
    // Files are mounted read-only where the environment says they are.
    // host:target:mode, where host may itself hold a colon (${'$'}{VAR:-default}).
    const mounts = new Map((pitstop.volumes ?? []).map((v) => [v.split(':').at(-2), v.split(':').at(-1)]));
    for (const name of ['KUBECONFIG', 'PITSTOP_API_TOKENS_FILE']) {
      expect(mounts.get(env[name]), name).toBe('ro');
    }
    // With those files present, the code accepts the whole environment.
    const kubeconfig = `${ROOT}package.json`; // any readable file: loadConfig checks readability only
    const tokens = `${ROOT}test/deploy/fixtures/tokens`;
    const config = loadConfig({ ...env, KUBECONFIG: kubeconfig, PITSTOP_API_TOKENS_FILE: tokens });
    expect(containerPorts(pitstop).sort()).toEqual([config.api!.listen.port, config.metrics.port].sort());
    // `docker compose stop` waits longer than the worker's shutdown grace.
    expect(parseInt(pitstop.stop_grace_period!)).toBeGreaterThan(config.shutdownGraceMs / 1000);
    expect(pitstop.depends_on).toMatchObject({
      'temporal-search-attributes': { condition: 'service_completed_successfully' },
    });
  });

  it('registers exactly the search attributes the workflows use', () => {
    const command = [services['temporal-search-attributes']!.command].flat().join(' ');
    const registered = Object.fromEntries(
      [...command.matchAll(/--name\s+(\S+)\s+--type\s+(\S+)/g)].map((m) => [m[1], m[2]]),
    );
    expect(registered).toEqual(SEARCH_ATTRIBUTES);
  });
});

describe('Dockerfile', () => {
  const stages = dockerfileStages();
  const runtime = stages.at(-1)!;

  it('is multi-stage, with workflows bundled at build time and loaded from the bundle at run time', () => {
    expect(stages.map((s) => s.name)).toEqual(['build', 'deps', 'runtime']);
    const build = stages[0]!.lines.join('\n');
    expect(build).toMatch(/npx tsc -p tsconfig\.build\.json/);
    expect(build).toMatch(/src\/worker\/bundle\.ts dist\/workflow-bundle\.js/);
    expect(defaultBundlePath.endsWith('/dist/workflow-bundle.js')).toBe(true);
    expect(stages[1]!.lines.join('\n')).toMatch(/npm ci --omit=dev/);
    const envLine = runtime.lines.find((l) => l.startsWith('ENV'))!;
    expect(envLine).toMatch(/PITSTOP_WORKFLOW_BUNDLE=\/app\/dist\/workflow-bundle\.js/);
    expect(runtime.lines).toContain('COPY --from=build --chown=root:root /app/dist ./dist');
  });

  it('runs dist/main.js as a non-root user, exposing the ports compose maps', () => {
    const user = runtime.lines.find((l) => l.startsWith('USER'))!.split(/\s+/)[1]!;
    expect(user.split(':')[0]).not.toMatch(/^(0|root)$/);
    expect(runtime.lines.at(-1)).toBe('CMD ["node", "dist/main.js"]');
    const exposed = runtime.lines
      .find((l) => l.startsWith('EXPOSE'))!
      .split(/\s+/)
      .slice(1)
      .map(Number);
    expect(exposed.sort()).toEqual(containerPorts(pitstop).sort());
    expect(exposed).toContain(portOf(env.PITSTOP_METRICS_ADDRESS!));
  });

  it('.dockerignore keeps node_modules, dist and state out of the build context', () => {
    const ignored = readFileSync(`${ROOT}.dockerignore`, 'utf8').split('\n');
    for (const entry of ['node_modules', 'dist', '.pitstop', '.git', 'test']) expect(ignored).toContain(entry);
    expect(ignored).not.toContain('src');
  });
});
