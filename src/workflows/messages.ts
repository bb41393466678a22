// The Temporal messages of the two workflows (queries, updates, signals) and their search attributes: the workflows
// set the handlers, the API, the CLI and the chaos runner send through the same definitions. The data shapes they
// carry are in src/domain (progress.ts, rollingProgress.ts).
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { DecideInput, Progress, ReleaseInput } from '../domain/progress.js';
import type { ChildReport, RollingProgress, SkipInput } from '../domain/rollingProgress.js';

export const MAINTENANCE_NODE = defineSearchAttributeKey('MaintenanceNode', SearchAttributeType.KEYWORD);
export const MAINTENANCE_PHASE = defineSearchAttributeKey('MaintenancePhase', SearchAttributeType.KEYWORD);
/** How many operator decisions the run waits for: `MaintenanceDecisionsPending > 0` lists the runs that need a human. */
export const MAINTENANCE_DECISIONS_PENDING = defineSearchAttributeKey(
  'MaintenanceDecisionsPending',
  SearchAttributeType.INT,
);

// nodeMaintenance
export const progressQuery = defineQuery<Progress>('progress');
export const decideUpdate = defineUpdate<string, [DecideInput]>('decide');
export const releaseUpdate = defineUpdate<string, [ReleaseInput]>('release');
export const pauseUpdate = defineUpdate<string, []>('pause');
export const resumeUpdate = defineUpdate<string, []>('resume');

// rollingMaintenance
export const rollingProgressQuery = defineQuery<RollingProgress>('progress');
export const rollingPauseUpdate = defineUpdate<string, []>('pause');
export const rollingResumeUpdate = defineUpdate<string, []>('resume');
export const skipUpdate = defineUpdate<string, [SkipInput]>('skip');
/** A child nodeMaintenance's phase, pending decisions and outcome, sent to its parent roll. */
export const childReportSignal = defineSignal<[ChildReport]>('childReport');

// Temporal's built-in query, answered by every workflow: what the Temporal UI shows as "current details" (set with
// setCurrentDetails). Only the field the tests read is typed.
export const workflowMetadataQuery = defineQuery<{ currentDetails?: string }>('__temporal_workflow_metadata');
