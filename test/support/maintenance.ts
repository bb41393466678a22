// Starting and following nodeMaintenance runs in tests: one short policy, one way to wait for a phase.
import { randomUUID } from 'node:crypto';
import type { WorkflowHandle } from '@temporalio/client';
import type { MaintenanceInput } from '../../src/domain/request.js';
import type { Phase, Progress } from '../../src/domain/progress.js';
import { eventually, type TestEnv } from './env.js';
import { WORKFLOW_TYPES } from '../../src/domain/workflowNames.js';
import type { nodeMaintenance } from '../../src/workflows/index.js';
import { progressQuery } from '../../src/workflows/messages.js';

/** Short deadlines: the sandbox is fast, and a stuck test should fail in seconds, not hours. */
export const TEST_POLICY = {
  migration: { attempts: 2, timeout: '30s', pendingTimeout: '10s', retryBackoff: '200ms' },
  drain: { timeout: '30s', evictionRetryInterval: '300ms' },
  power: { offTimeout: '20s', onTimeout: '20s' },
  ready: { timeout: '20s' },
  restore: { timeout: '30s' },
  shutdown: { timeout: '30s' },
  escalation: { decisionTimeout: '60s' },
};

export type Start = Omit<MaintenanceInput, 'policy'> & { policy?: Record<string, unknown> };

/** Starts a maintenance with TEST_POLICY (overridden per key by `input.policy`) under a unique workflow id. */
export async function startMaintenance(env: TestEnv, input: Start): Promise<WorkflowHandle> {
  return await env.client.workflow.start<typeof nodeMaintenance>(WORKFLOW_TYPES.nodeMaintenance, {
    taskQueue: env.taskQueue,
    workflowId: `maintenance-${input.node}#${randomUUID().slice(0, 8)}`,
    args: [{ ...input, policy: { ...TEST_POLICY, ...(input.policy ?? {}) } }],
  });
}

export const progressOf = (handle: WorkflowHandle) => handle.query(progressQuery);

/**
 * Waits until the run is in `phase`; fails early if it ended elsewhere, and on a timeout says where the run was (the
 * last progress seen: phase, message, the end of its timeline), so a slow run on a loaded machine is readable.
 */
export async function reachPhase(handle: WorkflowHandle, phase: Phase, timeoutMs = 120_000): Promise<Progress> {
  let last: Progress | undefined;
  try {
    return await eventually(
      `phase ${phase}`,
      async () => {
        const p = (last = await progressOf(handle));
        if (['RolledBack', 'Done', 'Refused', 'NeedsAttention', 'Failed'].includes(p.phase) && p.phase !== phase) {
          throw new Error(`ended in ${p.phase}: ${p.message}`);
        }
        return p.phase === phase ? p : undefined;
      },
      timeoutMs,
    );
  } catch (e) {
    if (!last) throw e;
    const timeline = last.timeline
      .slice(-5)
      .map((t) => `${t.at} ${t.phase}${t.message ? ` (${t.message})` : ''}`)
      .join('; ');
    throw new Error(
      `${(e as Error).message}; last seen in ${last.phase}: ${last.message ?? ''}; timeline: ${timeline}`,
      { cause: e },
    );
  }
}

/** The reason the workflow's validator gave for refusing an update (the client wraps it). */
export async function refusal(update: Promise<unknown>): Promise<string> {
  try {
    await update;
  } catch (e) {
    const err = e as { cause?: { message?: string }; message: string };
    return err.cause?.message ?? err.message;
  }
  throw new Error('the update was accepted');
}
