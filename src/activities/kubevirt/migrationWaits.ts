// Waiting for a migration to end, and cancelling one: both read the VMIM's own clocks and the VMI's
// migrationState, so a retried activity neither restarts a timeout nor misreads where the VMI is.
import { isNotFound, type KubeClient, type KubeObject } from '../../k8s/client.js';
import type { WaitControls } from '../../k8s/watch.js';
import { kube } from '../errors.js';
import { isFinalMigration, seconds, timestamp, vmiPath, vmimPath, waitForObject } from './objects.js';

export type MigrationOutcome = 'Succeeded' | 'Failed' | 'Stuck' | 'TimedOut' | 'Gone';

export interface MigrationResult {
  outcome: MigrationOutcome;
  /** The VMIM's last phase seen ('' if none yet). */
  phase: string;
  sourceNode?: string;
  targetNode?: string;
  /** Where the VMI runs now (read when the migration ended or disappeared). */
  nodeName?: string;
  failureReason?: string;
}

export interface WaitForMigrationInput extends WaitControls {
  namespace: string;
  name: string;
  /** Overall limit, counted from the VMIM's creation. */
  timeoutMs: number;
  /** Limit on waiting in Pending/Scheduling (no slot, no room for the target), counted from the VMIM's creation. */
  pendingTimeoutMs: number;
}

const NOT_STARTED = new Set(['', 'Pending', 'Scheduling']);

/** What the VMI says about one migration: its migrationState when it belongs to that VMIM. */
async function migrationStateFor(client: KubeClient, ns: string, m: KubeObject | undefined) {
  if (!m?.spec?.vmiName) return { state: undefined, nodeName: undefined };
  const vmi = await client.find(vmiPath(ns, m.spec.vmiName));
  const state = vmi?.status?.migrationState;
  return {
    state: state && state.migrationUid === m.metadata.uid ? state : undefined,
    nodeName: vmi?.status?.nodeName as string | undefined,
  };
}

/** The phase a VMIM was in before it failed, for a reason when KubeVirt gives none. */
function phaseBeforeFailure(m: KubeObject): string | undefined {
  const phases = ((m.status?.phaseTransitionTimestamps ?? []) as { phase: string }[]).map((t) => t.phase);
  return phases.filter((p) => p !== 'Failed').pop();
}

/**
 * Waits until a migration ends (Succeeded/Failed), is stuck in Pending/Scheduling past `pendingTimeoutMs`, runs
 * past `timeoutMs`, or disappears (Gone: deleted). Both clocks start at the VMIM's creation, so a restarted
 * activity does not restart them. It never cancels the migration: that is the caller's choice.
 */
export async function waitForMigration(client: KubeClient, input: WaitForMigrationInput): Promise<MigrationResult> {
  const { namespace: ns, name } = input;
  const what = `waiting for migration ${ns}/${name}`;
  const fallbackStart = input.resumeFrom?.since ?? Date.now();
  let seen: KubeObject | undefined;
  const startOf = (m: KubeObject | undefined) => timestamp(m?.metadata.creationTimestamp) ?? fallbackStart;
  const pendingSince = (m: KubeObject) => {
    const first = ((m.status?.phaseTransitionTimestamps ?? []) as { phaseTransitionTimestamp?: string }[])[0];
    return timestamp(first?.phaseTransitionTimestamp) ?? startOf(m);
  };
  const end = await waitForObject<{ outcome: MigrationOutcome; m: KubeObject | undefined; detail?: string }>(
    client,
    what,
    {
      collection: vmimPath(ns),
      name: name,
      since: () => startOf(seen),
      phaseOf: (m) => (m ? m.status?.phase || 'Pending' : 'Gone'),
      decide: (m, now) => {
        if (!m || (seen && m.metadata.uid !== seen.metadata.uid)) return { done: { outcome: 'Gone', m: seen } };
        seen = m;
        const phase: string = m.status?.phase ?? '';
        if (phase === 'Succeeded' || phase === 'Failed') return { done: { outcome: phase, m } };
        const deadline = startOf(m) + input.timeoutMs;
        if (now >= deadline) {
          return { done: { outcome: 'TimedOut', m, detail: `not done after ${seconds(now - startOf(m))}` } };
        }
        if (NOT_STARTED.has(phase)) {
          const stuckAt = pendingSince(m) + input.pendingTimeoutMs;
          if (now >= stuckAt) {
            const waited = seconds(now - pendingSince(m));
            return { done: { outcome: 'Stuck', m, detail: `still ${phase || 'Pending'} after ${waited}` } };
          }
          return { recheckAt: Math.min(deadline, stuckAt) };
        }
        return { recheckAt: deadline };
      },
    },
    input,
  );
  // A VMIM KubeVirt has not given a phase yet is pending (MigrationPhaseUnset), as phaseOf reads it above.
  const phase: string = end.m ? end.m.status?.phase || 'Pending' : '';
  const result: MigrationResult = { outcome: end.outcome, phase };
  if (end.detail) result.failureReason = end.detail;
  if (end.outcome === 'Stuck' || end.outcome === 'TimedOut') return result;
  const { state, nodeName } = await kube(what, () => migrationStateFor(client, ns, end.m));
  if (state?.sourceNode) result.sourceNode = state.sourceNode;
  if (state?.targetNode) result.targetNode = state.targetNode;
  if (nodeName) result.nodeName = nodeName;
  if (end.outcome === 'Succeeded') {
    result.targetNode ??= nodeName;
  } else if (end.outcome === 'Failed') {
    const before = end.m ? phaseBeforeFailure(end.m) : undefined;
    result.failureReason = state?.failureReason ?? (before ? `failed in phase ${before}` : 'failed');
  } else if (state?.completed) {
    result.failureReason = 'the migration object was deleted after it completed';
  } else {
    result.failureReason = 'the migration object was deleted';
  }
  return result;
}

export interface CancelMigrationInput extends WaitControls {
  namespace: string;
  name: string;
  /** How long to wait for the abort to take (default 60 s). */
  timeoutMs?: number;
}

export interface CancelResult {
  /**
   * Cancelled: the migration ended without moving the VMI (aborted, or it had failed already);
   * Completed: it finished anyway (past the point of abort); TimedOut: still in flight; NotFound: no such VMIM.
   */
  outcome: 'Cancelled' | 'Completed' | 'TimedOut' | 'NotFound';
  /** The VMIM's last phase seen. */
  phase: string;
  /** Whether the VMI is on the node it was migrating from (undefined when unknown). */
  stayedOnSource?: boolean;
  sourceNode?: string;
  nodeName?: string;
}

/**
 * Cancels a migration by deleting its VMIM (KubeVirt aborts it), then waits until the VMIM is gone or final and
 * reports where the VMI is. A migration already finished is left alone (its record stays).
 */
export async function cancelMigration(client: KubeClient, input: CancelMigrationInput): Promise<CancelResult> {
  const { namespace: ns, name } = input;
  const what = `cancelling migration ${ns}/${name}`;
  const m = await kube(what, () => client.find(vmimPath(ns, name)));
  if (!m) return { outcome: 'NotFound', phase: '' };
  const before = await kube(what, () => migrationStateFor(client, ns, m));
  const sourceNode: string | undefined = before.state?.sourceNode ?? before.nodeName;
  let last = m;
  if (!isFinalMigration(m)) {
    await kube(what, async () => {
      try {
        await client.delete(vmimPath(ns, name));
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
    });
    const since = input.resumeFrom?.since ?? Date.now();
    const timeoutMs = input.timeoutMs ?? 60_000;
    const ended = await waitForObject<boolean>(
      client,
      what,
      {
        collection: vmimPath(ns),
        name: name,
        since: () => since,
        deadline: since + timeoutMs,
        phaseOf: (o) => (o ? o.status?.phase || 'Pending' : 'Gone'),
        decide: (o, now) => {
          if (!o || o.metadata.uid !== m.metadata.uid) return { done: true };
          last = o;
          if (isFinalMigration(o)) return { done: true };
          return now >= since + timeoutMs ? { done: false } : { recheckAt: since + timeoutMs };
        },
      },
      input,
    );
    if (!ended) return { outcome: 'TimedOut', phase: last.status?.phase ?? '', sourceNode };
  }
  const after = await kube(what, () => migrationStateFor(client, ns, last));
  const phase: string = last.status?.phase ?? '';
  const completed = phase === 'Succeeded' || !!after.state?.completed;
  const result: CancelResult = { outcome: completed ? 'Completed' : 'Cancelled', phase };
  if (sourceNode) result.sourceNode = sourceNode;
  if (after.nodeName) result.nodeName = after.nodeName;
  if (sourceNode) result.stayedOnSource = after.nodeName === sourceNode;
  return result;
}
