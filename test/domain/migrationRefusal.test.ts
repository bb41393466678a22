// KubeVirt's answers to a VMIM create, as its migration-create admitter words them behind the API server's prefix,
// read into what Pitstop does about each.
import { describe, expect, it } from 'vitest';
import { readMigrationRefusal } from '../../src/domain/migrationRefusal.js';

const denied = (text: string) =>
  `admission webhook "migration-create-validator.kubevirt.io" denied the request: ${text}`;

describe('readMigrationRefusal', () => {
  it('reads a non-migratable VMI (HTTP 400) as NotMigratable with the condition reason and message', () => {
    const message = denied(
      'Cannot migrate VMI, Reason: DisksNotLiveMigratable, Message: cannot migrate VMI: PVC root is not shared',
    );
    expect(readMigrationRefusal(400, message)).toEqual({
      kind: 'NotMigratable',
      reason: 'DisksNotLiveMigratable',
      message: 'cannot migrate VMI: PVC root is not shared',
    });
  });

  it('reads a finished VMI as VmiNotRunning, in the current and the v0.20-v0.39 spelling', () => {
    for (const text of ['Cannot migrate VMI in finalized state.', 'Cannot migrated VMI in finalized state.']) {
      expect(readMigrationRefusal(400, denied(text))).toMatchObject({ kind: 'VmiNotRunning' });
    }
  });

  it('reads a migration already in flight as InFlight (to adopt), whichever uid it names', () => {
    const text =
      'in-flight migration detected. Active migration job (2b1c7a0e-0000-4000-8000-000000000000) is currently already in progress for VMI web.';
    expect(readMigrationRefusal(400, denied(text))).toEqual({ kind: 'InFlight' });
  });

  it('reads a missing VMI as VmiNotFound and any other admission refusal as MigrationRefused', () => {
    expect(readMigrationRefusal(400, denied('the VMI "vms/web" does not exist'))).toEqual({ kind: 'VmiNotFound' });
    expect(readMigrationRefusal(422, denied('vmiName is missing'))).toEqual({
      kind: 'MigrationRefused',
      message: 'vmiName is missing',
    });
    expect(
      readMigrationRefusal(400, 'admission webhook "policy.example" denied the request: no migrations on Fridays'),
    ).toEqual({
      kind: 'MigrationRefused',
      message: 'no migrations on Fridays',
    });
  });

  it('leaves what is not an admission refusal to the ordinary Kubernetes error handling', () => {
    expect(readMigrationRefusal(400, 'the body of the request was in an unknown format')).toBeUndefined();
    expect(readMigrationRefusal(429, denied('Eviction triggered evacuation of VMI "vms/web"'))).toBeUndefined();
    expect(readMigrationRefusal(500, denied('in-flight migration detected.'))).toBeUndefined();
  });
});
