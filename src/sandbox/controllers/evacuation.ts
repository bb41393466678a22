// Simulated KubeVirt evacuation controller (kubevirt/kubevirt pkg/virt-controller/watch/drain/evacuation): a VMI
// whose `status.evacuationNodeName` the eviction webhook set gets `kubevirt-evacuation-*` migrations until it has left.
import { vmimPath, migrationsOfVmi, effectiveEvictionStrategy, type SimContext } from '../context.js';
import { LABEL, isMigrationFinal } from '../model.js';
import { enteredAt } from './migrationPhase.js';

/** Evacuation: a VMI marked by the eviction webhook gets a migration, retried until it has left the node. */
export async function reconcileEvacuation(ctx: SimContext, key: string): Promise<void> {
  const vmi = ctx.informers.vmis.get(key);
  const node: string | undefined = vmi?.status?.evacuationNodeName;
  if (!vmi || !node || vmi.status?.phase !== 'Running' || vmi.metadata.deletionTimestamp) return;
  if (effectiveEvictionStrategy(ctx, vmi) === 'External') return; // someone else's job
  if (vmi.status.nodeName !== node) return;
  const mine = migrationsOfVmi(ctx, vmi.metadata.namespace, vmi.metadata.name);
  if (mine.some((m) => !isMigrationFinal(m))) return;
  const lastFailure = mine
    .filter((m) => m.status?.phase === 'Failed')
    .map((m) => enteredAt(m, 'Failed'))
    .sort((a, b) => b - a)[0];
  const wait = lastFailure ? lastFailure + ctx.timing.evacuationRetryMs - Date.now() : 0;
  if (wait > 0) return ctx.queues.evacuation.add(key, wait);
  await ctx.client.create(vmimPath(vmi.metadata.namespace ?? 'default'), {
    apiVersion: 'kubevirt.io/v1',
    kind: 'VirtualMachineInstanceMigration',
    metadata: {
      generateName: 'kubevirt-evacuation-',
      namespace: vmi.metadata.namespace,
      labels: { [LABEL.vmiName]: vmi.metadata.name },
      annotations: { 'kubevirt.io/evacuationMigration': node },
    },
    spec: { vmiName: vmi.metadata.name },
  });
}
