/**
 * What a node maintenance shows while it runs (the `progress` query) and returns when it ends. Plain data: the
 * workflow keeps it, the API, the CLI and the chaos judge read it.
 */
import type { AdmissionVerdict } from './admission.js';
import type { Decision, RestoreMode, VmAction } from './plan.js';
import type { PreflightVerdict } from './preflight.js';
import type { Runbook } from './repairMode.js';

/** The runbook's phases, in the order a maintenance passes them, then the ways it ends. */
export const PHASES = [
  'Preflight',
  'WaitingForAdmission',
  'DryRun',
  'Refused',
  'Cordon',
  'EvacuateVMs',
  'EvictPods',
  'PowerOff',
  // The repair runbook (a failed node) passes these instead of EvacuateVMs, EvictPods and PowerOff.
  'Fence',
  'ReleaseWorkloads',
  'RecoverVMs',
  'Hold',
  'PowerOn',
  'WaitReady',
  'Uncordon',
  'RestoreVMs',
  'Done',
  'RollingBack',
  'RolledBack',
  /** The roll-back could not power the machine on: it is left cordoned for the operator. */
  'NeedsAttention',
  'Failed',
] as const;
export type Phase = (typeof PHASES)[number];

/** The phases a run ends in: each is counted once in the `pitstop_maintenances` metric. */
export const TERMINAL_PHASES = [
  'DryRun',
  'Refused',
  'Done',
  'RolledBack',
  'NeedsAttention',
] as const satisfies readonly Phase[];
export type TerminalPhase = (typeof TERMINAL_PHASES)[number];

/** Phases after which nothing more is held for the operator: a release then has nothing to release. */
export const ENDING_PHASES = [...TERMINAL_PHASES, 'RollingBack', 'Failed'] as const satisfies readonly Phase[];

export const isTerminalPhase = (phase: Phase): phase is TerminalPhase =>
  (TERMINAL_PHASES as readonly Phase[]).includes(phase);

export const VM_STATES = [
  'pending',
  'migrating',
  'migrated',
  'stopping',
  'stopped',
  'restoring',
  'restored',
  'awaitingDecision',
  'awaitingExternal',
  'movedExternally',
  'deleted',
  'left',
  'failed',
  // The repair runbook: waiting for the VM to run on another node, running there, or gone for good.
  'recovering',
  'recovered',
  'lost',
] as const;
export type VmState = (typeof VM_STATES)[number];

export interface VmRow {
  vmi: string;
  action: VmAction;
  restore: RestoreMode;
  state: VmState;
  attempts: number;
  sourceNode: string;
  targetNode?: string;
  migration?: string;
  /** The repair runbook: the uid of the VM's new VMI on the target node. */
  newVmiUid?: string;
  startedAt?: string;
  finishedAt?: string;
  message?: string;
}

export interface PendingDecision {
  /** "namespace/name" of the VM; for a repair's fence decision, `node/<node>` (fenceDecisionKey). */
  vmi: string;
  reason: string;
  allowed: Decision[];
  since: string;
  /** When the policy decides on its own; absent for the fence decision, which only an operator answers. */
  deadline?: string;
}

/** The key of a repair's fence decision in decisionsPending and the decide update (it is about a node, not a VM). */
export const fenceDecisionKey = (node: string) => `node/${node}`;

export type PowerState = 'on' | 'off' | 'unknown' | 'unmanaged';

export interface PodProgress {
  total: number;
  evicted: number;
  blocked: number;
  blockers: string[];
}

export interface Progress {
  node: string;
  /** Which runbook the run follows: chosen at preflight from the request's mode and the node's state. */
  runbook?: Runbook;
  phase: Phase;
  dryRun: boolean;
  paused: boolean;
  startedAt: string;
  verdict?: PreflightVerdict;
  /** The cluster-wide admission's last answer (why the run waits, or what a dry run would be told). */
  admission?: AdmissionVerdict;
  message?: string;
  vms: VmRow[];
  pods: PodProgress;
  decisionsPending: PendingDecision[];
  power: PowerState;
  hold?: { since: string; deadline: string; released?: string };
  /** Share of the node's VMs and pods already off it (0–100), as Node Maintenance Operator reports it. */
  drainProgress: number;
  timeline: { at: string; phase: Phase; message?: string }[];
}

export interface MaintenanceSummary {
  migrated: number;
  restored: number;
  leftOff: number;
  deleted: number;
  podsEvicted: number;
  /** The repair runbook: VMs running on another node after the fence, and those lost or not back in time. */
  recovered?: number;
  notRecovered?: number;
}

export interface MaintenanceResult {
  node: string;
  outcome: 'DryRun' | 'Refused' | 'Completed';
  verdict: PreflightVerdict;
  /** A dry run: what the admission would say now. */
  admission?: AdmissionVerdict;
  summary?: MaintenanceSummary;
}

/** The `decide` update: an operator's answer to a VM's escalation. */
export interface DecideInput {
  vmi: string;
  action: Decision;
}

/** The `release` update: the repair is done, the node may come back. */
export interface ReleaseInput {
  note?: string;
}
