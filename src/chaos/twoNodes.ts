// The safety invariant "no VM ever runs on two nodes", judged from the sandbox's reality (pure: no I/O), so the
// chaos monitor and the workflow tests judge it the same way (docs/reliability.md, "No VM on two nodes").
//
// A VM runs on node N when a launcher pod of it, bound to N, still runs there: the pod is in the API and not finished
// (Succeeded/Failed), or it was force-deleted while N's machine was on and its OS alive (a force delete only removes
// the API object: the kubelet, or a dead node's remains, may still run the guest) — and N is powered on and not
// crashed. A machine that is off, or crashed (its OS dead), runs nothing: that is what fencing makes sure of.
//
// A live migration is one VM in hand-off, not two: KubeVirt starts a target launcher pod (labelled
// kubevirt.io/migrationJobUID with the migration's uid) for the same VMI while the source pod still runs, moves the
// domain, and only then shuts the source down (kubevirt/kubevirt staging/src/kubevirt.io/api/core/v1/types.go,
// MigrationJobLabel: "this pod is the target of a migration job"; the migration controller in
// pkg/virt-controller/watch/migration selects the target pod by the VMI uid and that label). Pods of one VMI
// uid on several nodes, one of them a migration target, are therefore allowed (a VMI migrated twice may leave two
// force-deleted-looking sources behind); a second VMI uid running on another node (a restart elsewhere) is not.
import { LABEL } from '../sandbox/model.js';
import type { KubeObject } from '../k8s/client.js';

export const CRASHED_ANNOTATION = 'sandbox.pitstop.io/crashed';
export const POWER_ANNOTATION = 'sandbox.pitstop.io/power';

export interface LauncherPod {
  namespace: string;
  name: string;
  /** The VM (vm.kubevirt.io/name, which is the VMI's name). */
  vm: string;
  /** The VMI's uid (kubevirt.io/created-by). */
  vmiUid: string;
  node: string;
  /** Set on a migration's target pod (kubevirt.io/migrationJobUID). */
  migrationUid?: string;
  /** The pod is no longer in the API: it was force-deleted while its node was on and alive. */
  forceDeleted?: boolean;
  phase?: string;
}

export interface MachineState {
  poweredOn: boolean;
  crashed: boolean;
}

/** A launcher pod as the judge reads it; undefined for a pod that is not a bound launcher pod. */
export function launcherPodOf(pod: KubeObject): LauncherPod | undefined {
  const labels = pod.metadata.labels ?? {};
  const node: string | undefined = pod.spec?.nodeName;
  if (labels[LABEL.launcher] !== 'virt-launcher' || !node) return undefined;
  const vm = labels['vm.kubevirt.io/name'] ?? pod.metadata.annotations?.['kubevirt.io/domain'];
  return {
    namespace: pod.metadata.namespace ?? 'default',
    name: pod.metadata.name,
    vm: vm ?? pod.metadata.name,
    vmiUid: labels[LABEL.createdBy] ?? '',
    node,
    ...(labels[LABEL.migrationJob] ? { migrationUid: labels[LABEL.migrationJob] } : {}),
    ...(pod.status?.phase ? { phase: pod.status.phase } : {}),
  };
}

/** The machine behind a Node, from the sandbox's annotations (power on unless it says off). */
export function machineOf(node: KubeObject): MachineState {
  const a = node.metadata.annotations ?? {};
  return { poweredOn: a[POWER_ANNOTATION] !== 'off', crashed: a[CRASHED_ANNOTATION] === 'true' };
}

/** Whether the pod's guest still runs on its node. */
export function runsOn(pod: LauncherPod, machines: Map<string, MachineState>): boolean {
  const machine = machines.get(pod.node);
  if (!machine || !machine.poweredOn || machine.crashed) return false;
  return pod.forceDeleted === true || (pod.phase !== 'Succeeded' && pod.phase !== 'Failed');
}

/** One violation per VM that runs on two nodes or more at once (a migration's hand-off excepted). */
export function vmsOnTwoNodes(pods: LauncherPod[], machines: Map<string, MachineState>): string[] {
  const byVm = new Map<string, LauncherPod[]>();
  for (const pod of pods.filter((p) => runsOn(p, machines))) {
    const vm = `${pod.namespace}/${pod.vm}`;
    byVm.set(vm, [...(byVm.get(vm) ?? []), pod]);
  }
  const violations: string[] = [];
  for (const [vm, running] of byVm) {
    const nodes = new Set(running.map((p) => p.node));
    if (nodes.size < 2) continue;
    // One VMI on two nodes is a migration's hand-off when one of its pods is a migration target; two VMIs of one VM
    // on two nodes is a restart elsewhere while the old guest still runs.
    const vmis = new Set(running.map((p) => p.vmiUid));
    if (vmis.size === 1 && running.some((p) => p.migrationUid)) continue;
    const where = running.map((p) => `${p.name} on ${p.node}${p.forceDeleted ? ' (force-deleted, node alive)' : ''}`);
    violations.push(`VM ${vm} runs on ${nodes.size} nodes at once: ${where.join(', ')}`);
  }
  return violations;
}
