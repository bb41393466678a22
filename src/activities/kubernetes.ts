// Kubernetes core objects Pitstop reads and changes: nodes, pods, leases.
import { setTimeout as delay } from 'node:timers/promises';
import { ApplicationFailure } from '@temporalio/common';
import {
  KubeApiError,
  isAlreadyExists,
  isConflict,
  isNotFound,
  paths,
  type KubeClient,
  type KubeObject,
} from '../k8s/client.js';
import { formatDuration } from '../domain/durations.js';
import { parseQuantity } from '../domain/quantity.js';
import { listRequestedMemory, type RequestedMemorySource } from './podRequests.js';
import type { LeaseHolder, NodeFacts } from '../domain/preflight.js';
import { classify, kube } from './errors.js';

export const CONTROL_PLANE_LABELS = ['node-role.kubernetes.io/control-plane', 'node-role.kubernetes.io/master'];

/** Pitstop takes the node lease of the medik8s convention, so NMO, SNR and FAR see the node is busy too. */
export const NODE_LEASE = { namespace: 'medik8s-leases', name: (node: string) => `node-${node}` };

const isReady = (node: KubeObject) =>
  (node.status?.conditions ?? []).some(
    (c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True',
  );

export function toNodeFacts(node: KubeObject, requestedMemoryBytes: number): NodeFacts {
  const labels = node.metadata.labels ?? {};
  return {
    name: node.metadata.name,
    labels,
    unschedulable: node.spec?.unschedulable === true,
    ready: isReady(node),
    controlPlane: CONTROL_PLANE_LABELS.some((l) => l in labels),
    allocatableMemoryBytes: parseQuantity(node.status?.allocatable?.memory) ?? 0,
    requestedMemoryBytes,
    taints: (node.spec?.taints ?? []).map((t: { key: string; effect: string }) => ({ key: t.key, effect: t.effect })),
  };
}

/**
 * Every node with the memory requested by the pods on it (pods that have not ended), from a fresh paged list of
 * every pod unless a worker's cache is given (see podRequests.ts).
 */
export async function describeNodes(
  client: KubeClient,
  requestedMemory: RequestedMemorySource = () => listRequestedMemory(client),
): Promise<NodeFacts[]> {
  const [nodes, requested] = await Promise.all([client.list(paths.nodes()), requestedMemory()]);
  return nodes.items.map((n) => toNodeFacts(n, requested.get(n.metadata.name) ?? 0));
}

/** The current holder of the node's lease, if it is held and not expired. */
export async function nodeLeaseHolders(client: KubeClient, node: string, now = Date.now()): Promise<LeaseHolder[]> {
  const lease = await client.find(paths.lease(NODE_LEASE.namespace, NODE_LEASE.name(node)));
  const holder: string | undefined = lease?.spec?.holderIdentity;
  if (!lease || !holder) return [];
  const renewed = Date.parse(lease.spec?.renewTime ?? lease.spec?.acquireTime ?? '');
  const duration = (lease.spec?.leaseDurationSeconds ?? 0) * 1000;
  if (Number.isFinite(renewed) && duration > 0 && renewed + duration < now) return [];
  const ours = lease.metadata.labels?.['app.kubernetes.io/managed-by'] === 'pitstop';
  return [{ holder, source: ours ? 'pitstop' : 'medik8s' }];
}

// ---------------------------------------------------------------------------------------------------------------
// Marks Pitstop puts on a Node while it maintains it.

export const NODE_MARKS = {
  /** Annotation: the workflow id that cordoned the node; only that workflow uncordons it. */
  cordonedBy: 'pitstop.io/cordoned-by',
  /** Annotation: "true" | "false", spec.unschedulable before Pitstop first cordoned the node. */
  wasUnschedulable: 'pitstop.io/was-unschedulable',
  /** Annotation: "true" | "false", whether the remediation exclusion label was already there. */
  wasExcluded: 'pitstop.io/was-excluded-from-remediation',
  /** Annotation: the maintenance phase, for `kubectl get node -o yaml` readers. */
  phase: 'pitstop.io/maintenance-phase',
  /** NoSchedule taint key. */
  taint: 'pitstop.io/maintenance',
  /** Label medik8s remediators (SNR, FAR, MDR) honour: a node under maintenance is not "unhealthy". */
  excludeFromRemediation: 'remediation.medik8s.io/exclude-from-remediation',
} as const;

const MANAGED_BY = 'app.kubernetes.io/managed-by';
/** Attempts of one read-modify-write before the 409 goes to Temporal's retry policy. */
const CONFLICT_ATTEMPTS = 8;

interface Taint {
  key: string;
  value?: string;
  effect: string;
  timeAdded?: string;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Sleeps `ms`, or less if `signal` aborts. */
const pause = (ms: number, signal: AbortSignal): Promise<void> =>
  delay(ms, undefined, { signal }).catch(() => undefined);

const nodeNotFound = (node: string) =>
  ApplicationFailure.create({ type: 'NodeNotFound', message: `node ${node} not found`, nonRetryable: true });

/** Runs a read-modify-write again (re-reading) when the write loses a race (409). */
async function onConflictRetry<T>(fn: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      if (!isConflict(e) || attempt >= CONFLICT_ATTEMPTS) throw e;
      await sleep(10 * attempt + Math.random() * 40);
    }
  }
}

async function readNode(client: KubeClient, node: string): Promise<KubeObject> {
  const found = await client.find(paths.node(node));
  if (!found) throw nodeNotFound(node);
  return found;
}

const isPitstopTaint = (t: Taint) => t.key === NODE_MARKS.taint;

// ---------------------------------------------------------------------------------------------------------------
// Cordon and uncordon

export interface NodeRef {
  node: string;
  workflowId: string;
}

export interface CordonResult {
  /** spec.unschedulable before Pitstop first cordoned the node (recorded on the node, so retries agree). */
  wasUnschedulable: boolean;
}

/**
 * Cordons the node for maintenance in ONE patch guarded by its resourceVersion: records who cordoned it and
 * whether it was unschedulable before, sets spec.unschedulable, adds the NoSchedule maintenance taint (other
 * taints kept) and the remediation exclusion label. Idempotent: a retry answers the state recorded by the first
 * attempt. Marks left by another Pitstop workflow (a run that died) are taken over with their recorded state.
 */
export async function cordonNode(client: KubeClient, { node, workflowId }: NodeRef): Promise<CordonResult> {
  return await kube(`cordon ${node}`, () =>
    onConflictRetry(async () => {
      const current = await readNode(client, node);
      const annotations = current.metadata.annotations ?? {};
      const labels = current.metadata.labels ?? {};
      const recorded = annotations[NODE_MARKS.cordonedBy] !== undefined;
      // A missing or unreadable record counts as "was unschedulable": never uncordon on a guess.
      const wasUnschedulable = recorded
        ? annotations[NODE_MARKS.wasUnschedulable] !== 'false'
        : current.spec?.unschedulable === true;
      const wasExcluded = recorded
        ? annotations[NODE_MARKS.wasExcluded] === 'true'
        : labels[NODE_MARKS.excludeFromRemediation] === 'true';
      const taints: Taint[] = current.spec?.taints ?? [];
      const ours = taints.find(isPitstopTaint);
      const complete =
        annotations[NODE_MARKS.cordonedBy] === workflowId &&
        annotations[NODE_MARKS.wasUnschedulable] === String(wasUnschedulable) &&
        annotations[NODE_MARKS.wasExcluded] === String(wasExcluded) &&
        current.spec?.unschedulable === true &&
        ours?.effect === 'NoSchedule' &&
        labels[NODE_MARKS.excludeFromRemediation] === 'true';
      if (complete) return { wasUnschedulable };
      const nextTaints =
        ours?.effect === 'NoSchedule'
          ? taints
          : [...taints.filter((t) => !isPitstopTaint(t)), { key: NODE_MARKS.taint, effect: 'NoSchedule' }];
      await client.patch(paths.node(node), {
        metadata: {
          resourceVersion: current.metadata.resourceVersion,
          annotations: {
            [NODE_MARKS.cordonedBy]: workflowId,
            [NODE_MARKS.wasUnschedulable]: String(wasUnschedulable),
            [NODE_MARKS.wasExcluded]: String(wasExcluded),
          },
          labels: { [NODE_MARKS.excludeFromRemediation]: 'true' },
        },
        spec: { unschedulable: true, taints: nextTaints },
      });
      return { wasUnschedulable };
    }),
  );
}

export interface UncordonResult {
  /** The node carried this workflow's cordon marks (false: nothing was changed). */
  ours: boolean;
  /** spec.unschedulable was set back to false (only when Pitstop cordoned a schedulable node). */
  uncordoned: boolean;
}

/**
 * Undoes cordonNode in one guarded patch: removes the taint, the label (unless it was there before) and the
 * annotations; makes the node schedulable again only if this workflow cordoned it and it was schedulable before.
 * A node this workflow did not cordon (or no longer exists) is left alone.
 */
export async function uncordonNode(client: KubeClient, { node, workflowId }: NodeRef): Promise<UncordonResult> {
  return await kube(`uncordon ${node}`, () =>
    onConflictRetry(async () => {
      const current = await client.find(paths.node(node));
      const annotations = current?.metadata.annotations ?? {};
      if (!current || annotations[NODE_MARKS.cordonedBy] !== workflowId) return { ours: false, uncordoned: false };
      const uncordon = annotations[NODE_MARKS.wasUnschedulable] === 'false';
      const keepLabel = annotations[NODE_MARKS.wasExcluded] === 'true';
      const taints = ((current.spec?.taints ?? []) as Taint[]).filter((t) => !isPitstopTaint(t));
      await client.patch(paths.node(node), {
        metadata: {
          resourceVersion: current.metadata.resourceVersion,
          annotations: {
            [NODE_MARKS.cordonedBy]: null,
            [NODE_MARKS.wasUnschedulable]: null,
            [NODE_MARKS.wasExcluded]: null,
          },
          ...(keepLabel ? {} : { labels: { [NODE_MARKS.excludeFromRemediation]: null } }),
        },
        spec: { taints: taints.length > 0 ? taints : null, ...(uncordon ? { unschedulable: null } : {}) },
      });
      return { ours: true, uncordoned: uncordon };
    }),
  );
}

// ---------------------------------------------------------------------------------------------------------------
// Phase annotation

/** Shows the maintenance phase on the Node (annotation pitstop.io/maintenance-phase). */
export async function setNodePhase(client: KubeClient, { node, phase }: { node: string; phase: string }) {
  await kube(`set phase on ${node}`, async () => {
    try {
      await client.patch(paths.node(node), { metadata: { annotations: { [NODE_MARKS.phase]: phase } } });
    } catch (e) {
      if (isNotFound(e)) throw nodeNotFound(node);
      throw e;
    }
  });
}

/** Removes the phase annotation; a node that is gone has none. */
export async function removeNodePhase(client: KubeClient, { node }: { node: string }) {
  await kube(`remove phase from ${node}`, async () => {
    try {
      await client.patch(paths.node(node), { metadata: { annotations: { [NODE_MARKS.phase]: null } } });
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Node lease (medik8s convention: medik8s-leases/node-<node>)

/** RFC 3339 with microseconds, the MicroTime form the API server writes: 2026-11-24T21:00:00.000000Z. */
export const microTime = (date: Date) => date.toISOString().replace(/Z$/, '000Z');

export interface LeaseInput extends NodeRef {
  durationSeconds: number;
}

export interface LeaseResult {
  outcome: 'created' | 'takenOver' | 'renewed';
  /** The holder of the expired or empty lease we took over. */
  previousHolder?: string;
  renewTime: string;
}

const leasePath = (node: string) => paths.lease(NODE_LEASE.namespace, NODE_LEASE.name(node));

function leaseExpiry(lease: KubeObject): number | undefined {
  const renewed = Date.parse(lease.spec?.renewTime ?? lease.spec?.acquireTime ?? '');
  const duration = (lease.spec?.leaseDurationSeconds ?? 0) * 1000;
  // Without a duration or a time a held lease never expires (as nodeLeaseHolders reads it).
  return Number.isFinite(renewed) && duration > 0 ? renewed + duration : undefined;
}

const isLive = (lease: KubeObject, now: number) => {
  const expiry = leaseExpiry(lease);
  return !!lease.spec?.holderIdentity && (expiry === undefined || expiry >= now);
};

const cut = (text: string, max: number) => (text.length > max ? `${text.slice(0, max - 3)}...` : text);

async function ensureNamespace(client: KubeClient, name: string) {
  try {
    await client.create(paths.namespaces(), { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  } catch (e) {
    if (!isAlreadyExists(e)) throw e;
  }
}

/**
 * Takes the node's lease for this workflow: creates it (and its namespace), takes over an expired or empty one,
 * renews one this workflow already holds. Another live holder: a non-retryable failure naming it.
 */
export async function acquireNodeLease(
  client: KubeClient,
  { node, workflowId, durationSeconds }: LeaseInput,
): Promise<LeaseResult> {
  return await kube(`lease for ${node}`, () =>
    onConflictRetry(async () => {
      const nowDate = new Date();
      const now = microTime(nowDate);
      const lease = await client.find(leasePath(node));
      if (!lease) {
        const body = {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: {
            name: NODE_LEASE.name(node),
            namespace: NODE_LEASE.namespace,
            labels: { [MANAGED_BY]: 'pitstop' },
          },
          spec: {
            holderIdentity: workflowId,
            leaseDurationSeconds: durationSeconds,
            acquireTime: now,
            renewTime: now,
            leaseTransitions: 0,
          },
        };
        try {
          await client.create(paths.leases(NODE_LEASE.namespace), body);
        } catch (e) {
          if (!isNotFound(e)) throw e; // AlreadyExists is a 409: someone was faster, read again
          await ensureNamespace(client, NODE_LEASE.namespace);
          await client.create(paths.leases(NODE_LEASE.namespace), body);
        }
        return { outcome: 'created', renewTime: now };
      }
      const holder: string = lease.spec?.holderIdentity ?? '';
      if (holder !== workflowId && isLive(lease, nowDate.getTime())) {
        const expiry = leaseExpiry(lease);
        throw ApplicationFailure.create({
          type: 'NodeLeaseHeld',
          message:
            `node ${node} is held by ${cut(holder, 80)}` +
            (expiry === undefined ? '' : ` until ${new Date(expiry).toISOString()}`),
          nonRetryable: true,
        });
      }
      const renewing = holder === workflowId;
      await client.patch(leasePath(node), {
        metadata: { resourceVersion: lease.metadata.resourceVersion, labels: { [MANAGED_BY]: 'pitstop' } },
        spec: {
          holderIdentity: workflowId,
          leaseDurationSeconds: durationSeconds,
          renewTime: now,
          ...(renewing
            ? {}
            : { acquireTime: now, leaseTransitions: (lease.spec?.leaseTransitions ?? 0) + (holder ? 1 : 0) }),
        },
      });
      return renewing
        ? { outcome: 'renewed', renewTime: now }
        : { outcome: 'takenOver', ...(holder ? { previousHolder: holder } : {}), renewTime: now };
    }),
  );
}

/**
 * Renews the lease this workflow holds (even if it expired meanwhile, as long as nobody took it).
 * Gone or held by someone else: a non-retryable NodeLeaseLost failure.
 */
export async function renewNodeLease(
  client: KubeClient,
  { node, workflowId, durationSeconds }: NodeRef & { durationSeconds?: number },
): Promise<{ renewTime: string }> {
  return await kube(`renew lease for ${node}`, () =>
    onConflictRetry(async () => {
      const lease = await client.find(leasePath(node));
      const holder: string | undefined = lease?.spec?.holderIdentity;
      if (!lease || holder !== workflowId) {
        throw ApplicationFailure.create({
          type: 'NodeLeaseLost',
          message: lease && holder ? `lease of ${node} taken by ${cut(holder, 80)}` : `lease of ${node} is gone`,
          nonRetryable: true,
        });
      }
      const now = microTime(new Date());
      await client.patch(leasePath(node), {
        metadata: { resourceVersion: lease.metadata.resourceVersion },
        spec: { renewTime: now, ...(durationSeconds ? { leaseDurationSeconds: durationSeconds } : {}) },
      });
      return { renewTime: now };
    }),
  );
}

/** Deletes the lease if this workflow holds it (guarded by uid and resourceVersion); gone already = done. */
export async function releaseNodeLease(
  client: KubeClient,
  { node, workflowId }: NodeRef,
): Promise<{ released: boolean }> {
  return await kube(`release lease for ${node}`, () =>
    onConflictRetry(async () => {
      const lease = await client.find(leasePath(node));
      if (!lease || lease.spec?.holderIdentity !== workflowId) return { released: false };
      try {
        await client.delete(leasePath(node), undefined, {
          apiVersion: 'v1',
          kind: 'DeleteOptions',
          preconditions: { uid: lease.metadata.uid, resourceVersion: lease.metadata.resourceVersion },
        });
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
      return { released: true };
    }),
  );
}

// ---------------------------------------------------------------------------------------------------------------
// Events

export interface NodeEventInput {
  node: string;
  /** UpperCamelCase, e.g. MaintenanceStarted. */
  reason: string;
  message: string;
  type?: 'Normal' | 'Warning';
}

/**
 * A core/v1 Event on the Node, shown by `kubectl describe node` and `kubectl events --for node/<node>`: in
 * namespace default, involvedObject uid = node name (the kubelet's and node controller's convention).
 */
export async function recordNodeEvent(
  client: KubeClient,
  { node, reason, message, type = 'Normal' }: NodeEventInput,
): Promise<{ name: string }> {
  const now = new Date();
  const name = `${node}.${(BigInt(now.getTime()) * 1_000_000n + BigInt(Math.floor(Math.random() * 1e6))).toString(16)}`;
  await kube(`event on ${node}`, () =>
    client.create(paths.events('default'), {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name, namespace: 'default' },
      involvedObject: { apiVersion: 'v1', kind: 'Node', name: node, uid: node, namespace: '' },
      reason: cut(reason, 128),
      message: cut(message, 1024),
      type,
      source: { component: 'pitstop' },
      reportingComponent: 'pitstop',
      reportingInstance: 'pitstop',
      firstTimestamp: now.toISOString().replace(/\.\d+Z$/, 'Z'),
      lastTimestamp: now.toISOString().replace(/\.\d+Z$/, 'Z'),
      eventTime: null,
      count: 1,
    }),
  );
  return { name };
}

// ---------------------------------------------------------------------------------------------------------------
// Waiting for Ready / NotReady

export interface NodeReadiness {
  node: string;
  ready: boolean;
  /** The Ready condition's status; Missing when the Node object does not exist. */
  status: 'True' | 'False' | 'Unknown' | 'Missing';
  reason?: string;
  lastTransitionTime?: string;
}

export function nodeReadiness(node: string, object: KubeObject | undefined): NodeReadiness {
  if (!object) return { node, ready: false, status: 'Missing' };
  const condition = (object.status?.conditions ?? []).find((c: { type: string }) => c.type === 'Ready') as
    { status?: string; reason?: string; lastTransitionTime?: string } | undefined;
  const status = condition?.status === 'True' || condition?.status === 'False' ? condition.status : 'Unknown';
  return {
    node,
    ready: status === 'True',
    status,
    ...(condition?.reason ? { reason: condition.reason } : {}),
    ...(condition?.lastTransitionTime ? { lastTransitionTime: condition.lastTransitionTime } : {}),
  };
}

export interface WaitForNodeReadyInput {
  node: string;
  /** true: wait for Ready=True; false: wait for anything else (False, Unknown, node gone). */
  ready: boolean;
  timeoutMs: number;
  /** Called on every watch event and at least every HEARTBEAT_EVERY_MS (pass Temporal's Context heartbeat). */
  heartbeat?: (details: unknown) => void;
  /** Aborts the wait (pass Temporal's Context cancellationSignal). */
  signal?: AbortSignal;
}

export const HEARTBEAT_EVERY_MS = 5_000;

/**
 * Waits, driven by a watch on the one Node (list, then watch from the list's resourceVersion; resumed after the
 * stream ends, re-listed after 410 Gone or repeated failures), until its Ready condition is what is asked.
 * Resolves with the observed condition; rejects with a non-retryable NodeReadyTimeout failure at the deadline.
 */
export async function waitForNodeReady(
  client: KubeClient,
  { node, ready, timeoutMs, heartbeat, signal }: WaitForNodeReadyInput,
): Promise<NodeReadiness> {
  const deadline = Date.now() + timeoutMs;
  const wanted = ready ? 'Ready' : 'NotReady';
  const matches = (r: NodeReadiness) => r.ready === ready;
  const fieldSelector = `metadata.name=${node}`;
  let last: NodeReadiness | undefined;
  let resourceVersion = '';
  const beat = () => heartbeat?.({ node, waitingFor: wanted, observed: last?.status, resourceVersion });
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  signal?.addEventListener('abort', onAbort, { once: true });
  const timer = setTimeout(onAbort, timeoutMs);
  const ticker = setInterval(beat, HEARTBEAT_EVERY_MS);
  try {
    beat();
    let failures = 0;
    for (;;) {
      if (signal?.aborted)
        throw signal.reason instanceof Error ? signal.reason : new Error(`wait for ${node} cancelled`);
      if (Date.now() >= deadline) {
        const seen = last ? ` (Ready=${last.status}${last.reason ? `, ${last.reason}` : ''})` : '';
        throw ApplicationFailure.create({
          type: 'NodeReadyTimeout',
          message: `node ${node} ${ready ? 'not Ready' : 'still Ready'} after ${formatDuration(timeoutMs)}${seen}`,
          nonRetryable: true,
          details: last ? [last] : [],
        });
      }
      try {
        if (!resourceVersion) {
          const list = await client.list(paths.nodes(), { fieldSelector });
          resourceVersion = list.metadata.resourceVersion ?? '';
          last = nodeReadiness(node, list.items[0]);
          beat();
          if (matches(last)) return last;
        }
        const done = new AbortController();
        let matched: NodeReadiness | undefined;
        let gone = false;
        await client.watch(
          paths.nodes(),
          {
            fieldSelector,
            resourceVersion,
            // Short streams: a silently dead connection costs at most a minute.
            timeoutSeconds: Math.max(1, Math.min(60, Math.ceil((deadline - Date.now()) / 1000))),
          },
          (event) => {
            if (event.type === 'ERROR') {
              if (event.object.code === 410) gone = true;
              return;
            }
            resourceVersion = event.object.metadata.resourceVersion ?? resourceVersion;
            if (event.type === 'DELETED') last = nodeReadiness(node, undefined);
            else if (event.type !== 'BOOKMARK') last = nodeReadiness(node, event.object);
            beat();
            if (last && matches(last) && !matched) {
              matched = last;
              done.abort();
            }
          },
          AbortSignal.any([stop.signal, done.signal]),
        );
        if (matched) return matched;
        if (gone) resourceVersion = '';
        failures = 0;
      } catch (e) {
        if (e instanceof KubeApiError && e.statusCode !== 410 && e.statusCode < 500 && e.statusCode !== 429) {
          throw classify(e, `watch ${node}`);
        }
        if (e instanceof KubeApiError && e.statusCode === 410) resourceVersion = '';
        failures += 1;
        if (failures > 3) resourceVersion = '';
        await pause(Math.min(5000, 100 * 2 ** failures), stop.signal);
      }
    }
  } finally {
    clearTimeout(timer);
    clearInterval(ticker);
    signal?.removeEventListener('abort', onAbort);
  }
}
