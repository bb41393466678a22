// The admission's critical section: serialized on one Lease (optimistic concurrency on its resourceVersion), it reads
// the cluster, decides with decideAdmission, and takes the admitted node's lease before it lets go. So two
// maintenances that each fit alone but not together can never both be admitted: the second reads the first's lease.
import { ApplicationFailure } from '@temporalio/common';
import {
  decideAdmission,
  downBecause,
  type AdmissionKind,
  type AdmissionLimits,
  type AdmissionVerdict,
} from '../../domain/admission.js';
import type { LeaseHolder } from '../../domain/clusterSnapshot.js';
import { ADMISSION_LEASE, MANAGED_BY_LABEL, NODE_LEASE, PITSTOP } from '../../domain/contract.js';
import { isConflict, isAlreadyExists, isNotFound, paths, type KubeClient, type KubeObject } from '../../k8s/client.js';
import { kube } from '../errors.js';
import { vmsOnNode } from '../kubevirt/facts.js';
import { describeNodes } from './facts.js';
import { acquireNodeLease, ensureNamespace, isLive, liveHolder, microTime } from './lease.js';

export interface AdmissionInput {
  node: string;
  workflowId: string;
  kind: AdmissionKind;
  /** The target's VMIs ("ns/name") that need room elsewhere, per the preflight plan. */
  moving: string[];
  /** The node lease's duration when admitted. */
  durationSeconds: number;
  /** Decide only: take nothing (a dry run). */
  dryRun?: boolean;
}

/** Long enough for one read of the cluster; a crashed holder blocks admissions at most this long. */
const CRITICAL_SECTION_SECONDS = 30;
const admissionPath = paths.lease(ADMISSION_LEASE.namespace, ADMISSION_LEASE.name);

const busy = (holder: string) =>
  ApplicationFailure.create({
    type: 'AdmissionBusy',
    message: `another admission (${holder}) is deciding; asking again`,
  });

/** Takes the admission Lease or fails retryably (the activity's retry is the backoff). */
async function enter(client: KubeClient, workflowId: string): Promise<void> {
  const now = microTime(new Date());
  const spec = { holderIdentity: workflowId, leaseDurationSeconds: CRITICAL_SECTION_SECONDS, renewTime: now };
  const lease = await client.find(admissionPath);
  if (!lease) {
    const body = {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { ...ADMISSION_LEASE, labels: { [MANAGED_BY_LABEL]: PITSTOP } },
      spec: { ...spec, acquireTime: now },
    };
    try {
      await client.create(paths.leases(ADMISSION_LEASE.namespace), body);
    } catch (e) {
      if (isAlreadyExists(e)) throw busy('just taken');
      if (!isNotFound(e)) throw e;
      await ensureNamespace(client, ADMISSION_LEASE.namespace);
      await client.create(paths.leases(ADMISSION_LEASE.namespace), body);
    }
    return;
  }
  const holder: string = lease.spec?.holderIdentity ?? '';
  if (holder && holder !== workflowId && isLive(lease, Date.now())) throw busy(holder);
  try {
    // The resourceVersion makes this a compare-and-swap: of two takers of a free lease, one gets 409 Conflict.
    await client.patch(admissionPath, {
      metadata: { resourceVersion: lease.metadata.resourceVersion },
      spec: { ...spec, acquireTime: now },
    });
  } catch (e) {
    if (isConflict(e)) throw busy('just taken');
    throw e;
  }
}

/** Empties the admission Lease if we hold it (kept, so its resourceVersion keeps serializing). */
async function leave(client: KubeClient, workflowId: string): Promise<void> {
  const lease = await client.find(admissionPath);
  if (!lease || lease.spec?.holderIdentity !== workflowId) return;
  try {
    await client.patch(admissionPath, {
      metadata: { resourceVersion: lease.metadata.resourceVersion },
      spec: { holderIdentity: null },
    });
  } catch (e) {
    // Someone took it over after expiry, or it was deleted: it is not ours any more.
    if (!isConflict(e) && !isNotFound(e)) throw e;
  }
}

/** Live holders of every node lease in the medik8s lease namespace, by node. */
async function nodeHolders(client: KubeClient, now: number): Promise<Record<string, LeaseHolder>> {
  const { items: leases } = await client.list<KubeObject>(paths.leases(NODE_LEASE.namespace));
  const holders: Record<string, LeaseHolder> = {};
  for (const lease of leases) {
    const node = NODE_LEASE.nodeOf(lease.metadata.name ?? '');
    const holder = node && liveHolder(lease, now);
    if (holder) holders[node] = holder;
  }
  return holders;
}

/**
 * Asks the admission once. Admitted (and not a dry run): the node's lease is ours when this returns. Not admitted:
 * nothing changed; the verdict says why.
 */
export async function admitMaintenance(
  client: KubeClient,
  limits: AdmissionLimits,
  requestedMemory: Parameters<typeof describeNodes>[1],
  input: AdmissionInput,
): Promise<AdmissionVerdict> {
  return await kube(`admission of ${input.node}`, async () => {
    if (!input.dryRun) await enter(client, input.workflowId);
    try {
      const [nodes, holders] = await Promise.all([
        describeNodes(client, requestedMemory),
        nodeHolders(client, Date.now()),
      ]);
      // Our own lease (a retried activity that already took it) is no obstacle.
      if (holders[input.node]?.holder === input.workflowId) delete holders[input.node];
      const down = nodes.filter(
        (n) => n.name !== input.node && !n.controlPlane && downBecause(n, holders[n.name]) !== undefined,
      );
      const [targetVms, ...downVms] = await Promise.all([
        vmsOnNode(client, input.node),
        ...down.map((n) => vmsOnNode(client, n.name)),
      ]);
      const moving = new Set(input.moving);
      const verdict = decideAdmission(
        {
          target: input.node,
          workflowId: input.workflowId,
          kind: input.kind,
          nodes,
          holders,
          moving: (targetVms ?? []).filter((vm) => moving.has(`${vm.namespace}/${vm.name}`)),
          leaving: downVms.flat().filter((vm) => vm.phase !== 'Succeeded' && vm.phase !== 'Failed'),
        },
        limits,
      );
      if (verdict.admit && !input.dryRun) {
        await acquireNodeLease(client, {
          node: input.node,
          workflowId: input.workflowId,
          durationSeconds: input.durationSeconds,
        });
      }
      return verdict;
    } finally {
      if (!input.dryRun) await leave(client, input.workflowId);
    }
  });
}
