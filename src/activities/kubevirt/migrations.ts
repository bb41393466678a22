// Starting a live migration, or adopting the one in flight: one VMIM per attempt, named so a retry finds it.
import { createHash } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import { KubeApiError, isAlreadyExists, type KubeClient, type KubeObject } from '../../k8s/client.js';
import { MANAGED_BY_LABEL, PITSTOP, VMI_NAME_LABEL, WORKFLOW_ID_LABEL } from '../../domain/contract.js';
import { readMigrationRefusal, type MigrationRefusal } from '../../domain/migrationRefusal.js';
import { classify, kube } from '../errors.js';
import { isFinalMigration, vmimPath } from './objects.js';

const shortHash = (text: string, length: number) => createHash('sha256').update(text).digest('hex').slice(0, length);

/** A label value from any string: kept when valid, else sanitized, cut and made unique with a hash. */
export function labelValue(text: string): string {
  if (/^([A-Za-z0-9]([A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?)?$/.test(text)) return text;
  const cleaned = text
    .replace(/[^A-Za-z0-9_.-]+/g, '-')
    .slice(0, 54)
    .replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, '');
  return cleaned ? `${cleaned}-${shortHash(text, 8)}` : shortHash(text, 8);
}

/**
 * The name of the migration Pitstop creates for one attempt: `pitstop-<vmi>-<attempt>-<hash>`, at most 63
 * characters. Deterministic, so a retried activity finds the object an earlier try created; the hash of the
 * workflow (and run) id keeps a later maintenance by the same workflow id from mistaking an old VMIM for its own.
 */
export function migrationName(input: { vmi: string; attempt: number; workflowId: string; runId?: string }): string {
  const suffix = `-${input.attempt}-${shortHash(`${input.workflowId}\n${input.runId ?? ''}`, 6)}`;
  const room = 63 - 'pitstop-'.length - suffix.length;
  const vmi = input.vmi.slice(0, room).replace(/[^a-z0-9]+$/, '');
  return `pitstop-${vmi}${suffix}`;
}

export interface StartMigrationInput {
  namespace: string;
  vmi: string;
  workflowId: string;
  /** The workflow run id, if known: part of the migration's name (see migrationName). */
  runId?: string;
  attempt: number;
}

export interface StartedMigration {
  name: string;
  /** True when a migration someone else started (e.g. kubevirt-evacuation-*) was already in flight. */
  adopted: boolean;
}

async function inFlightMigrationOf(client: KubeClient, ns: string, vmi: string): Promise<KubeObject | undefined> {
  const list = await client.list(vmimPath(ns), { labelSelector: `${VMI_NAME_LABEL}=${vmi}` });
  return list.items
    .filter((m) => m.spec?.vmiName === vmi && !isFinalMigration(m))
    .sort((a, b) => Number(!!a.metadata.deletionTimestamp) - Number(!!b.metadata.deletionTimestamp))[0];
}

/** KubeVirt's admission refusal, as a short non-retryable failure of its own type. */
function refusalFailure(refusal: Exclude<MigrationRefusal, { kind: 'InFlight' }>, ns: string, vmi: string) {
  const what = `cannot migrate ${ns}/${vmi}`;
  switch (refusal.kind) {
    case 'NotMigratable':
      return ApplicationFailure.create({
        message: `${what}: ${refusal.reason}`,
        type: 'NotMigratable',
        nonRetryable: true,
        details: [refusal.reason],
      });
    case 'VmiNotRunning':
      return ApplicationFailure.create({
        message: `${what}: ${refusal.message}`,
        type: 'VmiNotRunning',
        nonRetryable: true,
      });
    case 'VmiNotFound':
      return ApplicationFailure.create({
        message: `${what}: the VMI does not exist`,
        type: 'VmiNotFound',
        nonRetryable: true,
      });
    case 'MigrationRefused':
      return ApplicationFailure.create({
        message: `${what}: ${refusal.message.slice(0, 160)}`,
        type: 'MigrationRefused',
        nonRetryable: true,
      });
  }
}

/**
 * Starts a live migration of a VMI, or adopts the one already in flight (a KubeVirt evacuation, or ours from an
 * earlier try). The VMIM's name is deterministic, so a retry never creates a second one.
 * KubeVirt's refusal (HTTP 400: not migratable, finished, missing) is a non-retryable failure with its short reason;
 * its "in-flight migration detected" refusal means one started meanwhile, which is adopted.
 */
export async function startMigration(client: KubeClient, input: StartMigrationInput): Promise<StartedMigration> {
  const { namespace: ns, vmi } = input;
  const name = migrationName(input);
  const what = `migrating ${ns}/${vmi}`;
  for (let round = 0; round < 3; round++) {
    const inFlight = await kube(what, () => inFlightMigrationOf(client, ns, vmi));
    if (inFlight) {
      if (inFlight.metadata.deletionTimestamp) {
        throw ApplicationFailure.create({
          message: `${what}: migration ${inFlight.metadata.name} is being cancelled`,
          type: 'MigrationCancelling',
        });
      }
      return { name: inFlight.metadata.name, adopted: inFlight.metadata.name !== name };
    }
    try {
      await client.create(vmimPath(ns), {
        apiVersion: 'kubevirt.io/v1',
        kind: 'VirtualMachineInstanceMigration',
        metadata: {
          name,
          namespace: ns,
          labels: {
            [VMI_NAME_LABEL]: vmi,
            [WORKFLOW_ID_LABEL]: labelValue(input.workflowId),
            [MANAGED_BY_LABEL]: PITSTOP,
          },
          annotations: { [WORKFLOW_ID_LABEL]: input.workflowId },
        },
        spec: { vmiName: vmi },
      });
      return { name, adopted: false };
    } catch (e) {
      if (isAlreadyExists(e)) {
        // An earlier try created it (and it may have finished since): it is ours.
        const existing = await kube(what, () => client.get(vmimPath(ns, name)));
        if (existing.spec?.vmiName !== vmi) {
          throw ApplicationFailure.create({
            message: `${what}: migration ${name} exists for VMI ${String(existing.spec?.vmiName)}`,
            type: 'MigrationNameTaken',
            nonRetryable: true,
          });
        }
        return { name, adopted: false };
      }
      const refusal = e instanceof KubeApiError ? readMigrationRefusal(e.statusCode, e.message) : undefined;
      if (refusal?.kind === 'InFlight') continue; // one started meanwhile: adopt it
      if (refusal) throw refusalFailure(refusal, ns, vmi);
      throw classify(e, what);
    }
  }
  throw ApplicationFailure.create({ message: `${what}: migrations keep appearing and ending`, type: 'MigrationRace' });
}
