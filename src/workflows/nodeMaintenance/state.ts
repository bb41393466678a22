// The state of one nodeMaintenance run: what it shows (progress), what it changed (for the roll-back), the operator's
// answers (decisions, release). The steps and the handlers share this one object; nothing else holds run state.
import { condition, setCurrentDetails, upsertSearchAttributes, type WorkflowInfo } from '@temporalio/workflow';
import type { Decision, VmPlan } from '../../domain/plan.js';
import type { MaintenanceSummary, PendingDecision, Phase, Progress, VmRow, VmState } from '../../domain/progress.js';
import type { MaintenanceRequest } from '../../domain/request.js';
import { MAINTENANCE_DECISIONS_PENDING, MAINTENANCE_NODE, MAINTENANCE_PHASE } from '../messages.js';
import { phaseChanged } from '../metrics.js';
import type { PowerTarget } from './activities.js';
import { progressMarkdown } from './details.js';
import type { ParentReporter } from './parentReport.js';

export const iso = (ms = Date.now()) => new Date(ms).toISOString();

/** "namespace/name" as the activities take it. */
export function vmRef(vmi: string): { namespace: string; name: string } {
  const [namespace = 'default', name = vmi] = vmi.split('/');
  return { namespace, name };
}

/** What this run changed in the cluster: exactly what the roll-back undoes. */
export interface Changes {
  lease: boolean;
  cordoned: boolean;
  /** A power-off was asked for: the power state is no longer known to be on. */
  poweredOff: boolean;
  /** The BMC acknowledged a power-off: the roll-back can tell the operator the machine was off, not unknown. */
  powerOffAcknowledged: boolean;
  /** vmi → the migration (VMIM) this run started and that may still run. */
  migrations: Map<string, string>;
  /** vmi → plan of the VMs this run shut down and has not started again. */
  stopped: Map<string, VmPlan>;
  /**
   * The repair runbook: the machine is confirmed off (by its BMC or an operator). From here on nothing is rolled
   * back: the node is never powered on or uncordoned but by the release.
   */
  fenced: boolean;
  /** The out-of-service taint was asked for. */
  outOfService: boolean;
  /** Manual VMs this run set to runStrategy Always to start them elsewhere and has not set back to Manual. */
  starting: Set<string>;
}

/** The timeline keeps the latest entries only, so the progress stays small in a long run. */
const TIMELINE_LENGTH = 50;

export class MaintenanceRun {
  readonly node: string;
  readonly workflowId: string;
  readonly progress: Progress;
  readonly changed: Changes = {
    lease: false,
    cordoned: false,
    poweredOff: false,
    powerOffAcknowledged: false,
    migrations: new Map(),
    stopped: new Map(),
    fenced: false,
    outOfService: false,
    starting: new Set(),
  };
  /** Operators' answers to escalations (the decide update), by vmi, until the waiting VM takes its answer. */
  readonly decisions = new Map<string, Decision>();
  /** The release update arrived (it may come before the hold is reached). */
  released = false;
  /** Where the node's power is switched; `none` until the preflight resolved it. */
  power: PowerTarget = { kind: 'none' };
  private current?: { phase: Phase; since: number };

  constructor(
    readonly request: MaintenanceRequest,
    info: WorkflowInfo,
    private readonly reporter?: ParentReporter,
  ) {
    this.node = request.node;
    this.workflowId = info.workflowId;
    this.progress = {
      node: request.node,
      phase: 'Preflight',
      dryRun: request.dryRun,
      paused: false,
      startedAt: iso(info.startTime.getTime()),
      vms: [],
      pods: { total: 0, evicted: 0, blocked: 0, blockers: [] },
      decisionsPending: [],
      power: 'unmanaged',
      drainProgress: 0,
      timeline: [],
    };
  }

  get policy() {
    return this.request.policy;
  }

  /** Publishes the progress: the Temporal UI's details pane, and the parent roll if there is one. */
  show(): void {
    setCurrentDetails(progressMarkdown(this.progress));
    this.reporter?.changed(this.progress);
  }

  enter(phase: Phase, message?: string): void {
    phaseChanged(this.current, phase, Date.now());
    this.current = { phase, since: Date.now() };
    this.progress.phase = phase;
    this.progress.message = message;
    this.progress.timeline.push({ at: iso(), phase, message });
    if (this.progress.timeline.length > TIMELINE_LENGTH) this.progress.timeline.shift();
    upsertSearchAttributes([
      { key: MAINTENANCE_NODE, value: this.node },
      { key: MAINTENANCE_PHASE, value: phase },
    ]);
    this.show();
  }

  /**
   * An operator's decision is now pending: in the progress, the UI's details and the MaintenanceDecisionsPending
   * search attribute (the list of runs waiting for a human, and the pitstop_decisions_pending gauge).
   */
  ask(decision: PendingDecision): void {
    this.progress.decisionsPending.push(decision);
    this.decisionsChanged();
  }

  /** The decision for `vmi` is no longer pending: answered, timed out, or the run moved on. */
  settled(vmi: string): void {
    this.progress.decisionsPending = this.progress.decisionsPending.filter((d) => d.vmi !== vmi);
    this.decisionsChanged();
  }

  private decisionsChanged(): void {
    upsertSearchAttributes([{ key: MAINTENANCE_DECISIONS_PENDING, value: this.progress.decisionsPending.length }]);
    this.show();
  }

  /** Resolves at once unless an operator paused the run; then when they resume it. */
  unpaused(): Promise<void> {
    return condition(() => !this.progress.paused);
  }

  row(vmi: string): VmRow {
    const found = this.progress.vms.find((r) => r.vmi === vmi);
    if (!found) throw new Error(`no row for ${vmi}`);
    return found;
  }

  /** A VM reached its final state for this maintenance. */
  done(r: VmRow, state: VmState, message?: string): void {
    r.state = state;
    r.finishedAt = iso();
    if (message) r.message = message;
    this.show();
  }

  updateDrainProgress(): void {
    const { vms, pods } = this.progress;
    const total = vms.length + pods.total;
    const off = vms.filter((r) => r.finishedAt).length + pods.evicted;
    this.progress.drainProgress = total === 0 ? 100 : Math.min(100, Math.round((off / total) * 100));
    this.show();
  }

  summary(): MaintenanceSummary {
    const count = (s: VmState) => this.progress.vms.filter((r) => r.state === s).length;
    return {
      migrated: count('migrated') + count('movedExternally'),
      restored: count('restored'),
      leftOff: count('left'),
      deleted: count('deleted'),
      podsEvicted: this.progress.pods.evicted,
      ...(this.progress.runbook === 'repair' && {
        recovered: count('recovered'),
        notRecovered: count('lost') + count('failed'),
      }),
    };
  }
}
