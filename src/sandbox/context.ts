// What every simulated controller gets: the API client, the shared caches, timings and the queues of the others.
import { paths, type KubeClient, type KubeObject } from '../k8s/client.js';
import { GVR, type Timing } from './model.js';
import { INDEX, type Informers, type WorkQueue } from './runtime.js';

export interface KubeVirtConfig {
  evictionStrategy?: string;
  parallelMigrationsPerCluster: number;
  parallelOutboundMigrationsPerNode: number;
}

export interface SimContext {
  client: KubeClient;
  informers: Informers;
  timing: Timing;
  log: (message: string) => void;
  queues: Record<'vm' | 'vmi' | 'migration' | 'evacuation' | 'pod' | 'node' | 'heartbeat' | 'bmh', WorkQueue>;
}

export function kubevirtConfig(ctx: SimContext): KubeVirtConfig {
  const cr = ctx.informers.kubevirts.list()[0];
  const config = cr?.spec?.configuration ?? {};
  return {
    evictionStrategy: config.evictionStrategy,
    parallelMigrationsPerCluster: config.migrations?.parallelMigrationsPerCluster ?? 5,
    parallelOutboundMigrationsPerNode: config.migrations?.parallelOutboundMigrationsPerNode ?? 2,
  };
}

export const vmPath = (ns: string, name?: string, sub?: string) =>
  paths.resource(GVR.vm.group, GVR.vm.version, GVR.vm.plural, ns, name, sub);
export const vmiPath = (ns: string, name?: string) =>
  paths.resource(GVR.vmi.group, GVR.vmi.version, GVR.vmi.plural, ns, name);
export const vmimPath = (ns: string, name?: string, sub?: string) =>
  paths.resource(GVR.vmim.group, GVR.vmim.version, GVR.vmim.plural, ns, name, sub);
export const bmhPath = (ns: string, name?: string, sub?: string) =>
  paths.resource(GVR.bmh.group, GVR.bmh.version, GVR.bmh.plural, ns, name, sub);

/** Launcher pods of a VMI (source and, during a migration, target), from the cache. */
export function launcherPods(ctx: SimContext, vmi: KubeObject): KubeObject[] {
  return ctx.informers.pods.byIndex(INDEX.createdBy, `${vmi.metadata.namespace ?? ''}/${vmi.metadata.uid}`);
}

/** Every migration of a VMI (any phase), from the cache. */
export function migrationsOfVmi(ctx: SimContext, namespace: string | undefined, vmiName: string): KubeObject[] {
  return ctx.informers.vmims.byIndex(INDEX.vmi, `${namespace ?? ''}/${vmiName}`);
}

export function effectiveEvictionStrategy(ctx: SimContext, vmi: KubeObject): string {
  return vmi.spec?.evictionStrategy ?? kubevirtConfig(ctx).evictionStrategy ?? 'None';
}

/** A patch that only the owner of the object's resourceVersion may apply: stale caches fail with 409 and retry. */
export function guarded(o: KubeObject, patch: Record<string, unknown>): Record<string, unknown> {
  const metadata = (patch.metadata as Record<string, unknown> | undefined) ?? {};
  return { ...patch, metadata: { ...metadata, resourceVersion: o.metadata.resourceVersion } };
}
