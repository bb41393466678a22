// The rolling maintenance input: defaults a user can rely on, and every problem reported at once.
import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../src/domain/errors.js';
import { parseRollingRequest } from '../../src/domain/rolling.js';

function problems(input: unknown): string[] {
  try {
    parseRollingRequest(input);
  } catch (e) {
    if (e instanceof InvalidInputError) return e.issues;
    throw e;
  }
  throw new Error('expected the input to be refused');
}

describe('parseRollingRequest', () => {
  it('fills in the defaults: one node at a time, stop at the first failure, by name, nodes not held', () => {
    const request = parseRollingRequest({ name: 'fw-2026-11', selector: 'pool=general' });
    expect(request).toMatchObject({
      name: 'fw-2026-11',
      selector: 'pool=general',
      maxUnavailable: 1,
      maxFailures: 0,
      order: 'name',
      pauseBetweenNodesMs: 0,
    });
    expect(request.template.hold).toBe('none');
    expect(request.template.power).toBe('auto');
    expect(request.window).toBeUndefined();
  });

  it('keeps a window, with every day and UTC by default', () => {
    const request = parseRollingRequest({ name: 'w', nodes: ['worker-1'], window: { start: '22:00', end: '06:00' } });
    expect(request.window).toEqual({
      days: ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'],
      start: '22:00',
      end: '06:00',
      timeZone: 'UTC',
    });
  });

  it('reports every problem at once, each starting with its field', () => {
    const found = problems({
      name: 'Not A Label',
      nodes: ['worker-1', 'worker-1'],
      selector: 'a=b',
      maxUnavailable: 0,
      window: { start: '25:00', end: '06:00', days: ['Someday'] },
    });
    expect(found.some((p) => p.startsWith('name: '))).toBe(true);
    expect(found.some((p) => p.startsWith('maxUnavailable: '))).toBe(true);
    expect(found.some((p) => p.startsWith('window.start: '))).toBe(true);
    expect(found.some((p) => p.startsWith('window.days.0: '))).toBe(true);
  });

  it('needs exactly one of selector and nodes, distinct nodes, and a real time zone', () => {
    expect(problems({ name: 'x' })).toContain('selector, nodes: give exactly one of them');
    expect(problems({ name: 'x', nodes: ['w-1', 'w-1'] })).toContain('nodes: a node is listed twice');
    expect(
      problems({ name: 'x', nodes: ['w-1'], window: { start: '01:00', end: '02:00', timeZone: 'Nowhere/City' } }),
    ).toContain('window.timeZone: "Nowhere/City" is not an IANA time zone');
    expect(problems({ name: 'x', nodes: ['w-1'], window: { start: '01:00', end: '01:00' } })).toContain(
      'window: start and end are the same time',
    );
  });

  it('checks the node template as a node maintenance would, and refuses unknown fields', () => {
    expect(problems({ name: 'x', nodes: ['w-1'], template: { power: 'redfish' } }).join('\n')).toMatch(/^template\./m);
    expect(problems({ name: 'x', nodes: ['w-1'], template: { node: 'w-2' } }).join('\n')).toMatch(/template/);
    expect(problems({ name: 'x', nodes: ['w-1'], maxParallel: 3 }).join('\n')).toMatch(/maxParallel/);
  });
});
