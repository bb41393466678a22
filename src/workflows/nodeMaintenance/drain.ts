// Steps 2 and 4, as kubectl drain does them: cordon the node, then evict its pods round by round. The node's marks
// (phase annotation + Event) ride along with the activity beside them, to keep the history short.
import { sleep } from '@temporalio/workflow';
import { Aborted } from '../failures.js';
import { quick } from './activities.js';
import type { MaintenanceRun } from './state.js';

/** Cordons (remembering whether it already was), taints and excludes the node from remediation. */
export async function cordon(run: MaintenanceRun): Promise<void> {
  const { node, workflowId, request } = run;
  run.enter('Cordon');
  await run.unpaused();
  // A cordon whose answer was lost (worker killed: StartToClose timeout) may still have landed, so it counts as done
  // before the call; the roll-back's uncordon only undoes marks carrying this workflow's id.
  run.changed.cordoned = true;
  const marks = [
    { phase: 'Cordon', message: `maintenance ${workflowId} started: ${request.reason ?? 'no reason given'}` },
    { phase: 'EvacuateVMs' },
  ];
  await quick.cordon({ node, workflowId, marks });
}

/** Evicts the pods left once the VMs are off: re-listed each round, PodDisruptionBudget refusals waited out. */
export async function evictPods(run: MaintenanceRun): Promise<void> {
  const { node, policy, progress } = run;
  run.enter('EvictPods');
  const deadline = Date.now() + policy.drain.timeoutMs;
  for (let first = true; ; first = false) {
    await run.unpaused();
    const round = await quick.drainRound({
      node,
      deleteEmptyDirData: policy.drain.deleteEmptyDirData,
      evictUnmanagedPods: policy.drain.evictUnmanagedPods,
      ...(first && { mark: { phase: 'EvictPods' } }),
    });
    progress.pods.total = Math.max(progress.pods.total, round.total - round.skipped.length);
    progress.pods.evicted += round.evicted.length;
    progress.pods.blocked = round.blocked.length;
    progress.pods.blockers = round.blocked.slice(0, 10).map((b) => `${b.pod}: ${b.reason}`);
    run.updateDrainProgress();
    if (round.remaining === 0) return;
    // Waiting cannot help a pod the drain policy forbids evicting (kubectl drain refuses these up front too).
    const forbidden = round.blocked.filter((b) => b.by === 'policy');
    if (forbidden.length) {
      throw new Aborted(
        `pods the drain policy does not allow to evict: ${forbidden.map((b) => `${b.pod} (${b.reason})`).join('; ')}`,
      );
    }
    if (Date.now() + policy.drain.evictionRetryIntervalMs > deadline) {
      throw new Aborted(
        `pods still on the node after ${policy.drain.timeoutMs / 1000}s: ${progress.pods.blockers.join('; ')}`,
      );
    }
    await sleep(policy.drain.evictionRetryIntervalMs);
  }
}
