/**
 * The Temporal-facing service used by the HTTP API and the CLI: every verb on node maintenance, rolling maintenance
 * and schedules, one module per resource (maintenances.ts, rolls.ts, schedules.ts, visibility.ts for the lists).
 * Inputs are validated with the domain parsers BEFORE anything is started or sent; failures are InvalidInputError
 * (bad input), NotFoundError (no such workflow/schedule) or RefusedError (understood, refused).
 */
import type { Client } from '@temporalio/client';
import { MaintenanceService, type MaintenanceView } from './maintenances.js';
import { RollingService, type RollingView } from './rolls.js';
import { WorkflowRuns, type StartOutcome } from './runs.js';
import { ScheduleService, type ScheduleListEntry, type ScheduleView } from './schedules.js';
import { RunListing, type RunSummary } from './visibility.js';

export { DECISIONS, parseDecision, parseRelease } from './inputs.js';
export { failureOf, type Failure, type StartOutcome } from './runs.js';
export { NODE_WORKFLOW_TYPE, type RunStatus, type RunSummary } from './visibility.js';
export type { MaintenanceView, RollingView, ScheduleListEntry, ScheduleView };

export interface ServiceOptions {
  client: Client;
  taskQueue: string;
  /** When given, a start naming a node the cluster does not have is refused before anything starts. */
  nodeExists?: (node: string) => Promise<boolean>;
}

/** One object for callers that serve every resource (the API's routes, the CLI's commands). */
export class PitstopService {
  readonly client: Client;
  readonly taskQueue: string;
  readonly maintenances: MaintenanceService;
  readonly rolls: RollingService;
  readonly schedules: ScheduleService;
  readonly listing: RunListing;

  constructor(options: ServiceOptions) {
    this.client = options.client;
    this.taskQueue = options.taskQueue;
    const runs = new WorkflowRuns(options.client, options.taskQueue);
    this.maintenances = new MaintenanceService(runs, options.nodeExists);
    this.rolls = new RollingService(runs, options.nodeExists);
    this.schedules = new ScheduleService(options.client, options.taskQueue);
    this.listing = new RunListing(options.client);
  }

  // Node maintenance (maintenances.ts)
  validateMaintenance(input: unknown) {
    return this.maintenances.validateMaintenance(input);
  }
  startMaintenance(input: unknown, memo?: Record<string, unknown>): Promise<StartOutcome> {
    return this.maintenances.startMaintenance(input, memo);
  }
  planMaintenance(input: unknown) {
    return this.maintenances.planMaintenance(input);
  }
  getMaintenance(node: string): Promise<MaintenanceView> {
    return this.maintenances.getMaintenance(node);
  }
  waitMaintenance(node: string): Promise<MaintenanceView> {
    return this.maintenances.waitMaintenance(node);
  }
  decide(node: string, input: unknown): Promise<string> {
    return this.maintenances.decide(node, input);
  }
  release(node: string, input: unknown = {}): Promise<string> {
    return this.maintenances.release(node, input);
  }
  pauseMaintenance(node: string): Promise<string> {
    return this.maintenances.pauseMaintenance(node);
  }
  resumeMaintenance(node: string): Promise<string> {
    return this.maintenances.resumeMaintenance(node);
  }
  cancelMaintenance(node: string): Promise<string> {
    return this.maintenances.cancelMaintenance(node);
  }

  // Lists (visibility.ts)
  listMaintenances(options: { node?: string; running?: boolean; limit?: number } = {}): Promise<RunSummary[]> {
    return this.listing.listMaintenances(options);
  }
  maintenanceStartedSince(node: string, since: Date): Promise<RunSummary | undefined> {
    return this.listing.maintenanceStartedSince(node, since);
  }
  listRolling(options: { running?: boolean; limit?: number } = {}): Promise<RunSummary[]> {
    return this.listing.listRolling(options);
  }

  // Rolling maintenance (rolls.ts)
  startRolling(input: unknown): Promise<StartOutcome> {
    return this.rolls.startRolling(input);
  }
  getRolling(name: string): Promise<RollingView> {
    return this.rolls.getRolling(name);
  }
  pauseRolling(name: string): Promise<string> {
    return this.rolls.pauseRolling(name);
  }
  resumeRolling(name: string): Promise<string> {
    return this.rolls.resumeRolling(name);
  }
  skipNode(name: string, input: unknown): Promise<string> {
    return this.rolls.skipNode(name, input);
  }
  cancelRolling(name: string): Promise<string> {
    return this.rolls.cancelRolling(name);
  }

  // Schedules (schedules.ts)
  createSchedule(input: unknown): Promise<ScheduleView> {
    return this.schedules.createSchedule(input);
  }
  getSchedule(name: string): Promise<ScheduleView> {
    return this.schedules.getSchedule(name);
  }
  listSchedules(): Promise<ScheduleListEntry[]> {
    return this.schedules.listSchedules();
  }
  pauseSchedule(name: string, note?: string): Promise<ScheduleView> {
    return this.schedules.pauseSchedule(name, note);
  }
  unpauseSchedule(name: string, note?: string): Promise<ScheduleView> {
    return this.schedules.unpauseSchedule(name, note);
  }
  triggerSchedule(name: string): Promise<void> {
    return this.schedules.triggerSchedule(name);
  }
  deleteSchedule(name: string): Promise<void> {
    return this.schedules.deleteSchedule(name);
  }
}
