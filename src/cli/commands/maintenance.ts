// The node maintenance commands: start, plan, status, watch, decide, release, pause, resume, cancel, list.
import { Option, type Command } from 'commander';
import type { PitstopService } from '../../client/service.js';
import { EXIT, Exit, intervalOf, json, out, outputOf, readInput, service, show, type Output } from '../context.js';
import { planLines, runLines, viewLines } from '../render.js';

/** Follows a maintenance to its end and returns the exit code (the live view, src/cli/main.ts). */
export type Watch = (node: string, output: Output, intervalMs: number) => Promise<number>;

function startCommand(program: Command, watch: Watch): void {
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
}

/** A command on one node whose answer is a message (decide, release, pause, resume, cancel). */
function nodeAction(
  program: Command,
  name: string,
  description: string,
  act: (svc: PitstopService, node: string, args: string[], opts: Record<string, string | undefined>) => Promise<string>,
  extra: (command: Command) => Command = (c) => c,
): void {
  extra(program.command(name).description(description).argument('<node>', 'node name')).action(
    async (node: string, ...rest: unknown[]) => {
      const command = rest.at(-1) as Command;
      const args = rest.slice(0, -2) as string[];
      const message = await act(await service(), node, args, rest.at(-2) as Record<string, string | undefined>);
      show(command, { message }, message);
    },
  );
}

export function maintenanceCommands(program: Command, watch: Watch): void {
  startCommand(program, watch);

  program
    .command('plan')
    .description('dry run: preflight verdict and per-VM plan; changes nothing')
    .argument('<node>', 'node name')
    .option('--input <json>', 'more input fields as JSON (or @file.json)')
    .action(async (node: string, opts, command: Command) => {
      const result = await (await service()).planMaintenance({ ...readInput(opts.input), node });
      show(command, result, planLines(result));
      if (!result.verdict.ok) throw new Exit(EXIT.refused);
    });

  program
    .command('status')
    .description('the latest maintenance of a node: progress, or how it ended')
    .argument('<node>', 'node name')
    .action(async (node: string, _opts, command: Command) => {
      const view = await (await service()).getMaintenance(node);
      show(command, view, viewLines(view));
    });

  program
    .command('watch')
    .description('live view until the maintenance ends (progress bars on a terminal, lines otherwise)')
    .argument('<node>', 'node name')
    .option('--interval <ms>', 'refresh interval in milliseconds', '1000')
    .action(async (node: string, opts, command: Command) => {
      throw new Exit(await watch(node, outputOf(command), intervalOf(opts.interval)));
    });

  nodeAction(
    program,
    'decide',
    'answer an escalation',
    (svc, node, [vmi, action]) => svc.decide(node, { vmi, action }),
    (c) => c.argument('<vmi>', 'namespace/name of the VM instance').argument('<action>', 'shutdown | retry | delete'),
  );
  nodeAction(
    program,
    'release',
    'the repair is done: power on and finish',
    (svc, node, _args, opts) => svc.release(node, opts.note !== undefined ? { note: opts.note } : {}),
    (c) => c.option('--note <text>', 'what was done'),
  );
  nodeAction(program, 'pause', 'no new step starts until resume', (svc, node) => svc.pauseMaintenance(node));
  nodeAction(program, 'resume', 'resume a paused maintenance', (svc, node) => svc.resumeMaintenance(node));
  nodeAction(program, 'cancel', 'cancel: the maintenance rolls back', (svc, node) => svc.cancelMaintenance(node));

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
      show(command, runs, runLines(runs));
    });
}
