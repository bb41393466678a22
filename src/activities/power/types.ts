// The power side of a maintenance: which provider switches a node's machine, what a reading says, and the
// failure types the power activities throw. Failures are short ApplicationFailures: configuration problems (no
// BareMetalHost, missing Secret, rejected credentials, untrusted certificate) are non-retryable; an unreachable or
// failing BMC is retryable.
import { ApplicationFailure } from '@temporalio/common';
import type { RedfishTarget } from '../../domain/request.js';

/** Failure types this module throws (ApplicationFailure.type). */
export const POWER_FAILURE = {
  noBareMetalHost: 'NoBareMetalHost',
  noRedfishTarget: 'NoRedfishTarget',
  secretNotFound: 'BmcSecretNotFound',
  secretInvalid: 'BmcSecretInvalid',
  credentialsRejected: 'BmcCredentialsRejected',
  certificateRejected: 'BmcCertificateRejected',
  unreachable: 'BmcUnreachable',
  bmcError: 'BmcError',
  requestRejected: 'BmcRequestRejected',
  systemAmbiguous: 'BmcSystemAmbiguous',
  actionFailed: 'PowerActionFailed',
  timeout: 'PowerTimeout',
  hostGone: 'BareMetalHostGone',
} as const;

export interface ObjectRef {
  namespace: string;
  name: string;
}

/** The power provider of one node, resolved in preflight. Carries references only, never credentials. */
export type ResolvedPowerProvider =
  { kind: 'metal3'; bmh: ObjectRef } | ({ kind: 'redfish' } & RedfishTarget) | { kind: 'none' };

/** What the BMC says. `state`: On | Off (Metal3), or Redfish's PowerState (On, Off, PoweringOn, PoweringOff, …). */
export interface PowerReading {
  poweredOn: boolean;
  state: string;
  /** Metal3: the BareMetalHost's error (operationalStatus error), shortened. */
  error?: string;
}

export const refText = (ref: ObjectRef) => `${ref.namespace}/${ref.name}`;
export const short = (text: string, max = 200) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

export function nonRetryable(type: string, message: string): ApplicationFailure {
  return ApplicationFailure.create({ type, message, nonRetryable: true });
}
export function retryable(type: string, message: string): ApplicationFailure {
  return ApplicationFailure.create({ type, message });
}
export const isFinal = (e: unknown) => e instanceof ApplicationFailure && e.nonRetryable;

export const describeProvider = (p: ResolvedPowerProvider) =>
  p.kind === 'metal3'
    ? `BareMetalHost ${refText(p.bmh)}`
    : p.kind === 'redfish'
      ? `BMC ${new URL(p.address).origin}`
      : 'no power provider';
