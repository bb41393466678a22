import { describe, expect, it } from 'vitest';
import {
  answersFromCr,
  holderProblem,
  NM_FINALIZER,
  nextStep,
  requestFromCr,
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
  it('is Succeeded once drained and held, with NMO fields', () => {
    expect(statusFromProgress(progress('Hold'), now)).toEqual({
      phase: 'Succeeded',
      drainProgress: 100,
      lastUpdate: now,
      pendingPods: [],
      totalpods: 4,
      evictionPods: 4,
    });
  });
  it('stays Running with lastError on a blocked drain or failure', () => {
    const s = statusFromProgress(
      progress('EvictPods', { drainProgress: 50, pods: { total: 4, evicted: 2, blocked: 1, blockers: ['ns/db-0'] } }),
      now,
    );
    expect(s).toMatchObject({ phase: 'Running', drainProgress: 50, pendingPods: ['ns/db-0'] });
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
});
