// Repair step 3: fence the failed machine, a hard power-off through its BMC (ForceOff, not a graceful shutdown: the
// OS is dead or lying), confirmed by the BMC reporting Off. Without power control, or when the BMC does not confirm,
// an operator decides: confirmFenced ("it is off: I pulled the power") or abort. This step never times out into
// proceeding: the next steps let the node's VMs start elsewhere, and a machine still running them would run them
// twice (the one invariant a repair must never break).
import { condition, isCancellation } from '@temporalio/workflow';
import { fenceDecisionKey } from '../../domain/progress.js';
import { Aborted, failureMessage } from '../failures.js';
import { powerCommands, quick, waiting } from './activities.js';
import { iso, type MaintenanceRun } from './state.js';

export async function fence(run: MaintenanceRun): Promise<void> {
  const { node, power: target } = run;
  const { offTimeoutMs: timeoutMs } = run.policy.power;
  run.enter('Fence', `hard power-off of ${node}`);
  await run.unpaused();
  if (target.kind === 'none') {
    return await askOperator(run, `no power control for ${node} (no BareMetalHost, no Redfish BMC)`);
  }
  await quick.markNode({ node, phase: 'Fence', message: `fencing ${node}: hard power-off`, warning: true });
  // Set before the command: a try that failed may still have reached the BMC (the roll-back then powers on).
  run.changed.poweredOff = true;
  try {
    await powerCommands(timeoutMs).powerOff.executeWithOptions({ summary: `fence ${node}: hard power-off` }, [
      { target, graceful: false },
    ]);
    run.changed.powerOffAcknowledged = true;
    await waiting(timeoutMs).waitForPower({ target, on: false, timeoutMs });
  } catch (e) {
    if (isCancellation(e)) throw e;
    return await askOperator(run, `the BMC did not confirm ${node} off: ${failureMessage(e)}`);
  }
  fenced(run, 'the BMC reports the machine off');
}

function fenced(run: MaintenanceRun, how: string): void {
  run.changed.fenced = true;
  if (run.power.kind !== 'none') run.progress.power = 'off';
  run.enter('Fence', `fenced: ${how}`);
}

/** Waits for an operator's answer, however long it takes, with a reminder on the node every reminderEvery. */
async function askOperator(run: MaintenanceRun, reason: string): Promise<void> {
  const { node, decisions } = run;
  const key = fenceDecisionKey(node);
  run.ask({ vmi: key, reason, allowed: ['confirmFenced', 'abort'], since: iso() });
  const ask =
    `${reason}. Make sure the machine is off (pull the power), then decide confirmFenced for ${key}; ` +
    'or abort. Its VMs stay down until then.';
  run.enter('Fence', `waiting for an operator: ${ask}`);
  await quick.markNode({ node, phase: 'Fence', message: ask, warning: true });
  while (!(await condition(() => decisions.has(key), run.policy.hold.reminderEveryMs))) {
    await quick.markNode({ node, phase: 'Fence', message: `still waiting: ${ask}`, warning: true });
  }
  const decision = decisions.get(key);
  decisions.delete(key);
  run.settled(key);
  if (decision !== 'confirmFenced') throw new Aborted(`the fence of ${node} was aborted by an operator (${reason})`);
  fenced(run, 'an operator confirmed the machine is off');
}
