// Simulated virt-handler heartbeat and virt-controller's node controller. A live node's virt-handler keeps the
// `kubevirt.io/heartbeat` annotation fresh and `kubevirt.io/schedulable=true` (kubevirt/kubevirt
// pkg/virt-handler/heartbeat/heartbeat.go, HeartBeat.do). Once a silent node's heartbeat is older than the timeout,
// virt-controller labels it `kubevirt.io/schedulable=false` and fails, with reason NodeUnresponsive, the active VMIs
// on it whose launcher pod is no longer alive (pkg/virt-controller/watch/node/node.go, Controller.execute:
// isNodeUnresponsive, markNodeAsUnresponsive, checkNodeForOrphanedAndErroredVMIs; heartBeatTimeout 5 min).
import { paths, type KubeObject } from '../../k8s/client.js';
import { INDEX } from '../runtime.js';
import { guarded, launcherPods, vmiPath, type SimContext } from '../context.js';
import { ANNOTATION, LABEL, annotation, isNodeAlive, isNodeReady, rfc3339Now } from '../model.js';

/** Node heartbeats the sandbox sends per second at most: a big scenario's nodes beat less often. */
const MAX_BEATS_PER_SECOND = 20;

/**
 * virt-handler runs on the node (its DaemonSet does not tolerate the control-plane taint, and a scenario can keep it
 * off a node with the label `kubevirt.io/schedulable: "false"`): the sandbox gave the node a heartbeat when it
 * created it.
 */
export const runsVirtHandler = (node: KubeObject | undefined) => annotation(node, ANNOTATION.heartbeat) !== undefined;

interface Cadence {
  intervalMs: number;
  timeoutMs: number;
}

const state = new WeakMap<SimContext, { lastBeat: Map<string, number>; counted: number; at: number }>();

function stateOf(ctx: SimContext) {
  let s = state.get(ctx);
  if (!s) state.set(ctx, (s = { lastBeat: new Map(), counted: 0, at: 0 }));
  return s;
}

/**
 * The heartbeat interval and timeout in effect: the scenario's timings, stretched so that the whole cluster sends at
 * most MAX_BEATS_PER_SECOND beats, and the timeout kept at three intervals or more (upstream: 1 min and 5 min).
 */
export function heartbeatCadence(ctx: SimContext): Cadence {
  const s = stateOf(ctx);
  if (Date.now() - s.at > 1000) {
    s.counted = ctx.informers.nodes.list().length;
    s.at = Date.now();
  }
  const intervalMs = Math.max(ctx.timing.virtHandlerHeartbeatIntervalMs, (s.counted / MAX_BEATS_PER_SECOND) * 1000);
  return { intervalMs, timeoutMs: Math.max(ctx.timing.virtHandlerHeartbeatTimeoutMs, 3 * intervalMs) };
}

export async function reconcileHeartbeat(ctx: SimContext, key: string): Promise<void> {
  const { lastBeat } = stateOf(ctx);
  const node = ctx.informers.nodes.get(key);
  if (!node || !runsVirtHandler(node)) {
    lastBeat.delete(key);
    return;
  }
  const { intervalMs, timeoutMs } = heartbeatCadence(ctx);

  // virt-handler runs while the machine is on, its OS alive and the kubelet up. It beats at once when it (re)starts,
  // setting the label back to "true" itself, then every interval.
  if (isNodeAlive(node) && isNodeReady(node)) {
    const due = (lastBeat.get(key) ?? 0) + intervalMs - Date.now();
    if (node.metadata.labels?.[LABEL.schedulable] === 'true' && due > 0) return ctx.queues.heartbeat.add(key, due);
    await ctx.client.patch(paths.node(key), {
      metadata: {
        labels: { [LABEL.schedulable]: 'true' },
        annotations: { [ANNOTATION.heartbeat]: rfc3339Now() },
      },
    });
    lastBeat.set(key, Date.now());
    ctx.queues.heartbeat.add(key, intervalMs);
    return;
  }
  lastBeat.delete(key);

  // virt-controller's node controller: nothing until the heartbeat is older than the timeout.
  const beat = Date.parse(annotation(node, ANNOTATION.heartbeat) ?? '');
  if (Number.isNaN(beat)) return; // upstream logs the parse error and does not requeue
  const due = beat + timeoutMs - Date.now();
  if (due > 0) return ctx.queues.heartbeat.add(key, due);
  if (node.metadata.labels?.[LABEL.schedulable] === 'true') {
    await ctx.client.patch(paths.node(key), { metadata: { labels: { [LABEL.schedulable]: 'false' } } });
  }
  await failOrphanedVmis(ctx, key);
  ctx.queues.heartbeat.add(key, intervalMs); // upstream rechecks every minute
}

/**
 * A launcher pod counts as alive unless it is final or all its containers terminated; one on a dead node looks
 * Running in the API (no kubelet reports otherwise), Terminating or not. node.go, alivePodsOnNode.
 */
function podAlive(pod: KubeObject): boolean {
  const statuses: { state?: { terminated?: unknown } }[] = pod.status?.containerStatuses ?? [];
  const allTerminated = statuses.length > 0 && statuses.every((c) => c.state?.terminated !== undefined);
  const phase = pod.status?.phase;
  return !allTerminated && phase !== 'Failed' && phase !== 'Succeeded';
}

/** Running or Scheduled VMIs on the node without an alive launcher pod there: Failed, reason NodeUnresponsive. */
async function failOrphanedVmis(ctx: SimContext, nodeName: string) {
  for (const vmi of ctx.informers.vmis.byIndex(INDEX.node, nodeName)) {
    const phase = vmi.status?.phase;
    if (phase !== 'Running' && phase !== 'Scheduled') continue; // lookup.ActiveVirtualMachinesOnNode
    const alive = launcherPods(ctx, vmi).some((p) => p.spec?.nodeName === nodeName && podAlive(p));
    if (alive) continue;
    await ctx.client.patch(
      vmiPath(vmi.metadata.namespace ?? 'default', vmi.metadata.name),
      guarded(vmi, { status: { phase: 'Failed', reason: 'NodeUnresponsive' } }),
    );
  }
}

/** A Node update that only refreshed the heartbeat (other controllers need not look at it). */
export function onlyHeartbeatChanged(previous: KubeObject, current: KubeObject): boolean {
  const rest = (n: KubeObject) => {
    const { [ANNOTATION.heartbeat]: _beat, ...annotations } = n.metadata.annotations ?? {};
    return JSON.stringify([n.metadata.labels ?? {}, annotations, n.spec ?? {}, n.status ?? {}]);
  };
  return rest(previous) === rest(current);
}
