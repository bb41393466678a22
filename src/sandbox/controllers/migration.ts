// Simulated KubeVirt migration controller: VMIM phases with configurable timing, KubeVirt's parallel limits
// (extra migrations wait in Pending; the slots are migrationSlots.ts), a target pod placed by the real scheduler,
// abort on delete. The evacuation controller that creates `kubevirt-evacuation-*` migrations is evacuation.ts.
import { isNotFound, paths, type KubeObject } from '../../k8s/client.js';
import { vmimPath, vmiPath, guarded, launcherPods, type SimContext } from '../context.js';
import {
  FINALIZER,
  HW,
  KNOB,
  LABEL,
  annotation,
  countKnob,
  durationKnob,
  isMigrationFinal,
  isNodeAlive,
  isPodReady,
  isTrue,
  nowIso,
} from '../model.js';
import { createLauncherPod } from './vmi.js';
import { enteredAt, setPhase, vmiOf } from './migrationPhase.js';
import { garbageCollect, startPending } from './migrationQueue.js';
import type { MigrationSlots } from './migrationSlots.js';
import { INDEX } from '../runtime.js';

async function patchVmi(ctx: SimContext, vmi: KubeObject, patch: Record<string, unknown>) {
  await ctx.client.patch(vmiPath(vmi.metadata.namespace ?? 'default', vmi.metadata.name), guarded(vmi, patch));
}

async function deletePodQuietly(ctx: SimContext, pod: KubeObject | undefined) {
  if (!pod || pod.metadata.deletionTimestamp) return;
  try {
    await ctx.client.delete(paths.pod(pod.metadata.namespace ?? 'default', pod.metadata.name), {
      gracePeriodSeconds: 0,
    });
  } catch (e) {
    if (!isNotFound(e)) throw e;
  }
}

const targetPodOf = (ctx: SimContext, vmi: KubeObject | undefined, m: KubeObject) =>
  vmi ? launcherPods(ctx, vmi).find((p) => p.metadata.labels?.[LABEL.migrationJob] === m.metadata.uid) : undefined;

/** A migration ended: free its slot and let the waiting ones (and the VM's status) move. */
function finished(ctx: SimContext, slots: MigrationSlots, m: KubeObject) {
  slots.release(m.metadata.uid ?? '');
  for (const other of ctx.informers.vmims.byIndex(INDEX.phase, 'Pending'))
    ctx.queues.migration.add(`${other.metadata.namespace}/${other.metadata.name}`);
  ctx.queues.vm.add(`${m.metadata.namespace}/${m.spec?.vmiName}`);
  ctx.queues.evacuation.add(`${m.metadata.namespace}/${m.spec?.vmiName}`);
}

async function fail(
  ctx: SimContext,
  slots: MigrationSlots,
  m: KubeObject,
  vmi: KubeObject | undefined,
  reason: string,
  abortStatus?: string,
) {
  await deletePodQuietly(ctx, targetPodOf(ctx, vmi, m));
  if (vmi && vmi.status?.migrationState?.migrationUid === m.metadata.uid) {
    await patchVmi(ctx, vmi, {
      status: {
        migrationState: {
          ...vmi.status.migrationState,
          endTimestamp: nowIso(),
          completed: false,
          failed: true,
          failureReason: reason,
          ...(abortStatus ? { abortStatus } : {}),
        },
      },
    });
  }
  await setPhase(ctx, m, 'Failed');
  finished(ctx, slots, m);
}

export async function reconcileMigration(ctx: SimContext, slots: MigrationSlots, key: string): Promise<void> {
  const m = ctx.informers.vmims.get(key);
  if (!m) return;
  const ns = m.metadata.namespace ?? 'default';
  const vmi = vmiOf(ctx, m);
  const phase: string = m.status?.phase ?? '';

  if (m.metadata.deletionTimestamp) {
    const abortable = !(phase === 'Running' && isTrue(vmi, KNOB.migrationAbortFails));
    if (!abortable) {
      // Past hand-off the abort does not take: the migration completes, then the object may go.
      await progress(ctx, slots, m, vmi, key);
      if (!isMigrationFinal(ctx.informers.vmims.get(key) ?? m)) return;
    } else if (!isMigrationFinal(m)) {
      await fail(
        ctx,
        slots,
        m,
        vmi,
        'Migration aborted by deleting its VirtualMachineInstanceMigration',
        phase === 'Running' ? 'Succeeded' : undefined,
      );
    }
    const latest = ctx.informers.vmims.get(key) ?? m;
    await ctx.client
      .patch(vmimPath(ns, m.metadata.name), {
        metadata: {
          finalizers: (latest.metadata.finalizers ?? []).filter((f) => f !== FINALIZER.vmim),
          resourceVersion: undefined,
        },
      })
      .catch((e) => {
        if (!isNotFound(e)) throw e;
      });
    slots.release(m.metadata.uid ?? '');
    return;
  }

  if (!m.metadata.finalizers?.includes(FINALIZER.vmim) || m.metadata.labels?.[LABEL.vmiName] !== m.spec?.vmiName) {
    await ctx.client.patch(vmimPath(ns, m.metadata.name), {
      metadata: {
        finalizers: [...(m.metadata.finalizers ?? []).filter((f) => f !== FINALIZER.vmim), FINALIZER.vmim],
        labels: { [LABEL.vmiName]: m.spec?.vmiName },
      },
    });
    return;
  }
  if (isMigrationFinal(m)) return await garbageCollect(ctx, m);
  await progress(ctx, slots, m, vmi, key);
}

async function progress(
  ctx: SimContext,
  slots: MigrationSlots,
  m: KubeObject,
  vmi: KubeObject | undefined,
  key: string,
) {
  const phase: string = m.status?.phase ?? '';
  const t = ctx.timing;
  if (!vmi || vmi.status?.phase !== 'Running') return await fail(ctx, slots, m, vmi, 'VMI is not running');

  switch (phase) {
    case '':
      return await setPhase(ctx, m, 'Pending');
    case 'Pending': {
      if (annotation(vmi, KNOB.migrationStuck) === 'Pending') return;
      return await startPending(ctx, slots);
    }
    case 'Scheduling': {
      let target = targetPodOf(ctx, vmi, m);
      if (!target) {
        target = await createLauncherPod(ctx, vmi, undefined, {
          migrationUid: m.metadata.uid ?? '',
          sourceNode: vmi.status.nodeName,
        });
      }
      if (target.spec?.nodeName) return await setPhase(ctx, m, 'Scheduled');
      const waited = Date.now() - enteredAt(m, 'Scheduling');
      if (waited >= t.unschedulableTimeoutMs) {
        return await fail(ctx, slots, m, vmi, `target pod unschedulable for ${Math.round(waited / 1000)}s`);
      }
      ctx.queues.migration.add(key, Math.min(1000, t.unschedulableTimeoutMs - waited));
      return;
    }
    case 'Scheduled':
    case 'PreparingTarget':
    case 'TargetReady': {
      if (await sourceSilent(ctx, slots, m, vmi, key, phase)) return;
      const due = enteredAt(m, phase) + t.migrationPhaseStepMs - Date.now();
      if (due > 0) return ctx.queues.migration.add(key, due);
      const target = targetPodOf(ctx, vmi, m);
      if (!target) return await fail(ctx, slots, m, vmi, 'target pod disappeared');
      if (phase === 'PreparingTarget' && !isPodReady(target)) return; // pod events re-queue us
      const next = phase === 'Scheduled' ? 'PreparingTarget' : phase === 'PreparingTarget' ? 'TargetReady' : 'Running';
      if (next === 'Running') {
        await patchVmi(ctx, vmi, {
          status: {
            migrationState: {
              migrationUid: m.metadata.uid,
              sourceNode: vmi.status.nodeName,
              targetNode: target.spec.nodeName,
              targetPod: target.metadata.name,
              startTimestamp: nowIso(),
              mode: 'PreCopy',
              completed: false,
              failed: false,
            },
          },
        });
      }
      return await setPhase(ctx, m, next);
    }
    case 'Running': {
      if (await sourceSilent(ctx, slots, m, vmi, key, phase)) return;
      const duration = durationKnob(vmi, KNOB.migrationDuration, t.migrationDurationMs);
      const due = enteredAt(m, 'Running') + duration - Date.now();
      if (due > 0) return ctx.queues.migration.add(key, due);
      // Decide the outcome once and record it, so a retried reconcile cannot count a failure twice.
      const outcome = annotation(m, HW.migrationOutcome);
      if (!outcome) {
        const failedSoFar = countKnob(vmi, HW.migrationsFailed);
        const decided = failedSoFar < countKnob(vmi, KNOB.migrationFailures) ? `fail:${failedSoFar + 1}` : 'succeed';
        await ctx.client.patch(
          vmimPath(m.metadata.namespace ?? 'default', m.metadata.name),
          guarded(m, { metadata: { annotations: { [HW.migrationOutcome]: decided } } }),
        );
        return; // the update re-queues us
      }
      if (outcome.startsWith('fail:')) {
        await ctx.client.patch(vmiPath(vmi.metadata.namespace ?? 'default', vmi.metadata.name), {
          metadata: { annotations: { [HW.migrationsFailed]: outcome.slice(5) } },
        });
        return await fail(
          ctx,
          slots,
          m,
          ctx.informers.vmis.get(`${vmi.metadata.namespace}/${vmi.metadata.name}`) ?? vmi,
          'migration failed (sandbox knob)',
        );
      }
      return await complete(ctx, slots, m, vmi);
    }
  }
}

/**
 * A source whose virt-handler is silent (machine off or OS crashed) never hands its guest over: the migration
 * holds where it is and fails once KubeVirt's progress timeout has passed (scenario timing).
 */
async function sourceSilent(
  ctx: SimContext,
  slots: MigrationSlots,
  m: KubeObject,
  vmi: KubeObject,
  key: string,
  phase: string,
): Promise<boolean> {
  if (isNodeAlive(ctx.informers.nodes.get(vmi.status?.nodeName ?? ''))) return false;
  const waited = Date.now() - enteredAt(m, phase);
  const timeout = ctx.timing.deadSourceMigrationTimeoutMs;
  if (waited >= timeout) {
    await fail(
      ctx,
      slots,
      m,
      vmi,
      `source node ${vmi.status?.nodeName} unresponsive: no progress for ${Math.round(waited / 1000)}s`,
    );
  } else {
    ctx.queues.migration.add(key, Math.min(1000, timeout - waited));
  }
  return true;
}

async function complete(ctx: SimContext, slots: MigrationSlots, m: KubeObject, vmi: KubeObject) {
  const target = targetPodOf(ctx, vmi, m);
  const targetNode: string = target?.spec?.nodeName ?? vmi.status.migrationState?.targetNode;
  const sourcePods = launcherPods(ctx, vmi).filter((p) => p.metadata.labels?.[LABEL.migrationJob] !== m.metadata.uid);
  const status = { ...vmi.status };
  delete status.evacuationNodeName;
  await ctx.client.replace(vmiPath(vmi.metadata.namespace ?? 'default', vmi.metadata.name), {
    ...vmi,
    metadata: { ...vmi.metadata, labels: { ...vmi.metadata.labels, [LABEL.vmiNode]: targetNode } },
    status: {
      ...status,
      nodeName: targetNode,
      migrationState: {
        ...vmi.status.migrationState,
        targetNode,
        endTimestamp: nowIso(),
        completed: true,
        failed: false,
      },
    },
  });
  for (const pod of sourcePods) await deletePodQuietly(ctx, pod);
  await setPhase(ctx, m, 'Succeeded');
  finished(ctx, slots, m);
}
