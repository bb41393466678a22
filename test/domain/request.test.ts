import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../src/domain/errors.js';
import { DEFAULT_POLICY, parseMaintenanceRequest, toMaintenanceInput } from '../../src/domain/request.js';

/** The issues parseMaintenanceRequest reports for `input` (fails the test if it accepts it). */
function issuesOf(input: unknown): string[] {
  try {
    parseMaintenanceRequest(input);
  } catch (error) {
    if (error instanceof InvalidInputError) return error.issues;
    throw error;
  }
  throw new Error('expected the input to be rejected');
}

const redfish = {
  address: 'https://10.0.0.5',
  credentialsSecret: { namespace: 'pitstop', name: 'bmc-worker-3' },
};

describe('parseMaintenanceRequest: defaults', () => {
  it('fills every default from just a node name', () => {
    const request = parseMaintenanceRequest({ node: 'worker-3', reason: 'NIC swap' });
    expect(request).toEqual({
      node: 'worker-3',
      reason: 'NIC swap',
      mode: 'auto',
      power: 'auto',
      hold: 'untilReleased',
      dryRun: false,
      admission: 'wait',
      policy: DEFAULT_POLICY,
    });
    expect(request).not.toHaveProperty('redfish');
    expect(request).not.toHaveProperty('requestedBy');
  });

  it('has the documented default policy, durations in milliseconds', () => {
    expect(DEFAULT_POLICY).toEqual({
      parallelMigrations: 2,
      migration: { attempts: 3, timeoutMs: 15 * 60_000, pendingTimeoutMs: 5 * 60_000, retryBackoffMs: 10_000 },
      shutdown: { timeoutMs: 5 * 60_000 },
      external: { timeoutMs: 30 * 60_000 },
      drain: {
        timeoutMs: 30 * 60_000,
        deleteEmptyDirData: false,
        evictUnmanagedPods: false,
        evictionRetryIntervalMs: 5000,
      },
      power: { offTimeoutMs: 10 * 60_000, onTimeoutMs: 15 * 60_000 },
      hold: { deadlineMs: 72 * 3_600_000, reminderEveryMs: 3_600_000 },
      ready: { timeoutMs: 20 * 60_000 },
      restore: { timeoutMs: 15 * 60_000 },
      repair: {
        notReadyForMs: 5 * 60_000,
        recoverTimeoutMs: 15 * 60_000,
        podsGoneTimeoutMs: 5 * 60_000,
        startManual: true,
      },
      escalation: { onNonMigratable: 'ask', decisionTimeoutMs: 4 * 3_600_000, onTimeout: 'abort' },
      capacity: { onNoRoom: 'refuse', waitTimeoutMs: 3_600_000 },
      overallTimeoutMs: 7 * 86_400_000,
    });
  });

  it('merges policy overrides deeply, keeping the sibling defaults', () => {
    const request = parseMaintenanceRequest({
      node: 'worker-3',
      policy: {
        parallelMigrations: 4,
        migration: { timeout: '30m' },
        drain: { deleteEmptyDirData: true },
        escalation: { onNonMigratable: 'shutdown' },
      },
    });
    expect(request.policy.parallelMigrations).toBe(4);
    expect(request.policy.migration).toEqual({
      attempts: 3,
      timeoutMs: 30 * 60_000,
      pendingTimeoutMs: 5 * 60_000,
      retryBackoffMs: 10_000,
    });
    expect(request.policy.drain.deleteEmptyDirData).toBe(true);
    expect(request.policy.drain.evictionRetryIntervalMs).toBe(5000);
    expect(request.policy.escalation).toEqual({
      onNonMigratable: 'shutdown',
      decisionTimeoutMs: 4 * 3_600_000,
      onTimeout: 'abort',
    });
    expect(request.policy.hold).toEqual(DEFAULT_POLICY.hold);
  });

  it('accepts a full redfish target and a reboot without hold', () => {
    const request = parseMaintenanceRequest({
      node: 'worker-3.rack-2',
      requestedBy: 'alice',
      power: 'redfish',
      redfish: { ...redfish, address: 'https://bmc-3.example.com:8443', systemId: '1', insecureSkipVerify: true },
      hold: 'none',
      dryRun: true,
    });
    expect(request.redfish).toEqual({
      address: 'https://bmc-3.example.com:8443',
      systemId: '1',
      credentialsSecret: { namespace: 'pitstop', name: 'bmc-worker-3' },
      insecureSkipVerify: true,
    });
    expect(request.hold).toBe('none');
    expect(request.dryRun).toBe(true);
    expect(request.requestedBy).toBe('alice');
  });

  it('turns a request back into input that parses to the same request', () => {
    const request = parseMaintenanceRequest({
      node: 'worker-3',
      reason: 'BIOS update',
      power: 'redfish',
      redfish,
      policy: { migration: { timeout: '1h30m', retryBackoff: '1.5s' }, hold: { deadline: '36h' } },
    });
    const input = toMaintenanceInput(request);
    expect(input.policy?.migration?.timeout).toBe('1h30m');
    expect(input.policy?.hold?.deadline).toBe('1d12h');
    expect(parseMaintenanceRequest(input)).toEqual(request);
    expect(parseMaintenanceRequest(JSON.parse(JSON.stringify(input)))).toEqual(request);
  });

  it('defaults insecureSkipVerify to false', () => {
    expect(parseMaintenanceRequest({ node: 'w1', power: 'redfish', redfish }).redfish?.insecureSkipVerify).toBe(false);
  });
});

describe('parseMaintenanceRequest: errors', () => {
  it('refuses input that is not an object', () => {
    expect(issuesOf(null)).toEqual(['input: expected a JSON object like {"node": "worker-3"}, got null']);
    expect(issuesOf([{ node: 'w1' }])).toEqual(['input: expected a JSON object like {"node": "worker-3"}, got a list']);
    expect(issuesOf(undefined)).toEqual(['input: expected a JSON object like {"node": "worker-3"}, got nothing']);
  });

  it('guesses what a bare node name meant', () => {
    expect(issuesOf('worker-3')).toEqual([
      'input: expected a JSON object (did you mean {"node": "worker-3"}?), got "worker-3"',
    ]);
  });

  it('requires node, with an example', () => {
    expect(issuesOf({ reason: 'disk' })).toEqual([
      'node: required (the name of the Node to maintain, e.g. {"node": "worker-3"})',
    ]);
  });

  it('rejects a node name Kubernetes would reject', () => {
    expect(issuesOf({ node: 'worker_3' })).toEqual([
      'node: "worker_3" is not a valid node name: use lowercase letters, digits, "-" and ".", starting and ending with a letter or digit',
    ]);
    expect(issuesOf({ node: 'Worker-3' })[0]).toContain('(did you mean "worker-3"?)');
    expect(issuesOf({ node: 'a'.repeat(254) })[0]).toMatch(/^node: "a+\.\.\." is longer than 253 characters$/);
    expect(issuesOf({ node: 42 })).toEqual(['node: expected text, got 42']);
    expect(issuesOf({ node: 'w1', reason: 'x'.repeat(1025) })).toEqual(['reason: must be at most 1024 characters']);
  });

  it('names the field of a malformed duration', () => {
    expect(issuesOf({ node: 'w1', policy: { migration: { timeout: '5 minutes' } } })).toEqual([
      'policy.migration.timeout: "5 minutes" is not a duration (use e.g. 30s, 5m, 1h30m)',
    ]);
    expect(issuesOf({ node: 'w1', policy: { hold: { deadline: 3600 } } })).toEqual([
      'policy.hold.deadline: 3600 is not a duration: add a unit (e.g. 3600s, 3600m or 3600h)',
    ]);
  });

  it('refuses zero and absurdly long durations', () => {
    expect(issuesOf({ node: 'w1', policy: { drain: { evictionRetryInterval: '0s' } } })).toEqual([
      'policy.drain.evictionRetryInterval: must be longer than 0s',
    ]);
    expect(issuesOf({ node: 'w1', policy: { overallTimeout: '72000h' } })).toEqual([
      'policy.overallTimeout: "72000h" is longer than a year',
    ]);
  });

  it('gives the allowed range of numbers', () => {
    expect(issuesOf({ node: 'w1', policy: { parallelMigrations: 50 } })).toEqual([
      'policy.parallelMigrations: 50 is out of range (1 to 20)',
    ]);
    expect(issuesOf({ node: 'w1', policy: { migration: { attempts: 0 } } })).toEqual([
      'policy.migration.attempts: 0 is out of range (1 to 20)',
    ]);
    expect(issuesOf({ node: 'w1', policy: { parallelMigrations: 1.5 } })).toEqual([
      'policy.parallelMigrations: expected a whole number from 1 to 20, got 1.5',
    ]);
    expect(issuesOf({ node: 'w1', policy: { parallelMigrations: '2' } })).toEqual([
      'policy.parallelMigrations: expected a whole number from 1 to 20, got "2"',
    ]);
  });

  it('lists the allowed values of an enum, and suggests the likely one', () => {
    expect(issuesOf({ node: 'w1', power: 'ipmi' })).toEqual([
      'power: "ipmi" is not one of auto, metal3, redfish, none',
    ]);
    expect(issuesOf({ node: 'w1', hold: 'UntilReleased' })).toEqual([
      'hold: "UntilReleased" is not one of untilReleased, none (did you mean "untilReleased"?)',
    ]);
    expect(issuesOf({ node: 'w1', policy: { escalation: { onTimeout: 'ask' } } })).toEqual([
      'policy.escalation.onTimeout: "ask" is not one of abort, shutdown',
    ]);
    expect(issuesOf({ node: 'w1', policy: { capacity: { onNoRoom: 'Shutdown' } } })).toEqual([
      'policy.capacity.onNoRoom: "Shutdown" is not one of refuse, wait, shutdown (did you mean "shutdown"?)',
    ]);
  });

  it('rejects unknown fields, suggesting the one probably meant', () => {
    expect(issuesOf({ node: 'w1', policy: { migrations: { attempts: 5 } } })).toEqual([
      'policy.migrations: unknown field (did you mean "migration"?)',
    ]);
    expect(issuesOf({ node: 'w1', policy: { migration: { timeoutMs: 1000 } } })).toEqual([
      'policy.migration.timeoutMs: unknown field (did you mean "timeout"?)',
    ]);
    expect(issuesOf({ node: 'w1', colour: 'blue' })).toEqual(['colour: unknown field']);
  });

  it('rejects a password anywhere, pointing to the Secret, and never repeats it', () => {
    const issues = issuesOf({ node: 'w1', power: 'redfish', redfish: { ...redfish, password: 'hunter2' } });
    expect(issues).toEqual([
      'redfish.password: not accepted: credentials never go in the input; put them in a Secret and name it in redfish.credentialsSecret',
    ]);
    expect(issuesOf({ node: 'w1', token: 'abc' })[0]).toMatch(
      /^token: not accepted: credentials never go in the input/,
    );
    expect(JSON.stringify(issuesOf({ node: 'w1', bmcPassword: 'hunter2' }))).not.toContain('hunter2');
  });

  it('rejects credentials inside the BMC address without repeating them', () => {
    const issues = issuesOf({
      node: 'w1',
      power: 'redfish',
      redfish: { ...redfish, address: 'https://root:hunter2@10.0.0.5' },
    });
    expect(issues).toEqual([
      'redfish.address: must not contain credentials: put them in the Secret named in redfish.credentialsSecret',
    ]);
  });

  it('requires https for the BMC', () => {
    expect(issuesOf({ node: 'w1', power: 'redfish', redfish: { ...redfish, address: 'http://10.0.0.5' } })).toEqual([
      'redfish.address: must use https, not http: the BMC password travels over it',
    ]);
    expect(issuesOf({ node: 'w1', power: 'redfish', redfish: { ...redfish, address: '10.0.0.5' } })).toEqual([
      'redfish.address: "10.0.0.5" is not a URL (expected e.g. "https://10.0.0.5")',
    ]);
  });

  it('requires redfish when power is redfish', () => {
    expect(issuesOf({ node: 'w1', power: 'redfish' })).toEqual([
      'redfish: required when power is "redfish" ({"address": "https://...", "credentialsSecret": {...}})',
    ]);
  });

  it('refuses redfish settings that would be ignored', () => {
    expect(issuesOf({ node: 'w1', power: 'metal3', redfish })).toEqual([
      'redfish: only used when power is "redfish" (power is "metal3")',
    ]);
  });

  it('reports the missing parts of the redfish target', () => {
    expect(
      issuesOf({ node: 'w1', power: 'redfish', redfish: { credentialsSecret: { namespace: 'Pitstop' } } }),
    ).toEqual([
      'redfish.address: required (the BMC URL, e.g. "https://10.0.0.5")',
      'redfish.credentialsSecret.namespace: "Pitstop" is not a valid namespace name: use lowercase letters, digits and "-", starting and ending with a letter or digit (did you mean "pitstop"?)',
      'redfish.credentialsSecret.name: required',
    ]);
  });

  it('rejects waits longer than the overall timeout', () => {
    expect(issuesOf({ node: 'w1', policy: { hold: { deadline: '10d' } } })).toEqual([
      'policy.hold.deadline: 10d is longer than policy.overallTimeout (7d)',
    ]);
    expect(
      parseMaintenanceRequest({ node: 'w1', policy: { hold: { deadline: '10d' }, overallTimeout: '14d' } }).policy.hold
        .deadlineMs,
    ).toBe(10 * 86_400_000);
  });

  it('reports every problem at once, each starting with its path', () => {
    const error = (() => {
      try {
        parseMaintenanceRequest({
          node: 'Worker_3',
          power: 'ipmi',
          dryRun: 'yes',
          policy: { parallelMigrations: 0, migration: { timeout: '5 minutes' }, hold: 'forever' },
          pasword: 'x',
        });
      } catch (caught) {
        return caught as InvalidInputError;
      }
      throw new Error('expected a rejection');
    })();
    expect(error.issues.map((issue) => issue.slice(0, issue.indexOf(':')))).toEqual([
      'node',
      'power',
      'dryRun',
      'policy.parallelMigrations',
      'policy.migration.timeout',
      'policy.hold',
      'pasword',
    ]);
    expect(error.issues).toContain('dryRun: expected true or false, got "yes"');
    expect(error.issues).toContain('policy.hold: expected an object, got "forever"');
    expect(error.issues).toContain(
      'pasword: not accepted: credentials never go in the input; put them in a Secret and name it in redfish.credentialsSecret',
    );
    expect(error.message).toMatch(/^7 problems in the input:\n- node: /);
  });
});
