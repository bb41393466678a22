// The memory the pods on each node request, for capacity decisions (preflight, a roll's look at its next nodes).
// Summing it needs every pod of the cluster: on 1,000 nodes × 20 VMs that is 20,000 launcher pods, tens of MB of
// JSON parsed per look, and with 20 maintenances at once the worker's memory grew with the cluster (1.3 GiB at 300
// nodes). So one worker keeps one watch-fed cache of what it needs of each pod (node and memory request, a few
// dozen bytes), shared by all its activities, and sums it on demand.
//
// Freshness: the cache is as current as its watch (milliseconds behind the API server), like the scheduler's own
// cache. When the watch is failing or the first list has not come in time, a look falls back to listing the pods
// itself, so faults cost requests, never a decision on stale facts. An idle cache (no look for a while) stops, so
// a worker that runs no maintenance holds no pods.
import { paths, type KubeClient, type KubeObject } from '../k8s/client.js';
import { Informer } from '../k8s/informer.js';
import { parseQuantity } from '../domain/quantity.js';

/** Pods that hold their requests: the scheduler stops counting a pod once it has ended. */
const NOT_ENDED = 'status.phase!=Succeeded,status.phase!=Failed';

/**
 * Pods per page when listing every pod: one unpaged list of 20,000 launcher pods is parsed at once. The pages come
 * from one snapshot (the continue token pins the resourceVersion), so the sums do not depend on the page size.
 */
export const POD_PAGE_SIZE = 5000;

/** What the cache keeps of a pod. */
interface PodRequest extends KubeObject {
  nodeName?: string;
  memoryBytes: number;
}

export function podMemoryRequest(pod: KubeObject): number {
  return (pod.spec?.containers ?? []).reduce(
    (sum: number, c: { resources?: { requests?: { memory?: string } } }) =>
      sum + (parseQuantity(c.resources?.requests?.memory) ?? 0),
    0,
  );
}

const toPodRequest = (pod: KubeObject): PodRequest => ({
  metadata: {
    name: pod.metadata.name,
    namespace: pod.metadata.namespace,
    resourceVersion: pod.metadata.resourceVersion,
  },
  nodeName: pod.spec?.nodeName,
  memoryBytes: podMemoryRequest(pod),
});

/** Adds each pod's memory request to its node's sum in `requested`. */
function sumByNode(
  pods: Iterable<{ nodeName?: string; memoryBytes: number }>,
  requested = new Map<string, number>(),
): Map<string, number> {
  for (const pod of pods) {
    if (pod.nodeName) requested.set(pod.nodeName, (requested.get(pod.nodeName) ?? 0) + pod.memoryBytes);
  }
  return requested;
}

/** Node name → memory requested by its pods that have not ended, from a paged list of every pod (no cache). */
export async function listRequestedMemory(client: KubeClient, pageSize = POD_PAGE_SIZE): Promise<Map<string, number>> {
  const requested = new Map<string, number>();
  // Summed page by page: no page is kept once counted.
  await client.listPages(paths.pods(), { fieldSelector: NOT_ENDED, limit: pageSize }, (items) =>
    sumByNode(items.map(toPodRequest), requested),
  );
  return requested;
}

/** Where the requested memory per node comes from: a fresh list, or a worker's cache. */
export type RequestedMemorySource = () => Promise<Map<string, number>>;

export interface PodRequestCacheOptions {
  /** How long a look waits for the first list before listing by itself. */
  syncTimeoutMs?: number;
  /** The cache stops (and drops its pods) after this long without a look. */
  idleMs?: number;
  pageSize?: number;
}

export class PodRequestCache {
  private informer: Informer<PodRequest> | undefined;
  private synced: Promise<void> = Promise.resolve();
  private idleTimer: NodeJS.Timeout | undefined;
  private readonly syncTimeoutMs: number;
  private readonly idleMs: number;
  private readonly pageSize: number;
  /** Looks answered from the cache and by a list of their own (benchmarks and tests read these). */
  readonly answered = { fromCache: 0, byList: 0 };

  constructor(
    private readonly client: KubeClient,
    options: PodRequestCacheOptions = {},
  ) {
    this.syncTimeoutMs = options.syncTimeoutMs ?? 10_000;
    this.idleMs = options.idleMs ?? 10 * 60_000;
    this.pageSize = options.pageSize ?? POD_PAGE_SIZE;
  }

  /** Node name → memory requested by its pods that have not ended. */
  readonly requestedMemory: RequestedMemorySource = async () => {
    const informer = this.running();
    // A cache still starting is worth a wait; one whose list or watch is failing (e.g. no watch permission) is not.
    if (!informer.current && !informer.failing) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([this.synced, new Promise((resolve) => (timer = setTimeout(resolve, this.syncTimeoutMs)))]);
      clearTimeout(timer);
    }
    if (informer.current) {
      this.answered.fromCache += 1;
      return sumByNode(informer.list());
    }
    this.answered.byList += 1;
    return await listRequestedMemory(this.client, this.pageSize);
  };

  /** Stops the watch and drops the cache (the next look starts it again). */
  stop(): void {
    clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    this.informer?.stop();
    this.informer = undefined;
  }

  private running(): Informer<PodRequest> {
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => this.stop(), this.idleMs);
    this.idleTimer.unref();
    if (!this.informer) {
      this.informer = new Informer<PodRequest>(this.client, paths.pods(), {
        fieldSelector: NOT_ENDED,
        transform: toPodRequest,
        pageSize: this.pageSize,
        unref: true,
      });
      // A failed first list is retried by the informer's loop; looks list by themselves meanwhile.
      this.synced = this.informer.start();
    }
    return this.informer;
  }
}
