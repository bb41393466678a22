/**
 * A frame of the live view and how it is fitted to the terminal. A frame taller than the screen cannot be redrawn:
 * whatever scrolled off the top is out of the cursor's reach and stays behind in the scrollback. So the frame is
 * cut to the screen, with a line that says how much was left out.
 */
import { cleanLine, cutToRows, rowsOf } from './terminalText.js';

export interface Frame {
  lines: string[];
  /**
   * The run of lines `[start, end)` to shorten first when the frame does not fit (the VM rows of a maintenance),
   * so that the lines before and after it (the phase, the bars, a decision needed) stay in sight.
   */
  fold?: { start: number; end: number };
}

export interface ScreenSize {
  columns: number;
  rows: number;
}

export const moreLines = (count: number) => `… ${count} more line${count === 1 ? '' : 's'}`;

const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);

/**
 * The frame's lines as they fit on the screen, cleaned for writing. The frame may take all rows but one: the cursor
 * waits on the row below it, and a frame that filled the last row would scroll its own first row away.
 */
export function fitFrame(frame: Frame, screen: ScreenSize): string[] {
  const budget = Math.max(1, screen.rows - 1);
  const lines = frame.lines.map(cleanLine);
  const rows = lines.map((line) => rowsOf(line, screen.columns));
  if (sum(rows) <= budget) return lines;
  const fold = frame.fold;
  const aroundFold = fold ? sum(rows.slice(0, fold.start)) + sum(rows.slice(fold.end)) : budget;
  // When the lines around the fold leave it no row, the frame is cut from the bottom instead.
  const run = fold && fold.end > fold.start && aroundFold < budget ? fold : { start: 0, end: lines.length };
  const room = run === fold ? budget - aroundFold : budget;
  return [
    ...lines.slice(0, run.start),
    ...shortenRun(lines.slice(run.start, run.end), rows.slice(run.start, run.end), room, screen.columns),
    ...lines.slice(run.end),
  ];
}

/**
 * As many of the run's first lines as fit in `room` rows (at least one), then "… N more lines" for the rest. The run
 * as a whole does not fit, else the frame would have.
 */
function shortenRun(lines: string[], rows: number[], room: number, columns: number): string[] {
  const kept: string[] = [];
  let left = room;
  for (const [index, line] of lines.entries()) {
    // Each line kept leaves a row for the "… N more lines" that follows.
    if ((rows[index] ?? 1) + 1 > left) break;
    kept.push(line);
    left -= rows[index] ?? 1;
  }
  const first = lines[kept.length];
  if (kept.length === 0 && first !== undefined) {
    // Not even the first line fits whole (a very long line on a small screen): show its beginning.
    const alone = lines.length === 1;
    if (alone || left > 1) {
      kept.push(cutToRows(first, columns, alone ? left : left - 1));
    }
  }
  const hidden = lines.length - kept.length;
  return hidden > 0 ? [...kept, cutToRows(moreLines(hidden), columns, 1)] : kept;
}
