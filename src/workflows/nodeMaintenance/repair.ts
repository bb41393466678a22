// The repair runbook: a node that has failed (NotReady, its VMs unreachable) is fenced and its VMs restart on other
// nodes, the way Node Health Check with a fence agent and KubeVirt do it. Preflight and admission are shared with
// the planned runbook (workflow.ts); from the lease on:
// cordon → fence → release the workloads → recover the VMs → hold for the repair → return to service.
// Before the machine is confirmed off, a failure, abort or cancel rolls back as a planned run does, except that the
// node stays cordoned (NodeFailed). After it, nothing is undone: the node stays off, cordoned and tainted, and the
// run ends NeedsAttention naming what is left. Either way, a node that was never repaired must not silently go back
// into service.
import { CancellationScope, isCancellation } from '@temporalio/workflow';
import { OUT_OF_SERVICE_TAINT } from '../../domain/contract.js';
import type { PreflightVerdict } from '../../domain/preflight.js';
import type { MaintenanceResult } from '../../domain/progress.js';
import { FAILURE_TYPES } from '../../domain/workflowNames.js';
import { Aborted, failureMessage, workflowFailure } from '../failures.js';
import { persistent } from './activities.js';
import { cordon } from './drain.js';
import { fence } from './fence.js';
import { hold } from './hold.js';
import { recoverVms, releaseWorkloads, returnToService } from './recover.js';
import { rollBack } from './rollBack.js';
import type { MaintenanceRun } from './state.js';

export async function repair(run: MaintenanceRun, verdict: PreflightVerdict): Promise<MaintenanceResult> {
  const { node } = run;
  run.progress.vms = verdict.plan.map((p) => ({
    vmi: p.vmi,
    action: p.action,
    restore: p.restore,
    state: 'pending',
    attempts: 0,
    sourceNode: node,
  }));
  try {
    // 2. Cordon, the NoSchedule taint, exclude from remediation (never NoExecute before the fence).
    await cordon(run);
    // 3. Fence: hard power-off confirmed by the BMC, or by an operator.
    await fence(run);
    // 4. Release the workloads: the out-of-service taint, then the pods gone.
    await releaseWorkloads(run);
    // 5. Recover the VMs on other nodes (KubeVirt restarts most; Pitstop starts Manual ones).
    await recoverVms(run, verdict.plan);
    // 6. Hold, machine off, until the repair is done (a repair always holds).
    await hold(run);
    // 7. Power on, Ready and virt-handler healthy, the taint off, uncordon, the lease released.
    await returnToService(run);
    return { node, outcome: 'Completed', verdict, summary: run.summary() };
  } catch (e) {
    const why = isCancellation(e) ? 'cancelled' : e instanceof Aborted ? e.message : failureMessage(e);
    if (run.changed.fenced) {
      const note = await CancellationScope.nonCancellable(() => leaveFenced(run, why));
      throw workflowFailure(FAILURE_TYPES.leftFenced, note);
    }
    // Before the fence: the roll-back of a planned run, except that a node this run cordoned stays cordoned. It was
    // unhealthy at preflight (else the planned runbook would run) and nothing repaired it: it must not silently go
    // back into service, even when the operator aborted the fence or cancelled the repair.
    const notRepaired = run.changed.cordoned
      ? `${node} failed and was not repaired (the repair stopped before the fence: ${why})`
      : undefined;
    const { note: left } = await CancellationScope.nonCancellable(() => rollBack(run, why, notRepaired));
    if (notRepaired) throw workflowFailure(FAILURE_TYPES.nodeFailed, `repair of ${node} stopped: ${left}`);
    if (left)
      throw workflowFailure(
        FAILURE_TYPES.rollbackIncomplete,
        `repair of ${node} rolled back incompletely (${why}): ${left}`,
      );
    if (isCancellation(e)) throw e;
    const type = e instanceof Aborted ? FAILURE_TYPES.aborted : FAILURE_TYPES.maintenanceFailed;
    throw workflowFailure(type, `repair of ${node} rolled back before the fence: ${why}`);
  }
}

/**
 * The end of a fenced repair that was not released: the node is left as it is (off, cordoned, tainted), its phase
 * NeedsAttention with the note, and the lease released so the operator (or another tool) can take over.
 */
async function leaveFenced(run: MaintenanceRun, why: string): Promise<string> {
  const { node, workflowId, changed } = run;
  const power =
    run.power.kind === 'none' ? 'as the operator left it' : changed.poweredOff ? 'powered off' : 'powered on';
  const taint = changed.outOfService ? `, tainted ${OUT_OF_SERVICE_TAINT.key}` : '';
  const starting = [...changed.starting].map((vmi) => `${vmi} (runStrategy left Always: it starts once there is room)`);
  const note =
    `${node} was fenced and is left ${power}, cordoned${taint}: ${why}. It was not returned to service: repair it, ` +
    `power it on, wait until it is Ready, then remove the taints and uncordon it (docs/repair.md, "Finishing by hand")` +
    (starting.length ? `; VMs being started: ${starting.join(', ')}` : '');
  const problems: string[] = [];
  const attempt = (what: string, step: () => Promise<unknown>) =>
    step().catch((e: unknown) => problems.push(`${what}: ${failureMessage(e)}`));
  await attempt('marking the node', () =>
    persistent.markNode({ node, phase: 'NeedsAttention', message: note, warning: true }),
  );
  await attempt('releasing the lease', () => persistent.releaseLease({ node, workflowId }));
  changed.lease = false;
  const full = problems.length ? `${note}; also left: ${problems.join('; ')}` : note;
  run.enter('NeedsAttention', full);
  return full;
}
