// The controller runtime the simulated KubeVirt, kubelet and Metal3 share: one informer per resource,
// and per controller a keyed work queue with delayed re-queues (how the simulation "waits" for time to pass).
import { type KubeClient, type KubeObject, paths } from '../k8s/client.js';
import { Informer } from '../k8s/informer.js';
import { GVR } from './model.js';

export class WorkQueue {
  private readonly pending = new Set<string>();
  private readonly active = new Set<string>();
  private readonly dirty = new Set<string>();
  private readonly timers = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  private stopped = false;
  private running = 0;

  constructor(
    readonly name: string,
    private readonly reconcile: (key: string) => Promise<void>,
    private readonly onError: (name: string, key: string, e: unknown) => void,
    private readonly concurrency = 8,
  ) {}

  /** Reconcile `key` now, or after `delayMs` (an earlier request wins over a later one). */
  add(key: string, delayMs = 0): void {
    if (this.stopped) return;
    if (delayMs > 0) {
      const at = Date.now() + delayMs;
      const existing = this.timers.get(key);
      if (existing && existing.at <= at) return;
      if (existing) clearTimeout(existing.timer);
      const timer = setTimeout(() => {
        this.timers.delete(key);
        this.add(key);
      }, delayMs);
      timer.unref();
      this.timers.set(key, { at, timer });
      return;
    }
    if (this.active.has(key)) {
      this.dirty.add(key);
      return;
    }
    this.pending.add(key);
    this.pump();
  }

  private pump() {
    while (!this.stopped && this.running < this.concurrency && this.pending.size > 0) {
      const key = this.pending.values().next().value as string;
      this.pending.delete(key);
      this.active.add(key);
      this.running += 1;
      void this.process(key);
    }
  }

  private async process(key: string) {
    let failed = false;
    try {
      await this.reconcile(key);
    } catch (e) {
      failed = true;
      this.onError(this.name, key, e);
    } finally {
      this.active.delete(key);
      this.running -= 1;
      if (this.dirty.delete(key)) this.add(key);
      else if (failed) this.add(key, 250);
      this.pump();
    }
  }

  stop() {
    this.stopped = true;
    for (const { timer } of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }
}

export interface Informers {
  nodes: Informer<KubeObject>;
  pods: Informer<KubeObject>;
  vms: Informer<KubeObject>;
  vmis: Informer<KubeObject>;
  vmims: Informer<KubeObject>;
  kubevirts: Informer<KubeObject>;
  bmhs: Informer<KubeObject>;
  pvcs: Informer<KubeObject>;
}

/** Index names of the shared caches: lookups the controllers make on every event, kept off full scans. */
export const INDEX = {
  /** pods by `spec.nodeName`; VMIs by their `kubevirt.io/nodeName` label */
  node: 'node',
  /** launcher pods by `<namespace>/<VMI uid>` (label kubevirt.io/created-by) */
  createdBy: 'createdBy',
  /** VMIMs by `<namespace>/<spec.vmiName>` */
  vmi: 'vmi',
  /** VMIMs by uid */
  uid: 'uid',
  /** VMIMs by `status.phase` ('' before the first) */
  phase: 'phase',
  /** VMIs by namespace */
  namespace: 'namespace',
} as const;

export function makeInformers(client: KubeClient, onError: (e: unknown) => void): Informers {
  const make = (path: string) => new Informer<KubeObject>(client, path, { onError });
  const r = (g: (typeof GVR)[keyof typeof GVR]) => paths.resource(g.group, g.version, g.plural);
  const ns = (o: KubeObject) => o.metadata.namespace ?? '';
  return {
    nodes: make(paths.nodes()),
    pods: make(paths.pods())
      .addIndex(INDEX.node, (p) => [p.spec?.nodeName])
      .addIndex(INDEX.createdBy, (p) => {
        const uid = p.metadata.labels?.['kubevirt.io/created-by'];
        return [uid ? `${ns(p)}/${uid}` : undefined];
      }),
    vms: make(r(GVR.vm)),
    vmis: make(r(GVR.vmi))
      .addIndex(INDEX.namespace, (v) => [ns(v)])
      .addIndex(INDEX.node, (v) => [v.metadata.labels?.['kubevirt.io/nodeName']]),
    vmims: make(r(GVR.vmim))
      .addIndex(INDEX.vmi, (m) => [`${ns(m)}/${m.spec?.vmiName}`])
      .addIndex(INDEX.uid, (m) => [m.metadata.uid])
      .addIndex(INDEX.phase, (m) => [m.status?.phase ?? '']),
    kubevirts: make(r(GVR.kubevirt)),
    bmhs: make(r(GVR.bmh)),
    pvcs: make('/api/v1/persistentvolumeclaims'),
  };
}
