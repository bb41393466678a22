// The node lease (medik8s convention: medik8s-leases/node-<node>): who holds it, taking, renewing, releasing it.
import { ApplicationFailure } from '@temporalio/common';
import { isAlreadyExists, isNotFound, paths, type KubeClient, type KubeObject } from '../../k8s/client.js';
import { MANAGED_BY_LABEL, NODE_LEASE, PITSTOP } from '../../domain/contract.js';
import type { LeaseHolder } from '../../domain/preflight.js';
import { isLive, leaseExpiry, microTime } from '../../domain/lease.js';
import { kube } from '../errors.js';
import { cut, onConflictRetry, type NodeRef } from './objects.js';

// Re-exported: the admission activity reads leases the same way.
export { isLive, leaseExpiry, microTime };

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

/** Who holds a node lease, if it is held and not expired: Pitstop (by its label) or another remediator. */
export function liveHolder(lease: KubeObject, now: number): LeaseHolder | undefined {
  if (!isLive(lease, now)) return undefined;
  const ours = lease.metadata.labels?.[MANAGED_BY_LABEL] === PITSTOP;
  return { holder: lease.spec.holderIdentity, source: ours ? 'pitstop' : 'medik8s' };
}

/** The current holder of the node's lease, if it is held and not expired. */
export async function nodeLeaseHolders(client: KubeClient, node: string, now = Date.now()): Promise<LeaseHolder[]> {
  const lease = await client.find(leasePath(node));
  const holder = lease && liveHolder(lease, now);
  return holder ? [holder] : [];
}

export async function ensureNamespace(client: KubeClient, name: string) {
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
            labels: { [MANAGED_BY_LABEL]: PITSTOP },
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
        metadata: { resourceVersion: lease.metadata.resourceVersion, labels: { [MANAGED_BY_LABEL]: PITSTOP } },
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
