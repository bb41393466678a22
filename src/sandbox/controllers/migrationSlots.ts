// KubeVirt's parallel migration limits (per cluster, outbound per node), as the simulated migration controller keeps
// them: which migrations hold a slot, and one admission decision at a time.
import type { KubeObject } from '../../k8s/client.js';
import { MIGRATION_ACTIVE_PHASES } from '../model.js';

/** Migrations holding a slot (uid → source node). Kept here, not read from the cache, which lags our own writes. */
export class MigrationSlots {
  private readonly active = new Map<string, string>();
  private lock: Promise<void> = Promise.resolve();

  rebuild(migrations: KubeObject[], vmiNode: (m: KubeObject) => string | undefined) {
    this.active.clear();
    for (const m of migrations) {
      if (MIGRATION_ACTIVE_PHASES.includes(m.status?.phase)) this.active.set(m.metadata.uid ?? '', vmiNode(m) ?? '');
    }
  }
  has(uid: string) {
    return this.active.has(uid);
  }
  release(uid: string) {
    this.active.delete(uid);
  }
  /** Runs `fn` alone: admission decisions must not interleave. */
  async exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const previous = this.lock;
    let done!: () => void;
    this.lock = new Promise((r) => (done = r));
    await previous;
    try {
      return await fn();
    } finally {
      done();
    }
  }
  tryReserve(uid: string, sourceNode: string, perCluster: number, perNode: number): boolean {
    if (this.active.has(uid)) return true;
    const fromNode = [...this.active.values()].filter((n) => n === sourceNode).length;
    if (this.active.size >= perCluster || fromNode >= perNode) return false;
    this.active.set(uid, sourceNode);
    return true;
  }
}
