// The fast tier's fake cluster: nodes, VMs, leases and migrations as plain data, which the stub activities
// (stubs.ts) read and change the way the real ones change a cluster, and a log of every activity call. A test
// builds one world, scripts the activities it wants to misbehave, runs a workflow, and reads the world afterwards.
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { Activities } from '../../../src/activities/index.js';
import type { VmFacts } from '../../../src/domain/plan.js';
import type { LeaseHolder, NodeFacts } from '../../../src/domain/preflight.js';

export const GiB = 1024 ** 3;

export interface FakeNode {
  name: string;
  labels: Record<string, string>;
  memoryGi: number;
  controlPlane: boolean;
  /** spec.unschedulable. */
  unschedulable: boolean;
  /** The workflow whose cordon marks (taint, annotations) the node carries. */
  cordonedBy?: string;
  wasUnschedulable?: boolean;
  /** The phase annotation. */
  phase?: string;
  /** The node's Events, "Reason: message" ("Warning Reason: message"), oldest first. */
  events: string[];
  /** Pods the drain must evict (namespace/name). */
  pods: string[];
  /** Has a BareMetalHost: power "auto" manages it (else auto means none). */
  bmc: boolean;
  power: 'on' | 'off';
  ready: boolean;
  /** When Ready last left True (NotReady nodes only); unset = since long ago. */
  notReadySince?: string;
  /** The out-of-service taint: the node's pods go (the repair runbook puts it on a fenced node). */
  outOfService?: boolean;
}

export interface FakeVm {
  namespace: string;
  name: string;
  node: string;
  running: boolean;
  runStrategy: string;
  /** What stopVm recorded (the annotation): set while the VM is stopped by maintenance. */
  previousRunStrategy?: string;
  evictionStrategy?: string;
  liveMigratable: boolean;
  /** A VMI no VirtualMachine owns. */
  standalone: boolean;
  strategyLabel?: string;
  memoryGi: number;
  /** How often a VM stopped by maintenance was started again (restoreVm that changed something). */
  starts: number;
  /** The VMI's uid: a VMI restarted elsewhere gets a new one. */
  uid: string;
}

export type ActivityName = keyof Activities;
export type In<K extends ActivityName> = Parameters<Activities[K]>[0];
export type Out<K extends ActivityName> = Awaited<ReturnType<Activities[K]>>;

/** How a test makes one activity behave: `real` is the default behaviour on the world. */
export type Script<K extends ActivityName> = (input: In<K>, real: () => Promise<Out<K>>) => Promise<Out<K>>;

export interface Call {
  name: ActivityName;
  input: Record<string, unknown>;
  attempt: number;
}

const key = (namespace: string, name: string) => `${namespace}/${name}`;

export class World {
  readonly nodes = new Map<string, FakeNode>();
  readonly vms = new Map<string, FakeVm>();
  /** Node → the workflow holding its lease. */
  readonly leases = new Map<string, string>();
  /** The medik8s lease of a node held by someone else (e.g. Node Maintenance Operator). */
  readonly foreignLeases = new Map<string, string>();
  readonly migrations = new Map<string, { vmi: string; state: 'Running' | 'Succeeded' | 'Cancelled' }>();
  readonly calls: Call[] = [];
  private readonly scripts = new Map<ActivityName, Script<never>>();
  private readonly gates: Gate[] = [];

  node(name: string, options: Partial<Omit<FakeNode, 'name' | 'events'>> = {}): this {
    this.nodes.set(name, {
      name,
      memoryGi: 256,
      controlPlane: false,
      unschedulable: false,
      pods: [],
      bmc: false,
      power: 'on',
      ready: true,
      ...options,
      // virt-handler's label on every node that runs KubeVirt: a node without it takes no VM.
      labels: { 'kubevirt.io/schedulable': 'true', ...options.labels },
      events: [],
    });
    return this;
  }

  vm(name: string, node: string, options: Partial<Omit<FakeVm, 'name' | 'node' | 'starts' | 'uid'>> = {}): this {
    const vm: FakeVm = {
      namespace: 'vms',
      name,
      node,
      running: true,
      runStrategy: 'Always',
      liveMigratable: true,
      standalone: false,
      memoryGi: 4,
      starts: 0,
      uid: `${name}-1`,
      ...options,
    };
    this.vms.set(key(vm.namespace, name), vm);
    return this;
  }

  /** Makes activity `name` behave as `script` says (for every call, until replaced). */
  on<K extends ActivityName>(name: K, script: Script<K>): this {
    this.scripts.set(name, script as Script<never>);
    return this;
  }

  scriptOf<K extends ActivityName>(name: K): Script<K> | undefined {
    return this.scripts.get(name) as Script<K> | undefined;
  }

  /** A gate scripts can wait at; opened by the test, or by `close` at the end of the test. */
  gate(): Gate {
    const gate = new Gate();
    this.gates.push(gate);
    return gate;
  }

  /** Lets every stub still waiting at a gate go (the test is over). */
  close(): void {
    for (const gate of this.gates) gate.open();
  }

  // ---- reading the world, as a user would look at the cluster ----

  nodeNamed(name: string): FakeNode {
    const node = this.nodes.get(name);
    if (!node) throw ApplicationFailure.create({ message: `node ${name} not found`, nonRetryable: true });
    return node;
  }

  vmNamed(vmi: string): FakeVm {
    const [namespace = 'vms', name = vmi] = vmi.includes('/') ? vmi.split('/') : ['vms', vmi];
    const vm = this.vms.get(key(namespace, name));
    if (!vm) throw ApplicationFailure.create({ message: `VMI ${vmi} not found`, nonRetryable: true });
    return vm;
  }

  /** The activity calls of one name, in order, with their inputs. */
  called<K extends ActivityName>(name: K): In<K>[] {
    return this.calls.filter((c) => c.name === name).map((c) => c.input as In<K>);
  }

  /** Every activity called, by name, in call order. */
  sequence(): ActivityName[] {
    return this.calls.map((c) => c.name);
  }

  /** How often `name` was called for the VM `vm` (its namespace/name or name). */
  callsFor(name: ActivityName, vm: string): number {
    const wanted = vm.includes('/') ? vm : `vms/${vm}`;
    return this.calls.filter((c) => c.name === name && `${c.input.namespace}/${c.input.name}` === wanted).length;
  }

  // ---- what the stubs read ----

  facts(node: FakeNode): NodeFacts {
    const requested = [...this.vms.values()]
      .filter((vm) => vm.running && vm.node === node.name)
      .reduce((sum, vm) => sum + vm.memoryGi * GiB, 0);
    return {
      name: node.name,
      labels: node.labels,
      unschedulable: node.unschedulable,
      ready: node.ready,
      ...(!node.ready && { notReadySince: node.notReadySince ?? '2026-01-01T00:00:00Z' }),
      controlPlane: node.controlPlane,
      allocatableMemoryBytes: node.memoryGi * GiB,
      requestedMemoryBytes: requested,
      taints: node.cordonedBy ? [{ key: 'pitstop.io/maintenance', effect: 'NoSchedule' }] : [],
    };
  }

  vmFacts(node: string): VmFacts[] {
    return [...this.vms.values()]
      .filter((vm) => vm.running && vm.node === node)
      .map((vm) => ({
        namespace: vm.namespace,
        name: vm.name,
        nodeName: vm.node,
        uid: vm.uid,
        phase: 'Running',
        ownedByVm: !vm.standalone,
        runStrategy: vm.runStrategy,
        ...(vm.evictionStrategy !== undefined && { evictionStrategy: vm.evictionStrategy }),
        liveMigratable: vm.liveMigratable,
        ...(!vm.liveMigratable && { notMigratableReason: 'DisksNotLiveMigratable' }),
        ...(vm.strategyLabel !== undefined && { strategyLabel: vm.strategyLabel }),
        memoryBytes: vm.memoryGi * GiB,
      }));
  }

  leaseHolders(node: string): LeaseHolder[] {
    const holders: LeaseHolder[] = [];
    const ours = this.leases.get(node);
    if (ours) holders.push({ holder: ours, source: 'pitstop' });
    const foreign = this.foreignLeases.get(node);
    if (foreign) holders.push({ holder: foreign, source: 'medik8s' });
    return holders;
  }

  /**
   * What KubeVirt does once a fenced node's pods are gone (its out-of-service taint): a VM whose runStrategy restarts
   * it gets a new VMI (another uid) on another node. Nothing happens while the node's pods are still there.
   */
  restartElsewhere(vm: FakeVm): boolean {
    const home = this.nodes.get(vm.node);
    if (!home?.outOfService || !['Always', 'RerunOnFailure'].includes(vm.runStrategy) || vm.standalone) return false;
    vm.node = this.landingFor(vm.node);
    vm.uid = `${vm.name}-${Number(vm.uid.split('-').at(-1)) + 1}`;
    vm.running = true;
    vm.starts += 1;
    return true;
  }

  /** Where a VM leaving `from` lands: the first node (by name) that is up and schedulable. */
  landingFor(from: string): string {
    const host = [...this.nodes.values()]
      .filter((n) => n.name !== from && n.ready && !n.unschedulable && !n.controlPlane)
      .sort((a, b) => a.name.localeCompare(b.name))[0];
    if (!host) throw ApplicationFailure.create({ message: `no node can take a VM from ${from}`, nonRetryable: true });
    return host.name;
  }
}

/** Where a test holds a stub until it says go; the stub heartbeats meanwhile, so a cancel reaches it. */
export class Gate {
  private opened = false;
  private reached = false;
  private onReach: () => void = () => {};
  /** Resolves once a stub waits at the gate. */
  readonly entered = new Promise<void>((resolve) => (this.onReach = resolve));

  open(): void {
    this.opened = true;
  }

  get isOpen(): boolean {
    return this.opened;
  }

  /** Waits until the gate opens (a cancelled activity stops waiting with its CancelledFailure). */
  async pass(options: { heartbeat?: boolean } = {}): Promise<void> {
    if (!this.reached) {
      this.reached = true;
      this.onReach();
    }
    const heartbeat = options.heartbeat ?? true;
    const ctx = Context.current();
    while (!this.opened) {
      if (heartbeat) {
        ctx.heartbeat();
        await ctx.sleep(50);
      } else {
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  }

  /** A script: wait at the gate, then do the real thing. */
  readonly hold = async <T>(_input: unknown, real: () => Promise<T>): Promise<T> => {
    await this.pass();
    return await real();
  };
}

/** A failure the workflow does not retry: the try failed, for good. */
export function failure(message: string, type = 'StubFailure'): ApplicationFailure {
  return ApplicationFailure.create({ type, message, nonRetryable: true });
}

/** A script: the activity fails at once, changing nothing. */
export const fails = (message: string) => async (): Promise<never> => {
  throw failure(message);
};

/** A script: the change lands, then the answer is lost (the try fails after the change was made). */
export const landsThenFails =
  (message = 'the answer was lost') =>
  async (_input: unknown, real: () => Promise<unknown>): Promise<never> => {
    await real();
    throw failure(message, 'AnswerLost');
  };

/** A script: the first `times` tries fail passingly (Temporal retries them, 10 ms apart), later ones work. */
export function failsPassingly(times: number, message: string) {
  let calls = 0;
  return async <T>(_input: unknown, real: () => Promise<T>): Promise<T> => {
    calls += 1;
    if (calls <= times) throw ApplicationFailure.create({ message, nonRetryable: false, nextRetryDelay: '10ms' });
    return await real();
  };
}

/** A script: the first `times` calls fail at once, later calls behave as usual. */
export function failsFirst(times: number, message: string) {
  let calls = 0;
  return async <T>(_input: unknown, real: () => Promise<T>): Promise<T> => {
    calls += 1;
    if (calls <= times) throw failure(message);
    return await real();
  };
}

/** A script: the first call whose input matches `when` fails at once; every other call behaves as usual. */
export function failsOnceWhen<I>(when: (input: I) => boolean, message: string) {
  let failed = false;
  return async <T>(input: I, real: () => Promise<T>): Promise<T> => {
    if (!failed && when(input)) {
      failed = true;
      throw failure(message);
    }
    return await real();
  };
}

/** A script for the first call only; later calls behave as usual. */
export function onlyFirst(script: (input: unknown, real: () => Promise<unknown>) => Promise<unknown>) {
  let calls = 0;
  return async <T>(input: unknown, real: () => Promise<T>): Promise<T> =>
    (calls += 1) === 1 ? ((await script(input, real)) as T) : await real();
}

/** A script: answers `value` without touching the world. */
export const returns =
  <T>(value: T) =>
  async (): Promise<T> =>
    value;
