// `pitstop rolling ...`: rolling maintenance of many nodes (start, status, list, pause, resume, cancel, skip).
import type { Command } from 'commander';
import type { PitstopService } from '../../client/service.js';
import { readInput, service, show } from '../context.js';
import { rollingLines, runLines } from '../render.js';

const ACTIONS: readonly [string, string, (svc: PitstopService, name: string) => Promise<string>][] = [
  ['pause', 'no new node starts until resume', (svc, name) => svc.pauseRolling(name)],
  ['resume', 'resume', (svc, name) => svc.resumeRolling(name)],
  ['cancel', 'cancel the roll', (svc, name) => svc.cancelRolling(name)],
];

export function rollingCommands(program: Command): void {
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
      show(
        command,
        outcome,
        `${outcome.started ? 'started' : 'already running:'} ${outcome.workflowId} (run ${outcome.runId})`,
      );
    });
  rolling
    .command('status')
    .description('progress per node')
    .argument('<name>', 'rolling maintenance name')
    .action(async (name: string, _opts, command: Command) => {
      const view = await (await service()).getRolling(name);
      show(command, view, rollingLines(view));
    });
  rolling
    .command('list')
    .description('running and recent rolling maintenances')
    .option('--running', 'only running ones')
    .action(async (opts, command: Command) => {
      const runs = await (await service()).listRolling({ running: opts.running === true });
      show(command, runs, runLines(runs));
    });
  for (const [name, description, act] of ACTIONS) {
    rolling
      .command(name)
      .description(description)
      .argument('<name>', 'rolling maintenance name')
      .action(async (rollName: string, _opts, command: Command) => {
        const message = await act(await service(), rollName);
        show(command, { message }, message);
      });
  }
  rolling
    .command('skip')
    .description('skip a node that has not started')
    .argument('<name>', 'rolling maintenance name')
    .argument('<node>', 'node to skip')
    .action(async (rollName: string, node: string, _opts, command: Command) => {
      const message = await (await service()).skipNode(rollName, { node });
      show(command, { message }, message);
    });
}
