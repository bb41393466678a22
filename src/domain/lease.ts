// Reading a coordination.k8s.io Lease: when it expires and whether someone holds it. Shared by the node lease
// (medik8s convention, src/activities/node/lease.ts) and the NodeMaintenance controller's leader election.

export interface LeaseSpec {
  holderIdentity?: string | null;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

/** RFC 3339 with microseconds, the MicroTime form the API server writes: 2026-11-24T21:00:00.000000Z. */
export const microTime = (date: Date) => date.toISOString().replace(/Z$/, '000Z');

export function leaseExpiry(lease: { spec?: LeaseSpec }): number | undefined {
  const renewed = Date.parse(lease.spec?.renewTime ?? lease.spec?.acquireTime ?? '');
  const duration = (lease.spec?.leaseDurationSeconds ?? 0) * 1000;
  // Without a duration or a time a held lease never expires (as nodeLeaseHolders reads it).
  return Number.isFinite(renewed) && duration > 0 ? renewed + duration : undefined;
}

export const isLive = (lease: { spec?: LeaseSpec }, now: number) => {
  const expiry = leaseExpiry(lease);
  return !!lease.spec?.holderIdentity && (expiry === undefined || expiry >= now);
};
