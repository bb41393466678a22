/**
 * `pitstop`: the command line. Talks to Temporal directly (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TLS / API key
 * variables, PITSTOP_TASK_QUEUE), so it works without the HTTP API.
 *
 * Exit codes: 0 ok; 1 the workflow failed, rolled back or was cancelled; 2 usage error or invalid input;
 * 3 not found; 4 refused (preflight refused, an update refused, not running); 5 Temporal unreachable or internal error.
 */
import { Command, CommanderError, Option } from 'commander';
import { ConfigError } from '../config/read.js';
import { InvalidInputError } from '../domain/errors.js';
import { NotFoundError, RefusedError } from '../client/errors.js';
import type { Progress } from '../domain/progress.js';
import { maintenanceCommands } from './commands/maintenance.js';
import { rollingCommands } from './commands/rolling.js';
import { scheduleCommands } from './commands/schedule.js';
import { closeService, err, EXIT, Exit, exitOf, out, service, type Output } from './context.js';
import { LiveView } from './liveView.js';
import { changeLines, progressFrame, viewLines } from './render.js';

export { EXIT };

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
  maintenanceCommands(program, watch);
  rollingCommands(program);
  scheduleCommands(program);
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
    await closeService();
  }
}
