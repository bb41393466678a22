// Stopping a VM for maintenance and putting it back (its runStrategy recorded on the VM itself, so retries and
// roll-backs agree; Manual and RerunOnFailure VMs through KubeVirt's stop/start subresources, stateChange.ts),
// deleting a standalone VMI, and the waits for a VMI to go, to run, or to leave a node.
import { ApplicationFailure } from '@temporalio/common';
import { isConflict, isNotFound, type KubeClient, type KubeObject } from '../../k8s/client.js';
import type { WaitControls } from '../../k8s/watch.js';
import { PREVIOUS_RUN_STRATEGY } from '../../domain/contract.js';
import { restoreSteps, stopsByRequest } from '../../domain/plan.js';
import { classify, kube } from '../errors.js';
import { runStrategyOf, seconds, vmPath, vmiPath, vmiPhase, waitForObject } from './objects.js';
import { requestStateChange } from './stateChange.js';

export interface StopVmResult {
  /** The runStrategy recorded before maintenance stopped the VM (the first stop's, on a retry). */
  previousRunStrategy: string;
  /** The VMI that is stopping, if one exists (for waitForVmiGone). */
  vmiUid?: string;
}

const isFinal = (vmi: KubeObject) => vmi.status?.phase === 'Succeeded' || vmi.status?.phase === 'Failed';
/** A VMI that runs or is on its way to: there, not being deleted, not finished. */
const isLive = (vmi: KubeObject | undefined): vmi is KubeObject =>
  !!vmi && !vmi.metadata.deletionTimestamp && !isFinal(vmi);
const firstRequest = (vm: KubeObject): { action?: string; uid?: string } | undefined =>
  vm.status?.stateChangeRequests?.[0];

/**
 * Stops a VM. First its runStrategy is recorded in the annotation pitstop.io/previous-run-strategy (only if not
 * recorded yet, so a retry never records Halted), guarded by the resourceVersion. Then:
 * - Manual and RerunOnFailure (stopsByRequest): KubeVirt's `stop` subresource, which leaves spec.runStrategy as it
 *   is (virt-controller deletes the VMI named by the request); not asked again while that VMI is already going;
 * - Always, where the API server does not serve subresources.kubevirt.io, or a finished VMI the subresource does
 *   not stop: runStrategy Halted (removing legacy spec.running), in one patch with the record.
 * Either way KubeVirt shuts the guest down gracefully and deletes the VMI.
 */
export async function stopVm(client: KubeClient, input: { namespace: string; name: string }): Promise<StopVmResult> {
  const { namespace: ns, name } = input;
  const what = `stopping VM ${ns}/${name}`;
  /** False once the subresource is not served, or cannot stop this VMI: then runStrategy Halted. */
  let byRequest = true;
  for (let round = 0; ; round++) {
    const vm = await kube(what, () => client.get(vmPath(ns, name)));
    const recorded = vm.metadata.annotations?.[PREVIOUS_RUN_STRATEGY];
    const current = runStrategyOf(vm);
    const previousRunStrategy = recorded ?? current;
    const result: StopVmResult = { previousRunStrategy };
    try {
      // A VM whose stop fell back to Halted has another strategy now, and stays on that way.
      if (byRequest && stopsByRequest(previousRunStrategy) && current === previousRunStrategy) {
        if (recorded === undefined) {
          await client.patch(vmPath(ns, name), {
            metadata: {
              resourceVersion: vm.metadata.resourceVersion,
              annotations: { [PREVIOUS_RUN_STRATEGY]: previousRunStrategy },
            },
          });
        }
        const vmi = await client.find(vmiPath(ns, name));
        if (vmi?.metadata.uid) result.vmiUid = vmi.metadata.uid;
        // A finished VMI is kept by a Manual VM's controller and refused by `stop` ("VM is not running"), yet the
        // node's maintenance waits for it to go: only Halted makes virt-controller delete it.
        const finishedKept = vmi !== undefined && !vmi.metadata.deletionTimestamp && isFinal(vmi);
        const first = firstRequest(vm);
        const requested = first?.action === 'Stop' && first.uid === vmi?.metadata.uid;
        if (!finishedKept) {
          if (!isLive(vmi) || requested) return result;
          const answer = await requestStateChange(client, { namespace: ns, name, action: 'stop' });
          if (answer !== 'NotServed') return result;
        }
        byRequest = false;
        continue; // the record just written changed the resourceVersion: read again, then set Halted
      }
      if (recorded === undefined || vm.spec?.runStrategy !== 'Halted' || vm.spec?.running !== undefined) {
        await client.patch(vmPath(ns, name), {
          metadata: {
            resourceVersion: vm.metadata.resourceVersion,
            annotations: { [PREVIOUS_RUN_STRATEGY]: previousRunStrategy },
          },
          spec: { runStrategy: 'Halted', running: null },
        });
      }
    } catch (e) {
      if (isConflict(e) && round < 5) continue;
      throw classify(e, what);
    }
    const vmi = await kube(what, () => client.find(vmiPath(ns, name)));
    if (vmi?.metadata.uid) result.vmiUid = vmi.metadata.uid;
    return result;
  }
}

export interface VmiGoneResult {
  outcome: 'Gone' | 'TimedOut';
  /** The VMI's phase when the wait ended (Stopping while it is being deleted). */
  phase: string;
}

/** Waits until the VMI is gone (or replaced by another VMI than `uid`), at most `timeoutMs` from the first try. */
export async function waitForVmiGone(
  client: KubeClient,
  input: WaitControls & { namespace: string; name: string; uid?: string; timeoutMs: number },
): Promise<VmiGoneResult> {
  return await waitForVmi<VmiGoneResult>(client, input, 'to stop', {
    reached: (vmi) =>
      !vmi || (input.uid && vmi.metadata.uid !== input.uid) ? { outcome: 'Gone', phase: 'Absent' } : undefined,
    timedOut: (vmi) => ({ outcome: 'TimedOut', phase: vmiPhase(vmi) }),
  });
}

/**
 * The VMI waits share one shape: watch the VMI until `reached` answers, or until `timeoutMs` from the first try
 * (a resumed try keeps the clock) has passed, then `timedOut`.
 */
export async function waitForVmi<R>(
  client: KubeClient,
  input: WaitControls & { namespace: string; name: string; timeoutMs: number },
  goal: string,
  answers: { reached: (vmi: KubeObject | undefined) => R | undefined; timedOut: (vmi: KubeObject | undefined) => R },
): Promise<R> {
  const since = input.resumeFrom?.since ?? Date.now();
  const deadline = since + input.timeoutMs;
  return await waitForObject<R>(
    client,
    `waiting for VMI ${input.namespace}/${input.name} ${goal}`,
    {
      collection: vmiPath(input.namespace),
      name: input.name,
      since: () => since,
      deadline,
      phaseOf: vmiPhase,
      decide: (vmi, now) => {
        const done = answers.reached(vmi);
        if (done !== undefined) return { done };
        return now >= deadline ? { done: answers.timedOut(vmi) } : { recheckAt: deadline };
      },
    },
    input,
  );
}

export interface RestoreVmResult {
  /** False when there was nothing recorded (never stopped by maintenance, or already restored). */
  restored: boolean;
  runStrategy: string;
}

/**
 * Puts back a VM that stopVm stopped and removes the record; a second call does nothing. The record stays until
 * the last step, so a retry after a crash redoes the steps, and a VMI that already runs is never started twice.
 * - Stopped through the `stop` subresource (runStrategy still the recorded Manual or RerunOnFailure, see
 *   restoreSteps): once the stopped VMI is gone, the `start` subresource (not asked again while a Start is queued),
 *   so runStrategy never changes.
 * - Set to Halted: the recorded runStrategy goes back; a Manual VM, which needs an explicit start, is started the
 *   portable way (runStrategy Always until its VMI exists, then Manual: a Manual VM keeps a running VMI). That way
 *   is also the fallback when the API server does not serve the `start` subresource.
 * `startTimeoutMs` (default 60 s) bounds the start.
 */
export async function restoreVm(
  client: KubeClient,
  input: { namespace: string; name: string; startTimeoutMs?: number; signal?: AbortSignal },
): Promise<RestoreVmResult> {
  const { namespace: ns, name } = input;
  const what = `restoring VM ${ns}/${name}`;
  const vm = await kube(what, () => client.get(vmPath(ns, name)));
  const recorded = vm.metadata.annotations?.[PREVIOUS_RUN_STRATEGY];
  if (recorded === undefined) return { restored: false, runStrategy: runStrategyOf(vm) };
  const steps = restoreSteps(recorded, runStrategyOf(vm));
  const since = Date.now();
  const deadline = since + (input.startTimeoutMs ?? 60_000);
  const until = (goal: (vmi: KubeObject | undefined) => boolean) =>
    waitForObject<boolean>(
      client,
      what,
      {
        collection: vmiPath(ns),
        name,
        since: () => since,
        deadline,
        phaseOf: vmiPhase,
        decide: (vmi, now) =>
          goal(vmi) ? { done: true } : now >= deadline ? { done: false } : { recheckAt: deadline },
      },
      { signal: input.signal },
    );
  const notStarted = (how: string) =>
    ApplicationFailure.create({
      message: `${what}: no VMI within ${seconds(deadline - since)} of ${how}`,
      type: 'VmNotStarted',
    });

  let byRequest = steps.byRequest;
  if (byRequest) {
    // A stop still under way: virt-api would call the going VMI running, and nothing would start afterwards.
    if (!(await until((vmi) => !vmi?.metadata.deletionTimestamp))) throw notStarted('the stopped VMI going');
    const now = await kube(what, () => client.get(vmPath(ns, name)));
    const vmi = await kube(what, () => client.find(vmiPath(ns, name)));
    if (!isLive(vmi) && firstRequest(now)?.action !== 'Start') {
      const answer = await kube(what, () => requestStateChange(client, { namespace: ns, name, action: 'start' }));
      byRequest = answer !== 'NotServed';
    }
    if (byRequest && !(await until(isLive))) throw notStarted('the start request');
  }
  if (!byRequest && steps.start) {
    if (vm.spec?.runStrategy !== 'Always' || vm.spec?.running !== undefined) {
      await kube(what, () => client.patch(vmPath(ns, name), { spec: { runStrategy: 'Always', running: null } }));
    }
    if (!(await until(isLive))) throw notStarted('runStrategy Always');
  }
  // Only what changed: a VM stopped through the subresource gets no spec write at all.
  const spec = byRequest ? undefined : { runStrategy: steps.runStrategy, running: null };
  await kube(what, () =>
    client.patch(vmPath(ns, name), { metadata: { annotations: { [PREVIOUS_RUN_STRATEGY]: null } }, spec }),
  );
  return { restored: true, runStrategy: steps.runStrategy };
}

export interface VmiRunningResult {
  outcome: 'Running' | 'TimedOut';
  phase: string;
  nodeName?: string;
}

/** Waits until the VMI runs (phase Running, not being deleted), at most `timeoutMs` from the first try. */
export async function waitForVmiRunning(
  client: KubeClient,
  input: WaitControls & { namespace: string; name: string; timeoutMs: number },
): Promise<VmiRunningResult> {
  return await waitForVmi<VmiRunningResult>(client, input, 'to run', {
    reached: (vmi) =>
      vmiPhase(vmi) === 'Running'
        ? { outcome: 'Running', phase: 'Running', nodeName: vmi?.status?.nodeName }
        : undefined,
    timedOut: (vmi) => ({ outcome: 'TimedOut', phase: vmiPhase(vmi) }),
  });
}

/**
 * Deletes a VMI (a standalone one the operator chose to delete: it cannot come back). 404 = done. With `uid`, only
 * that VMI is deleted (a precondition), so a retry cannot delete a newer VMI of the same name.
 */
export async function deleteVmi(
  client: KubeClient,
  input: { namespace: string; name: string; uid?: string },
): Promise<{ deleted: boolean }> {
  const what = `deleting VMI ${input.namespace}/${input.name}`;
  try {
    const body = input.uid ? { apiVersion: 'v1', kind: 'DeleteOptions', preconditions: { uid: input.uid } } : undefined;
    await client.delete(vmiPath(input.namespace, input.name), undefined, body);
    return { deleted: true };
  } catch (e) {
    if (isNotFound(e) || (input.uid && isConflict(e))) return { deleted: false };
    throw classify(e, what);
  }
}

export interface VmiOffNodeResult {
  /** Moved: runs on another node; Gone: no VMI any more (stopped or deleted); TimedOut: still on the node. */
  outcome: 'Moved' | 'Gone' | 'TimedOut';
  phase: string;
  nodeName?: string;
}

/**
 * Waits until a VMI no longer runs on `node` (an External eviction strategy: another controller moves it), at most
 * `timeoutMs` from the first try.
 */
export async function waitForVmiOffNode(
  client: KubeClient,
  input: WaitControls & { namespace: string; name: string; node: string; timeoutMs: number },
): Promise<VmiOffNodeResult> {
  return await waitForVmi<VmiOffNodeResult>(client, input, `to leave ${input.node}`, {
    reached: (vmi) => {
      if (!vmi) return { outcome: 'Gone', phase: vmiPhase(vmi) };
      const nodeName: string | undefined = vmi.status?.nodeName;
      const moved = vmiPhase(vmi) === 'Running' && nodeName && nodeName !== input.node;
      return moved ? { outcome: 'Moved', phase: 'Running', nodeName } : undefined;
    },
    timedOut: (vmi) => ({ outcome: 'TimedOut', phase: vmiPhase(vmi), nodeName: vmi?.status?.nodeName }),
  });
}
