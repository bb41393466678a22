// Simulated virt-controller, VM part: runStrategy and status.stateChangeRequests → a VMI exists or not; VM status
// mirrors the VMI. The requests (queued by the stop/start subresources, src/sandbox/subresources.ts) are handled as
// kubevirt/kubevirt pkg/virt-controller/watch/vm/vm.go does (`syncRunStrategy`, `hasStopRequestForVMI`,
// `hasStartRequest`, `shouldStartRerunOnFailure`, `isTrimFirstChangeRequestNeeded`): only the first request counts;
// a Stop deletes the VMI whose uid it names (Always then starts a new one, Manual and RerunOnFailure stay off); a
// Start creates the VMI of a Manual or RerunOnFailure VM; a Stop is dropped once no VMI of that uid is left, a Start
// once a VMI runs.
import { isAlreadyExists, isNotFound, type KubeObject } from '../../k8s/client.js';
import { vmPath, vmiPath, guarded, kubevirtConfig, migrationsOfVmi, type SimContext } from '../context.js';
import { GVR, KNOB, annotation, ownerRef, MIGRATION_ACTIVE_PHASES } from '../model.js';

export function runStrategyOf(vm: KubeObject): string {
  if (vm.spec?.runStrategy) return vm.spec.runStrategy;
  if (vm.spec?.running === true) return 'Always';
  return 'Halted';
}

const STARTED_ONCE = 'sandbox.pitstop.io/started-once';

interface StateChangeRequest {
  action: string;
  uid?: string;
  data?: Record<string, string>;
}
const firstRequest = (vm: KubeObject): StateChangeRequest | undefined => vm.status?.stateChangeRequests?.[0];
const hasStartRequest = (vm: KubeObject) => firstRequest(vm)?.action === 'Start';
const hasStopRequestFor = (vm: KubeObject, vmi: KubeObject) => {
  const first = firstRequest(vm);
  return first?.action === 'Stop' && first.uid !== undefined && first.uid === vmi.metadata.uid;
};
/** Whether the first request is done (vm.go `isTrimFirstChangeRequestNeeded`). */
function firstRequestDone(vm: KubeObject, vmi: KubeObject | undefined): boolean {
  const first = firstRequest(vm);
  if (!first) return false;
  if (first.action === 'Stop') return !vmi || first.uid === undefined || first.uid !== vmi.metadata.uid;
  if (first.action === 'Start') {
    const phase = vmi?.status?.phase;
    return !!vmi && !vmi.metadata.deletionTimestamp && phase !== 'Succeeded' && phase !== 'Failed';
  }
  return false;
}

export async function reconcileVm(ctx: SimContext, key: string): Promise<void> {
  const vm = ctx.informers.vms.get(key);
  if (!vm || vm.metadata.deletionTimestamp) return; // the garbage collector takes the VMI with it
  const ns = vm.metadata.namespace ?? 'default';
  const vmi = ctx.informers.vmis.get(key);
  const strategy = runStrategyOf(vm);
  const phase: string | undefined = vmi?.status?.phase;
  const finished = phase === 'Succeeded' || phase === 'Failed';

  if (vmi && !vmi.metadata.deletionTimestamp) {
    const stopRequested = hasStopRequestFor(vm, vmi);
    const stop =
      strategy === 'Halted' ||
      (strategy === 'Always' && (finished || stopRequested)) ||
      (strategy === 'Manual' && stopRequested) ||
      (strategy === 'RerunOnFailure' && (phase === 'Failed' || stopRequested));
    if (stop) {
      // A failed RerunOnFailure VMI is rerun: virt-controller queues a Start and acts on it once the VMI is gone.
      // Queued before the delete, so a failed write is retried with the VMI still there to say why.
      if (strategy === 'RerunOnFailure' && phase === 'Failed' && !stopRequested && !hasStartRequest(vm)) {
        await addStartRequest(ctx, vm);
      }
      await deleteVmi(ctx, ns, vm.metadata.name);
    }
  } else if (!vmi) {
    const start =
      strategy === 'Always' ||
      // RerunOnFailure: on a Start request, or when the VM has just been switched to it (status.runStrategy lags).
      (strategy === 'RerunOnFailure' && (hasStartRequest(vm) || vm.status?.runStrategy !== strategy)) ||
      (strategy === 'Manual' && hasStartRequest(vm)) ||
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

async function addStartRequest(ctx: SimContext, vm: KubeObject) {
  const requests: StateChangeRequest[] = vm.status?.stateChangeRequests ?? [];
  await ctx.client.patch(
    vmPath(vm.metadata.namespace ?? 'default', vm.metadata.name, 'status'),
    guarded(vm, { status: { stateChangeRequests: [...requests, { action: 'Start' }] } }),
  );
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
  const created = ctx.client.create(vmiPath(ns), {
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
  try {
    await created;
  } catch (e) {
    // The informer had not seen the VMI this controller created a moment ago: it is there, nothing to do.
    if (isAlreadyExists(e)) return;
    throw e;
  }
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
  const status: Record<string, unknown> = {
    printableStatus: printableStatus(ctx, vm, vmi),
    created: !!vmi,
    ready: vmi?.status?.phase === 'Running' && !vmi.metadata.deletionTimestamp,
    runStrategy: runStrategyOf(vm),
  };
  const current = vm.status ?? {};
  const trim = firstRequestDone(vm, vmi);
  if (trim) {
    const rest = (current.stateChangeRequests as StateChangeRequest[]).slice(1);
    status.stateChangeRequests = rest.length > 0 ? rest : null;
  }
  if (
    !trim &&
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
