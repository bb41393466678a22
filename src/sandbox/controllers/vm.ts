// Simulated virt-controller, VM part: runStrategy → a VMI exists or not; VM status mirrors the VMI.
import { isNotFound, type KubeObject } from '../../k8s/client.js';
import { vmPath, vmiPath, guarded, kubevirtConfig, migrationsOfVmi, type SimContext } from '../context.js';
import { GVR, KNOB, annotation, ownerRef, MIGRATION_ACTIVE_PHASES } from '../model.js';

export function runStrategyOf(vm: KubeObject): string {
  if (vm.spec?.runStrategy) return vm.spec.runStrategy;
  if (vm.spec?.running === true) return 'Always';
  return 'Halted';
}

const STARTED_ONCE = 'sandbox.pitstop.io/started-once';

export async function reconcileVm(ctx: SimContext, key: string): Promise<void> {
  const vm = ctx.informers.vms.get(key);
  if (!vm || vm.metadata.deletionTimestamp) return; // the garbage collector takes the VMI with it
  const ns = vm.metadata.namespace ?? 'default';
  const vmi = ctx.informers.vmis.get(key);
  const strategy = runStrategyOf(vm);
  const phase: string | undefined = vmi?.status?.phase;
  const finished = phase === 'Succeeded' || phase === 'Failed';

  if (vmi && !vmi.metadata.deletionTimestamp) {
    const stop =
      strategy === 'Halted' ||
      (finished && strategy === 'Always') ||
      (phase === 'Failed' && strategy === 'RerunOnFailure');
    if (stop) {
      await deleteVmi(ctx, ns, vm.metadata.name);
    }
  } else if (!vmi) {
    const start =
      strategy === 'Always' ||
      strategy === 'RerunOnFailure' ||
      // Once starts a single time; Manual VMs are started once by the user (`virtctl start`), which the
      // scenario stands in for. Neither is brought back by the controller afterwards.
      ((strategy === 'Once' || strategy === 'Manual') && annotation(vm, STARTED_ONCE) !== 'true');
    if (start) await createVmi(ctx, vm);
  }
  await updateVmStatus(ctx, vm, ctx.informers.vmis.get(key));
}

async function deleteVmi(ctx: SimContext, ns: string, name: string) {
  try {
    await ctx.client.delete(vmiPath(ns, name), { propagationPolicy: 'Background' });
  } catch (e) {
    if (!isNotFound(e)) throw e;
  }
}

async function createVmi(ctx: SimContext, vm: KubeObject) {
  const template = vm.spec?.template ?? {};
  const ns = vm.metadata.namespace ?? 'default';
  const spec = structuredClone(template.spec ?? {});
  // KubeVirt's mutating webhook fills the eviction strategy from the cluster default at creation.
  spec.evictionStrategy ??= kubevirtConfig(ctx).evictionStrategy;
  const annotations: Record<string, string> = { ...(template.metadata?.annotations ?? {}) };
  const initialNode = annotation(vm, KNOB.initialNode);
  if (initialNode) annotations[KNOB.initialNode] = initialNode;
  await ctx.client.create(vmiPath(ns), {
    apiVersion: 'kubevirt.io/v1',
    kind: 'VirtualMachineInstance',
    metadata: {
      name: vm.metadata.name,
      namespace: ns,
      labels: { ...(template.metadata?.labels ?? {}), 'vm.kubevirt.io/name': vm.metadata.name },
      annotations,
      ownerReferences: [ownerRef(vm, GVR.vm)],
      finalizers: ['foregroundDeleteVirtualMachine'],
    },
    spec,
    status: { phase: 'Pending' },
  });
  // The initial placement is used once: a VM that is started again later is scheduled like any other.
  const patch: Record<string, unknown> = {
    metadata: { annotations: { [STARTED_ONCE]: 'true', [KNOB.initialNode]: null } },
  };
  await ctx.client.patch(vmPath(ns, vm.metadata.name), patch);
}

function printableStatus(ctx: SimContext, vm: KubeObject, vmi: KubeObject | undefined): string {
  if (!vmi) return 'Stopped';
  if (vmi.metadata.deletionTimestamp) return 'Stopping';
  const phase = vmi.status?.phase;
  if (phase === 'Running') {
    const migrating = migrationsOfVmi(ctx, vm.metadata.namespace, vm.metadata.name).some((m) =>
      MIGRATION_ACTIVE_PHASES.includes(m.status?.phase),
    );
    return migrating ? 'Migrating' : 'Running';
  }
  if (phase === 'Succeeded') return 'Stopped';
  if (phase === 'Failed') return 'CrashLoopBackOff';
  const unschedulable = (vmi.status?.conditions ?? []).some(
    (c: { type: string; status: string; reason?: string }) => c.type === 'PodScheduled' && c.reason === 'Unschedulable',
  );
  return unschedulable ? 'ErrorUnschedulable' : 'Starting';
}

async function updateVmStatus(ctx: SimContext, vm: KubeObject, vmi: KubeObject | undefined) {
  const status = {
    printableStatus: printableStatus(ctx, vm, vmi),
    created: !!vmi,
    ready: vmi?.status?.phase === 'Running' && !vmi.metadata.deletionTimestamp,
    runStrategy: runStrategyOf(vm),
  };
  const current = vm.status ?? {};
  if (
    current.printableStatus === status.printableStatus &&
    current.created === status.created &&
    current.ready === status.ready &&
    current.runStrategy === status.runStrategy
  )
    return;
  await ctx.client.patch(
    vmPath(vm.metadata.namespace ?? 'default', vm.metadata.name, 'status'),
    guarded(vm, { status }),
  );
}
