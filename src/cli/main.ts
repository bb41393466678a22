/**
 * `pitstop`: the command line. Talks to Temporal directly (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TLS / API key
 * variables, PITSTOP_TASK_QUEUE), so it works without the HTTP API.
 *
 * Exit codes: 0 ok; 1 the workflow failed, rolled back or was cancelled; 2 usage error or invalid input;
 * 3 not found; 4 refused (preflight refused, an update refused, not running); 5 Temporal unreachable or internal error.
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import { InvalidInputError } from '../domain/errors.js';
import { ConfigError } from '../worker/config.js';
import { connectClient, type ConnectedClient } from './../client/connect.js';
import { NotFoundError, RefusedError } from '../client/errors.js';
import { PitstopService, type MaintenanceView } from '../client/service.js';
import type { MaintenanceResult, Progress } from '../domain/progress.js';
import { LiveView } from './liveView.js';
import { changeLines, planLines, progressFrame, rollingLines, runLines, viewLines } from './render.js';

export const EXIT = { ok: 0, failed: 1, usage: 2, notFound: 3, refused: 4, internal: 5 } as const;

type Output = 'text' | 'json';

class Exit extends Error {
  constructor(
    readonly code: number,
    message = '',
  ) {
    super(message);
  }
}

const out = (line: string) => process.stdout.write(`${line}\n`);
const err = (line: string) => process.stderr.write(`${line}\n`);
const json = (value: unknown) => out(JSON.stringify(value, null, 2));

let connected: ConnectedClient | undefined;
async function service(): Promise<PitstopService> {
  connected ??= await connectClient(process.env, { connectTimeoutMs: 5000 });
  return new PitstopService({ client: connected.client, taskQueue: connected.config.taskQueue });
}

/** `--input` as JSON text or `@file.json`. */
function readInput(text: string | undefined): Record<string, unknown> {
  if (text === undefined) return {};
  const raw = text.startsWith('@') ? readFileSync(text.slice(1), 'utf8') : text;
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (e) {
    throw new InvalidInputError(`--input: not valid JSON (${(e as Error).message})`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidInputError('--input: expected a JSON object');
  }
  return value as Record<string, unknown>;
}

/** Exit code of a finished node maintenance. */
function exitOf(view: MaintenanceView): number {
  if (view.status === 'Completed') return EXIT.ok;
  if (view.failure?.type === 'PreflightRefused') return EXIT.refused;
  if (view.failure?.type === 'InvalidInput') return EXIT.usage;
  return EXIT.failed;
}

function intervalOf(text: string): number {
  const interval = Number(text);
  if (!Number.isInteger(interval) || interval < 100) throw new InvalidInputError('--interval: at least 100 (ms)');
  return interval;
}

function outputOf(command: Command): Output {
  return (command.optsWithGlobals() as { output: Output }).output;
}

async function watch(node: string, output: Output, intervalMs: number): Promise<number> {
  const svc = await service();
  const live = output === 'text' && process.stdout.isTTY === true ? new LiveView(process.stdout) : undefined;
  let last: Progress | undefined;
  for (;;) {
    const view = await svc.getMaintenance(node);
    if (view.status !== 'Running') {
      if (output === 'json') out(JSON.stringify({ event: 'end', ...view }));
      else if (live) live.finish(viewLines(view));
      else for (const line of viewLines(view)) out(line);
      return exitOf(view);
    }
    const p = view.progress;
    if (p) {
      if (output === 'json') {
        if (JSON.stringify(p) !== JSON.stringify(last)) out(JSON.stringify({ event: 'progress', progress: p }));
      } else if (live) {
        live.draw(progressFrame(p));
      } else {
        for (const line of changeLines(last, p)) out(line);
      }
      last = p;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

export function buildProgram(): Command {
  const program = new Command('pitstop')
    .description('Bare-metal KubeVirt node maintenance as Temporal workflows')
    .addOption(new Option('-o, --output <format>', 'output format').choices(['text', 'json']).default('text'))
    .showHelpAfterError()
    .exitOverride();

  program
    .command('start')
    .description('start a maintenance of a node (a repeat while one runs returns the running one)')
    .argument('<node>', 'node name')
    .option('-r, --reason <text>', 'why (shown in the UI and on the node)')
    .option('--requested-by <name>', 'who asks')
    .addOption(new Option('--hold <mode>', 'wait for release after power-off').choices(['untilReleased', 'none']))
    .addOption(new Option('--power <provider>', 'power provider').choices(['auto', 'metal3', 'redfish', 'none']))
    .option('--input <json>', 'more input fields as JSON (or @file.json), e.g. {"policy": {...}}')
    .option('-w, --watch', 'follow it to the end (exit code as for watch)')
    .option('--interval <ms>', 'with --watch: refresh interval in milliseconds', '1000')
    .action(async (node: string, opts, command: Command) => {
      const input = {
        ...readInput(opts.input),
        node,
        ...(opts.reason !== undefined && { reason: opts.reason }),
        ...(opts.requestedBy !== undefined && { requestedBy: opts.requestedBy }),
        ...(opts.hold !== undefined && { hold: opts.hold }),
        ...(opts.power !== undefined && { power: opts.power }),
      };
      const output = outputOf(command);
      const interval = opts.watch ? intervalOf(opts.interval) : 0;
      const outcome = await (await service()).startMaintenance(input);
      if (output === 'json' && !opts.watch) json(outcome);
      else if (output === 'text') {
        out(
          outcome.started
            ? `started ${outcome.workflowId} (run ${outcome.runId})`
            : `already running: ${outcome.workflowId} (run ${outcome.runId})`,
        );
      }
      if (opts.watch) throw new Exit(await watch(node, output, interval));
    });

  program
    .command('plan')
    .description('dry run: preflight verdict and per-VM plan; changes nothing')
    .argument('<node>', 'node name')
    .option('--input <json>', 'more input fields as JSON (or @file.json)')
    .action(async (node: string, opts, command: Command) => {
      const result: MaintenanceResult = await (await service()).planMaintenance({ ...readInput(opts.input), node });
      if (outputOf(command) === 'json') json(result);
      else for (const line of planLines(result)) out(line);
      if (!result.verdict.ok) throw new Exit(EXIT.refused);
    });

  program
    .command('status')
    .description('the latest maintenance of a node: progress, or how it ended')
    .argument('<node>', 'node name')
    .action(async (node: string, _opts, command: Command) => {
      const view = await (await service()).getMaintenance(node);
      if (outputOf(command) === 'json') json(view);
      else for (const line of viewLines(view)) out(line);
    });

  program
    .command('watch')
    .description('live view until the maintenance ends (progress bars on a terminal, lines otherwise)')
    .argument('<node>', 'node name')
    .option('--interval <ms>', 'refresh interval in milliseconds', '1000')
    .action(async (node: string, opts, command: Command) => {
      throw new Exit(await watch(node, outputOf(command), intervalOf(opts.interval)));
    });

  program
    .command('decide')
    .description('answer an escalation')
    .argument('<node>', 'node name')
    .argument('<vmi>', 'namespace/name of the VM instance')
    .argument('<action>', 'shutdown | retry | delete')
    .action(async (node: string, vmi: string, action: string, _opts, command: Command) => {
      const message = await (await service()).decide(node, { vmi, action });
      if (outputOf(command) === 'json') json({ message });
      else out(message);
    });

  const simple = (name: string, description: string, act: (svc: PitstopService, node: string) => Promise<string>) =>
    program
      .command(name)
      .description(description)
      .argument('<node>', 'node name')
      .action(async (node: string, _opts, command: Command) => {
        const message = await act(await service(), node);
        if (outputOf(command) === 'json') json({ message });
        else out(message);
      });
  program
    .command('release')
    .description('the repair is done: power on and finish')
    .argument('<node>', 'node name')
    .option('--note <text>', 'what was done')
    .action(async (node: string, opts: { note?: string }, command: Command) => {
      const message = await (await service()).release(node, opts.note !== undefined ? { note: opts.note } : {});
      if (outputOf(command) === 'json') json({ message });
      else out(message);
    });
  simple('pause', 'no new step starts until resume', (svc, node) => svc.pauseMaintenance(node));
  simple('resume', 'resume a paused maintenance', (svc, node) => svc.resumeMaintenance(node));
  simple('cancel', 'cancel: the maintenance rolls back', (svc, node) => svc.cancelMaintenance(node));

  program
    .command('list')
    .description('running and recent maintenances, newest first')
    .option('--node <node>', 'only this node')
    .option('--running', 'only running ones')
    .option('--limit <n>', 'at most this many', '50')
    .action(async (opts, command: Command) => {
      const runs = await (
        await service()
      ).listMaintenances({
        ...(opts.node !== undefined && { node: opts.node }),
        running: opts.running === true,
        limit: Number(opts.limit),
      });
      if (outputOf(command) === 'json') json(runs);
      else for (const line of runLines(runs)) out(line);
    });

  const rolling = program.command('rolling').description('rolling maintenance of many nodes');
  rolling
    .command('start')
    .description('start a rolling maintenance (input as in the rollingMaintenance workflow)')
    .option('--input <json>', 'the whole input as JSON (or @file.json)')
    .option('--name <name>', 'its name (workflow rolling-<name>)')
    .option('--selector <labels>', 'node label selector')
    .option('--nodes <list>', 'comma-separated node names')
    .option('--max-unavailable <n>', 'nodes in maintenance at once')
    .option('--max-failures <n>', 'failures before the roll stops')
    .action(async (opts, command: Command) => {
      const number = (v: string | undefined) => (v === undefined ? undefined : Number(v));
      const input = {
        ...readInput(opts.input),
        ...(opts.name !== undefined && { name: opts.name }),
        ...(opts.selector !== undefined && { selector: opts.selector }),
        ...(opts.nodes !== undefined && { nodes: String(opts.nodes).split(',').filter(Boolean) }),
        ...(opts.maxUnavailable !== undefined && { maxUnavailable: number(opts.maxUnavailable) }),
        ...(opts.maxFailures !== undefined && { maxFailures: number(opts.maxFailures) }),
      };
      const outcome = await (await service()).startRolling(input);
      if (outputOf(command) === 'json') json(outcome);
      else out(`${outcome.started ? 'started' : 'already running:'} ${outcome.workflowId} (run ${outcome.runId})`);
    });
  rolling
    .command('status')
    .description('progress per node')
    .argument('<name>', 'rolling maintenance name')
    .action(async (name: string, _opts, command: Command) => {
      const view = await (await service()).getRolling(name);
      if (outputOf(command) === 'json') json(view);
      else for (const line of rollingLines(view)) out(line);
    });
  rolling
    .command('list')
    .description('running and recent rolling maintenances')
    .option('--running', 'only running ones')
    .action(async (opts, command: Command) => {
      const runs = await (await service()).listRolling({ running: opts.running === true });
      if (outputOf(command) === 'json') json(runs);
      else for (const line of runLines(runs)) out(line);
    });
  for (const [name, description] of [
    ['pause', 'no new node starts until resume'],
    ['resume', 'resume'],
    ['cancel', 'cancel the roll'],
  ] as const) {
    rolling
      .command(name)
      .description(description)
      .argument('<name>', 'rolling maintenance name')
      .action(async (rollName: string, _opts, command: Command) => {
        const svc = await service();
        const message =
          name === 'pause'
            ? await svc.pauseRolling(rollName)
            : name === 'resume'
              ? await svc.resumeRolling(rollName)
              : await svc.cancelRolling(rollName);
        if (outputOf(command) === 'json') json({ message });
        else out(message);
      });
  }
  rolling
    .command('skip')
    .description('skip a node that has not started')
    .argument('<name>', 'rolling maintenance name')
    .argument('<node>', 'node to skip')
    .action(async (rollName: string, node: string, _opts, command: Command) => {
      const message = await (await service()).skipNode(rollName, { node });
      if (outputOf(command) === 'json') json({ message });
      else out(message);
    });

  const schedule = program.command('schedule').description('Temporal Schedules that start rolling maintenance');
  schedule
    .command('create')
    .description('create a schedule (overlap policy SKIP)')
    .argument('<name>', 'schedule name (a DNS label)')
    .option('--every <duration>', 'interval, e.g. 168h')
    .option('--cron <expression>', '5-field cron, e.g. "0 22 * * SAT"')
    .option('--time-zone <tz>', 'IANA time zone of the cron expression')
    .option('--paused', 'create it paused')
    .option('--note <text>', 'a note shown with the schedule')
    .requiredOption('--rolling <json>', 'the rolling maintenance input as JSON (or @file.json)')
    .action(async (name: string, opts, command: Command) => {
      const view = await (
        await service()
      ).createSchedule({
        name,
        ...(opts.every !== undefined && { every: opts.every }),
        ...(opts.cron !== undefined && { cron: opts.cron }),
        ...(opts.timeZone !== undefined && { timeZone: opts.timeZone }),
        ...(opts.paused === true && { paused: true }),
        ...(opts.note !== undefined && { note: opts.note }),
        rolling: readInput(opts.rolling),
      });
      if (outputOf(command) === 'json') json(view);
      else out(`created schedule ${view.name}; next: ${view.nextActionTimes[0] ?? 'none (paused)'}`);
    });
  schedule
    .command('list')
    .description("Pitstop's schedules")
    .action(async (_opts, command: Command) => {
      const list = await (await service()).listSchedules();
      if (outputOf(command) === 'json') json(list);
      else if (list.length === 0) out('(none)');
      else
        for (const s of list)
          out(`${s.name.padEnd(32)} ${s.paused ? 'paused ' : 'active '} next ${s.nextActionTimes[0] ?? '-'}`);
    });
  schedule
    .command('describe')
    .description('spec, state, next and recent actions')
    .argument('<name>', 'schedule name')
    .action(async (name: string, _opts, command: Command) => {
      const view = await (await service()).getSchedule(name);
      if (outputOf(command) === 'json') json(view);
      else {
        out(
          `${view.name}  ${view.paused ? 'paused' : 'active'}  ${view.every ? `every ${view.every}` : `cron ${view.cron ?? ''}`}`,
        );
        for (const a of view.recentActions) out(`  ran ${a.takenAt}  ${a.workflowId}`);
        for (const t of view.nextActionTimes.slice(0, 3)) out(`  next ${t}`);
      }
    });
  for (const name of ['pause', 'unpause', 'delete', 'trigger'] as const) {
    schedule
      .command(name)
      .description(
        {
          pause: 'pause a schedule',
          unpause: 'unpause a schedule',
          delete: 'delete a schedule',
          trigger: 'run it now',
        }[name],
      )
      .argument('<name>', 'schedule name')
      .action(async (scheduleName: string, _opts, command: Command) => {
        const svc = await service();
        if (name === 'pause') await svc.pauseSchedule(scheduleName);
        else if (name === 'unpause') await svc.unpauseSchedule(scheduleName);
        else if (name === 'trigger') await svc.triggerSchedule(scheduleName);
        else await svc.deleteSchedule(scheduleName);
        const message = `schedule ${scheduleName}: ${name === 'delete' ? 'deleted' : `${name}d`}`.replace(
          'triggerd',
          'triggered',
        );
        if (outputOf(command) === 'json') json({ message });
        else out(message);
      });
  }
  return program;
}

/** Runs the CLI; resolves to the exit code. */
export async function run(argv: string[]): Promise<number> {
  const program = buildProgram();
  const jsonWanted =
    argv.some((a, i) => (a === '-o' || a === '--output') && argv[i + 1] === 'json') || argv.includes('--output=json');
  const fail = (code: number, error: string, message: string, issues?: string[]) => {
    if (jsonWanted) err(JSON.stringify({ error, message, ...(issues && { issues }) }));
    else err(`pitstop: ${message}`);
    return code;
  };
  try {
    await program.parseAsync(argv, { from: 'user' });
    return EXIT.ok;
  } catch (e) {
    if (e instanceof Exit) return e.code;
    if (e instanceof CommanderError) {
      return e.exitCode === 0 ? EXIT.ok : EXIT.usage; // help/version print and exit 0; the error was printed
    }
    if (e instanceof InvalidInputError) return fail(EXIT.usage, 'InvalidInput', e.message, e.issues);
    if (e instanceof ConfigError) return fail(EXIT.usage, 'Config', e.message);
    if (e instanceof NotFoundError) return fail(EXIT.notFound, 'NotFound', e.message);
    if (e instanceof RefusedError) return fail(EXIT.refused, 'Refused', e.message);
    return fail(EXIT.internal, 'Internal', (e as Error).message ?? String(e));
  } finally {
    await connected?.close().catch(() => undefined);
    connected = undefined;
  }
}
