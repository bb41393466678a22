// What an operator can send a running nodeMaintenance: the progress query, decisions for escalated VMs, the release
// of a held node, pause and resume. Validators refuse what cannot apply now, so the caller hears why at once.
import { setHandler } from '@temporalio/workflow';
import { ENDING_PHASES, type Phase } from '../../domain/progress.js';
import { decideUpdate, pauseUpdate, progressQuery, releaseUpdate, resumeUpdate } from '../messages.js';
import type { MaintenanceRun } from './state.js';

export function setHandlers(run: MaintenanceRun): void {
  const { progress, node } = run;
  setHandler(progressQuery, () => progress);

  setHandler(
    decideUpdate,
    ({ vmi, action }) => {
      run.decisions.set(vmi, action);
      return `${action} recorded for ${vmi}`;
    },
    {
      validator: ({ vmi, action }) => {
        const pending = progress.decisionsPending.find((d) => d.vmi === vmi);
        if (!pending) {
          const waiting = progress.decisionsPending.map((d) => d.vmi).join(', ') || 'none';
          throw new Error(`no decision is pending for ${vmi} (pending: ${waiting})`);
        }
        if (!pending.allowed.includes(action)) {
          throw new Error(`"${action}" is not allowed for ${vmi}; allowed: ${pending.allowed.join(', ')}`);
        }
      },
    },
  );

  setHandler(
    releaseUpdate,
    (input) => {
      run.released = true;
      return `released ${node}${input?.note ? `: ${input.note}` : ''}`;
    },
    {
      // A release may come early (the repair was quick): it is kept until the hold is reached.
      validator: (_input) => {
        // A repair always holds: its node comes back only on release, whatever the request's hold says.
        if (run.request.hold === 'none' && progress.runbook !== 'repair') {
          throw new Error(`the maintenance of ${node} does not hold (hold: none)`);
        }
        if (run.released) throw new Error(`${node} is already released`);
        if ((ENDING_PHASES as readonly Phase[]).includes(progress.phase)) {
          throw new Error(`nothing to release: the maintenance of ${node} is ${progress.phase}`);
        }
      },
    },
  );

  const ended = (what: string) => {
    if ((ENDING_PHASES as readonly Phase[]).includes(progress.phase)) {
      throw new Error(`nothing to ${what}: the maintenance of ${node} is ${progress.phase}`);
    }
  };
  setHandler(
    pauseUpdate,
    () => {
      progress.paused = true;
      run.show();
      return 'paused: no new step starts until resume';
    },
    {
      validator: () => {
        ended('pause');
        if (progress.paused) throw new Error(`the maintenance of ${node} is already paused`);
      },
    },
  );
  setHandler(
    resumeUpdate,
    () => {
      progress.paused = false;
      run.show();
      return 'resumed';
    },
    {
      validator: () => {
        ended('resume');
        if (!progress.paused) throw new Error(`the maintenance of ${node} is not paused`);
      },
    },
  );
}
