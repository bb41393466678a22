// Stub activities for the fast tier: the same names and types as createActivities (src/activities/index.ts),
// each acting on the test's fake world (world.ts) as the real one acts on a cluster, logged, and scriptable per
// test (world.on). The workflows cannot tell them from the real ones.
import { Context } from '@temporalio/activity';
import type { Activities } from '../../../src/activities/index.js';
import { admitNodes, checkNode, type NodeCheck } from '../../../src/domain/rollingPlan.js';
import type { MaintenancePolicy } from '../../../src/domain/request.js';
import { failure, type ActivityName, type FakeNode, type In, type Out, type World } from './world.js';

/** The cluster default eviction strategy of every fake world (KubeVirt's CR). */
const CLUSTER_EVICTION_STRATEGY = 'LiveMigrate';

type Target = In<'powerOn'>['target'];
type Behaviour<K extends ActivityName> = (world: World, input: In<K>) => Out<K> | Promise<Out<K>>;

const iso = () => new Date().toISOString();

function powered(world: World, target: Target): FakeNode {
  if (target.kind === 'none') throw failure('no power provider');
  return world.nodeNamed(target.kind === 'metal3' ? target.bmh.name : (target.systemId ?? ''));
}

function mark(node: FakeNode, phase: string, message?: string, warning?: boolean) {
  node.phase = phase;
  node.events.push(`${warning ? 'Warning ' : ''}Maintenance${phase}: ${message ?? `maintenance phase ${phase}`}`);
}

function unmark(node: FakeNode, message: string) {
  delete node.phase;
  node.events.push(`MaintenanceEnded: ${message}`);
}

/** The default behaviour of every activity (today's checkFleetNode excepted: see `fleetNodeCheck`). */
const behaviours: { [K in Exclude<ActivityName, 'checkFleetNode' | 'admitMaintenance'>]: Behaviour<K> } = {
  preflightSnapshot: (w, { node, workflowId }) => {
    const target = w.nodes.get(node);
    return {
      ...(target && { node: w.facts(target) }),
      nodes: [...w.nodes.values()].map((n) => w.facts(n)),
      vms: w.vmFacts(node),
      clusterEvictionStrategy: CLUSTER_EVICTION_STRATEGY,
      leases: w.leaseHolders(node),
      workflowId,
      observedAt: iso(),
    };
  },
  resolvePower: (w, { node, power }) => {
    const managed = power === 'metal3' || power === 'redfish' || (power === 'auto' && w.nodeNamed(node).bmc);
    return managed ? { kind: 'metal3', bmh: { namespace: 'machines', name: node } } : { kind: 'none' };
  },

  acquireLease: (w, { node, workflowId }) => {
    const holder = w.leases.get(node);
    if (holder && holder !== workflowId) throw failure(`the lease of ${node} is held by ${holder}`, 'LeaseHeld');
    w.leases.set(node, workflowId);
    return { outcome: holder ? 'renewed' : 'created', renewTime: iso() };
  },
  releaseLease: (w, { node, workflowId, unmark: unmarking }) => {
    if (unmarking) unmark(w.nodeNamed(node), unmarking.message);
    if (w.leases.get(node) !== workflowId) return { released: false };
    w.leases.delete(node);
    return { released: true };
  },
  cordon: (w, { node, workflowId, marks }) => {
    const n = w.nodeNamed(node);
    if (n.cordonedBy !== workflowId) {
      n.wasUnschedulable = n.unschedulable;
      n.cordonedBy = workflowId;
      n.unschedulable = true;
    }
    for (const m of marks ?? []) mark(n, m.phase, m.message);
    return { wasUnschedulable: n.wasUnschedulable ?? false };
  },
  uncordon: (w, { node, workflowId }) => {
    const n = w.nodeNamed(node);
    if (n.cordonedBy !== workflowId) return { ours: false, uncordoned: false };
    delete n.cordonedBy;
    const uncordoned = !n.wasUnschedulable;
    if (uncordoned) n.unschedulable = false;
    return { ours: true, uncordoned };
  },
  markNode: (w, { node, phase, message, warning }) => mark(w.nodeNamed(node), phase, message, warning),
  unmarkNode: (w, { node, message }) => unmark(w.nodeNamed(node), message),

  startMigration: (w, { namespace, vmi, attempt }) => {
    const name = `pitstop-${vmi}-${attempt}`;
    w.vmNamed(`${namespace}/${vmi}`);
    w.migrations.set(name, { vmi: `${namespace}/${vmi}`, state: 'Running' });
    return { name, adopted: false };
  },
  waitForMigration: (w, { name }) => {
    const migration = w.migrations.get(name);
    if (!migration) return { outcome: 'Gone', phase: '' };
    const vm = w.vmNamed(migration.vmi);
    const sourceNode = vm.node;
    vm.node = w.landingFor(sourceNode);
    migration.state = 'Succeeded';
    return { outcome: 'Succeeded', phase: 'Succeeded', sourceNode, targetNode: vm.node, nodeName: vm.node };
  },
  cancelMigration: (w, { name }) => {
    const migration = w.migrations.get(name);
    if (!migration) return { outcome: 'NotFound', phase: '' };
    if (migration.state === 'Running') migration.state = 'Cancelled';
    return { outcome: migration.state === 'Succeeded' ? 'Completed' : 'Cancelled', phase: 'Failed' };
  },
  stopVm: (w, { namespace, name }) => {
    const vm = w.vmNamed(`${namespace}/${name}`);
    vm.previousRunStrategy ??= vm.runStrategy;
    vm.runStrategy = 'Halted';
    vm.running = false;
    return { previousRunStrategy: vm.previousRunStrategy };
  },
  waitForVmiGone: (w, { namespace, name }) => {
    const vm = w.vms.get(`${namespace}/${name}`);
    return vm?.running ? { outcome: 'TimedOut', phase: 'Running' } : { outcome: 'Gone', phase: 'Absent' };
  },
  restoreVm: (w, { namespace, name }) => {
    const vm = w.vmNamed(`${namespace}/${name}`);
    if (vm.previousRunStrategy === undefined) return { restored: false, runStrategy: vm.runStrategy };
    vm.runStrategy = vm.previousRunStrategy;
    delete vm.previousRunStrategy;
    const home = w.nodes.get(vm.node);
    if (!home || home.unschedulable || !home.ready) vm.node = w.landingFor(vm.node);
    vm.running = true;
    vm.starts += 1;
    return { restored: true, runStrategy: vm.runStrategy };
  },
  waitForVmiRunning: (w, { namespace, name }) => {
    const vm = w.vmNamed(`${namespace}/${name}`);
    return vm.running
      ? { outcome: 'Running', phase: 'Running', nodeName: vm.node }
      : { outcome: 'TimedOut', phase: 'Pending' };
  },
  waitForVmiOffNode: (w, { namespace, name, node }) => {
    const vm = w.vms.get(`${namespace}/${name}`);
    if (!vm?.running) return { outcome: 'Gone', phase: 'Absent' };
    return vm.node === node
      ? { outcome: 'TimedOut', phase: 'Running' }
      : { outcome: 'Moved', phase: 'Running', nodeName: vm.node };
  },
  deleteVmi: (w, { namespace, name }) => ({ deleted: w.vms.delete(`${namespace}/${name}`) }),

  setOutOfService: (w, { node, on }) => {
    w.nodeNamed(node).outOfService = on;
  },
  waitForPodsGone: (w, { node }) => {
    const n = w.nodeNamed(node);
    if (n.outOfService) n.pods = [];
    return n.pods.length ? { outcome: 'TimedOut', remaining: n.pods } : { outcome: 'Gone', remaining: [] };
  },
  forceDeleteNodePods: (w, { node }) => {
    const n = w.nodeNamed(node);
    const pods = n.pods;
    n.pods = [];
    return { pods, volumeAttachments: [] };
  },
  waitForVmRecovered: (w, { namespace, name, oldUid, node }) => {
    const vm = w.vmNamed(`${namespace}/${name}`);
    if (vm.node === node) w.restartElsewhere(vm);
    return vm.running && vm.uid !== oldUid && vm.node !== node
      ? { outcome: 'Running', phase: 'Running', nodeName: vm.node, uid: vm.uid }
      : { outcome: 'TimedOut', phase: 'Failed (the old VMI)' };
  },
  startVmElsewhere: (w, { namespace, name }) => {
    const vm = w.vmNamed(`${namespace}/${name}`);
    if (vm.previousRunStrategy === undefined && vm.runStrategy !== 'Manual') return { started: false };
    vm.previousRunStrategy ??= vm.runStrategy;
    vm.runStrategy = 'Always';
    if (!w.restartElsewhere(vm)) throw failure(`${namespace}/${name}: no new VMI`, 'VmNotStarted');
    vm.runStrategy = vm.previousRunStrategy;
    delete vm.previousRunStrategy;
    return { started: true };
  },

  drainRound: (w, { node, mark: phaseMark }) => {
    const n = w.nodeNamed(node);
    if (phaseMark) mark(n, phaseMark.phase, phaseMark.message);
    const evicted = n.pods;
    n.pods = [];
    return { total: evicted.length, evicted, blocked: [], skipped: [], terminating: [], remaining: 0 };
  },

  listFleetNodes: (w, { selector, nodes }) => {
    const [label, value] = (selector ?? '').split('=');
    const matching = [...w.nodes.values()].filter((n) => (label ? n.labels[label] === value : true)).map((n) => n.name);
    const wanted = nodes ?? matching;
    return {
      nodes: wanted.filter((n) => w.nodes.has(n)).map((name) => ({ name, vmCount: w.vmFacts(name).length })),
      missing: wanted.filter((n) => !w.nodes.has(n)),
    };
  },
  checkFleetNodes: (w, input) =>
    admitNodes({
      ...input,
      candidates: input.nodes.map((node) => ({ node, vms: w.vmFacts(node), leases: w.leaseHolders(node) })),
      nodes: [...w.nodes.values()].map((n) => w.facts(n)),
      clusterEvictionStrategy: CLUSTER_EVICTION_STRATEGY,
    }),

  powerOff: (w, { target }) => {
    const node = powered(w, target);
    const changed = node.power === 'on';
    node.power = 'off';
    node.ready = false;
    return { changed };
  },
  powerOn: (w, { target }) => {
    const node = powered(w, target);
    const changed = node.power === 'off';
    node.power = 'on';
    node.ready = true;
    return { changed };
  },
  readPower: (w, { target }) => ({ poweredOn: powered(w, target).power === 'on' }),
  waitForPower: (w, { target, on }) => {
    const node = powered(w, target);
    if ((node.power === 'on') !== on) throw failure(`${node.name} is not powered ${on ? 'on' : 'off'}`, 'PowerTimeout');
    return { poweredOn: on, state: on ? 'On' : 'Off' };
  },
  readNodeReadiness: (w, { node }) => {
    const n = w.nodeNamed(node);
    return n.ready
      ? { node, ready: true, status: 'True' as const }
      : {
          node,
          ready: false,
          status: 'Unknown' as const,
          reason: 'NodeStatusUnknown',
          lastTransitionTime: n.notReadySince,
        };
  },
  waitForNodeReady: (w, { node, ready }) => {
    const n = w.nodeNamed(node);
    if (n.ready !== ready) throw failure(`${node} did not become ${ready ? 'Ready' : 'NotReady'}`, 'NodeReadyTimeout');
    return { node, ready, status: ready ? 'True' : 'False' };
  },
};

/**
 * The one-node look of rolling runs recorded before checkFleetNodes (no fresh run calls it); typed on its own so
 * this file compiles whether or not createActivities still has it.
 */
function fleetNodeCheck(
  w: World,
  input: { node: string; alsoDown: string[]; policy: MaintenancePolicy; ownWorkflowId: string },
): NodeCheck {
  const nodes = [...w.nodes.values()].map((n) => w.facts(n));
  const facts = { vms: w.vmFacts(input.node), leases: w.leaseHolders(input.node), nodes };
  return checkNode({ ...input, ...facts, clusterEvictionStrategy: CLUSTER_EVICTION_STRATEGY });
}

/**
 * The activities a fast-tier worker registers: each logs its call on the world of the workflow calling it (one
 * worker serves a whole test file, one world per test), then runs the world's script for it, if any, else its
 * default behaviour.
 */
export function stubActivities(worldOf: (workflowId: string) => World | undefined): Activities {
  type AnyBehaviour = (world: World, input: never) => unknown;
  const all: Record<string, (input: never) => Promise<unknown>> = {};
  // The fake cluster has room for everyone: the admission admits, taking the lease through the (logged, scriptable)
  // acquireLease, so tests that script the lease see the same calls as before the admission existed.
  const admitMaintenance: Behaviour<'admitMaintenance'> = async (_w, { node, workflowId, durationSeconds, dryRun }) => {
    if (!dryRun) await all.acquireLease!({ node, workflowId, durationSeconds } as never);
    return { admit: true, code: 'Admitted', reason: 'admitted (fake cluster)', down: [], budget: 1 };
  };
  const table: Record<string, AnyBehaviour> = { ...behaviours, checkFleetNode: fleetNodeCheck, admitMaintenance };
  for (const [name, behaviour] of Object.entries(table)) {
    all[name] = async (input: never) => {
      const { workflowExecution, attempt } = Context.current().info;
      const workflowId = workflowExecution?.workflowId ?? '';
      const world = worldOf(workflowId);
      if (!world) throw failure(`no world for workflow ${workflowId}`);
      world.calls.push({ name: name as ActivityName, input: input as Record<string, unknown>, attempt });
      const real = async () => await behaviour(world, input);
      const script = world.scriptOf(name as ActivityName);
      return script ? await script(input, real as () => Promise<never>) : await real();
    };
  }
  return all as unknown as Activities;
}
