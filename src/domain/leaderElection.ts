/**
 * Leader election for the NodeMaintenance controller's replicas, with a coordination.k8s.io Lease as client-go's
 * leaderelection package does it: the holder renews it every few seconds; another replica takes it once it has
 * expired (renewTime + leaseDurationSeconds in the past) or was released (holderIdentity empty). The decisions are
 * here, pure; src/controller/nodeMaintenance/leader.ts only reads and writes the Lease.
 */
import { isLive, leaseExpiry, microTime, type LeaseSpec } from './lease.js';

export interface ElectionConfig {
  identity: string;
  leaseDurationSeconds: number;
}

export type ElectionStep =
  /** No Lease yet: create it, held by us. */
  | { kind: 'create'; spec: LeaseSpec }
  /** Expired or released: take it over (a transition). */
  | { kind: 'take'; spec: LeaseSpec; from?: string }
  /** Ours: renew it. */
  | { kind: 'renew'; spec: LeaseSpec }
  /** Someone else holds it and it is live: follow, and look again later. */
  | { kind: 'follow'; holder: string; until?: number };

export function electionStep(lease: { spec?: LeaseSpec } | undefined, config: ElectionConfig, now: Date): ElectionStep {
  const { identity, leaseDurationSeconds } = config;
  const at = microTime(now);
  if (!lease) {
    return {
      kind: 'create',
      spec: { holderIdentity: identity, leaseDurationSeconds, acquireTime: at, renewTime: at, leaseTransitions: 0 },
    };
  }
  const holder = lease.spec?.holderIdentity ?? '';
  if (holder === identity)
    return { kind: 'renew', spec: { holderIdentity: identity, leaseDurationSeconds, renewTime: at } };
  if (isLive(lease, now.getTime())) return { kind: 'follow', holder, until: leaseExpiry(lease) };
  return {
    kind: 'take',
    spec: {
      holderIdentity: identity,
      leaseDurationSeconds,
      acquireTime: at,
      renewTime: at,
      leaseTransitions: (lease.spec?.leaseTransitions ?? 0) + 1,
    },
    ...(holder && { from: holder }),
  };
}

/**
 * Whether a leader whose last successful renew was at `renewedAt` must stop leading: past two thirds of the lease
 * duration (client-go's renewDeadline against its leaseDuration) another replica may be about to take it, and two
 * controllers must never act at once, so the leader stops before the Lease can expire.
 */
export const mustStepDown = (renewedAt: number, now: number, leaseDurationSeconds: number) =>
  now - renewedAt >= (leaseDurationSeconds * 1000 * 2) / 3;

/** What a leader that stops writes, so a follower takes over at once instead of waiting out the duration. */
export const releasedSpec = (): LeaseSpec => ({ holderIdentity: null, leaseDurationSeconds: 1 });
