// The nodeMaintenance workflow: one JSON object in (what the Temporal UI's start form takes), the runbook out.
// Preflight → cordon → evacuate VMs → evict pods → power off → hold → power on → wait Ready → uncordon → restore.
// Any failure, abort or cancel after the lease is taken rolls back everything this run changed.
import {
  ActivityCancellationType,
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  CancelledFailure,
  condition,
  isCancellation,
  patched,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  sleep,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { preflight } from '../domain/preflight.js';
import type { Decision, VmPlan } from '../domain/plan.js';
import { parseMaintenanceRequest, type MaintenanceInput } from '../domain/request.js';
import type { Activities } from '../activities/index.js';
import { progressMarkdown } from './details.js';
import { escalated, migrationEnded, phaseChanged } from './metrics.js';
import { parseOrFail } from './input.js';
import { ParentReporter } from './parentReport.js';
import {
  MAINTENANCE_NODE,
  MAINTENANCE_PHASE,
  decideUpdate,
  pauseUpdate,
  progressQuery,
  releaseUpdate,
  resumeUpdate,
  type MaintenanceResult,
  type Phase,
  type Progress,
  type VmRow,
} from './messages.js';

const RETRY = { initialInterval: '1s', maximumInterval: '30s', backoffCoefficient: 2 };
/**
 * Short steps. On cancel the workflow waits for them to finish (they take milliseconds and do not heartbeat),
 * so a roll-back never races a step still landing, e.g. a VM stop arriving after its restore.
 */
const quick = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: { ...RETRY, maximumAttempts: 10 },
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
});
const { preflightSnapshot } = quick;
/** Roll-back steps keep trying: leaving a node half-done is worse than a slow roll-back. */
const persistent = proxyActivities<Activities>({
  startToCloseTimeout: '2 minutes',
  retry: RETRY, // no attempt limit
});
/**
 * Power commands bounded by the policy's power timeout (chaos seed 34): an unreachable BMC fails the step within
 * that time (and at most 10 tries) instead of retrying for minutes, or forever in a roll-back.
 */
const powerCommands = (timeoutMs: number) =>
  proxyActivities<Activities>({
    scheduleToCloseTimeout: Math.max(timeoutMs, 30_000),
    startToCloseTimeout: '1 minute',
    retry: { ...RETRY, maximumAttempts: 10 },
  });
/** Long waits heartbeat; a restarted worker resumes them within the heartbeat timeout. */
const waiting = (timeoutMs: number) =>
  proxyActivities<Activities>({
    startToCloseTimeout: timeoutMs + 60_000,
    heartbeatTimeout: '30 seconds',
    retry: { ...RETRY, maximumAttempts: 5 },
  });

class Aborted extends Error {
  override readonly name = 'Aborted';
}

const iso = (ms = Date.now()) => new Date(ms).toISOString();

export async function nodeMaintenance(input: MaintenanceInput): Promise<MaintenanceResult> {
  // Started by a rolling maintenance: report to it. Runs without a parent (every recorded history) are unchanged.
  const parent = workflowInfo().parent;
  const node = (input as { node?: unknown } | undefined)?.node;
  const reporter =
    parent && patched('report-to-parent') ? new ParentReporter(parent.workflowId, String(node)) : undefined;
  if (!reporter) return await maintain(input);
  try {
    const result = await maintain(input, reporter);
    await reporter.finished('completed', result.outcome);
    return result;
  } catch (e) {
    const refused = e instanceof ApplicationFailure && e.type === 'PreflightRefused';
    await reporter.finished(refused ? 'refused' : 'failed', isCancellation(e) ? 'cancelled' : (e as Error).message);
    throw e;
  }
}

async function maintain(input: MaintenanceInput, reporter?: ParentReporter): Promise<MaintenanceResult> {
  const request = parseOrFail(parseMaintenanceRequest, input);
  const { node, policy } = request;
  const workflowId = workflowInfo().workflowId;
  const progress: Progress = {
    node,
    phase: 'Preflight',
    dryRun: request.dryRun,
    paused: false,
    startedAt: iso(workflowInfo().startTime.getTime()),
    vms: [],
    pods: { total: 0, evicted: 0, blocked: 0, blockers: [] },
    decisionsPending: [],
    power: 'unmanaged',
    drainProgress: 0,
    timeline: [],
  };
  const decisions = new Map<string, Decision>();
  let released = false;
  setHandler(progressQuery, () => progress);
  setHandler(
    decideUpdate,
    ({ vmi, action }) => {
      decisions.set(vmi, action);
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
      released = true;
      return `released ${node}${input?.note ? `: ${input.note}` : ''}`;
    },
    {
      // A release may come early (the repair was quick): it is kept until the hold is reached.
      validator: (_input) => {
        if (request.hold === 'none') throw new Error(`the maintenance of ${node} does not hold (hold: none)`);
        if (released) throw new Error(`${node} is already released`);
        const ended = ['Done', 'RollingBack', 'RolledBack', 'NeedsAttention', 'Refused', 'DryRun', 'Failed'];
        if (ended.includes(progress.phase)) {
          throw new Error(`nothing to release: the maintenance of ${node} is ${progress.phase}`);
        }
      },
    },
  );
  setHandler(pauseUpdate, () => {
    progress.paused = true;
    show();
    return 'paused: no new step starts until resume';
  });
  setHandler(resumeUpdate, () => {
    progress.paused = false;
    show();
    return 'resumed';
  });

  function show() {
    setCurrentDetails(progressMarkdown(progress));
    reporter?.changed(progress);
  }
  let current: { phase: Phase; since: number } | undefined;
  function enter(phase: Phase, message?: string) {
    phaseChanged(current, phase, Date.now());
    current = { phase, since: Date.now() };
    progress.phase = phase;
    progress.message = message;
    progress.timeline.push({ at: iso(), phase, message });
    if (progress.timeline.length > 50) progress.timeline.shift();
    upsertSearchAttributes([
      { key: MAINTENANCE_NODE, value: node },
      { key: MAINTENANCE_PHASE, value: phase },
    ]);
    show();
  }
  const unpaused = () => condition(() => !progress.paused);

  enter('Preflight');
  // 1. Preflight: read the cluster once, decide with pure functions. A refused preflight changes nothing.
  const snapshot = await beforeLease(() => preflightSnapshot({ node, workflowId }));
  progress.verdict = preflight(snapshot, request);
  if (request.dryRun) {
    enter('DryRun', progress.verdict.ok ? 'plan computed, nothing changed' : 'preflight would refuse; nothing changed');
    return { node, outcome: 'DryRun', verdict: progress.verdict };
  }
  if (!progress.verdict.ok) {
    const reasons = progress.verdict.refusals.map((r) => r.message).join('; ');
    enter('Refused', reasons);
    throw ApplicationFailure.create({
      type: 'PreflightRefused',
      message: `maintenance of ${node} refused: ${reasons}`,
      nonRetryable: true,
      details: [progress.verdict.refusals],
    });
  }
  const verdict = progress.verdict;
  // Runs recorded before the power check existed went straight on; keep replaying them as they ran.
  const power = patched('power-preflight')
    ? await beforeLease(() => quick.resolvePower({ node, power: request.power, redfish: request.redfish }))
    : ({ kind: 'none' } as const);
  progress.power = power.kind === 'none' ? 'unmanaged' : 'on';

  // What this run changed, for the roll-back.
  const changed = {
    lease: false,
    cordoned: false,
    /** A power-off was asked for: the power state is no longer known to be on. */
    poweredOff: false,
    /** The BMC acknowledged a power-off (seed 34: `poweredOff` alone was set before anything was sent). */
    powerOffAcknowledged: false,
    migrations: new Map<string, string>(), // vmi → VMIM we started and may still run
    stopped: new Map<string, VmPlan>(), // vmi → plan of VMs we shut down
  };

  // The lease makes the node ours; someone else holding it (another run, a medik8s operator) is a refusal,
  // and nothing has changed yet, so there is nothing to roll back.
  try {
    await quick.acquireLease({ node, workflowId, durationSeconds: Math.ceil(policy.overallTimeoutMs / 1000) });
  } catch (e) {
    // Chaos seed 35: a try that timed out (worker killed) or was cancelled may still have taken the lease on the
    // server; it is ours, so give it back (releasing checks the holder). A cancel stays a cancel.
    if (patched('release-lease-after-failed-acquire')) {
      await CancellationScope.nonCancellable(() => persistent.releaseLease({ node, workflowId }));
      if (isCancellation(e)) throw e;
    }
    const why = (e as { cause?: Error }).cause?.message ?? (e as Error).message;
    enter('Refused', why);
    throw ApplicationFailure.create({
      type: 'PreflightRefused',
      message: `maintenance of ${node} refused: ${why}`,
      nonRetryable: true,
    });
  }

  try {
    changed.lease = true;

    // 2. Cordon (remembering whether it already was), taint, exclude from remediation.
    enter('Cordon');
    await unpaused();
    // A cordon whose answer was lost (worker killed: StartToClose timeout) may still have landed, so it counts as
    // done before the call; the roll-back's uncordon only undoes marks carrying this workflow's id (chaos seed 89).
    // Older runs replay as they ran.
    if (patched('cordon-counted-before-call')) changed.cordoned = true;
    // The node's marks (phase annotation + Event) ride along with the activity beside them, to keep histories short:
    // the cordon marks Cordon and EvacuateVMs, the first drain round EvictPods, the lease release the end. Runs
    // recorded before that replay as they ran, with a markNode activity each.
    const marksRideAlong = patched('node-marks-ride-along');
    const marks = [
      { phase: 'Cordon', message: `maintenance ${workflowId} started: ${request.reason ?? 'no reason given'}` },
      { phase: 'EvacuateVMs' },
    ];
    await quick.cordon({ node, workflowId, ...(marksRideAlong && { marks }) });
    changed.cordoned = true;
    if (!marksRideAlong) await quick.markNode({ node, ...marks[0]! });

    // 3. Evacuate VMs per plan, at most policy.parallelMigrations at once.
    enter('EvacuateVMs', `${verdict.plan.length} VMs`);
    if (!marksRideAlong) await quick.markNode({ node, ...marks[1]! });
    progress.vms = verdict.plan.map((p) => ({
      vmi: p.vmi,
      action: p.action,
      restore: p.restore,
      state: 'pending',
      attempts: 0,
      sourceNode: node,
    }));
    await evacuate(verdict.plan);

    // 4. Evict the remaining pods (re-listed each round; PDB 429s retried with backoff).
    enter('EvictPods');
    if (!marksRideAlong) await quick.markNode({ node, phase: 'EvictPods' });
    await drainPods(marksRideAlong ? { phase: 'EvictPods' } : undefined);

    // 5. Power off and wait until the machine is off and the node NotReady.
    if (power.kind !== 'none') {
      enter('PowerOff');
      await unpaused();
      await quick.markNode({ node, phase: 'PowerOff' });
      // Set before the command: a try that failed may still have reached the BMC, so the roll-back powers on.
      changed.poweredOff = true;
      await powerDown(power);
      await waiting(policy.power.offTimeoutMs).waitForNodeReady({
        node,
        ready: false,
        timeoutMs: policy.power.offTimeoutMs,
      });
      progress.power = 'off';
    }

    // 6. Hold until released (the repair), with reminders and a deadline.
    if (request.hold === 'untilReleased') {
      const since = Date.now();
      const deadline = since + policy.hold.deadlineMs;
      progress.hold = { since: iso(since), deadline: iso(deadline) };
      enter('Hold', 'waiting for the release update');
      await quick.markNode({ node, phase: 'Hold', message: 'waiting for release' });
      while (!released) {
        const left = deadline - Date.now();
        if (left <= 0) throw new Aborted(`not released before the hold deadline (${iso(deadline)})`);
        if (!(await condition(() => released, Math.min(left, policy.hold.reminderEveryMs)))) {
          await quick.markNode({ node, phase: 'Hold', message: `still waiting for release since ${iso(since)}` });
        }
      }
      progress.hold.released = iso();
    }

    // 7. Power on, 8. wait for Ready.
    if (power.kind !== 'none') {
      enter('PowerOn');
      await unpaused();
      await quick.powerOn({ target: power });
      await waiting(policy.power.onTimeoutMs).waitForPower({
        target: power,
        on: true,
        timeoutMs: policy.power.onTimeoutMs,
      });
      changed.poweredOff = false;
      progress.power = 'on';
    }
    enter('WaitReady');
    await waiting(policy.ready.timeoutMs).waitForNodeReady({ node, ready: true, timeoutMs: policy.ready.timeoutMs });

    // 9. Uncordon (only what we cordoned), remove taint, label, annotation.
    enter('Uncordon');
    await unpaused();
    await quick.uncordon({ node, workflowId });
    changed.cordoned = false;

    // 10. Bring back every VM we stopped.
    enter('RestoreVMs');
    await restoreStopped(changed.stopped);

    const completed = { message: `maintenance ${workflowId} completed` };
    if (!marksRideAlong) await quick.unmarkNode({ node, ...completed });
    await quick.releaseLease({ node, workflowId, ...(marksRideAlong && { unmark: completed }) });
    changed.lease = false;
    enter('Done');
    return { node, outcome: 'Completed', verdict, summary: summary() };
  } catch (e) {
    const why = isCancellation(e) ? 'cancelled' : e instanceof Aborted ? e.message : failureMessage(e);
    const left = await CancellationScope.nonCancellable(() => rollBack(why));
    if (left) {
      // Chaos seed 34: the machine could not be powered on. Whatever started the roll-back (a cancel too), the
      // operator must hear that the node is left cordoned and what to do.
      throw ApplicationFailure.create({
        type: 'RollbackIncomplete',
        message: `maintenance of ${node} rolled back incompletely (${why}): ${left}`,
        nonRetryable: true,
      });
    }
    if (isCancellation(e)) throw e;
    throw ApplicationFailure.create({
      type: e instanceof Aborted ? 'Aborted' : 'MaintenanceFailed',
      message: `maintenance of ${node} rolled back: ${why}`,
      nonRetryable: true,
    });
  }

  // ---- the steps, in the order the runbook uses them ----

  /**
   * A step before the node is taken. Cancelled meanwhile, its failure (e.g. the try a killed worker lost, timed out
   * instead of retried because of the cancel: chaos seed 51) ends the run as cancelled, which it is: nothing changed.
   */
  async function beforeLease<T>(step: () => Promise<T>): Promise<T> {
    try {
      return await step();
    } catch (e) {
      if (
        !isCancellation(e) &&
        CancellationScope.current().consideredCancelled &&
        patched('cancelled-before-lease-ends-cancelled')
      ) {
        throw new CancelledFailure('cancelled before the node was taken; nothing changed');
      }
      throw e;
    }
  }

  async function evacuate(plans: VmPlan[]) {
    const queue = [...plans];
    const lane = async () => {
      for (let plan = queue.shift(); plan; plan = queue.shift()) {
        await unpaused();
        await handleVm(plan, row(plan.vmi));
        updateDrainProgress();
      }
    };
    // One lane per allowed parallel migration; when one VM aborts the run, the other lanes are cancelled too.
    const scope = new CancellationScope();
    const lanes: Promise<void>[] = [];
    try {
      await scope.run(() => {
        // Each lane takes its first VM before the loop goes on, so the lane count is fixed first; the old bound
        // shrank as lanes started (two VMs, two slots → one lane). Patched: older histories replay the old bound.
        if (patched('all-lanes')) {
          const count = Math.min(policy.parallelMigrations, queue.length);
          for (let i = 0; i < count; i++) lanes.push(lane());
        } else {
          for (let i = 0; i < Math.min(policy.parallelMigrations, queue.length); i++) lanes.push(lane());
        }
        return Promise.all(lanes);
      });
    } catch (e) {
      scope.cancel();
      // Let every lane settle (its short steps finish) before the roll-back looks at what changed.
      await Promise.allSettled(lanes);
      throw e;
    }
  }

  function row(vmi: string): VmRow {
    const found = progress.vms.find((r) => r.vmi === vmi);
    if (!found) throw new Error(`no row for ${vmi}`);
    return found;
  }

  function split(vmi: string) {
    const [namespace = 'default', name = vmi] = vmi.split('/');
    return { namespace, name };
  }

  async function handleVm(plan: VmPlan, r: VmRow): Promise<void> {
    r.startedAt = iso();
    show();
    switch (plan.action) {
      case 'migrate':
        if (await migrate(plan, r)) return done(r, 'migrated');
        if (plan.onMigrationFailure === 'shutdown') return await shutDown(plan, r);
        return await escalate(plan, r, migrationFailure(r));
      case 'shutdown':
        return await shutDown(plan, r);
      case 'awaitExternal':
        return await awaitExternal(plan, r);
      case 'escalate':
        return await escalate(plan, r, plan.reason);
    }
  }

  function done(r: VmRow, state: VmRow['state'], message?: string) {
    r.state = state;
    r.finishedAt = iso();
    if (message) r.message = message;
    show();
  }

  /**
   * One round of up to policy.migration.attempts live migrations; true when the VMI now runs elsewhere.
   * Attempt numbers keep counting across rounds (an operator's retry), so each attempt gets its own VMIM.
   */
  async function migrate(plan: VmPlan, r: VmRow): Promise<boolean> {
    const { namespace, name } = split(plan.vmi);
    const timeoutMs = policy.migration.timeoutMs;
    for (let round = 1; round <= policy.migration.attempts; round++) {
      r.attempts += 1;
      r.state = 'migrating';
      const started = await quick.startMigration({ namespace, vmi: name, workflowId, attempt: r.attempts });
      r.migration = started.name;
      // An adopted migration (KubeVirt's evacuation) is not ours to delete on roll-back.
      if (!started.adopted) changed.migrations.set(plan.vmi, started.name);
      show();
      const result = await waiting(timeoutMs).waitForMigration({
        namespace,
        name: started.name,
        timeoutMs,
        pendingTimeoutMs: policy.migration.pendingTimeoutMs,
      });
      migrationEnded(result.outcome);
      if (result.outcome === 'Succeeded') {
        changed.migrations.delete(plan.vmi);
        r.targetNode = result.targetNode;
        return true;
      }
      r.message = `attempt ${r.attempts}: ${result.outcome}${result.failureReason ? ` (${result.failureReason})` : ''}`;
      if (result.outcome === 'Stuck' || result.outcome === 'TimedOut') {
        await quick.cancelMigration({ namespace, name: started.name });
      }
      changed.migrations.delete(plan.vmi);
      show();
      if (round < policy.migration.attempts) await sleep(policy.migration.retryBackoffMs);
    }
    return false;
  }

  function migrationFailure(r: VmRow): string {
    const n = policy.migration.attempts;
    return `live migration failed ${n} ${n === 1 ? 'time' : 'times'}; last: ${r.message}`;
  }

  async function shutDown(plan: VmPlan, r: VmRow) {
    const { namespace, name } = split(plan.vmi);
    r.state = 'stopping';
    show();
    changed.stopped.set(plan.vmi, plan);
    await quick.stopVm({ namespace, name });
    const gone = await waiting(policy.shutdown.timeoutMs).waitForVmiGone({
      namespace,
      name,
      timeoutMs: policy.shutdown.timeoutMs,
    });
    if (gone.outcome !== 'Gone')
      throw new Aborted(`${plan.vmi} did not stop within ${policy.shutdown.timeoutMs / 1000}s`);
    if (plan.restore === 'elsewhere') {
      // The node is cordoned: started again now, it lands on another node.
      r.state = 'restoring';
      await startAgain(plan.vmi);
      changed.stopped.delete(plan.vmi);
      return done(r, 'restored', 'restarted on another node');
    }
    done(r, plan.restore === 'never' ? 'left' : 'stopped');
  }

  async function awaitExternal(plan: VmPlan, r: VmRow) {
    const { namespace, name } = split(plan.vmi);
    r.state = 'awaitingExternal';
    show();
    const moved = await waiting(policy.external.timeoutMs).waitForVmiOffNode({
      namespace,
      name,
      node,
      timeoutMs: policy.external.timeoutMs,
    });
    if (moved.outcome !== 'TimedOut') return done(r, 'movedExternally');
    return await escalate(
      plan,
      r,
      `the external controller did not move it within ${policy.external.timeoutMs / 1000}s`,
    );
  }

  /** Asks an operator (the decide update), or applies the policy's answer. */
  async function escalate(plan: VmPlan, r: VmRow, reason: string): Promise<void> {
    const abort = plan.onEscalation === 'abort' || policy.escalation.onNonMigratable === 'abort';
    escalated(abort ? 'abort' : 'ask');
    if (abort) {
      throw new Aborted(`${plan.vmi}: ${reason} (policy escalation.onNonMigratable=abort)`);
    }
    const since = Date.now();
    const deadline = since + policy.escalation.decisionTimeoutMs;
    progress.decisionsPending.push({
      vmi: plan.vmi,
      reason,
      allowed: plan.allowedDecisions,
      since: iso(since),
      deadline: iso(deadline),
    });
    r.state = 'awaitingDecision';
    r.message = reason;
    show();
    await quick.markNode({
      node,
      phase: 'EvacuateVMs',
      message: `${plan.vmi} needs a decision: ${reason}`,
      warning: true,
    });
    const answered = await condition(() => decisions.has(plan.vmi), policy.escalation.decisionTimeoutMs);
    progress.decisionsPending = progress.decisionsPending.filter((d) => d.vmi !== plan.vmi);
    const decision = decisions.get(plan.vmi);
    decisions.delete(plan.vmi);
    if (!answered || !decision) {
      if (policy.escalation.onTimeout === 'shutdown' && plan.allowedDecisions.includes('shutdown'))
        return await shutDown(plan, r);
      throw new Aborted(`no decision for ${plan.vmi} within ${policy.escalation.decisionTimeoutMs / 1000}s`);
    }
    r.message = `operator chose ${decision}`;
    if (decision === 'shutdown') return await shutDown(plan, r);
    if (decision === 'delete') {
      const { namespace, name } = split(plan.vmi);
      await quick.deleteVmi({ namespace, name });
      await waiting(policy.shutdown.timeoutMs).waitForVmiGone({
        namespace,
        name,
        timeoutMs: policy.shutdown.timeoutMs,
      });
      changed.stopped.delete(plan.vmi);
      return done(r, 'deleted');
    }
    // retry: a fresh round of migration attempts
    if (await migrate(plan, r)) return done(r, 'migrated');
    return await escalate(plan, r, `${migrationFailure(r)}, after a retry`);
  }

  /** Evicts the node's pods round by round; `mark` (the phase's node mark) rides along with the first round. */
  async function drainPods(mark?: { phase: string }) {
    const deadline = Date.now() + policy.drain.timeoutMs;
    for (let first = true; ; first = false) {
      await unpaused();
      const round = await quick.drainRound({
        node,
        deleteEmptyDirData: policy.drain.deleteEmptyDirData,
        evictUnmanagedPods: policy.drain.evictUnmanagedPods,
        ...(first && mark && { mark }),
      });
      progress.pods.total = Math.max(progress.pods.total, round.total - round.skipped.length);
      progress.pods.evicted += round.evicted.length;
      progress.pods.blocked = round.blocked.length;
      progress.pods.blockers = round.blocked.slice(0, 10).map((b) => `${b.pod}: ${b.reason}`);
      updateDrainProgress();
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

  function updateDrainProgress() {
    const vmsDone = progress.vms.filter((r) => r.finishedAt).length;
    const total = progress.vms.length + progress.pods.total;
    const off = vmsDone + progress.pods.evicted;
    progress.drainProgress = total === 0 ? 100 : Math.min(100, Math.round((off / total) * 100));
    show();
  }

  /** Puts the recorded runStrategy back and waits until the VM runs again. */
  async function startAgain(vmi: string) {
    const { namespace, name } = split(vmi);
    await quick.restoreVm({ namespace, name });
    const running = await waiting(policy.restore.timeoutMs).waitForVmiRunning({
      namespace,
      name,
      timeoutMs: policy.restore.timeoutMs,
    });
    if (running.outcome !== 'Running')
      throw new Error(`${vmi} is not running ${policy.restore.timeoutMs / 1000}s after its restore`);
  }

  /** Graceful first; a machine that ignores it within the off timeout is forced off. */
  async function powerDown(target: typeof power) {
    const timeoutMs = policy.power.offTimeoutMs;
    // Chaos seed 34: the commands are bounded by the off timeout, and the roll-back learns whether the BMC took one.
    const bounded = patched('rollback-power-on-bounded');
    const command = bounded ? powerCommands(timeoutMs) : quick;
    await command.powerOff({ target, graceful: true });
    changed.powerOffAcknowledged = true;
    try {
      await waiting(timeoutMs).waitForPower({ target, on: false, timeoutMs });
    } catch (e) {
      if (isCancellation(e)) throw e;
      await command.powerOff({ target, graceful: false });
      await waiting(timeoutMs).waitForPower({ target, on: false, timeoutMs });
    }
  }

  /**
   * The roll-back's power-on, bounded by the on timeout: the command, then the BMC reporting On. Returns what is
   * left for the operator when the machine could not be powered on, else undefined.
   */
  async function powerOnForRollBack(target: typeof power): Promise<string | undefined> {
    const timeoutMs = policy.power.onTimeoutMs;
    try {
      await powerCommands(timeoutMs).powerOn({ target });
      await waiting(timeoutMs).waitForPower({ target, on: true, timeoutMs });
      return undefined;
    } catch (e) {
      const state = changed.powerOffAcknowledged
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

  async function restoreStopped(stopped: Map<string, VmPlan>) {
    const wanted = [...stopped.values()].filter((p) => p.restore !== 'never');
    await Promise.all(
      wanted.map(async (plan) => {
        const r = progress.vms.find((x) => x.vmi === plan.vmi);
        if (r) r.state = 'restoring';
        await startAgain(plan.vmi);
        stopped.delete(plan.vmi);
        if (r) done(r, 'restored');
      }),
    );
  }

  /** Undoes what this run changed; returns what is left for the operator when it cannot finish (seed 34). */
  async function rollBack(why: string): Promise<string | undefined> {
    enter('RollingBack', why);
    for (const [vmi, migration] of changed.migrations) {
      await persistent.cancelMigration({ ...split(vmi), name: migration });
    }
    let left: string | undefined;
    if (changed.poweredOff && power.kind !== 'none') {
      // Older histories retried the power-on forever (chaos seed 34); replay them as they ran.
      if (patched('rollback-power-on-bounded')) {
        left = await powerOnForRollBack(power);
        progress.power = left ? 'unknown' : 'on';
      } else {
        await persistent.powerOn({ target: power });
        progress.power = 'on';
      }
    }
    // A machine whose power state is unknown stays cordoned: never schedule onto it.
    if (changed.cordoned && !left) await persistent.uncordon({ node, workflowId });
    // VMs we stopped come back (on this node again if it is up, else elsewhere); wait for each, bounded.
    for (const plan of changed.stopped.values()) {
      if (plan.restore === 'never') continue;
      await persistent.restoreVm(split(plan.vmi));
    }
    for (const plan of changed.stopped.values()) {
      if (plan.restore === 'never') continue;
      await waiting(policy.restore.timeoutMs)
        .waitForVmiRunning({ ...split(plan.vmi), timeoutMs: policy.restore.timeoutMs })
        .catch(() => undefined); // reported by the invariant checks and the timeline, not fatal to the roll-back
    }
    if (left) {
      await persistent.markNode({ node, phase: 'NeedsAttention', message: left, warning: true });
      await persistent.releaseLease({ node, workflowId });
      enter('NeedsAttention', left);
      return left;
    }
    if (changed.lease) {
      await persistent.unmarkNode({ node, message: `maintenance ${workflowId} rolled back: ${why}` });
      await persistent.releaseLease({ node, workflowId });
    }
    enter('RolledBack', why);
    return undefined;
  }

  function summary() {
    const count = (s: VmRow['state']) => progress.vms.filter((r) => r.state === s).length;
    return {
      migrated: count('migrated') + count('movedExternally'),
      restored: count('restored'),
      leftOff: count('left'),
      deleted: count('deleted'),
      podsEvicted: progress.pods.evicted,
    };
  }
}

/** What went wrong, in words: an activity's own failure (e.g. the API server's 403), not "Activity task failed". */
function failureMessage(e: unknown): string {
  let error: unknown = e;
  while (error instanceof ActivityFailure && error.cause) error = error.cause;
  return error instanceof Error ? error.message : String(error);
}
