// The activities, made by a factory that takes their clients (tests pass real clients pointed at the sandbox).
// Each one is a thin adapter: Temporal context (heartbeat, cancellation, resume details) in, module function out.
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { paths, type KubeClient } from '../k8s/client.js';
import { keepSelectedLabels, type ClusterSnapshot } from '../domain/preflight.js';
import type { PowerProvider, RedfishTarget } from '../domain/request.js';
import { kube } from './errors.js';
import { cordonNode, uncordonNode } from './node/cordon.js';
import { recordNodeEvent, removeNodePhase, setNodePhase } from './node/events.js';
import { describeNodes } from './node/facts.js';
import { admitMaintenance, type AdmissionInput } from './node/admission.js';
import { acquireNodeLease, nodeLeaseHolders, releaseNodeLease } from './node/lease.js';
import { waitForNodeReady, type NodeReadyProgress } from './node/readiness.js';
import { nodeReadiness } from '../domain/nodeReadiness.js';
import { drainRound, type DrainRoundInput } from './drain.js';
import { checkFleetNodes, listFleetNodes } from './fleet.js';
import { clusterEvictionStrategy, vmsOnNode } from './kubevirt/facts.js';
import {
  deleteVmi,
  restoreVm,
  stopVm,
  waitForVmiGone,
  waitForVmiOffNode,
  waitForVmiRunning,
} from './kubevirt/lifecycle.js';
import { startMigration } from './kubevirt/migrations.js';
import { startVmElsewhere, waitForVmRecovered } from './kubevirt/recovery.js';
import { forceDeleteNodePods, setOutOfService, waitForPodsGone } from './node/outOfService.js';
import { cancelMigration, waitForMigration } from './kubevirt/migrationWaits.js';
import { PodRequestCache } from './podRequests.js';
import { powerOff, powerOn, powerState } from './power/actions.js';
import { resolvePowerProvider } from './power/resolve.js';
import type { ResolvedPowerProvider } from './power/types.js';
import { waitForPowerState } from './power/waits.js';
import type { WaitDetails } from '../k8s/watch.js';
import { NODE_EVENTS } from '../domain/contract.js';
import { DEFAULT_ADMISSION_LIMITS, type AdmissionLimits } from '../domain/admission.js';

export interface ActivityDeps {
  kube: KubeClient;
  /** The worker's cache of pod memory requests (one is made when not given). */
  podRequests?: PodRequestCache;
  /** PITSTOP_MAX_NODES_DOWN and PITSTOP_MAX_UNHEALTHY (defaults when not given). */
  admission?: AdmissionLimits;
}

type Vm = { namespace: string; name: string };
type NodeMark = { node: string; phase: string; message?: string; warning?: boolean };

/** Heartbeat, cancellation and the previous attempt's details, for waits that must survive a worker restart. */
function waitControls() {
  const ctx = Context.current();
  return {
    heartbeat: (details: WaitDetails) => ctx.heartbeat(details),
    signal: ctx.cancellationSignal,
    resumeFrom: ctx.info.heartbeatDetails as Partial<WaitDetails> | undefined,
  };
}

export function createActivities({
  kube: client,
  podRequests = new PodRequestCache(client),
  admission = DEFAULT_ADMISSION_LIMITS,
}: ActivityDeps) {
  const { requestedMemory } = podRequests;

  /** Phase annotation on the Node plus a Kubernetes Event, so `kubectl describe node` tells the story. */
  async function markNode(input: NodeMark): Promise<void> {
    await setNodePhase(client, { node: input.node, phase: input.phase });
    await recordEventIfAllowed(client, {
      node: input.node,
      reason: NODE_EVENTS.phaseReason(input.phase),
      message: input.message ?? `maintenance phase ${input.phase}`,
      type: input.warning ? 'Warning' : 'Normal',
    });
  }
  async function unmarkNode(input: { node: string; message: string }): Promise<void> {
    await removeNodePhase(client, { node: input.node });
    await recordEventIfAllowed(client, { node: input.node, reason: NODE_EVENTS.ended, message: input.message });
  }

  return {
    /** Everything preflight decides on, read in one go so the verdict is computed from one moment's view. */
    async preflightSnapshot(input: { node: string; workflowId: string }): Promise<ClusterSnapshot> {
      return await kube(`reading the cluster for node ${input.node}`, async () => {
        const [nodes, vms, evictionStrategy, leases] = await Promise.all([
          describeNodes(client, requestedMemory),
          vmsOnNode(client, input.node),
          clusterEvictionStrategy(client),
          nodeLeaseHolders(client, input.node),
        ]);
        const described = keepSelectedLabels(nodes, vms);
        return {
          node: described.find((n) => n.name === input.node),
          nodes: described,
          vms,
          clusterEvictionStrategy: evictionStrategy,
          leases,
          workflowId: input.workflowId,
          observedAt: new Date().toISOString(),
        };
      });
    },

    /** Which power provider applies (no secrets in the answer: a Redfish target names its Secret only). */
    resolvePower: (input: { node: string; power: PowerProvider; redfish?: RedfishTarget }) =>
      resolvePowerProvider(client, input),

    /** The cluster-wide admission; admitted (not a dry run), it has taken the node's lease. */
    admitMaintenance: (input: AdmissionInput) => admitMaintenance(client, admission, requestedMemory, input),

    /** The node's lease for the whole maintenance; it outlives the longest allowed run, so no renewals. */
    acquireLease: (input: { node: string; workflowId: string; durationSeconds: number }) =>
      acquireNodeLease(client, input),
    /** With `unmark`, the node's phase mark goes first (one activity where two were: fewer history events). */
    async releaseLease(input: { node: string; workflowId: string; unmark?: { message: string } }) {
      if (input.unmark) await unmarkNode({ node: input.node, ...input.unmark });
      return await releaseNodeLease(client, input);
    },
    /** With `marks`, the node's phase marks follow in the same activity. */
    async cordon(input: { node: string; workflowId: string; marks?: Omit<NodeMark, 'node'>[] }) {
      const result = await cordonNode(client, input);
      for (const mark of input.marks ?? []) await markNode({ node: input.node, ...mark });
      return result;
    },
    uncordon: (input: { node: string; workflowId: string }) => uncordonNode(client, input),

    markNode,
    unmarkNode,

    startMigration: (input: { namespace: string; vmi: string; workflowId: string; attempt: number }) =>
      startMigration(client, { ...input, runId: Context.current().info.workflowExecution?.runId }),
    waitForMigration: (input: { namespace: string; name: string; timeoutMs: number; pendingTimeoutMs: number }) =>
      waitForMigration(client, { ...input, ...waitControls() }),
    cancelMigration: (input: { namespace: string; name: string }) => cancelMigration(client, input),
    stopVm: (input: Vm) => stopVm(client, input),
    waitForVmiGone: (input: Vm & { timeoutMs: number }) => waitForVmiGone(client, { ...input, ...waitControls() }),
    // startTimeoutMs: how long a VM that needs an explicit start may take to get its VMI (the roll-back passes the
    // policy's restore timeout; 60 s otherwise).
    restoreVm: (input: Vm & { startTimeoutMs?: number }) =>
      restoreVm(client, { ...input, signal: Context.current().cancellationSignal }),
    waitForVmiRunning: (input: Vm & { timeoutMs: number }) =>
      waitForVmiRunning(client, { ...input, ...waitControls() }),
    waitForVmiOffNode: (input: Vm & { node: string; timeoutMs: number }) =>
      waitForVmiOffNode(client, { ...input, ...waitControls() }),
    deleteVmi: (input: Vm) => deleteVmi(client, input),

    // The repair runbook, once the node is fenced: release its workloads, then see its VMs run elsewhere.
    setOutOfService: (input: { node: string; on: boolean }) => setOutOfService(client, input),
    waitForPodsGone: (input: { node: string; timeoutMs: number }) =>
      waitForPodsGone(client, { ...input, ...waitControls() }),
    forceDeleteNodePods: (input: { node: string }) => forceDeleteNodePods(client, input),
    waitForVmRecovered: (input: Vm & { oldUid?: string; node: string; timeoutMs: number }) =>
      waitForVmRecovered(client, { ...input, ...waitControls() }),
    startVmElsewhere: (input: Vm & { oldUid?: string; startTimeoutMs: number }) =>
      startVmElsewhere(client, { ...input, signal: Context.current().cancellationSignal }),

    /** With `mark`, the node's phase mark goes first in the same activity. */
    async drainRound(input: DrainRoundInput & { mark?: Omit<NodeMark, 'node'> }) {
      if (input.mark) await markNode({ node: input.node, ...input.mark });
      return await drainRound(client, input);
    },

    /** Rolling maintenance: the nodes it covers, and a look at the next ones before they start. */
    listFleetNodes: (input: Parameters<typeof listFleetNodes>[1]) =>
      kube('listing the nodes of a rolling maintenance', () => listFleetNodes(client, input)),
    checkFleetNodes: (input: Parameters<typeof checkFleetNodes>[1]) =>
      kube(`checking nodes ${input.nodes.join(', ')} before their maintenance`, () =>
        checkFleetNodes(client, input, requestedMemory),
      ),

    powerOff: (input: { target: ResolvedPowerProvider; graceful: boolean }) =>
      powerOff(client, input.target, { graceful: input.graceful }),
    powerOn: (input: { target: ResolvedPowerProvider }) => powerOn(client, input.target),
    /**
     * What the BMC says now, for the progress (a crashed machine is still on; a powered-off one is off). A BMC that
     * does not answer is an answer too (`error`): the progress then says unknown, and the run goes on.
     */
    async readPower(input: { target: ResolvedPowerProvider }): Promise<{ poweredOn?: boolean; error?: string }> {
      try {
        const reading = await powerState(client, input.target);
        return reading ? { poweredOn: reading.poweredOn } : {};
      } catch (e) {
        return { error: (e instanceof Error ? e.message : String(e)).slice(0, 200) };
      }
    },
    async waitForPower(input: { target: ResolvedPowerProvider; on: boolean; timeoutMs: number }) {
      const ctx = Context.current();
      const previous = ctx.info.heartbeatDetails as { since?: number } | undefined;
      return await waitForPowerState(client, input.target, {
        on: input.on,
        timeoutMs: input.timeoutMs,
        since: previous?.since,
        heartbeat: (progress) => ctx.heartbeat({ since: progress.since, lastError: progress.lastError }),
        signal: ctx.cancellationSignal,
      });
    },
    /** The node's Ready condition now: a drain whose migrations fail asks whether the node itself has failed. */
    readNodeReadiness: async ({ node }: { node: string }) =>
      nodeReadiness(node, await kube(`read node ${node}`, () => client.find(paths.node(node)))),
    waitForNodeReady: (input: { node: string; ready: boolean; kubevirtSchedulable?: boolean; timeoutMs: number }) => {
      const ctx = Context.current();
      return waitForNodeReady(client, {
        ...input,
        heartbeat: (d) => ctx.heartbeat(d),
        resumeFrom: ctx.info.heartbeatDetails as Partial<NodeReadyProgress> | undefined,
        signal: ctx.cancellationSignal,
      });
    },
  };
}

export type Activities = ReturnType<typeof createActivities>;

/**
 * Events mirror the progress (the phase annotation and the workflow are the record): a cluster that refuses them for
 * good (no RBAC rule, an admission policy) must not stop a maintenance or its roll-back. Passing failures still
 * retry the activity, so a blip does not lose an Event.
 */
async function recordEventIfAllowed(client: KubeClient, input: Parameters<typeof recordNodeEvent>[1]): Promise<void> {
  try {
    await recordNodeEvent(client, input);
  } catch (e) {
    if (!(e instanceof ApplicationFailure && e.nonRetryable)) throw e;
    Context.current().log.warn('Kubernetes Event not recorded', {
      node: input.node,
      reason: input.reason,
      error: e.message,
    });
  }
}
