// One reconcile of one NodeMaintenance CR: read the run it started (through the client service, as the HTTP API
// does, so the cluster-wide admission and the one-run-per-node rule apply), let the pure `nextStep` decide, and
// carry the step out. Returns when to look again (ms) while a run is in progress, undefined when nothing is left.
import { paths, type KubeClient } from '../../k8s/client.js';
import { NotFoundError, RefusedError } from '../../client/errors.js';
import type { StartOutcome } from '../../client/runs.js';
import { InvalidInputError } from '../../domain/errors.js';
import { workflowIdFor } from '../../domain/workflowNames.js';
import type { PitstopService } from '../../client/service.js';
import type { Progress } from '../../domain/progress.js';
import {
  answersFromCr,
  holderProblem,
  memoFor,
  nextStep,
  startedByCr,
  statusChanged,
  statusFromProgress,
  type NodeMaintenanceStatus,
  type RunState,
} from '../../domain/nodeMaintenance.js';
import {
  adopt,
  readNode,
  recordCrEvent,
  nmPath,
  recordRun,
  removeFinalizer,
  RUN_ANNOTATION,
  writeStatus,
  type NmCr,
} from './kube.js';

/** How often a CR with a run in progress is looked at again: its status follows the run's progress query. */
export const POLL_MS = 2000;

export interface ReconcileContext {
  kube: KubeClient;
  service: PitstopService;
  /** CR uids whose release/cancel was sent (in memory: a single replica; a restart may send it once more). */
  signalled: Set<string>;
  now?: () => string;
}

interface Observed {
  run: RunState;
  /** How the run ended, when it failed (or its start was refused). */
  failure?: string;
  /** The id of the CR's own run when the CR does not record it yet (its start's annotation write did not happen). */
  unrecorded?: string;
}

/**
 * The run this CR started. The run-id annotation says which run of `maintenance-<node>` is the CR's; without it, a
 * running run whose memo names the CR is still its own: the controller stopped, or its write failed, between the
 * start and the annotation. Missing it would let a delete drop the finalizer while the run goes on.
 */
async function observe(service: PitstopService, cr: NmCr): Promise<Observed> {
  const runId = cr.metadata.annotations?.[RUN_ANNOTATION];
  try {
    const view = await service.getMaintenance(cr.spec.nodeName);
    if (!runId) {
      if (view.status !== 'Running') return { run: { kind: 'none' } };
      const { memo } = await service.client.workflow.getHandle(view.workflowId).describe();
      if (!startedByCr(cr, memo)) return { run: { kind: 'none' } };
      return { run: { kind: 'running', progress: view.progress as Progress | undefined }, unrecorded: view.runId };
    }
    if (view.runId !== runId) return { run: { kind: 'ended' } };
    if (view.status === 'Running') return { run: { kind: 'running', progress: view.progress as Progress | undefined } };
    return { run: { kind: 'ended' }, failure: view.failure?.message };
  } catch (e) {
    if (e instanceof NotFoundError) return { run: { kind: runId ? 'ended' : 'none' } };
    throw e;
  }
}

const phaseOf = (s?: NodeMaintenanceStatus) => s?.phase;

/**
 * Writes the status when it changed, and NMO's Events on the phase changes. The Event goes first: whoever sees the
 * new phase finds its Event too, and an Event that could not be recorded is tried again on the next reconcile (the
 * phase change is only seen as long as the status still has the old phase).
 */
async function publish(ctx: ReconcileContext, cr: NmCr, status: NodeMaintenanceStatus): Promise<void> {
  if (!statusChanged(cr.status, status)) return;
  if (phaseOf(status) !== phaseOf(cr.status)) {
    if (status.phase === 'Succeeded') {
      await recordCrEvent(ctx.kube, cr, 'SucceedMaintenance', `node ${cr.spec.nodeName} is drained and held`);
    } else if (status.phase === 'Failed') {
      await recordCrEvent(ctx.kube, cr, 'FailedMaintenance', status.lastError ?? 'failed', 'Warning');
    }
  }
  await writeStatus(ctx.kube, cr, status);
}

/**
 * Sends the decide updates the CR's `pitstop.io/decide.*` annotations answer; returns what was not accepted (an
 * answer not allowed, or one the run refused), for lastError. An answer already taken is no longer pending.
 */
async function answer(service: PitstopService, cr: NmCr, progress?: Progress): Promise<string | undefined> {
  const { answers, problems } = answersFromCr(cr, progress?.decisionsPending ?? []);
  for (const a of answers) {
    try {
      await service.decide(cr.spec.nodeName, a);
    } catch (e) {
      if (!(e instanceof RefusedError)) throw e;
      problems.push(`${a.vmi}: ${e.message}`);
    }
  }
  return problems.length > 0 ? problems.join('; ') : undefined;
}

/** The CR's run id, then NMO's BeginMaintenance: a run found unrecorded never had its Event either. */
async function recordStart(kube: KubeClient, cr: NmCr, runId: string): Promise<void> {
  await recordRun(kube, cr, runId);
  await recordCrEvent(kube, cr, 'BeginMaintenance', `${workflowIdFor(cr.spec.nodeName)} run ${runId} started`);
}

/**
 * Reconciles the CR as it is now: `cached` (the watch's copy) may lag this controller's own writes, say the run-id
 * annotation it has just recorded, and acting on it would start the run a second time.
 */
export async function reconcile(ctx: ReconcileContext, cached: NmCr): Promise<number | undefined> {
  const now = ctx.now ?? (() => new Date().toISOString());
  const { kube, service } = ctx;
  const cr = (await kube.find(nmPath(cached.metadata.name))) as NmCr | undefined;
  if (!cr) return undefined;
  const node = cr.spec.nodeName;
  const observed = await observe(service, cr);
  if (observed.unrecorded) await recordStart(kube, cr, observed.unrecorded);
  const uid = cr.metadata.uid ?? cr.metadata.name;
  const step = nextStep(cr, observed.run, ctx.signalled.has(uid));
  switch (step.kind) {
    case 'addFinalizer':
      await adopt(kube, cr);
      return undefined; // the watch brings the updated CR
    case 'start': {
      const { request } = step;
      if (request.problems.length > 0) {
        await publish(ctx, cr, { phase: 'Failed', lastUpdate: now(), lastError: request.problems.join('; ') });
        return undefined;
      }
      let outcome: StartOutcome;
      try {
        outcome = await service.startMaintenance(
          {
            node,
            mode: 'planned',
            reason: request.reason,
            requestedBy: `NodeMaintenance/${cr.metadata.name}`,
            power: request.power,
            ...(request.hold !== undefined && { policy: { hold: { deadline: request.hold } } }),
          },
          memoFor(cr),
        );
      } catch (e) {
        // Only a refusal of the request fails the CR; Temporal out of reach is looked at again (the caller logs it).
        if (!(e instanceof InvalidInputError || e instanceof NotFoundError)) throw e;
        await publish(ctx, cr, { phase: 'Failed', lastUpdate: now(), lastError: e.message });
        return undefined;
      }
      // A run found running (not started): whose it is is in its memo; another holder's run is not adopted.
      const memo = outcome.started
        ? undefined
        : (await service.client.workflow.getHandle(outcome.workflowId).describe()).memo;
      const held = holderProblem(cr, { ...outcome, memo });
      if (held) {
        await publish(ctx, cr, { phase: 'Failed', lastUpdate: now(), lastError: held });
        return undefined;
      }
      // From here on the run is the CR's: a write that fails is not the run failing. The next look finds the run by
      // its memo (observe) and records what is missing.
      await recordStart(kube, cr, outcome.runId);
      await publish(ctx, cr, statusFromProgress(undefined, now()));
      return POLL_MS;
    }
    case 'updateStatus':
      if (observed.run.kind === 'running') {
        const refused = await answer(service, cr, observed.run.progress);
        const seen = await readNode(kube, node);
        await publish(ctx, cr, statusFromProgress(observed.run.progress, now(), refused, seen, cr.status));
        return POLL_MS;
      }
      if (observed.failure)
        await publish(ctx, cr, { ...cr.status, phase: 'Failed', lastUpdate: now(), lastError: observed.failure });
      return undefined;
    case 'release':
      await service.release(node, { note: `NodeMaintenance ${cr.metadata.name} deleted` });
      ctx.signalled.add(uid);
      return POLL_MS;
    case 'cancel':
      await service.cancelMaintenance(node);
      ctx.signalled.add(uid);
      return POLL_MS;
    case 'removeFinalizer': {
      const n = await kube.find(paths.node(node));
      if (n && !n.spec?.unschedulable) await recordCrEvent(kube, cr, 'UncordonNode', `node ${node} uncordoned`);
      await recordCrEvent(kube, cr, 'RemovedMaintenance', `maintenance of ${node} ended; NodeMaintenance removed`);
      await removeFinalizer(kube, cr);
      ctx.signalled.delete(uid);
      return undefined;
    }
    case 'wait':
      return cr.metadata.deletionTimestamp ? POLL_MS : undefined;
  }
}
