// Steps 5 and 7: the machine off for the repair and on again, through its BMC (Metal3 or Redfish). Graceful first;
// a machine that ignores it within the off timeout is forced off.
import { isCancellation } from '@temporalio/workflow';
import { failureMessage } from '../failures.js';
import { powerCommands, quick, waiting } from './activities.js';
import type { MaintenanceRun } from './state.js';

/** Powers the machine off and waits until the BMC says Off and the node is NotReady. */
export async function powerOff(run: MaintenanceRun): Promise<void> {
  const { node, power: target } = run;
  const { offTimeoutMs: timeoutMs } = run.policy.power;
  run.enter('PowerOff');
  await run.unpaused();
  await quick.markNode({ node, phase: 'PowerOff' });
  // Set before the command: a try that failed may still have reached the BMC, so the roll-back powers on.
  run.changed.poweredOff = true;
  const command = powerCommands(timeoutMs);
  await command.powerOff({ target, graceful: true });
  run.changed.powerOffAcknowledged = true;
  try {
    await waiting(timeoutMs).waitForPower({ target, on: false, timeoutMs });
  } catch (e) {
    if (isCancellation(e)) throw e;
    await command.powerOff({ target, graceful: false });
    await waiting(timeoutMs).waitForPower({ target, on: false, timeoutMs });
  }
  await waiting(timeoutMs).waitForNodeReady({ node, ready: false, timeoutMs });
  run.progress.power = 'off';
}

/** Powers the machine on after the hold and waits until the BMC says On. */
export async function powerOn(run: MaintenanceRun): Promise<void> {
  const { onTimeoutMs: timeoutMs } = run.policy.power;
  run.enter('PowerOn');
  await run.unpaused();
  await quick.powerOn({ target: run.power });
  await waiting(timeoutMs).waitForPower({ target: run.power, on: true, timeoutMs });
  run.changed.poweredOff = false;
  run.progress.power = 'on';
}

/**
 * The roll-back's power-on, bounded by the on timeout: the command, then the BMC reporting On. Returns what is left
 * for the operator when the machine could not be powered on, else undefined.
 */
export async function powerOnForRollBack(run: MaintenanceRun): Promise<string | undefined> {
  const { node, power: target } = run;
  const { onTimeoutMs: timeoutMs } = run.policy.power;
  try {
    await powerCommands(timeoutMs).powerOn({ target });
    await waiting(timeoutMs).waitForPower({ target, on: true, timeoutMs });
    return undefined;
  } catch (e) {
    const state = run.changed.powerOffAcknowledged
      ? 'it was powered off'
      : 'its power state is unknown (the power-off was never acknowledged)';
    return (
      `the machine could not be powered on (${failureMessage(e)}); ${state}. ` +
      `Node ${node} is left cordoned (tainted, excluded from remediation, annotated NeedsAttention); the lease is ` +
      `released and every VM this maintenance stopped was started again elsewhere. To finish: power the machine ` +
      `on by hand, and once the node is Ready start nodeMaintenance {"node":"${node}","power":"none","hold":"none"}, ` +
      `which puts the node back as it was before`
    );
  }
}
