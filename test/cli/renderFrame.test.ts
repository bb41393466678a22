// How the live view measures and fits its lines: the rows a line takes on a terminal, and a frame cut to the screen.
import { describe, expect, it } from 'vitest';
import { fitFrame } from '../../src/cli/frame.js';
import { progressFrame } from '../../src/cli/render.js';
import { cleanLine, cutToRows, rowsOf } from '../../src/cli/terminalText.js';
import type { Progress } from '../../src/domain/progress.js';

const red = (text: string) => `\x1b[31m${text}\x1b[39m`;

describe('rows a line takes on a terminal', () => {
  it('counts rows as the terminal wraps: a line exactly as wide takes one, one more character takes two', () => {
    expect(rowsOf('', 10)).toBe(1);
    expect(rowsOf('a'.repeat(10), 10)).toBe(1);
    expect(rowsOf('a'.repeat(11), 10)).toBe(2);
    expect(rowsOf('a'.repeat(31), 10)).toBe(4);
  });

  it('counts colours as no columns and wide characters as two', () => {
    expect(rowsOf(red('a'.repeat(10)), 10)).toBe(1);
    expect(rowsOf('日本語日本', 10)).toBe(1);
    // The fifth wide character would need columns 10 and 11 of a 9-column row: it starts the next row.
    expect(rowsOf('日本語日本', 9)).toBe(2);
    expect(rowsOf('e\u0301'.repeat(10), 10)).toBe(1); // e + combining accent is one column
  });

  it('cuts a line to a number of rows, saying so with "…"', () => {
    expect(cutToRows('a'.repeat(25), 10, 2)).toBe(`${'a'.repeat(19)}…`);
    expect(cutToRows('a'.repeat(20), 10, 2)).toBe('a'.repeat(20));
    expect(rowsOf(cutToRows('日'.repeat(20), 9, 2), 9)).toBe(2);
  });

  it('keeps colours, drops other escape sequences, turns control characters into spaces', () => {
    expect(cleanLine(red('ok'))).toBe(`${red('ok')}\x1b[0m`);
    expect(cleanLine('a\nb\tc\x1b[2Jd\x1b[5Ae\x1b]8;;http://x\x07f')).toBe('a b cdef');
  });
});

describe('a frame fitted to the screen', () => {
  const lines = (prefix: string, count: number) => Array.from({ length: count }, (_, i) => `${prefix}${i + 1}`);

  it('leaves a frame that fits as it is, one row being kept for the cursor', () => {
    expect(fitFrame({ lines: lines('l', 9) }, { columns: 40, rows: 10 })).toEqual(lines('l', 9));
    expect(fitFrame({ lines: lines('l', 10) }, { columns: 40, rows: 10 })).toEqual([
      ...lines('l', 8),
      '… 2 more lines',
    ]);
  });

  it('folds the marked run and keeps the lines around it', () => {
    const frame = { lines: ['head', ...lines('vm', 20), 'decision', 'power'], fold: { start: 1, end: 21 } };
    expect(fitFrame(frame, { columns: 40, rows: 8 })).toEqual([
      'head',
      'vm1',
      'vm2',
      'vm3',
      '… 17 more lines',
      'decision',
      'power',
    ]);
  });

  it('counts wrapped rows when fitting', () => {
    const frame = { lines: ['head', ...lines('vm', 5), 'd'.repeat(40)], fold: { start: 1, end: 6 } };
    // The last line takes three rows of 15 columns: 7 rows for the frame leave two for VM rows and one for the marker.
    expect(fitFrame(frame, { columns: 15, rows: 8 })).toEqual(['head', 'vm1', 'vm2', '… 3 more lines', 'd'.repeat(40)]);
  });

  it('cuts from the bottom when the lines around the fold do not fit on their own', () => {
    const frame = { lines: ['head', 'vm1', ...lines('tail', 10)], fold: { start: 1, end: 2 } };
    expect(fitFrame(frame, { columns: 40, rows: 5 })).toEqual(['head', 'vm1', 'tail1', '… 9 more lines']);
  });

  it('shows the start of a line too long for the whole screen', () => {
    const fitted = fitFrame({ lines: ['x'.repeat(100)] }, { columns: 20, rows: 4 });
    expect(fitted).toEqual([`${'x'.repeat(59)}…`]);
    const twoLines = fitFrame({ lines: ['x'.repeat(100), 'y'] }, { columns: 20, rows: 4 });
    expect(twoLines).toEqual([`${'x'.repeat(39)}…`, '… 1 more line']);
  });
});

describe('the progress frame', () => {
  it('marks the VM rows as the run to fold', () => {
    const p = {
      node: 'w-1',
      phase: 'EvacuateVMs',
      paused: false,
      vms: [1, 2, 3].map((n) => ({ vmi: `vm-${n}`, action: 'migrate', state: 'migrating' })),
      pods: { total: 0, evicted: 0 },
      decisionsPending: [],
      power: 'on',
      drainProgress: 0,
    } as unknown as Progress;
    const frame = progressFrame(p);
    expect(frame.fold).toEqual({ start: 3, end: 6 });
    expect(frame.lines.slice(3, 6).every((line) => line.startsWith('    vm-'))).toBe(true);
    expect(frame.lines[6]).toBe('  power   on');
  });
});
