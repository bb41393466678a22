// Steps 5 and 7: the machine off for the repair and on again, through its BMC (Metal3 or Redfish). Graceful first;
// a machine that ignores it within the off timeout is forced off.
import { isCancellation } from '@temporalio/workflow';
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
  await command.powerOff.executeWithOptions({ summary: `power ${node} off (graceful)` }, [{ target, graceful: true }]);
  run.changed.powerOffAcknowledged = true;
  try {
    await waiting(timeoutMs).waitForPower({ target, on: false, timeoutMs });
  } catch (e) {
    if (isCancellation(e)) throw e;
    await command.powerOff.executeWithOptions({ summary: `power ${node} off (hard: the graceful one did not end)` }, [
      { target, graceful: false },
    ]);
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
  await quick.powerOn.executeWithOptions({ summary: `power ${run.node} on` }, [{ target: run.power }]);
  await waiting(timeoutMs).waitForPower({ target: run.power, on: true, timeoutMs });
  run.changed.poweredOff = false;
  run.progress.power = 'on';
}
