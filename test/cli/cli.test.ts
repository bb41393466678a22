// The `pitstop` command, spawned as a user runs it, against the real Temporal dev server and a sandbox cluster.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { randomUUID } from 'node:crypto';
import { startTestEnv, eventually, type TestEnv, FAST_TIMING } from '../support/env.js';
import { untilVmisRunning } from '../support/cluster.js';
import { TEST_POLICY } from '../support/maintenance.js';
import { invariantViolations, recordBefore } from '../support/invariants.js';
import { runCli, spawnCli } from '../support/cli.js';

let env: TestEnv;
let cliEnv: Record<string, string>;
const policy = JSON.stringify({ policy: TEST_POLICY });

beforeAll(async () => {
  env = await startTestEnv({
    scenario: {
      name: 'cli',
      timing: FAST_TIMING,
      kubevirt: { evictionStrategy: 'LiveMigrate' },
      nodes: [
        { name: 'cp-{n}', count: 3, controlPlane: true, memory: '64Gi' },
        { name: 'cliw-{n}', count: 6, memory: '256Gi' },
      ],
      vms: [
        { name: 'c1-mig-{n}', count: 2, node: 'cliw-1' },
        { name: 'c1-none', node: 'cliw-1', evictionStrategy: 'None', terminationGracePeriodSeconds: 1 },
        { name: 'c2-mig', node: 'cliw-2' },
        { name: 'c3-mig', node: 'cliw-3' },
        { name: 'c4-mig', node: 'cliw-4' },
      ],
    },
  });
  await untilVmisRunning(env.kube, 6);
  cliEnv = {
    TEMPORAL_ADDRESS: inject('temporalAddress'),
    TEMPORAL_NAMESPACE: 'default',
    PITSTOP_TASK_QUEUE: env.taskQueue,
  };
});

afterAll(async () => {
  await env?.stop();
});

const pitstop = (...args: string[]) => runCli(args, cliEnv);

describe('usage and exit codes', () => {
  it('exits 2 on a usage error or invalid input, with the problem on stderr', async () => {
    const missing = await pitstop('start');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/missing required argument 'node'/);

    const invalid = await pitstop('start', 'Cliw_1', '--input', '{"policy": {"parallelMigrations": 99}}');
    expect(invalid.code).toBe(2);
    expect(invalid.stderr).toMatch(/node: "Cliw_1" is not a valid node name/);
    expect(invalid.stderr).toMatch(/policy\.parallelMigrations: 99 is out of range/);

    const json = await pitstop('--output', 'json', 'start', 'cliw-1', '--hold', 'sometimes');
    expect(json.code).toBe(2);
    expect(json.stderr).toMatch(/Allowed choices are untilReleased, none/);

    const jsonInvalid = await pitstop('--output', 'json', 'rolling', 'start', '--name', 'x', '--nodes', 'a,a');
    expect(jsonInvalid.code).toBe(2);
    expect(JSON.parse(jsonInvalid.stderr)).toEqual({
      error: 'InvalidInput',
      message: 'nodes: a node is listed twice',
      issues: ['nodes: a node is listed twice'],
    });
    expect((await env.client.workflow.count(`TaskQueue = '${env.taskQueue}'`)).count).toBe(0);
  });

  it('exits 3 for a node that never had a maintenance, and 5 when Temporal cannot be reached', async () => {
    const status = await pitstop('status', 'cliw-6');
    expect(status.code).toBe(3);
    expect(status.stderr).toMatch(/no maintenance of cliw-6 found/);
    const unreachable = await runCli(['list'], { ...cliEnv, TEMPORAL_ADDRESS: '127.0.0.1:1' });
    expect(unreachable.code).toBe(5);
    expect(unreachable.stderr).toMatch(/^pitstop: /);
  });
});

describe('a maintenance from the command line', () => {
  it('plans: the verdict and a row per VM, as text and as JSON', async () => {
    const text = await pitstop('plan', 'cliw-1');
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/plan for cliw-1: preflight passes/);
    expect(text.stdout).toMatch(/vms\/c1-mig-1\s+migrate/);
    expect(text.stdout).toMatch(/vms\/c1-none\s+shutdown/);
    const json = await pitstop('plan', 'cliw-1', '--output', 'json');
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ node: 'cliw-1', outcome: 'DryRun', verdict: { ok: true } });
  });

  it('start --watch follows it to the end with plain lines (not a terminal), exit 0', async () => {
    const before = await recordBefore(env.kube);
    const watched = await pitstop(
      'start',
      'cliw-1',
      '--hold',
      'none',
      '--reason',
      'BIOS update',
      '--input',
      policy,
      '--watch',
      '--interval',
      '200',
    );
    expect(watched.code).toBe(0);
    const lines = watched.stdout.split('\n');
    expect(lines[0]).toMatch(/^started maintenance-cliw-1 \(run /);
    expect(lines.some((l) => / cliw-1 phase (Preflight|Cordon|EvacuateVMs)/.test(l))).toBe(true);
    expect(lines.some((l) => / cliw-1 vm vms\/c1-mig-1 migrated/.test(l))).toBe(true);
    expect(watched.stdout).toMatch(/maintenance-cliw-1\s+Completed/);
    expect(watched.stdout).toMatch(/outcome Completed/);
    expect(await invariantViolations(env.kube, before, 'cliw-1')).toEqual([]);

    const status = await pitstop('status', 'cliw-1', '--output', 'json');
    expect(JSON.parse(status.stdout)).toMatchObject({
      status: 'Completed',
      phase: 'Done',
      result: { outcome: 'Completed' },
    });
    const list = await pitstop('list', '--node', 'cliw-1', '--output', 'json');
    expect(JSON.parse(list.stdout)).toMatchObject([{ workflowId: 'maintenance-cliw-1', status: 'Completed' }]);
    const refused = await pitstop('decide', 'cliw-1', 'vms/c1-none', 'shutdown');
    expect(refused.code).toBe(4);
    expect(refused.stderr).toMatch(/not running \(Completed\)/);
  });

  it('watch --output json streams progress and ends when the node is released', async () => {
    const before = await recordBefore(env.kube);
    expect((await pitstop('start', 'cliw-3', '--input', policy)).code).toBe(0);
    const again = await pitstop('start', 'cliw-3', '--output', 'json');
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ workflowId: 'maintenance-cliw-3', started: false });
    const watch = spawnCli(['watch', 'cliw-3', '--output', 'json', '--interval', '200'], cliEnv);
    await eventually('watch shows the hold', async () => watch.output().stdout.includes('"phase":"Hold"'), 60_000);
    const released = await pitstop('release', 'cliw-3', '--note', 'fan replaced');
    expect(released).toMatchObject({ code: 0, stdout: expect.stringMatching(/released cliw-3: fan replaced/) });
    const result = await watch.done;
    expect(result.code).toBe(0);
    const events = result.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(events.at(-1)).toMatchObject({ event: 'end', status: 'Completed', result: { outcome: 'Completed' } });
    expect(events.filter((e) => e.event === 'progress').map((e) => e.progress.phase)).toContain('Hold');
    expect(await invariantViolations(env.kube, before, 'cliw-3')).toEqual([]);
  });

  it('watch exits 1 when the maintenance is cancelled and rolls back', async () => {
    const before = await recordBefore(env.kube);
    expect((await pitstop('start', 'cliw-2', '--input', policy)).code).toBe(0);
    const watch = spawnCli(['watch', 'cliw-2', '--interval', '200'], cliEnv);
    await eventually('watch shows the hold', async () => watch.output().stdout.includes('phase Hold'), 60_000);
    const cancelled = await pitstop('cancel', 'cliw-2');
    expect(cancelled).toMatchObject({ code: 0, stdout: expect.stringMatching(/rolls back/) });
    const result = await watch.done;
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/maintenance-cliw-2\s+Cancelled/);
    expect(await invariantViolations(env.kube, before, 'cliw-2')).toEqual([]);
  });
});

describe('rolling maintenance and schedules from the command line', () => {
  it('starts a rolling maintenance and shows its progress until it completes', async () => {
    const before = await recordBefore(env.kube);
    const name = `cli-roll-${randomUUID().slice(0, 6)}`;
    const started = await pitstop(
      'rolling',
      'start',
      '--name',
      name,
      '--nodes',
      'cliw-5,cliw-6',
      '--max-unavailable',
      '2',
      '--input',
      JSON.stringify({ template: { policy: TEST_POLICY } }),
    );
    expect(started).toMatchObject({ code: 0, stdout: expect.stringMatching(new RegExp(`^started rolling-${name}`)) });
    const done = await eventually(
      'the roll completed',
      async () => {
        const status = await pitstop('rolling', 'status', name, '--output', 'json');
        const view = JSON.parse(status.stdout);
        return view.status === 'Completed' ? view : undefined;
      },
      90_000,
    );
    expect(done.result).toMatchObject({ status: 'Completed', completed: ['cliw-5', 'cliw-6'] });
    const text = await pitstop('rolling', 'status', name);
    expect(text.stdout).toMatch(new RegExp(`rolling-${name}\\s+Completed`));
    for (const node of ['cliw-5', 'cliw-6']) expect(await invariantViolations(env.kube, before, node)).toEqual([]);
  });

  it('a schedule created with the CLI fires and starts a rolling maintenance that runs', async () => {
    const before = await recordBefore(env.kube);
    const name = `cli-sched-${randomUUID().slice(0, 6)}`;
    const rolling = JSON.stringify({ nodes: ['cliw-4'], template: { policy: TEST_POLICY } });
    const created = await pitstop('schedule', 'create', name, '--every', '2s', '--rolling', rolling);
    expect(created).toMatchObject({ code: 0, stdout: expect.stringMatching(new RegExp(`^created schedule ${name}`)) });
    const listed = await pitstop('schedule', 'list', '--output', 'json');
    expect(JSON.parse(listed.stdout)).toContainEqual(expect.objectContaining({ name, paused: false }));

    // The schedule fires on its own: a rollingMaintenance run appears on the task queue.
    const query = `WorkflowType = 'rollingMaintenance' AND TaskQueue = '${env.taskQueue}'`;
    const scheduledRuns = async (extra = '') => {
      const runs = [];
      for await (const run of env.client.workflow.list({ query: `${query}${extra}` })) {
        if (run.workflowId.startsWith(`rolling-${name}-`)) runs.push(run);
      }
      return runs;
    };
    const [firstRun] = await eventually(
      'a scheduled rolling maintenance',
      async () => {
        const runs = await scheduledRuns();
        return runs.length > 0 ? runs.slice(-1) : undefined;
      },
      60_000,
    );
    if (!firstRun) throw new Error('no scheduled run');
    const deleted = await pitstop('schedule', 'delete', name);
    expect(deleted).toMatchObject({ code: 0, stdout: `schedule ${name}: deleted\n` });
    expect((await pitstop('schedule', 'describe', name)).code).toBe(3);

    const result = await env.client.workflow.getHandle(firstRun.workflowId, firstRun.runId).result();
    expect(result).toMatchObject({ name, status: 'Completed', completed: ['cliw-4'] });
    // Runs it may have started before the delete are left to finish before the cluster is judged.
    await eventually(
      'no scheduled run still running',
      async () => (await scheduledRuns(` AND ExecutionStatus = 'Running'`)).length === 0,
      90_000,
    );
    expect(await invariantViolations(env.kube, before, 'cliw-4')).toEqual([]);
  });
});
