import { describe, expect, it } from 'vitest';
import { parseMaintenanceRequest } from '../../src/domain/request.js';
import { parseRollingRequest } from '../../src/domain/rolling.js';
import { maintenanceStartText, rollingStartText, SUMMARY_MAX } from '../../src/domain/startText.js';

describe('maintenanceStartText: the line the Temporal UI lists a run by', () => {
  it('names the node, the reason and who asked', () => {
    const request = parseMaintenanceRequest({ node: 'worker-3', reason: 'DIMM swap', requestedBy: 'alertmanager' });
    const text = maintenanceStartText(request);
    expect(text.staticSummary).toBe('worker-3: DIMM swap — alertmanager');
    expect(text.staticDetails).toContain('**Requested by:** alertmanager');
    expect(text.staticDetails).toContain('**Power:** auto · **hold:** until released');
    expect(text.staticDetails).toContain('**runbook** auto');
  });

  it('says when the runbook is not the planned one, and a dry run', () => {
    const repair = parseMaintenanceRequest({ node: 'worker-3', mode: 'repair', reason: 'KubeNodeNotReady' });
    expect(maintenanceStartText(repair).staticSummary).toBe('worker-3: repair: KubeNodeNotReady — requester not given');
    const plan = parseMaintenanceRequest({ node: 'worker-3', dryRun: true, requestedBy: 'ana' });
    expect(maintenanceStartText(plan).staticSummary).toBe('worker-3: dry run: maintenance — ana');
    expect(maintenanceStartText(plan).staticDetails).toContain('(dry run: nothing changes)');
  });

  it('keeps to one line of at most SUMMARY_MAX characters, whatever the reason', () => {
    const long = parseMaintenanceRequest({ node: 'worker-3', reason: `line one\nline two ${'x'.repeat(400)}` });
    const { staticSummary } = maintenanceStartText(long);
    expect(staticSummary).not.toContain('\n');
    expect(staticSummary.startsWith('worker-3: line one line two x')).toBe(true);
    expect(staticSummary).toHaveLength(SUMMARY_MAX);
    expect(staticSummary.endsWith('…')).toBe(true);
  });
});

describe('rollingStartText', () => {
  it('names the roll, its nodes, how many at a time and who asked', () => {
    const roll = parseRollingRequest({
      name: 'kernel-6-12',
      selector: 'role=worker',
      requestedBy: 'ops-team',
      template: { reason: 'kernel upgrade' },
    });
    expect(rollingStartText(roll).staticSummary).toBe(
      'rolling kernel-6-12: kernel upgrade, nodes role=worker, 1 at a time — ops-team',
    );
    const listed = parseRollingRequest({ name: 'fw', nodes: ['worker-1', 'worker-2'] });
    expect(rollingStartText(listed).staticSummary).toBe('rolling fw: 2 node(s), 1 at a time — requester not given');
    expect(rollingStartText(listed).staticDetails).toContain('over worker-1, worker-2');
  });
});
