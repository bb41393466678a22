// What KubeVirt means when it refuses to create a migration: the admitter's answer read into the one thing Pitstop
// does about it. Every KubeVirt release answers these with HTTP 400 (see KUBEVIRT_MIGRATION_ADMISSION); a 422 is
// its answer to an invalid spec, read the same way so nothing KubeVirt says is mistaken for a retryable error.
import { KUBEVIRT_MIGRATION_ADMISSION as ADMISSION } from './contract.js';

export type MigrationRefusal =
  /** A migration is already in flight: adopt it rather than fail. */
  | { kind: 'InFlight' }
  /** The VMI's LiveMigratable condition is False: `reason` is its condition reason (DisksNotLiveMigratable, ...). */
  | { kind: 'NotMigratable'; reason: string; message: string }
  /** The VMI has Succeeded or Failed. */
  | { kind: 'VmiNotRunning'; message: string }
  | { kind: 'VmiNotFound' }
  /** Any other admission refusal (another policy webhook, a spec KubeVirt finds invalid). */
  | { kind: 'MigrationRefused'; message: string };

const DENIED = /^.*?denied the request:\s*/s;

/**
 * Reads an API answer to a VMIM create. Undefined when it is not an admission refusal (a 400 the API server gives
 * for other reasons), which the caller classifies as any Kubernetes error.
 */
export function readMigrationRefusal(statusCode: number, message: string): MigrationRefusal | undefined {
  if ((statusCode !== 400 && statusCode !== 422) || !DENIED.test(message)) return undefined;
  const text = message.replace(DENIED, '').trim();
  if (ADMISSION.inFlight.test(text)) return { kind: 'InFlight' };
  const notMigratable = ADMISSION.notMigratable.exec(text);
  if (notMigratable) {
    return { kind: 'NotMigratable', reason: notMigratable[1] ?? '', message: (notMigratable[2] ?? '').trim() };
  }
  if (ADMISSION.finalized.test(text))
    return { kind: 'VmiNotRunning', message: 'the VMI has finished (Succeeded or Failed)' };
  if (ADMISSION.vmiMissing.test(text)) return { kind: 'VmiNotFound' };
  return { kind: 'MigrationRefused', message: text };
}
