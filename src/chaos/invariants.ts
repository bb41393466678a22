// The invariants of docs/architecture.md, read from the cluster itself (never from the workflow's own account).
// Shared by the tests (test/support/invariants.ts re-exports it) and the chaos runner.
import { paths, type KubeClient, type KubeObject, kv } from '../k8s/client.js';
import {
  MANAGED_BY_LABEL,
  NODE_LEASE,
  NODE_MARKS,
  PITSTOP,
  PITSTOP_PREFIX,
  PREVIOUS_RUN_STRATEGY,
  WORKFLOW_ID_LABEL,
  LAUNCHER_SELECTOR,
} from '../domain/contract.js';
import { nodeReadiness } from '../domain/nodeReadiness.js';
import { stopsByRequest } from '../domain/vmPlan.js';
import { launcherPodOf, machineOf, vmsOnTwoNodes, type LauncherPod, type MachineState } from './twoNodes.js';

export interface ClusterBefore {
  running: Set<string>;
  unschedulable: Map<string, boolean>;
  /** Nodes that carried the medik8s remediation-exclusion label before. */
  excluded: Map<string, boolean>;
}

const key = (o: KubeObject) => `${o.metadata.namespace}/${o.metadata.name}`;
const isExcluded = (n: KubeObject) => n.metadata.labels?.[NODE_MARKS.excludeFromRemediation] === 'true';
const isFinal = (m: KubeObject) => ['Succeeded', 'Failed'].includes(m.status?.phase);

/** What ran and which nodes were unschedulable before a maintenance (in `namespace`, or everywhere). */
export async function recordBefore(kube: KubeClient, namespace?: string): Promise<ClusterBefore> {
  const vmis = await kube.list(kv('virtualmachineinstances', namespace));
  const nodes = await kube.list(paths.nodes());
  return {
    running: new Set(vmis.items.filter((v) => v.status?.phase === 'Running').map(key)),
    unschedulable: new Map(nodes.items.map((n) => [n.metadata.name, n.spec?.unschedulable === true])),
    excluded: new Map(nodes.items.map((n) => [n.metadata.name, isExcluded(n)])),
  };
}

/**
 * Violations after a maintenance of `node` ended: a VM that ran and does not (unless expected off), a node whose
 * schedulability changed, a migration still in flight, Pitstop's lease, taint or annotation left behind, or (with
 * `workflowId`) a VMI that this maintenance migrated successfully more than once.
 */
export async function invariantViolations(
  kube: KubeClient,
  before: ClusterBefore,
  node: string,
  expectedOff: string[] = [],
  options: {
    namespace?: string;
    workflowId?: string;
    /**
     * The run ended `RollbackIncomplete` (chaos seed 34: the machine could not be powered on). Then, and only then,
     * the node must be left exactly as README documents: still cordoned by this maintenance (unschedulable, taint,
     * remediation exclusion, the records of what it was before) with the phase annotation `NeedsAttention`; every
     * other check (VMs, migrations, lease) is unchanged. A string is the run's failure message (chaos seed 20281):
     * then what it names as left is accepted, and only that: a VM "not started again" may keep its record (it must
     * still run or want to run: not lost), a migration it could not cancel may still run, and the node stays cordoned
     * only when the message says "left cordoned", else it must be schedulable as before, marked NeedsAttention.
     */
    rollbackIncomplete?: boolean | string;
    /**
     * The run cordoned the node (see cordonedBy): then a machine that is off or crashed at the end, a node nothing
     * repaired, must be cordoned. Pitstop never puts an unrepaired node back into service; a run that ended before
     * its cordon (refused, or cancelled during preflight) left the node as the cluster had it.
     */
    touched?: boolean;
    /**
     * When the run ended (ms): a node whose Ready condition went false only after that (1 s slack for the
     * condition's whole seconds) failed after Pitstop let it go, and Pitstop could not have known.
     */
    endedAt?: number;
    /**
     * The note whose named VMs and migrations are accepted as left (default: the run's own). Another run on the
     * same namespace (one an alert storm started) is judged on its node, and on the VMs by the note of the run
     * that owns them.
     */
    named?: string;
  } = {},
): Promise<string[]> {
  const violations: string[] = [];
  const note = typeof options.rollbackIncomplete === 'string' ? options.rollbackIncomplete : undefined;
  const naming = options.named ?? note;
  const named = (vm: string) => naming?.includes(`VM ${vm} was not started again`) ?? false;
  const leftCordoned = options.rollbackIncomplete === true || (note?.includes('is left cordoned') ?? false);
  const vmis = await kube.list(kv('virtualmachineinstances', options.namespace));
  const vms = new Map(
    (await kube.list(kv('virtualmachines', options.namespace))).items.map((vm) => [key(vm), vm] as const),
  );
  // A VMI being deleted does not count as running, except one whose guest ignores the shutdown (it still runs)
  // and whose VM wants it running again: nothing is lost, the VM comes back once the hung guest is gone. A VM
  // maintenance stopped carries the record: Halted, or (Manual, RerunOnFailure stopped through the `stop`
  // subresource) its own runStrategy with a Stop request, which nothing undoes either.
  const wantsRunning = (name: string) => {
    const vm = vms.get(name);
    return !!vm && vm.spec?.runStrategy !== 'Halted' && !vm.metadata.annotations?.[PREVIOUS_RUN_STRATEGY];
  };
  /** Off for good unless someone starts it: Halted, or stopped by maintenance through the `stop` subresource. */
  const keptOff = (vm: KubeObject | undefined) => {
    const recorded = vm?.metadata.annotations?.[PREVIOUS_RUN_STRATEGY];
    const strategy = vm?.spec?.runStrategy;
    return strategy === 'Halted' || (recorded !== undefined && stopsByRequest(recorded) && strategy === recorded);
  };
  const runningNow = new Set(
    vmis.items
      .filter((v) => v.status?.phase === 'Running' && (!v.metadata.deletionTimestamp || wantsRunning(key(v))))
      .map(key),
  );
  for (const vm of before.running) {
    if (expectedOff.includes(vm)) continue;
    if (named(vm)) {
      // Left for the operator, by name: its record stays, but it is not lost (its guest still runs, or KubeVirt
      // starts it once the old VMI is gone).
      const stillRuns = vmis.items.some((v) => key(v) === vm && v.status?.phase === 'Running');
      if (!stillRuns && keptOff(vms.get(vm)))
        violations.push(
          `VM ${vm} named as left for the operator, but it is off and ${vms.get(vm)?.spec?.runStrategy} (stopped)`,
        );
      continue;
    }
    if (!runningNow.has(vm)) violations.push(`VM ${vm} ran before and does not run now`);
    const annotation = vms.get(vm)?.metadata.annotations?.[PREVIOUS_RUN_STRATEGY];
    if (annotation !== undefined) violations.push(`VM ${vm} still carries ${PREVIOUS_RUN_STRATEGY}=${annotation}`);
  }
  const nodeObject = await kube.get(paths.node(node));
  const wasUnschedulable = before.unschedulable.get(node) ?? false;
  if (leftCordoned) {
    violations.push(...leftForOperator(nodeObject, wasUnschedulable, before.excluded.get(node), options.workflowId));
  } else if ((nodeObject.spec?.unschedulable === true) !== wasUnschedulable) {
    violations.push(
      `node ${node} unschedulable=${nodeObject.spec?.unschedulable === true}, before ${wasUnschedulable}`,
    );
  }
  const machine = machineOf(nodeObject);
  const ready = nodeReadiness(node, nodeObject);
  const failedAfterEnd =
    options.endedAt !== undefined &&
    !ready.ready &&
    Date.parse(ready.lastTransitionTime ?? '') > options.endedAt - 1000;
  const unrepaired = !machine.poweredOn || machine.crashed;
  if (options.touched && unrepaired && !failedAfterEnd && nodeObject.spec?.unschedulable !== true) {
    violations.push(`node ${node} is schedulable although its machine is ${machine.crashed ? 'crashed' : 'off'}`);
  }
  if (!leftCordoned) {
    if ((nodeObject.spec?.taints ?? []).some((t: { key: string }) => t.key.startsWith(PITSTOP_PREFIX)))
      violations.push(`pitstop taint left on ${node}`);
    const annotations: Record<string, string> = nodeObject.metadata.annotations ?? {};
    for (const k of Object.keys(annotations).filter((a) => a.startsWith(PITSTOP_PREFIX))) {
      // A roll-back that left something (named in its message) marks the node NeedsAttention, and nothing else.
      if (note && k === NODE_MARKS.phase && annotations[k] === 'NeedsAttention') continue;
      violations.push(`pitstop annotation ${k}=${annotations[k]} left on ${node}`);
    }
    if (note && annotations[NODE_MARKS.phase] !== 'NeedsAttention')
      violations.push(`node ${node} is not annotated NeedsAttention although the roll-back left something`);
    if (before.excluded.has(node) && isExcluded(nodeObject) !== before.excluded.get(node))
      violations.push(`remediation-exclusion label on ${node} changed`);
  }
  const migrations = await kube.list(kv('virtualmachineinstancemigrations', options.namespace));
  const inFlight = migrations.items.filter(
    (m) => !isFinal(m) && !naming?.includes(`migration ${m.metadata.name} of VMI`),
  );
  if (inFlight.length) violations.push(`migrations in flight: ${inFlight.map((m) => m.metadata.name).join(', ')}`);
  if (options.workflowId) {
    const succeeded = new Map<string, number>();
    for (const m of migrations.items) {
      if (m.metadata.annotations?.[WORKFLOW_ID_LABEL] !== options.workflowId || m.status?.phase !== 'Succeeded')
        continue;
      const vmi = `${m.metadata.namespace}/${m.spec?.vmiName}`;
      succeeded.set(vmi, (succeeded.get(vmi) ?? 0) + 1);
    }
    for (const [vmi, n] of succeeded) if (n > 1) violations.push(`duplicate migrations: ${vmi} migrated ${n} times`);
  }
  const lease = await kube.find(paths.lease(NODE_LEASE.namespace, NODE_LEASE.name(node)));
  if (lease?.spec?.holderIdentity) violations.push(`lease of ${node} still held by ${lease.spec.holderIdentity}`);
  violations.push(...(await vmsOnTwoNodesNow(kube, options.namespace)));
  return violations;
}

/** The launcher pods (in `namespace`, or everywhere) and the machines behind the nodes, read once. */
async function readReality(kube: KubeClient, namespace?: string) {
  const pods = await kube.list(`${paths.pods(namespace)}?labelSelector=${encodeURIComponent(LAUNCHER_SELECTOR)}`);
  const nodes = await kube.list(paths.nodes());
  return {
    pods: pods.items.map(launcherPodOf).filter((p): p is LauncherPod => p !== undefined),
    machines: new Map(nodes.items.map((n) => [n.metadata.name, machineOf(n)] as const)),
    vmis: await kube.list(kv('virtualmachineinstances', namespace)),
  };
}

/** "No VM runs on two nodes", read from the cluster now (the pods the API still has). */
export async function vmsOnTwoNodesNow(kube: KubeClient, namespace?: string): Promise<string[]> {
  const { pods, machines } = await readReality(kube, namespace);
  return vmsOnTwoNodes(pods, machines);
}

/** The node after a `RollbackIncomplete`: cordoned by this maintenance, marked NeedsAttention, nothing else. */
function leftForOperator(
  n: KubeObject,
  wasUnschedulable: boolean,
  wasExcluded: boolean | undefined,
  workflowId: string | undefined,
): string[] {
  const name = n.metadata.name;
  const annotations: Record<string, string> = n.metadata.annotations ?? {};
  const violations: string[] = [];
  if (n.spec?.unschedulable !== true)
    violations.push(`node ${name} was uncordoned although its power state is unknown`);
  if (!(n.spec?.taints ?? []).some((t: { key: string }) => t.key === NODE_MARKS.taint))
    violations.push(`node ${name} lost the maintenance taint although it is left for the operator`);
  if (!isExcluded(n)) violations.push(`node ${name} is not excluded from remediation although left for the operator`);
  if (annotations[NODE_MARKS.phase] !== 'NeedsAttention')
    violations.push(`node ${name} phase annotation is ${annotations[NODE_MARKS.phase]}, not NeedsAttention`);
  const expected: Record<string, string | undefined> = {
    [NODE_MARKS.phase]: 'NeedsAttention',
    [NODE_MARKS.cordonedBy]: workflowId ?? annotations[NODE_MARKS.cordonedBy],
    [NODE_MARKS.wasUnschedulable]: String(wasUnschedulable),
    [NODE_MARKS.wasExcluded]: wasExcluded === undefined ? annotations[NODE_MARKS.wasExcluded] : String(wasExcluded),
  };
  for (const [k, v] of Object.entries(annotations)) {
    if (!k.startsWith(PITSTOP_PREFIX)) continue;
    if (!(k in expected)) violations.push(`pitstop annotation ${k} left on ${name}`);
    else if (expected[k] !== v) violations.push(`node ${name}: ${k}=${v}, expected ${expected[k]}`);
  }
  for (const k of [NODE_MARKS.cordonedBy, NODE_MARKS.wasUnschedulable, NODE_MARKS.wasExcluded])
    if (annotations[k] === undefined) violations.push(`node ${name} lost ${k}: the follow-up cannot restore it`);
  return violations;
}

/**
 * Watches migrations and launcher pods while a maintenance runs (polling the API server directly, not through any
 * fault proxy): never two migrations in flight for one VMI, never more of Pitstop's in flight than `limit`, and no VM
 * running on two nodes at once. A launcher pod that vanished from the API without finishing, while its VMI still ran
 * and its machine was on and alive, was force-deleted: it is remembered as still running until its machine is
 * powered off or crashes (fenced), or its VMI ends.
 */
export class MigrationMonitor {
  readonly violations: string[] = [];
  peak = 0;
  private stopped = false;
  private loop: Promise<void> | undefined;
  private seen = new Map<string, LauncherPod>();
  private forceDeleted = new Map<string, LauncherPod>();

  constructor(
    private readonly kube: KubeClient,
    private readonly namespace: string,
    private readonly limit: number,
    private readonly intervalMs = 200,
  ) {}

  start(): this {
    this.loop = (async () => {
      while (!this.stopped) {
        try {
          this.sample(await this.kube.list(kv('virtualmachineinstancemigrations', this.namespace)));
          this.samplePods(await readReality(this.kube, this.namespace));
        } catch {
          // the direct API server is not faulted; a failed sample is simply skipped
        }
        await new Promise((r) => setTimeout(r, this.intervalMs));
      }
    })();
    return this;
  }

  private note(text: string) {
    if (!this.violations.includes(text)) this.violations.push(text);
  }

  private sample(list: { items: KubeObject[] }) {
    const active = list.items.filter((m) => !isFinal(m) && !m.metadata.deletionTimestamp);
    const perVmi = new Map<string, number>();
    for (const m of active) perVmi.set(m.spec?.vmiName, (perVmi.get(m.spec?.vmiName) ?? 0) + 1);
    for (const [vmi, n] of perVmi) if (n > 1) this.note(`${n} migrations in flight at once for ${vmi}`);
    const ours = active.filter((m) => m.metadata.labels?.[MANAGED_BY_LABEL] === PITSTOP).length;
    this.peak = Math.max(this.peak, ours);
    if (ours > this.limit) this.note(`${ours} migrations in flight, above the parallelism limit ${this.limit}`);
  }

  private samplePods(reality: {
    pods: LauncherPod[];
    machines: Map<string, MachineState>;
    vmis: { items: KubeObject[] };
  }) {
    const { pods, machines } = reality;
    const vmiRuns = new Set(
      reality.vmis.items.filter((v) => !isFinal(v) && !v.metadata.deletionTimestamp).map((v) => v.metadata.uid),
    );
    const now = new Map<string, LauncherPod>(pods.map((p) => [`${p.namespace}/${p.name}`, p]));
    for (const [name, pod] of this.seen) {
      const machine = machines.get(pod.node);
      const alive = machine?.poweredOn && !machine.crashed;
      const unfinished = pod.phase !== 'Succeeded' && pod.phase !== 'Failed';
      if (!now.has(name) && alive && unfinished && vmiRuns.has(pod.vmiUid))
        this.forceDeleted.set(name, { ...pod, forceDeleted: true });
    }
    for (const [name, pod] of this.forceDeleted) {
      const machine = machines.get(pod.node);
      if (!machine?.poweredOn || machine.crashed || !vmiRuns.has(pod.vmiUid) || now.has(name))
        this.forceDeleted.delete(name);
    }
    this.seen = now;
    for (const v of vmsOnTwoNodes([...pods, ...this.forceDeleted.values()], machines)) this.note(v);
  }

  async stop(): Promise<string[]> {
    this.stopped = true;
    await this.loop;
    return this.violations;
  }
}
