import { describe, expect, it } from 'vitest';
import {
  answersFromCr,
  holderProblem,
  leaseErrorCount,
  memoFor,
  NM_FINALIZER,
  nextStep,
  requestFromCr,
  startedByCr,
  statusChanged,
  statusFromProgress,
  type NodeMaintenanceCr,
} from '../../src/domain/nodeMaintenance.js';
import type { Phase, Progress } from '../../src/domain/progress.js';

// The exact object the OpenShift console's "Start maintenance" creates, once the API server named it.
const consoleCr = (extra: Partial<NodeMaintenanceCr['metadata']> = {}): NodeMaintenanceCr => ({
  metadata: { name: 'worker-1-abcde', ...extra },
  spec: { nodeName: 'worker-1', reason: 'DIMM swap' },
});

const progress = (phase: Phase, over: Partial<Progress> = {}): Progress => ({
  node: 'worker-1',
  phase,
  dryRun: false,
  paused: false,
  startedAt: '2026-12-03T11:00:00Z',
  vms: [],
  pods: { total: 4, evicted: 4, blocked: 0, blockers: [] },
  decisionsPending: [],
  power: 'on',
  drainProgress: 100,
  timeline: [],
  ...over,
});

describe('requestFromCr', () => {
  it('is drain-only and held until the CR goes, by default', () => {
    expect(requestFromCr(consoleCr())).toEqual({
      node: 'worker-1',
      reason: 'DIMM swap',
      power: 'none',
      hold: undefined,
      problems: [],
    });
  });
  it('opts in to power and a hold duration by annotation, and names a bad value', () => {
    const r = requestFromCr(consoleCr({ annotations: { 'pitstop.io/power': 'auto', 'pitstop.io/hold': '2h' } }));
    expect(r).toMatchObject({ power: 'auto', hold: '2h', problems: [] });
    expect(requestFromCr(consoleCr({ annotations: { 'pitstop.io/power': 'off' } })).problems).toHaveLength(1);
  });
});

describe('statusFromProgress', () => {
  const now = '2026-12-03T11:05:00Z';
  const launcher = { namespace: 'vms', name: 'virt-launcher-db-0-x7k2q' };
  const held = { pending: [], onNode: 3, leaseHolder: 'maintenance-worker-1' };
  it('is Succeeded once drained and held, with NMO fields and no pending pods (NMO drops them)', () => {
    expect(statusFromProgress(progress('Hold', { vms: [] }), now, undefined, held)).toEqual({
      phase: 'Succeeded',
      drainProgress: 100,
      lastUpdate: now,
      totalpods: 3,
      evictionPods: 4,
    });
  });
  it('names the pods still to go, as names and as NMO PodReferences, and keeps the counts from the start', () => {
    const seen = { pending: [launcher], onNode: 2, leaseHolder: 'maintenance-worker-1' };
    const before = { phase: 'Running' as const, totalpods: 6, evictionPods: 5 };
    expect(statusFromProgress(progress('EvacuateVMs', { drainProgress: 80 }), now, undefined, seen, before)).toEqual({
      phase: 'Running',
      drainProgress: 80,
      lastUpdate: now,
      pendingPods: ['virt-launcher-db-0-x7k2q'],
      pendingPodsRefs: [launcher],
      totalpods: 6,
      evictionPods: 5,
    });
  });
  it('stays Running with lastError on a blocked drain or failure', () => {
    const s = statusFromProgress(
      progress('EvictPods', { drainProgress: 50, pods: { total: 4, evicted: 2, blocked: 1, blockers: ['ns/db-0'] } }),
      now,
    );
    expect(s).toMatchObject({ phase: 'Running', drainProgress: 50 });
    expect(s.lastError).toMatch(/cannot be evicted/);
    expect(statusFromProgress(progress('Failed', { message: 'boom' }), now)).toMatchObject({
      phase: 'Running',
      lastError: 'boom',
    });
  });
  it('is Failed with the refusal when preflight refuses', () => {
    expect(statusFromProgress(progress('Refused', { message: 'node worker-1 not found' }), now)).toMatchObject({
      phase: 'Failed',
      lastError: 'node worker-1 not found',
    });
  });
  it('carries a start error before any progress', () => {
    expect(statusFromProgress(undefined, now, 'already running')).toMatchObject({
      phase: 'Running',
      lastError: 'already running',
    });
  });
});

describe('errorOnLeaseCount', () => {
  const now = '2026-12-03T11:05:00Z';
  const holding = (leaseHolder: string) => ({ pending: [], onNode: 0, leaseHolder });
  it('counts the looks in a leased phase that find the lease not the run’s, and says so in lastError', () => {
    const first = statusFromProgress(progress('Hold'), now, undefined, holding('node-healthcheck-operator'));
    expect(first).toMatchObject({
      errorOnLeaseCount: 1,
      lastError:
        'the node lease medik8s-leases/node-worker-1 is held by "node-healthcheck-operator", ' +
        'not by maintenance-worker-1 (1 consecutive look)',
    });
    const second = statusFromProgress(progress('Hold'), '2026-12-03T11:05:02Z', undefined, holding(''), first);
    expect(second).toMatchObject({
      errorOnLeaseCount: 2,
      lastError: expect.stringMatching(/is not held, .*2 consecutive looks/),
    });
    // The lease the run's again: reset to 0, which NMO omits.
    const back = statusFromProgress(progress('Hold'), now, undefined, holding('maintenance-worker-1'), second); // at once: a reset always counts
    expect(back.errorOnLeaseCount).toBeUndefined();
    expect(back.lastError).toBeUndefined();
  });
  it("does not count the look the controller's own status write brings back at once", () => {
    const first = statusFromProgress(progress('Hold'), now, undefined, holding(''));
    const soon = statusFromProgress(progress('Hold'), '2026-12-03T11:05:00.300Z', undefined, holding(''), first);
    expect(soon.errorOnLeaseCount).toBe(1);
    const later = statusFromProgress(progress('Hold'), '2026-12-03T11:05:02Z', undefined, holding(''), first);
    expect(later.errorOnLeaseCount).toBe(2);
  });
  it('is not counted before the admission took the lease, nor once the run gave it back', () => {
    expect(leaseErrorCount(undefined, 'WaitingForAdmission', '', 'maintenance-worker-1')).toBe(0);
    expect(leaseErrorCount(undefined, 'RestoreVMs', '', 'maintenance-worker-1')).toBe(0);
    expect(leaseErrorCount(2, 'Done', '', 'maintenance-worker-1')).toBe(2);
    expect(leaseErrorCount(2, 'EvacuateVMs', undefined, 'maintenance-worker-1')).toBe(2);
  });
});

describe('nextStep', () => {
  const withFin = consoleCr({ finalizers: [NM_FINALIZER] });
  const deleting = consoleCr({ finalizers: [NM_FINALIZER], deletionTimestamp: '2026-12-03T12:00:00Z' });
  it('adds the finalizer, then starts, then follows', () => {
    expect(nextStep(consoleCr(), { kind: 'none' }).kind).toBe('addFinalizer');
    expect(nextStep(withFin, { kind: 'none' }).kind).toBe('start');
    expect(nextStep(withFin, { kind: 'running' }).kind).toBe('updateStatus');
  });
  it('on delete: release when held, cancel before, finalizer off only once the run ended', () => {
    expect(nextStep(deleting, { kind: 'running', progress: progress('Hold') }).kind).toBe('release');
    expect(nextStep(deleting, { kind: 'running', progress: progress('EvictPods') }).kind).toBe('cancel');
    expect(nextStep(deleting, { kind: 'running', progress: progress('Hold') }, true).kind).toBe('wait');
    expect(nextStep(deleting, { kind: 'running', progress: progress('RollingBack') }).kind).toBe('wait');
    expect(nextStep(deleting, { kind: 'ended' }).kind).toBe('removeFinalizer');
  });
  it('does not start a refused CR again (delete and create it instead), but lets it be deleted', () => {
    const refused = { ...withFin, status: { phase: 'Failed' as const, lastError: 'node x does not exist' } };
    expect(nextStep(refused, { kind: 'none' }).kind).toBe('wait');
    expect(nextStep({ ...refused, metadata: deleting.metadata }, { kind: 'none' }).kind).toBe('removeFinalizer');
  });
});

describe('escalations answered on the CR', () => {
  const pending = [
    {
      vmi: 'vms/db.primary',
      reason: 'ReadWriteOnce disk',
      allowed: ['shutdown' as const, 'retry' as const],
      since: '',
    },
    { vmi: 'vms/web', reason: 'no room', allowed: ['shutdown' as const], since: '' },
  ];
  it('turns pitstop.io/decide.<namespace>.<vm> into the decide update, and names an answer not allowed', () => {
    const cr = consoleCr({
      annotations: { 'pitstop.io/decide.vms.db.primary': 'shutdown', 'pitstop.io/decide.vms.web': 'delete' },
    });
    expect(answersFromCr(cr, pending)).toEqual({
      answers: [{ vmi: 'vms/db.primary', action: 'shutdown' }],
      problems: ['pitstop.io/decide.vms.web: "delete" is not one of shutdown'],
    });
    expect(answersFromCr(consoleCr(), pending)).toEqual({ answers: [], problems: [] });
  });
  it('says in lastError which annotation answers a pending escalation', () => {
    const s = statusFromProgress(progress('EvacuateVMs', { decisionsPending: pending }), '2026-12-03T11:05:00Z');
    expect(s.lastError).toBe(
      'waiting for a decision on vms/db.primary: ReadWriteOnce disk ' +
        '(answer with the annotation pitstop.io/decide.vms.db.primary: shutdown|retry)',
    );
  });
});

describe('statusChanged', () => {
  const status = statusFromProgress(progress('Hold'), '2026-12-04T10:00:00.000Z', undefined, {
    pending: [],
    onNode: 3,
    leaseHolder: 'maintenance-worker-1',
  });
  // What the API server hands back: the same status, keys sorted, a later lastUpdate.
  const stored = JSON.parse(
    JSON.stringify(Object.fromEntries(Object.entries({ ...status, lastUpdate: 'later' }).sort())),
  ) as typeof status;

  it('is false for the same status in another key order, whatever its lastUpdate: no write', () => {
    expect(Object.keys(stored)).not.toEqual(Object.keys(status));
    expect(statusChanged(stored, status)).toBe(false);
  });

  it('is true when a field changed or appeared, and for a CR without a status', () => {
    expect(statusChanged(stored, { ...status, drainProgress: 99 })).toBe(true);
    expect(statusChanged(stored, { ...status, errorOnLeaseCount: 1 })).toBe(true);
    expect(statusChanged(undefined, status)).toBe(true);
  });
});

describe('holderProblem', () => {
  const cr = consoleCr();
  it("adopts a run it started itself, and refuses another holder's naming it", () => {
    expect(holderProblem(cr, { runId: 'r1', started: true })).toBeUndefined();
    expect(holderProblem(cr, { runId: 'r1', started: false, memo: { nodeMaintenance: 'worker-1-abcde' } })).toBe(
      undefined,
    );
    expect(holderProblem(cr, { runId: 'r0', started: false, memo: { nodeMaintenance: 'worker-1-first' } })).toBe(
      'node worker-1 is already in maintenance: run r0 of maintenance-worker-1, started by NodeMaintenance worker-1-first',
    );
    expect(holderProblem(cr, { runId: 'r0', started: false })).toMatch(/started by a start outside NodeMaintenance/);
  });

  it('tells a CR from an earlier one of the same name by its uid', () => {
    const now = consoleCr({ uid: 'u2' });
    expect(startedByCr(now, memoFor(now))).toBe(true);
    expect(startedByCr(now, memoFor(consoleCr({ uid: 'u1' })))).toBe(false);
    expect(holderProblem(now, { runId: 'r0', started: false, memo: memoFor(consoleCr({ uid: 'u1' })) })).toMatch(
      /started by an earlier NodeMaintenance of the same name/,
    );
    // A memo without a uid (a start that knew only the name) is matched by the name.
    expect(startedByCr(now, { nodeMaintenance: 'worker-1-abcde' })).toBe(true);
    expect(startedByCr(now, undefined)).toBe(false);
  });
});
