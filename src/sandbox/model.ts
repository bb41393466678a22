// Names, knobs and small readers shared by the simulated controllers.
import type { KubeObject } from '../k8s/client.js';
import { parseDuration } from '../domain/durations.js';

export const GVR = {
  vm: { group: 'kubevirt.io', version: 'v1', plural: 'virtualmachines', kind: 'VirtualMachine' },
  vmi: { group: 'kubevirt.io', version: 'v1', plural: 'virtualmachineinstances', kind: 'VirtualMachineInstance' },
  vmim: {
    group: 'kubevirt.io',
    version: 'v1',
    plural: 'virtualmachineinstancemigrations',
    kind: 'VirtualMachineInstanceMigration',
  },
  kubevirt: { group: 'kubevirt.io', version: 'v1', plural: 'kubevirts', kind: 'KubeVirt' },
  bmh: { group: 'metal3.io', version: 'v1alpha1', plural: 'baremetalhosts', kind: 'BareMetalHost' },
  machine: { group: 'machine.openshift.io', version: 'v1beta1', plural: 'machines', kind: 'Machine' },
} as const;

/**
 * Knobs: annotations that make the simulation misbehave on purpose. Put them on a VM's template (they reach
 * the VMI), a VMI, a pod, a Node or a BareMetalHost. Durations are Go-style ("500ms", "3s").
 */
export const KNOB = {
  /** VMI: how long the Running (transfer) phase of a migration takes. */
  migrationDuration: 'sandbox.pitstop.io/migration-duration',
  /** VMI: the first N migrations of this VMI fail. */
  migrationFailures: 'sandbox.pitstop.io/migration-failures',
  /** VMI: migrations stay in this phase: Pending | Scheduling. */
  migrationStuck: 'sandbox.pitstop.io/migration-stuck',
  /** VMI: deleting a running migration does not abort it (it completes anyway). */
  migrationAbortFails: 'sandbox.pitstop.io/migration-abort-fails',
  /** VMI: the guest ignores shutdown; the VMI never stops. */
  stopHangs: 'sandbox.pitstop.io/stop-hangs',
  /** VMI: how long a graceful shutdown takes (default: the VMI's terminationGracePeriodSeconds, capped by it). */
  stopDuration: 'sandbox.pitstop.io/stop-duration',
  /** VM / VMI: the node the first VMI is placed on (the scenario's placement; later starts are scheduled). */
  initialNode: 'sandbox.pitstop.io/initial-node',
  /** Pod: never finishes terminating. */
  stuckTerminating: 'sandbox.pitstop.io/stuck-terminating',
  /** Node: boot time from power-on to Ready. */
  bootDelay: 'sandbox.pitstop.io/boot-delay',
  /** Node: the OS is dead (kernel panic, NIC gone): the machine stays powered on as its BMC sees it, the kubelet
   * and virt-handler are silent. Removing the annotation or a power cycle through the BMC ends it. */
  crashed: 'sandbox.pitstop.io/crashed',
  /** Node: never becomes Ready after power-on. */
  neverReady: 'sandbox.pitstop.io/never-ready',
  /** BMH / Node (Redfish): power actions fail with an error. */
  powerFails: 'sandbox.pitstop.io/power-fails',
  /** BMH / Node (Redfish): the BMC does not answer. */
  bmcUnreachable: 'sandbox.pitstop.io/bmc-unreachable',
  /** BMH / Node: how long a power action takes. */
  powerDelay: 'sandbox.pitstop.io/power-delay',
} as const;

/** State the simulated hardware keeps on the Node (the "machine" behind it). */
export const HW = {
  power: 'sandbox.pitstop.io/power',
  powerChangedAt: 'sandbox.pitstop.io/power-changed-at',
  /** BMH → the Node it runs, for the simulator only. */
  bmhNode: 'sandbox.pitstop.io/node',
  /** VMI: how many of its migrations the simulation has failed so far. */
  migrationsFailed: 'sandbox.pitstop.io/migrations-failed',
  /** VMIM: the outcome the simulation decided for this migration ("succeed" | "fail:N"), so a retry cannot
   * count a failure twice. An annotation, because the real VMIM status schema has no such field. */
  migrationOutcome: 'sandbox.pitstop.io/outcome',
  /** VMI: when the simulated graceful stop began (ms precision; deletionTimestamp has seconds and the grace). */
  stoppingSince: 'sandbox.pitstop.io/stopping-since',
} as const;

export const LABEL = {
  vmiNode: 'kubevirt.io/nodeName',
  launcher: 'kubevirt.io',
  createdBy: 'kubevirt.io/created-by',
  vmiName: 'kubevirt.io/vmi-name',
  migrationJob: 'kubevirt.io/migrationJobUID',
  hostname: 'kubernetes.io/hostname',
  /** virt-handler's mark that the node takes VMs ("false" once virt-controller finds its heartbeat stale). */
  schedulable: 'kubevirt.io/schedulable',
} as const;

export const ANNOTATION = {
  /** virt-handler's heartbeat on its Node, an RFC 3339 time (kubevirt.io/api core/v1 VirtHandlerHeartbeat). */
  heartbeat: 'kubevirt.io/heartbeat',
} as const;

export const FINALIZER = {
  vmi: 'foregroundDeleteVirtualMachine',
  vmim: 'kubevirt.io/migrationJobFinalize',
} as const;

/** Cluster-wide simulated timings; a scenario can change them. */
export interface Timing {
  migrationDurationMs: number;
  /** Time spent in each short migration phase (Scheduled, PreparingTarget, TargetReady). */
  migrationPhaseStepMs: number;
  /** KubeVirt fails a migration whose target pod stays unschedulable this long (5 min upstream). */
  unschedulableTimeoutMs: number;
  bootDelayMs: number;
  powerDelayMs: number;
  notReadyDelayMs: number;
  /** How long an ordinary pod takes to stop after it is deleted. */
  podStopMs: number;
  /** Longest graceful VM shutdown (the VMI's terminationGracePeriodSeconds applies when shorter). */
  vmStopMs: number;
  evacuationRetryMs: number;
  /** kube-controller-manager --node-monitor-grace-period: a silent kubelet's node goes Ready=Unknown after this. */
  nodeMonitorGracePeriodMs: number;
  /** A migration whose source virt-handler is silent fails after this (KubeVirt's progressTimeout, 150 s). */
  deadSourceMigrationTimeoutMs: number;
  /** virt-handler refreshes its node's `kubevirt.io/heartbeat` this often (1 min upstream, with jitter). */
  virtHandlerHeartbeatIntervalMs: number;
  /** virt-controller marks a node whose heartbeat is older than this `kubevirt.io/schedulable=false` (5 min upstream). */
  virtHandlerHeartbeatTimeoutMs: number;
}

export const DEFAULT_TIMING: Timing = {
  migrationDurationMs: 2000,
  migrationPhaseStepMs: 50,
  unschedulableTimeoutMs: 5 * 60_000,
  bootDelayMs: 1000,
  powerDelayMs: 300,
  notReadyDelayMs: 200,
  podStopMs: 100,
  vmStopMs: 500,
  evacuationRetryMs: 1000,
  nodeMonitorGracePeriodMs: 3000,
  deadSourceMigrationTimeoutMs: 150_000,
  virtHandlerHeartbeatIntervalMs: 1000,
  virtHandlerHeartbeatTimeoutMs: 5000,
};

export const annotation = (o: KubeObject | undefined, key: string): string | undefined =>
  o?.metadata.annotations?.[key];

export const isTrue = (o: KubeObject | undefined, key: string) => annotation(o, key) === 'true';

export function durationKnob(o: KubeObject | undefined, key: string, fallback: number): number {
  const value = annotation(o, key);
  if (value === undefined) return fallback;
  try {
    return parseDuration(value, key);
  } catch {
    return fallback;
  }
}

export function countKnob(o: KubeObject | undefined, key: string): number {
  const n = Number(annotation(o, key) ?? 0);
  return Number.isFinite(n) ? n : 0;
}

export const nsName = (o: KubeObject) => `${o.metadata.namespace}/${o.metadata.name}`;

export const controllerOwner = (o: KubeObject) => o.metadata.ownerReferences?.find((r) => r.controller);

export function ownerRef(o: KubeObject, gvr: { group: string; version: string; kind: string }) {
  return {
    apiVersion: gvr.group ? `${gvr.group}/${gvr.version}` : gvr.version,
    kind: gvr.kind,
    name: o.metadata.name,
    uid: o.metadata.uid ?? '',
    controller: true,
    blockOwnerDeletion: true,
  };
}

export const nowIso = () => new Date().toISOString();

/** Now as a Kubernetes metav1.Time serializes it: RFC 3339, whole seconds, UTC. */
export const rfc3339Now = () => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');

export const MIGRATION_ACTIVE_PHASES = ['Scheduling', 'Scheduled', 'PreparingTarget', 'TargetReady', 'Running'];
export const MIGRATION_FINAL_PHASES = ['Succeeded', 'Failed'];
export const isMigrationFinal = (m: KubeObject) => MIGRATION_FINAL_PHASES.includes(m.status?.phase ?? '');

export const isPodReady = (pod: KubeObject) =>
  (pod.status?.conditions ?? []).some(
    (c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True',
  );

export const isNodeReady = (node: KubeObject | undefined) =>
  (node?.status?.conditions ?? []).some(
    (c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True',
  );

export const isPoweredOn = (node: KubeObject | undefined) => annotation(node, HW.power) !== 'off';

export const isCrashed = (node: KubeObject | undefined) => isTrue(node, KNOB.crashed);

/** The kubelet and virt-handler answer: the machine is on and its OS alive. */
export const isNodeAlive = (node: KubeObject | undefined) => !!node && isPoweredOn(node) && !isCrashed(node);

export const OUT_OF_SERVICE_TAINT = 'node.kubernetes.io/out-of-service';

/** The Node Ready condition as the kubelet posts it, or as the node lifecycle controller marks a silent node. */
export function nodeReadyCondition(ready: boolean, now = nowIso()) {
  return ready
    ? {
        type: 'Ready',
        status: 'True',
        reason: 'KubeletReady',
        message: 'kubelet is posting ready status',
        lastHeartbeatTime: now,
        lastTransitionTime: now,
      }
    : {
        type: 'Ready',
        status: 'Unknown',
        reason: 'NodeStatusUnknown',
        message: 'Kubelet stopped posting node status.',
        lastHeartbeatTime: now,
        lastTransitionTime: now,
      };
}
