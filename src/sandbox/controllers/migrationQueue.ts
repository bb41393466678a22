// The simulated migrations' queue and history: KubeVirt starts waiting migrations while its parallel limits allow
// (the slots are migrationSlots.ts) and keeps only the newest finished migrations of each VMI.
import { isNotFound, type KubeObject } from '../../k8s/client.js';
import { kubevirtConfig, migrationsOfVmi, vmimPath, type SimContext } from '../context.js';
import { KNOB, annotation, isMigrationFinal } from '../model.js';
import { INDEX } from '../runtime.js';
import type { MigrationSlots } from './migrationSlots.js';
import { setPhase, vmiOf } from './migrationPhase.js';

/** Starts waiting migrations, oldest first, while KubeVirt's cluster and per-node limits allow. */
export async function startPending(ctx: SimContext, slots: MigrationSlots) {
  await slots.exclusive(async () => {
    const { parallelMigrationsPerCluster, parallelOutboundMigrationsPerNode } = kubevirtConfig(ctx);
    const pending = ctx.informers.vmims
      .byIndex(INDEX.phase, 'Pending')
      .filter((m) => !m.metadata.deletionTimestamp && !slots.has(m.metadata.uid ?? ''))
      .sort(
        (a, b) =>
          (a.metadata.creationTimestamp ?? '').localeCompare(b.metadata.creationTimestamp ?? '') ||
          a.metadata.name.localeCompare(b.metadata.name),
      );
    for (const m of pending) {
      const vmi = vmiOf(ctx, m);
      if (!vmi || annotation(vmi, KNOB.migrationStuck) === 'Pending') continue;
      const uid = m.metadata.uid ?? '';
      if (
        !slots.tryReserve(
          uid,
          vmi.status?.nodeName ?? '',
          parallelMigrationsPerCluster,
          parallelOutboundMigrationsPerNode,
        )
      )
        continue;
      try {
        await setPhase(ctx, m, 'Scheduling');
      } catch (e) {
        slots.release(uid);
        throw e;
      }
    }
  });
}

/** KubeVirt keeps only the 5 newest finished migrations of each VMI. */
export async function garbageCollect(ctx: SimContext, m: KubeObject) {
  const done = migrationsOfVmi(ctx, m.metadata.namespace, m.spec?.vmiName)
    .filter((o) => isMigrationFinal(o) && !o.metadata.deletionTimestamp)
    .sort((a, b) => (b.metadata.creationTimestamp ?? '').localeCompare(a.metadata.creationTimestamp ?? ''));
  for (const old of done.slice(5)) {
    await ctx.client.delete(vmimPath(old.metadata.namespace ?? 'default', old.metadata.name)).catch((e) => {
      if (!isNotFound(e)) throw e;
    });
  }
}
