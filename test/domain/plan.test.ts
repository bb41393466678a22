import { describe, expect, it } from 'vitest';
import { planNode, planVm, restoreSteps } from '../../src/domain/plan.js';
import { formatPlanSummary, summarizePlan } from '../../src/domain/planSummary.js';
import { effectiveStrategy } from '../../src/domain/vmFacts.js';
import { DEFAULT_POLICY } from '../../src/domain/request.js';
import { policyWith, rwoVm, vm } from './fixtures.js';

const policy = DEFAULT_POLICY;

describe('effective eviction strategy', () => {
  it("prefers the VMI's own strategy, then the cluster default, then None", () => {
    expect(effectiveStrategy(vm({ evictionStrategy: 'LiveMigrateIfPossible' }), 'LiveMigrate')).toBe(
      'LiveMigrateIfPossible',
    );
    expect(effectiveStrategy(vm({ evictionStrategy: undefined }), 'LiveMigrate')).toBe('LiveMigrate');
    expect(effectiveStrategy(vm({ evictionStrategy: undefined }), undefined)).toBe('None');
  });

  it('says in the reason when the strategy came from the cluster default', () => {
    const plan = planVm(vm({ evictionStrategy: undefined }), 'LiveMigrate', policy);
    expect(plan.action).toBe('migrate');
    expect(plan.strategy).toBe('LiveMigrate');
    expect(plan.reason).toMatch(/^evictionStrategy LiveMigrate \(cluster default\): migrate it/);
  });

  it('shuts a VM down when neither VMI nor cluster name a strategy', () => {
    const plan = planVm(vm({ evictionStrategy: undefined }), undefined, policy);
    expect(plan).toMatchObject({ action: 'shutdown', restore: 'afterMaintenance', strategy: 'None' });
  });
});

describe('decision table', () => {
  it('LiveMigrate + migratable: migrate, escalate if that fails', () => {
    expect(planVm(vm(), undefined, policy)).toEqual({
      vmi: 'apps/web',
      action: 'migrate',
      onMigrationFailure: 'escalate',
      restore: 'afterMaintenance',
      allowedDecisions: ['shutdown', 'retry', 'delete'],
      reason: 'evictionStrategy LiveMigrate: migrate it; if that fails for good, ask an operator.',
      strategy: 'LiveMigrate',
    });
  });

  it('LiveMigrate + not migratable: escalate at once, asking', () => {
    const plan = planVm(rwoVm(), undefined, policy);
    expect(plan).toMatchObject({
      vmi: 'apps/db',
      action: 'escalate',
      onEscalation: 'ask',
      allowedDecisions: ['shutdown', 'delete'],
    });
    expect(plan.reason).toBe(
      'evictionStrategy LiveMigrate but not live-migratable (DisksNotLiveMigratable: cannot migrate VMI: PVC db-root ' +
        'is not shared, live migration requires that all PVCs must be...): it would block the drain forever; ' +
        'an operator must decide (shutdown or delete) within 4h, else roll back.',
    );
  });

  it('LiveMigrate + not migratable, policy onNonMigratable=shutdown: shut down, restore after maintenance', () => {
    const plan = planVm(rwoVm(), undefined, policyWith({ onNonMigratable: 'shutdown' }));
    expect(plan).toMatchObject({ action: 'shutdown', restore: 'afterMaintenance', allowedDecisions: [] });
    expect(plan.reason).toContain(
      'policy escalation.onNonMigratable=shutdown: shut it down and restart it after maintenance',
    );
  });

  it('LiveMigrate + not migratable, policy onNonMigratable=abort: an escalation that aborts', () => {
    const plan = planVm(rwoVm(), undefined, policyWith({ onNonMigratable: 'abort' }));
    expect(plan).toMatchObject({ action: 'escalate', onEscalation: 'abort' });
    expect(plan.reason).toContain('policy escalation.onNonMigratable=abort: maintenance cannot proceed');
  });

  it('LiveMigrateIfPossible + migratable: migrate, shut down if that fails, no question', () => {
    const plan = planVm(vm({ evictionStrategy: 'LiveMigrateIfPossible' }), undefined, policy);
    expect(plan).toMatchObject({
      action: 'migrate',
      onMigrationFailure: 'shutdown',
      restore: 'afterMaintenance',
      allowedDecisions: [],
    });
  });

  it('LiveMigrateIfPossible + not migratable: shut down, restore after maintenance', () => {
    const plan = planVm(rwoVm({ evictionStrategy: 'LiveMigrateIfPossible' }), undefined, policy);
    expect(plan).toMatchObject({ action: 'shutdown', restore: 'afterMaintenance' });
    expect(plan.reason).toMatch(
      /^evictionStrategy LiveMigrateIfPossible, not live-migratable \(DisksNotLiveMigratable/,
    );
  });

  it('None: shut down gracefully even when it could migrate', () => {
    const plan = planVm(vm({ evictionStrategy: 'None' }), 'LiveMigrate', policy);
    expect(plan).toMatchObject({ action: 'shutdown', restore: 'afterMaintenance', strategy: 'None' });
    expect(plan.reason).toBe('evictionStrategy None: shut it down gracefully and restart it after maintenance.');
  });

  it('External: wait for the external controller, then escalate', () => {
    const plan = planVm(vm({ evictionStrategy: 'External' }), undefined, policy);
    expect(plan).toMatchObject({ action: 'awaitExternal', allowedDecisions: ['shutdown', 'retry', 'delete'] });
    expect(plan.reason).toBe(
      'evictionStrategy External: wait up to 30m for its controller to move it, then ask an operator.',
    );
  });

  it('an unknown strategy is escalated rather than guessed', () => {
    const plan = planVm(vm({ evictionStrategy: 'Teleport' }), undefined, policy);
    expect(plan.action).toBe('escalate');
    expect(plan.reason).toMatch(/^unknown evictionStrategy "Teleport"/);
  });

  it('names the timeout choice in the question', () => {
    const plan = planVm(rwoVm(), undefined, policyWith({ onTimeout: 'shutdown', decisionTimeoutMs: 30 * 60_000 }));
    expect(plan.reason).toMatch(/within 30m, else shut it down\.$/);
  });
});

describe('standalone VMIs (no VirtualMachine owner)', () => {
  it('not migratable: escalate, and only delete can resolve it', () => {
    const plan = planVm(rwoVm({ ownedByVm: false, runStrategy: undefined }), undefined, policy);
    expect(plan).toMatchObject({
      action: 'escalate',
      onEscalation: 'ask',
      allowedDecisions: ['delete'],
      restore: 'never',
    });
    expect(plan.reason).toContain('stopping it would lose it for good');
  });

  it('migratable with LiveMigrate: migrate; a failure can be retried or deleted, never shut down', () => {
    const plan = planVm(vm({ ownedByVm: false }), undefined, policy);
    expect(plan).toMatchObject({
      action: 'migrate',
      onMigrationFailure: 'escalate',
      allowedDecisions: ['retry', 'delete'],
    });
  });

  it('strategy None: it cannot be shut down, so ask (retry allowed since it can migrate)', () => {
    const plan = planVm(vm({ ownedByVm: false, evictionStrategy: 'None' }), undefined, policy);
    expect(plan).toMatchObject({ action: 'escalate', allowedDecisions: ['retry', 'delete'] });
  });

  it('policy onNonMigratable=shutdown does not apply: it would be lost', () => {
    const plan = planVm(rwoVm({ ownedByVm: false }), undefined, policyWith({ onNonMigratable: 'shutdown' }));
    expect(plan).toMatchObject({ action: 'escalate', onEscalation: 'ask', allowedDecisions: ['delete'] });
  });

  it('policy onNonMigratable=abort: aborts', () => {
    const plan = planVm(rwoVm({ ownedByVm: false }), undefined, policyWith({ onNonMigratable: 'abort' }));
    expect(plan).toMatchObject({ action: 'escalate', onEscalation: 'abort' });
  });

  it('a shutdown label is not obeyed: deleting needs an operator', () => {
    const plan = planVm(
      vm({ ownedByVm: false, evictionStrategy: 'None', strategyLabel: 'ShutdownStayOff', liveMigratable: false }),
      undefined,
      policy,
    );
    expect(plan).toMatchObject({ action: 'escalate', allowedDecisions: ['delete'] });
  });
});

describe('label pitstop.io/maintenance-strategy', () => {
  it('Migrate: migrates even a VM whose strategy is None', () => {
    const plan = planVm(vm({ evictionStrategy: 'None', strategyLabel: 'Migrate' }), undefined, policy);
    expect(plan).toMatchObject({
      action: 'migrate',
      onMigrationFailure: 'escalate',
      override: 'Migrate',
      strategy: 'None',
    });
    expect(plan.reason).toBe(
      'label pitstop.io/maintenance-strategy=Migrate: migrate it; if that fails, ask an operator.',
    );
  });

  it('Migrate on a VM that cannot migrate: escalates', () => {
    const plan = planVm(rwoVm({ evictionStrategy: 'None', strategyLabel: 'Migrate' }), undefined, policy);
    expect(plan).toMatchObject({ action: 'escalate', onEscalation: 'ask', override: 'Migrate' });
    expect(plan.reason).toMatch(/^label pitstop.io\/maintenance-strategy=Migrate but not live-migratable/);
  });

  it('ShutdownRestartElsewhere: shut down, restart right away elsewhere', () => {
    const plan = planVm(vm({ strategyLabel: 'ShutdownRestartElsewhere' }), undefined, policy);
    expect(plan).toMatchObject({ action: 'shutdown', restore: 'elsewhere', allowedDecisions: [] });
    expect(plan.reason).toContain('restart it right away on another node');
  });

  it('ShutdownRestartAfter: shut down even a migratable LiveMigrate VM, restart after maintenance', () => {
    const plan = planVm(vm({ strategyLabel: 'ShutdownRestartAfter' }), undefined, policy);
    expect(plan).toMatchObject({ action: 'shutdown', restore: 'afterMaintenance', strategy: 'LiveMigrate' });
  });

  it('ShutdownStayOff: shut down and never restore', () => {
    const plan = planVm(rwoVm({ strategyLabel: 'ShutdownStayOff' }), undefined, policy);
    expect(plan).toMatchObject({ action: 'shutdown', restore: 'never' });
    expect(plan.reason).toBe('label pitstop.io/maintenance-strategy=ShutdownStayOff: shut it down and leave it off.');
  });

  it('overrides External too', () => {
    const plan = planVm(vm({ evictionStrategy: 'External', strategyLabel: 'ShutdownRestartAfter' }), undefined, policy);
    expect(plan.action).toBe('shutdown');
  });

  it('an unknown value escalates, naming the valid ones', () => {
    const plan = planVm(vm({ strategyLabel: 'shutdownStayOff' }), undefined, policy);
    expect(plan).toMatchObject({ action: 'escalate', onEscalation: 'ask' });
    expect(plan.reason).toBe(
      'label pitstop.io/maintenance-strategy="shutdownStayOff" is not one of Migrate, ShutdownRestartElsewhere, ' +
        'ShutdownRestartAfter, ShutdownStayOff (did you mean "ShutdownStayOff"?); ' +
        'an operator must decide (shutdown, retry or delete) within 4h, else roll back.',
    );
  });
});

describe('runStrategy and in-flight migrations', () => {
  it('a Halted VM is already stopping: it stays off', () => {
    const plan = planVm(vm({ runStrategy: 'Halted' }), undefined, policy);
    expect(plan).toMatchObject({ action: 'shutdown', restore: 'never' });
    expect(plan.reason).toContain('runStrategy is Halted');
  });

  it('a Manual VM is planned like any other, but its restore must start it explicitly', () => {
    expect(planVm(vm({ runStrategy: 'Manual', evictionStrategy: 'None' }), undefined, policy).action).toBe('shutdown');
    // Set to Halted (the subresource was not served): the recorded strategy goes back, a Manual VM is started.
    expect(restoreSteps('Manual', 'Halted')).toEqual({ runStrategy: 'Manual', start: true, byRequest: false });
    expect(restoreSteps('RerunOnFailure', 'Halted')).toEqual({
      runStrategy: 'RerunOnFailure',
      start: false,
      byRequest: false,
    });
    expect(restoreSteps(undefined, 'Halted')).toEqual({ runStrategy: 'Always', start: false, byRequest: false });
    // Stopped through the subresource (runStrategy never changed): started through it, whatever the strategy.
    expect(restoreSteps('Manual', 'Manual')).toEqual({ runStrategy: 'Manual', start: true, byRequest: true });
    expect(restoreSteps('RerunOnFailure', 'RerunOnFailure')).toEqual({
      runStrategy: 'RerunOnFailure',
      start: true,
      byRequest: true,
    });
    expect(restoreSteps('Always', 'Always')).toEqual({ runStrategy: 'Always', start: false, byRequest: false });
  });

  it('adopts an evacuation already in flight instead of starting another migration', () => {
    const plan = planVm(vm({ migrationInFlight: 'kubevirt-evacuation-x7k2p' }), undefined, policy);
    expect(plan).toMatchObject({ action: 'migrate', adoptMigration: 'kubevirt-evacuation-x7k2p' });
  });

  it('does not adopt a migration for a VM it shuts down', () => {
    const plan = planVm(vm({ evictionStrategy: 'None', migrationInFlight: 'manual-move' }), undefined, policy);
    expect(plan.action).toBe('shutdown');
    expect(plan).not.toHaveProperty('adoptMigration');
  });
});

describe('planNode and summaries', () => {
  const vms = [
    vm({ namespace: 'b', name: 'x' }),
    rwoVm({ namespace: 'a', name: 'z' }),
    vm({ namespace: 'a', name: 'y', evictionStrategy: 'None' }),
    vm({ namespace: 'a', name: 'done', phase: 'Succeeded' }),
    vm({ namespace: 'c', name: 'ext', evictionStrategy: 'External' }),
    vm({ namespace: 'c', name: 'off', strategyLabel: 'ShutdownStayOff' }),
  ];

  it('plans active VMIs sorted by namespace/name, skipping finished ones', () => {
    expect(planNode(vms, undefined, policy).map((p) => `${p.vmi}:${p.action}`)).toEqual([
      'a/y:shutdown',
      'a/z:escalate',
      'b/x:migrate',
      'c/ext:awaitExternal',
      'c/off:shutdown',
    ]);
  });

  it('counts plans per action', () => {
    const summary = summarizePlan(planNode(vms, undefined, policyWith({ onNonMigratable: 'abort' })));
    expect(summary).toEqual({
      total: 5,
      migrate: 1,
      shutdown: 2,
      escalate: 1,
      awaitExternal: 1,
      willAbort: 1,
      stayOff: 1,
      restartElsewhere: 0,
      startElsewhere: 0,
      lost: 0,
    });
    expect(formatPlanSummary(summary)).toBe(
      '5 VMs: 1 migrate, 2 shut down (1 stay off), 1 wait for external controller, 1 need a decision (1 abort the maintenance)',
    );
  });

  it('describes an empty node', () => {
    expect(formatPlanSummary(summarizePlan([]))).toBe('no VMs on the node');
  });
});
