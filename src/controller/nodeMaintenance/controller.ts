// The NodeMaintenance controller: follows every CR with the project's listWatch and reconciles each one, one at a
// time per CR, on every change and every POLL_MS while its run is in progress. One at a time in a cluster: with
// more replicas, only the Lease holder runs it (leader.ts); two at once would double Events and release/cancel.
import { listWatch } from '../../k8s/watch.js';
import type { KubeClient } from '../../k8s/client.js';
import type { PitstopService } from '../../client/service.js';
import { nmPath, type NmCr } from './kube.js';
import { POLL_MS, reconcile, type ReconcileContext } from './reconcile.js';

export interface NodeMaintenanceControllerOptions {
  kube: KubeClient;
  service: PitstopService;
  signal: AbortSignal;
  log?: (line: string) => void;
}

interface Slot {
  cr: NmCr;
  busy: boolean;
  again: boolean;
  timer?: NodeJS.Timeout;
}

/** Runs until `signal` aborts. */
export async function runNodeMaintenanceController(options: NodeMaintenanceControllerOptions): Promise<void> {
  const { kube, service, signal } = options;
  const log = options.log ?? (() => undefined);
  const ctx: ReconcileContext = { kube, service, signalled: new Set() };
  const slots = new Map<string, Slot>();
  let listing = new Map<string, NmCr>();

  const run = async (name: string): Promise<void> => {
    const slot = slots.get(name);
    if (!slot || signal.aborted) return;
    if (slot.busy) {
      slot.again = true;
      return;
    }
    clearTimeout(slot.timer);
    slot.busy = true;
    let after: number | undefined;
    try {
      after = await reconcile(ctx, slot.cr);
    } catch (e) {
      log(`nodemaintenance ${name}: ${(e as Error).message}`);
      after = POLL_MS; // conflicts and passing failures: look again
    } finally {
      slot.busy = false;
    }
    if (slots.get(name) !== slot || signal.aborted) return;
    if (slot.again) {
      slot.again = false;
      void run(name);
    } else if (after !== undefined) {
      slot.timer = setTimeout(() => void run(name), after);
    }
  };

  const upsert = (cr: NmCr) => {
    const slot = slots.get(cr.metadata.name);
    if (slot) slot.cr = cr;
    else slots.set(cr.metadata.name, { cr, busy: false, again: false });
    void run(cr.metadata.name);
  };
  const drop = (name: string) => {
    clearTimeout(slots.get(name)?.timer);
    slots.delete(name);
  };

  signal.addEventListener('abort', () => [...slots.keys()].forEach(drop), { once: true });
  await listWatch<NmCr>(kube, nmPath(), {
    signal,
    onPage: (items) => items.forEach((cr) => listing.set(cr.metadata.name, cr)),
    onListed: () => {
      for (const name of slots.keys()) if (!listing.has(name)) drop(name);
      listing.forEach(upsert);
      listing = new Map();
    },
    onChange: (type, cr) => (type === 'DELETED' ? drop(cr.metadata.name) : upsert(cr)),
    onRetry: (e, failures) => log(`nodemaintenance watch (failure ${failures}): ${(e as Error).message}`),
  });
}
