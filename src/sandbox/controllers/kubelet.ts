// Simulated kubelet (pods run, deleted pods go after they stop) and node health (Ready follows the machine's
// power; NotReady nodes get the unreachable taint the node lifecycle controller would add).
import { isConflict, isNotFound, paths, type KubeObject } from '../../k8s/client.js';
import { INDEX } from '../runtime.js';
import { guarded, type SimContext } from '../context.js';
import {
  HW,
  KNOB,
  annotation,
  durationKnob,
  OUT_OF_SERVICE_TAINT,
  isCrashed,
  isNodeAlive,
  isNodeReady,
  isPoweredOn,
  isTrue,
  nodeReadyCondition,
  nowIso,
} from '../model.js';

export async function reconcilePod(ctx: SimContext, key: string): Promise<void> {
  const pod = ctx.informers.pods.get(key);
  const nodeName: string | undefined = pod?.spec?.nodeName;
  if (!pod || !nodeName) return; // unscheduled pods are the scheduler's
  const node = ctx.informers.nodes.get(nodeName);
  if (!node || !isNodeAlive(node)) return; // no kubelet answers on a machine that is off or crashed
  const ns = pod.metadata.namespace ?? 'default';

  // A power-off killed what ran: the kubelet that boots again reports those pods failed (restartPolicy Never).
  if (killedByPowerOff.has(pod.metadata.uid ?? '') && pod.status?.phase === 'Running') {
    if (!isNodeReady(node)) return;
    const now = nowIso();
    await ctx.client.patch(
      paths.podStatus(ns, pod.metadata.name),
      guarded(pod, {
        status: {
          phase: 'Failed',
          reason: 'NodeShutdown',
          message: 'Pod was terminated in response to imminent node shutdown.',
          conditions: (pod.status?.conditions ?? []).map((c: { type: string }) =>
            c.type === 'Ready' || c.type === 'ContainersReady' ? { ...c, status: 'False', lastTransitionTime: now } : c,
          ),
          containerStatuses: (pod.status?.containerStatuses ?? []).map((c: Record<string, unknown>) => ({
            ...c,
            ready: false,
            started: false,
            state: { terminated: { exitCode: 137, reason: 'Error', finishedAt: now } },
          })),
        },
      }),
    );
    killedByPowerOff.delete(pod.metadata.uid ?? '');
    return;
  }

  if (pod.metadata.deletionTimestamp) {
    if (isTrue(pod, KNOB.stuckTerminating)) return;
    const since = stopRequestedAt.get(pod.metadata.uid ?? '') ?? Date.now();
    stopRequestedAt.set(pod.metadata.uid ?? '', since);
    const due = since + ctx.timing.podStopMs - Date.now();
    if (due > 0) return ctx.queues.pod.add(key, due);
    stopRequestedAt.delete(pod.metadata.uid ?? '');
    try {
      // The uid precondition, as the kubelet sends it: never remove a newer pod that took the same name.
      await ctx.client.delete(paths.pod(ns, pod.metadata.name), undefined, {
        apiVersion: 'v1',
        kind: 'DeleteOptions',
        gracePeriodSeconds: 0,
        preconditions: { uid: pod.metadata.uid },
      });
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
    return;
  }

  if (pod.status?.phase !== 'Running' && pod.status?.phase !== 'Succeeded' && pod.status?.phase !== 'Failed') {
    if (!isNodeReady(node)) return;
    const now = nowIso();
    const ready = (type: string) => ({ type, status: 'True', lastTransitionTime: now });
    await ctx.client.patch(
      paths.podStatus(ns, pod.metadata.name),
      guarded(pod, {
        status: {
          phase: 'Running',
          startTime: now,
          hostIP: node.status?.addresses?.[0]?.address ?? '127.0.0.1',
          podIP: fakePodIp(pod.metadata.uid ?? ''),
          conditions: [ready('PodScheduled'), ready('Initialized'), ready('ContainersReady'), ready('Ready')],
          containerStatuses: (pod.spec?.containers ?? []).map((c: { name: string; image: string }) => ({
            name: c.name,
            image: c.image,
            imageID: '',
            ready: true,
            restartCount: 0,
            started: true,
            state: { running: { startedAt: now } },
          })),
        },
      }),
    );
  }
}

const stopRequestedAt = new Map<string, number>();

/** Pods that were running when their machine lost power (uids): the kubelet reports them failed once it is back. */
const killedByPowerOff = new Set<string>();

function fakePodIp(uid: string): string {
  const n = parseInt(uid.replace(/-/g, '').slice(0, 6) || '0', 16);
  return `10.244.${(n >> 8) & 255}.${n & 255}`;
}

const UNREACHABLE_TAINT = 'node.kubernetes.io/unreachable';
// The TaintNodesByCondition admission plugin puts this on every new node; the node lifecycle controller
// (which we play) removes it once the node is Ready.
const NOT_READY_TAINT = 'node.kubernetes.io/not-ready';
const healthTaint = (t: { key: string }) => t.key === UNREACHABLE_TAINT || t.key === NOT_READY_TAINT;

/** When each node's OS was first seen dead (the kubelet's last heartbeat, as the node lifecycle controller sees it). */
const crashedSince = new Map<string, number>();

/** Node Ready follows the machine: off → NotReady (after the monitor grace), on → Ready after booting. */
export async function reconcileNode(ctx: SimContext, key: string): Promise<void> {
  const node = ctx.informers.nodes.get(key);
  if (!node) return;
  if (!isNodeReady(node)) await releaseOutOfService(ctx, node);
  const poweredOn = isPoweredOn(node);
  const changedAt = Date.parse(annotation(node, HW.powerChangedAt) ?? '') || 0;
  const crashed = poweredOn && isCrashed(node);
  if (crashed && !crashedSince.has(key)) crashedSince.set(key, Date.now());
  if (!crashed) crashedSince.delete(key);
  const due = crashed
    ? (crashedSince.get(key) ?? 0) + ctx.timing.nodeMonitorGracePeriodMs - Date.now()
    : changedAt +
      (poweredOn ? durationKnob(node, KNOB.bootDelay, ctx.timing.bootDelayMs) : ctx.timing.notReadyDelayMs) -
      Date.now();
  if (due > 0) return ctx.queues.node.add(key, due);

  // never-ready is about coming *back*: the node is up until its machine is first power-cycled (changedAt is
  // the epoch until then), so a scenario can run workloads on it before maintenance reboots it.
  const wantReady = poweredOn && !crashed && !(changedAt > 0 && isTrue(node, KNOB.neverReady));
  const conditions: { type: string; status: string; reason?: string }[] = node.status?.conditions ?? [];
  const ready = conditions.find((c) => c.type === 'Ready');
  const taints: { key: string; effect: string }[] = node.spec?.taints ?? [];
  const taintsMatch = wantReady
    ? !taints.some(healthTaint)
    : taints.some((t) => t.key === UNREACHABLE_TAINT) && !taints.some((t) => t.key === NOT_READY_TAINT);
  const readyMatches = wantReady ? ready?.status === 'True' : ready?.status !== 'True';
  if (readyMatches && taintsMatch) return;

  if (!readyMatches) {
    const readyCondition = nodeReadyCondition(wantReady);
    await ctx.client.patch(
      paths.nodeStatus(node.metadata.name),
      guarded(node, { status: { conditions: [...conditions.filter((c) => c.type !== 'Ready'), readyCondition] } }),
    );
  }
  const latest = ctx.informers.nodes.get(key) ?? node;
  const others = (latest.spec?.taints ?? []).filter((t: { key: string }) => !healthTaint(t));
  const nextTaints = wantReady
    ? others
    : [...others, { key: UNREACHABLE_TAINT, effect: 'NoSchedule', timeAdded: nowIso() }];
  if (JSON.stringify(nextTaints) !== JSON.stringify(latest.spec?.taints ?? [])) {
    await ctx.client.patch(
      paths.node(node.metadata.name),
      guarded(latest, { spec: { taints: nextTaints.length ? nextTaints : null } }),
    );
  }
}

/**
 * The out-of-service taint on a node that is not Ready: its pods go at once, force-deleted, as the real pod GC
 * controller does (kubernetes/kubernetes pkg/controller/podgc, gcTerminating). Nothing else frees them.
 */
async function releaseOutOfService(ctx: SimContext, node: KubeObject) {
  const taints: { key: string; effect: string }[] = node.spec?.taints ?? [];
  if (!taints.some((t) => t.key === OUT_OF_SERVICE_TAINT && t.effect === 'NoExecute')) return;
  for (const pod of ctx.informers.pods.byIndex(INDEX.node, node.metadata.name)) {
    try {
      await ctx.client.delete(paths.pod(pod.metadata.namespace ?? 'default', pod.metadata.name), undefined, {
        apiVersion: 'v1',
        kind: 'DeleteOptions',
        gracePeriodSeconds: 0,
        preconditions: { uid: pod.metadata.uid },
      });
    } catch (e) {
      if (!isNotFound(e) && !isConflict(e)) throw e;
    }
  }
}

/**
 * The machine behind a node changes power state (what the BMC did). Powering off ends a crash: the OS that boots
 * on the next power-on is a fresh one.
 */
export async function setMachinePower(ctx: SimContext, nodeName: string, on: boolean): Promise<void> {
  if (!on) {
    for (const pod of ctx.informers.pods.byIndex(INDEX.node, nodeName)) {
      if (pod.status?.phase === 'Running') killedByPowerOff.add(pod.metadata.uid ?? '');
    }
  }
  await ctx.client.patch(paths.node(nodeName), {
    metadata: {
      annotations: {
        [HW.power]: on ? 'on' : 'off',
        [HW.powerChangedAt]: nowIso(),
        ...(on ? {} : { [KNOB.crashed]: null }),
      },
    },
  });
}

export function machinePower(ctx: SimContext, nodeName: string): boolean | undefined {
  const node = ctx.informers.nodes.get(nodeName);
  return node ? isPoweredOn(node) : undefined;
}
