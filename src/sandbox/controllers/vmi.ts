// Simulated virt-controller + virt-handler, VMI part: a launcher pod per VMI, scheduled by the real
// kube-scheduler; the VMI runs where its pod runs; graceful stop on delete; LiveMigratable computed from the spec.
import { isAlreadyExists, isNotFound, paths, type KubeObject } from '../../k8s/client.js';
import { parseQuantity } from '../../domain/quantity.js';
import { vmiPath, guarded, launcherPods, type SimContext } from '../context.js';
import {
  FINALIZER,
  GVR,
  HW,
  KNOB,
  LABEL,
  annotation,
  durationKnob,
  isNodeAlive,
  isPodReady,
  isTrue,
  ownerRef,
} from '../model.js';

/** Memory the launcher pod requests: the guest's memory plus KubeVirt's per-VM overhead. */
export function vmiMemoryBytes(vmi: KubeObject): number {
  const domain = vmi.spec?.domain ?? {};
  return parseQuantity(domain.resources?.requests?.memory) ?? parseQuantity(domain.memory?.guest) ?? 1024 ** 3;
}
const OVERHEAD_BYTES = 200 * 1024 ** 2;

interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}

/** LiveMigratable as KubeVirt computes it: shared storage, a migratable pod network binding, no host devices. */
export function liveMigratable(ctx: SimContext, vmi: KubeObject): Condition {
  const ns = vmi.metadata.namespace;
  for (const volume of vmi.spec?.volumes ?? []) {
    const claim: string | undefined = volume.persistentVolumeClaim?.claimName ?? volume.dataVolume?.name;
    if (!claim) continue;
    const pvc = ctx.informers.pvcs.get(`${ns}/${claim}`);
    const modes: string[] = pvc?.spec?.accessModes ?? [];
    if (!modes.includes('ReadWriteMany')) {
      return {
        type: 'LiveMigratable',
        status: 'False',
        reason: 'DisksNotLiveMigratable',
        message: `cannot migrate VMI: PVC ${claim} is not shared, live migration requires that all PVCs must be shared (using ReadWriteMany access mode)`,
      };
    }
  }
  const podNetworks = new Set(
    (vmi.spec?.networks ?? [])
      .filter((n: { pod?: unknown }) => n.pod !== undefined)
      .map((n: { name: string }) => n.name),
  );
  const bridgeOnPod = (vmi.spec?.domain?.devices?.interfaces ?? []).some(
    (i: { name: string; bridge?: unknown }) => i.bridge !== undefined && podNetworks.has(i.name),
  );
  if (bridgeOnPod) {
    return {
      type: 'LiveMigratable',
      status: 'False',
      reason: 'InterfaceNotLiveMigratable',
      message: 'cannot migrate VMI which does not use masquerade to connect to the pod network',
    };
  }
  const devices = vmi.spec?.domain?.devices ?? {};
  if ((devices.hostDevices ?? []).length > 0 || (devices.gpus ?? []).length > 0) {
    return {
      type: 'LiveMigratable',
      status: 'False',
      reason: 'HostDeviceNotLiveMigratable',
      message: 'VMI uses a PCI host devices',
    };
  }
  return { type: 'LiveMigratable', status: 'True' };
}

function launcherPodManifest(vmi: KubeObject, nodeName?: string, extra?: { migrationUid: string; sourceNode: string }) {
  const memory = vmiMemoryBytes(vmi) + OVERHEAD_BYTES;
  const grace = (vmi.spec?.terminationGracePeriodSeconds ?? 30) + 15;
  const sourceAntiAffinity = extra
    ? {
        nodeAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: {
            nodeSelectorTerms: [
              {
                matchExpressions: [
                  ...(vmi.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution
                    ?.nodeSelectorTerms?.[0]?.matchExpressions ?? []),
                  { key: LABEL.hostname, operator: 'NotIn', values: [extra.sourceNode] },
                ],
              },
            ],
          },
        },
      }
    : vmi.spec?.affinity;
  // virt-controller adds `kubevirt.io/schedulable: "true"` to every launcher pod's nodeSelector
  // (kubevirt/kubevirt pkg/virt-controller/services/nodeselectorrenderer.go): only nodes virt-handler marks take VMs.
  const nodeSelector = { ...(vmi.spec?.nodeSelector ?? {}), [LABEL.schedulable]: 'true' };
  // "Stuck in Scheduling" knob: a target that no node can take, as when no node has room or matches.
  if (extra && annotation(vmi, KNOB.migrationStuck) === 'Scheduling')
    nodeSelector['sandbox.pitstop.io/unmatchable'] = 'true';
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      // Deterministic names: a second reconcile on a stale cache cannot create a second pod.
      name: `virt-launcher-${vmi.metadata.name}-${(extra?.migrationUid ?? vmi.metadata.uid ?? '').slice(0, 5)}`,
      namespace: vmi.metadata.namespace,
      labels: {
        [LABEL.launcher]: 'virt-launcher',
        [LABEL.createdBy]: vmi.metadata.uid ?? '',
        'vm.kubevirt.io/name': vmi.metadata.name,
        ...(extra ? { [LABEL.migrationJob]: extra.migrationUid } : {}),
      },
      annotations: { 'kubevirt.io/domain': vmi.metadata.name },
      ownerReferences: [ownerRef(vmi, GVR.vmi)],
    },
    spec: {
      nodeName,
      nodeSelector,
      affinity: sourceAntiAffinity,
      tolerations: vmi.spec?.tolerations,
      terminationGracePeriodSeconds: grace,
      restartPolicy: 'Never',
      containers: [
        {
          name: 'compute',
          image: 'quay.io/kubevirt/virt-launcher:sandbox',
          resources: { requests: { memory: String(memory), cpu: String(vmi.spec?.domain?.cpu?.cores ?? 1) } },
        },
      ],
    },
  };
}

export async function createLauncherPod(
  ctx: SimContext,
  vmi: KubeObject,
  nodeName?: string,
  migration?: { migrationUid: string; sourceNode: string },
): Promise<KubeObject> {
  const manifest = launcherPodManifest(vmi, nodeName, migration);
  try {
    return await ctx.client.create(paths.pods(vmi.metadata.namespace), manifest);
  } catch (e) {
    if (!isAlreadyExists(e)) throw e;
    return await ctx.client.get(paths.pod(vmi.metadata.namespace ?? 'default', manifest.metadata.name));
  }
}

async function patchVmi(ctx: SimContext, vmi: KubeObject, patch: Record<string, unknown>) {
  await ctx.client.patch(vmiPath(vmi.metadata.namespace ?? 'default', vmi.metadata.name), guarded(vmi, patch));
}

async function deletePod(ctx: SimContext, pod: KubeObject, gracePeriodSeconds?: number) {
  try {
    await ctx.client.delete(paths.pod(pod.metadata.namespace ?? 'default', pod.metadata.name), {
      gracePeriodSeconds,
    });
  } catch (e) {
    if (!isNotFound(e)) throw e;
  }
}

const sameCondition = (a: Condition | undefined, b: Condition) =>
  a?.status === b.status && a?.reason === b.reason && a?.message === b.message;

export async function reconcileVmi(ctx: SimContext, key: string): Promise<void> {
  const vmi = ctx.informers.vmis.get(key);
  if (!vmi) return;
  const pods = launcherPods(ctx, vmi);
  const phase: string = vmi.status?.phase ?? '';
  const migrationTarget = (p: KubeObject) =>
    !!p.metadata.labels?.[LABEL.migrationJob] && p.spec?.nodeName !== vmi.status?.nodeName;

  if (vmi.metadata.deletionTimestamp) return await stopVmi(ctx, key, vmi, pods);

  if (phase === 'Pending' || phase === 'Scheduling' || phase === 'Scheduled' || phase === '') {
    const pod = pods.find((p) => !p.metadata.deletionTimestamp);
    if (!pod) {
      await createLauncherPod(ctx, vmi, annotation(vmi, KNOB.initialNode));
      return;
    }
    const nodeName: string | undefined = pod.spec?.nodeName;
    if (nodeName && isPodReady(pod)) {
      await patchVmi(ctx, vmi, {
        metadata: { labels: { [LABEL.vmiNode]: nodeName } },
        status: {
          phase: 'Running',
          nodeName,
          conditions: [{ type: 'Ready', status: 'True' }, liveMigratable(ctx, vmi)],
        },
      });
      return;
    }
    const scheduled = (pod.status?.conditions ?? []).find((c: Condition) => c.type === 'PodScheduled');
    const next = nodeName ? 'Scheduled' : 'Scheduling';
    const conditions = scheduled
      ? [{ type: 'PodScheduled', status: scheduled.status, reason: scheduled.reason, message: scheduled.message }]
      : [];
    if (phase !== next || JSON.stringify(vmi.status?.conditions ?? []) !== JSON.stringify(conditions)) {
      await patchVmi(ctx, vmi, { status: { phase: next, conditions } });
    }
    return;
  }

  if (phase === 'Running') {
    const nodeName: string = vmi.status.nodeName;
    const own = pods.filter((p) => !migrationTarget(p) && p.spec?.nodeName === nodeName);
    const ended = (p: KubeObject) => p.status?.phase === 'Failed' || p.status?.phase === 'Succeeded';
    const alive = own.find((p) => !p.metadata.deletionTimestamp && !ended(p));
    if (!alive) {
      // On a silent node nobody can tell whether the guest still runs: KubeVirt waits while the launcher pod is
      // still in the API (Terminating, or final but left there: virt-controller's node controller fails such a
      // VMI with reason NodeUnresponsive once the heartbeat is stale, controllers/virtHandler.ts).
      const node = ctx.informers.nodes.get(nodeName);
      const silent = !isNodeAlive(node);
      if (silent && own.length > 0) return;
      // The launcher pod is gone (force-deleted, out-of-service): virt-controller fails the VMI, without a reason
      // (kubevirt/kubevirt pkg/virt-controller/watch/vmi/lifecycle.go, updateStatus: running, the pod does not
      // exist). On a live node a pod that is going (evicted, deleted) took the guest down with it; one the kubelet
      // reports failed (killed by a power-off) failed it, and virt-handler reports the VMI Failed.
      const graceful = !silent && own.some((p) => p.metadata.deletionTimestamp && !ended(p));
      await patchVmi(ctx, vmi, {
        status: { phase: graceful ? 'Succeeded' : 'Failed', conditions: [{ type: 'Ready', status: 'False' }] },
      });
      return;
    }
    const wanted = liveMigratable(ctx, vmi);
    const conditions: Condition[] = vmi.status?.conditions ?? [];
    const current = conditions.find((c) => c.type === 'LiveMigratable');
    if (!sameCondition(current, wanted)) {
      await patchVmi(ctx, vmi, {
        status: { conditions: [...conditions.filter((c) => c.type !== 'LiveMigratable'), wanted] },
      });
    }
    return;
  }

  // Succeeded / Failed: nothing runs any more; clean up launcher pods that are still there.
  for (const pod of pods) if (!pod.metadata.deletionTimestamp) await deletePod(ctx, pod);
}

/** Graceful stop: the guest shuts down within its grace period, then the launcher goes and the VMI is gone. */
async function stopVmi(ctx: SimContext, key: string, vmi: KubeObject, pods: KubeObject[]) {
  const finalizers = (vmi.metadata.finalizers ?? []).filter((f) => f !== FINALIZER.vmi);
  const notReady = [{ type: 'Ready', status: 'False' }];
  // Nobody answers on a dead node: the stop never completes (the launcher pod stays until force-deleted). Once the
  // pod is gone nobody stopped the guest: virt-controller fails the VMI (lifecycle.go, as in reconcileVmi).
  const silent = !isNodeAlive(ctx.informers.nodes.get(vmi.status?.nodeName ?? ''));
  if (vmi.status?.phase === 'Running' && silent) {
    if (pods.length === 0)
      await patchVmi(ctx, vmi, { metadata: { finalizers }, status: { phase: 'Failed', conditions: notReady } });
    return;
  }
  const graceMs = (vmi.spec?.terminationGracePeriodSeconds ?? 30) * 1000;
  // A guest that ignores the shutdown is destroyed when its grace period ends (virt-launcher's
  // KillVMI after terminationGracePeriodSeconds): the stop takes the whole grace period, never longer.
  const stopMs = isTrue(vmi, KNOB.stopHangs)
    ? graceMs
    : Math.min(graceMs, durationKnob(vmi, KNOB.stopDuration, Math.min(graceMs, ctx.timing.vmStopMs)));
  const since = Date.parse(stoppingSince(vmi));
  const remaining = since + stopMs - Date.now();
  if (vmi.status?.phase === 'Running' && remaining > 0) {
    if (!annotation(vmi, HW.stoppingSince)) {
      await patchVmi(ctx, vmi, { metadata: { annotations: { [HW.stoppingSince]: stoppingSince(vmi) } } });
    }
    ctx.queues.vmi.add(key, remaining);
    return;
  }
  for (const pod of pods) if (!pod.metadata.deletionTimestamp) await deletePod(ctx, pod, 0);
  // A stopped VMI is Succeeded (a Failed one stays Failed). Its finalizer goes only once every launcher pod is gone
  // (lifecycle.go, updateStatus: final, "all pods have been deleted, removing finalizer"), so the VM controller
  // never starts a new VMI while an old pod is still there; the pods' deletion brings us back here.
  const final = vmi.status?.phase === 'Succeeded' || vmi.status?.phase === 'Failed';
  if (final && pods.length > 0) return;
  await patchVmi(ctx, vmi, {
    ...(pods.length === 0 ? { metadata: { finalizers } } : {}),
    ...(final ? {} : { status: { phase: 'Succeeded', conditions: notReady } }),
  });
}

// deletionTimestamp has second precision and includes the grace period; our own millisecond mark is better.
function stoppingSince(vmi: KubeObject): string {
  return annotation(vmi, HW.stoppingSince) ?? new Date().toISOString();
}
