// `pitstop schedule ...`: Temporal Schedules that start rolling maintenance.
import type { Command } from 'commander';
import type { PitstopService } from '../../client/service.js';
import { readInput, service, show } from '../context.js';

const ACTIONS: readonly [string, string, string, (svc: PitstopService, name: string) => Promise<unknown>][] = [
  ['pause', 'pause a schedule', 'paused', (svc, name) => svc.pauseSchedule(name)],
  ['unpause', 'unpause a schedule', 'unpaused', (svc, name) => svc.unpauseSchedule(name)],
  ['delete', 'delete a schedule', 'deleted', (svc, name) => svc.deleteSchedule(name)],
  ['trigger', 'run it now', 'triggered', (svc, name) => svc.triggerSchedule(name)],
];

export function scheduleCommands(program: Command): void {
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
      show(command, view, `created schedule ${view.name}; next: ${view.nextActionTimes[0] ?? 'none (paused)'}`);
    });
  schedule
    .command('list')
    .description("Pitstop's schedules")
    .action(async (_opts, command: Command) => {
      const list = await (await service()).listSchedules();
      const lines = list.map(
        (s) => `${s.name.padEnd(32)} ${s.paused ? 'paused ' : 'active '} next ${s.nextActionTimes[0] ?? '-'}`,
      );
      show(command, list, lines.length > 0 ? lines : '(none)');
    });
  schedule
    .command('describe')
    .description('spec, state, next and recent actions')
    .argument('<name>', 'schedule name')
    .action(async (name: string, _opts, command: Command) => {
      const view = await (await service()).getSchedule(name);
      show(command, view, [
        `${view.name}  ${view.paused ? 'paused' : 'active'}  ${view.every ? `every ${view.every}` : `cron ${view.cron ?? ''}`}`,
        ...view.recentActions.map((a) => `  ran ${a.takenAt}  ${a.workflowId}`),
        ...view.nextActionTimes.slice(0, 3).map((t) => `  next ${t}`),
      ]);
    });
  for (const [name, description, done, act] of ACTIONS) {
    schedule
      .command(name)
      .description(description)
      .argument('<name>', 'schedule name')
      .action(async (scheduleName: string, _opts, command: Command) => {
        await act(await service(), scheduleName);
        const message = `schedule ${scheduleName}: ${done}`;
        show(command, { message }, message);
      });
  }
}
