// Messages of the nodeMaintenance workflow: shared by the workflow, the API and the CLI.
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { defineQuery } from '@temporalio/workflow';
import type { PreflightVerdict } from '../domain/preflight.js';

export const TASK_QUEUE = 'pitstop';
export const workflowIdFor = (node: string) => `maintenance-${node}`;

export const MAINTENANCE_NODE = defineSearchAttributeKey('MaintenanceNode', SearchAttributeType.KEYWORD);
export const MAINTENANCE_PHASE = defineSearchAttributeKey('MaintenancePhase', SearchAttributeType.KEYWORD);

export type Phase = 'Preflight' | 'DryRun' | 'Refused' | 'Done' | 'Failed';

export interface Progress {
  node: string;
  phase: Phase;
  dryRun: boolean;
  startedAt: string;
  verdict?: PreflightVerdict;
  message?: string;
}

export interface MaintenanceResult {
  node: string;
  outcome: 'DryRun' | 'Refused';
  verdict: PreflightVerdict;
}

export const progressQuery = defineQuery<Progress>('progress');
