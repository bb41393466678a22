// A chaos run's set-up: fast simulated hardware and short policy deadlines (a run takes seconds, and a stuck one
// ends in seconds), the plan's cluster slice applied to the sandbox and its VMs running, and the maintenance input
// as a user would type it.
import { kv, type KubeClient } from '../k8s/client.js';
import type { Sandbox } from '../sandbox/index.js';
import type { Timing } from '../sandbox/model.js';
import { parseScenario } from '../sandbox/scenario.js';
import type { MaintenanceInput } from '../domain/request.js';
import type { ChaosPlan } from './generate.js';
import { crashNode, untilNotReady } from './crash.js';
import { sleep } from './retry.js';

export const CHAOS_TIMING: Partial<Timing> = {
  migrationDurationMs: 500,
  bootDelayMs: 500,
  powerDelayMs: 200,
  notReadyDelayMs: 200,
  vmStopMs: 200,
  podStopMs: 100,
  evacuationRetryMs: 500,
  // A crashed node is seen NotReady after 1 s (40 s upstream) and its migrations fail after 10 s (KubeVirt's
  // progress and handoff timeouts, minutes upstream): the same order of events, faster.
  nodeMonitorGracePeriodMs: 1000,
  deadSourceMigrationTimeoutMs: 10_000,
};

export const CHAOS_POLICY = {
  migration: { attempts: 2, timeout: '30s', pendingTimeout: '8s', retryBackoff: '200ms' },
  drain: { timeout: '30s', evictionRetryInterval: '300ms' },
  power: { offTimeout: '15s', onTimeout: '15s' },
  ready: { timeout: '15s' },
  restore: { timeout: '30s' },
  shutdown: { timeout: '15s' },
  external: { timeout: '5s' },
  repair: { notReadyFor: '2s', podsGoneTimeout: '10s', recoverTimeout: '30s' },
};

/**
 * Applies the plan's scenario and waits (up to a minute) until every one of its VMs runs; a node the plan crashes
 * before the maintenance then crashes, and the run starts once the node is seen NotReady.
 */
export async function setUpScenario(sandbox: Sandbox, direct: KubeClient, plan: ChaosPlan): Promise<void> {
  await sandbox.applyScenario(parseScenario(plan.scenario, `chaos seed ${plan.seed}`));
  const vmCount = plan.scenario.vms?.length ?? 0;
  const deadline = Date.now() + 60_000;
  for (;;) {
    const vmis = await direct.list(kv('virtualmachineinstances', plan.namespace));
    if (vmis.items.length === vmCount && vmis.items.every((v) => v.status?.phase === 'Running')) break;
    if (Date.now() > deadline) throw new Error(`seed ${plan.seed}: the scenario's VMs did not all start`);
    await sleep(100);
  }
  // The crash comes once every VM runs: a node in service fails.
  if (plan.crash.failure.kind === 'crashedBefore') {
    await crashNode(direct, plan);
    await untilNotReady(direct, plan.node);
  }
}

/** The maintenance input of a plan, as a user would type it. */
export function inputOf(plan: ChaosPlan, sandbox: Sandbox): MaintenanceInput {
  const credential = sandbox.credentials.find((c) => c.nodeName === plan.node);
  const power =
    plan.bmc === 'redfish' && credential
      ? {
          power: 'redfish' as const,
          redfish: {
            address: sandbox.redfishUrl,
            systemId: plan.node,
            credentialsSecret: { namespace: credential.secretNamespace, name: credential.secretName },
            insecureSkipVerify: true,
          },
        }
      : { power: 'auto' as const };
  return {
    node: plan.node,
    mode: plan.input.mode,
    reason: `chaos seed ${plan.seed}`,
    requestedBy: 'chaos',
    hold: plan.input.hold,
    ...power,
    policy: {
      ...CHAOS_POLICY,
      parallelMigrations: plan.input.parallelMigrations,
      escalation: {
        onNonMigratable: plan.input.onNonMigratable,
        decisionTimeout: '4s',
        onTimeout: plan.input.onTimeout,
      },
    },
  };
}
