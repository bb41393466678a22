/**
 * How a line of text sits on a terminal: the columns each character takes and the rows the line takes once the
 * terminal wraps it. The live view moves the cursor back over the rows it drew, so this count has to match what the
 * terminal does, not the number of characters or of logical lines.
 */
import stringWidth from 'string-width';

/** One piece of a cleaned line: a colour/style sequence (no columns) or one user-perceived character. */
type Piece = { style: string } | { char: string; width: number };

/* eslint-disable no-control-regex -- these patterns exist to find terminal control characters */
// ESC followed by a CSI (ESC [ … final), an OSC (ESC ] … BEL or ESC \) or a two-character sequence.
const ESCAPE_SEQUENCE = /\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[ -/]*[0-~])?/g;
// Select Graphic Rendition: colours, bold, reset. The only sequence a frame keeps.
const STYLE = /^\x1b\[[0-9;:]*m$/;
// C0 and C1 control characters (newline, tab, carriage return, bell, …).
const CONTROL = /[\x00-\x1f\x7f-\x9f]/g;
/* eslint-enable no-control-regex */

const RESET = '\x1b[0m';
const graphemes = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

function pieces(line: string): Piece[] {
  const out: Piece[] = [];
  const addText = (text: string) => {
    for (const { segment } of graphemes.segment(text.replace(CONTROL, ' '))) {
      out.push({ char: segment, width: stringWidth(segment) });
    }
  };
  let at = 0;
  for (const match of line.matchAll(ESCAPE_SEQUENCE)) {
    addText(line.slice(at, match.index));
    if (STYLE.test(match[0])) out.push({ style: match[0] });
    at = match.index + match[0].length;
  }
  addText(line.slice(at));
  return out;
}

function join(parts: Piece[]): string {
  const text = parts.map((p) => ('style' in p ? p.style : p.char)).join('');
  // A colour left open would spill into the next line and into the erase that follows this one.
  return parts.some((p) => 'style' in p) ? text + RESET : text;
}

/**
 * The line as the live view writes it: colours kept; every other escape sequence dropped and control characters
 * turned into spaces, because a cursor move, a newline or a tab inside a cluster message would break the row count
 * (and a message from the cluster has no business moving the operator's cursor).
 */
export function cleanLine(line: string): string {
  return join(pieces(line));
}

/** The cursor's place while a line is laid out: on which row (from 1) and after how many columns of it. */
interface Place {
  row: number;
  column: number;
}

/**
 * Where a character of `w` columns leaves the cursor, as a terminal with automatic margins places it: a character
 * that does not fit on the current row (a wide one needs two columns) starts the next row, and a row filled exactly
 * to the edge starts no new one until something more is printed.
 */
function advance(at: Place, w: number, width: number): Place {
  if (at.column + w > width) return { row: at.row + 1, column: w };
  return { row: at.row, column: at.column + w };
}

const columnsOf = (piece: Piece, width: number) => ('style' in piece ? 0 : Math.min(piece.width, width));

/** Where a line ends on the terminal: how many rows it takes, and whether its last row is filled to the edge. */
export interface LineExtent {
  rows: number;
  /** The cursor waits past the last column ("pending wrap"): an erase to the end of the row would take that column. */
  endsAtEdge: boolean;
}

export function lineExtent(line: string, columns: number): LineExtent {
  const width = Math.max(1, columns);
  let at: Place = { row: 1, column: 0 };
  for (const piece of pieces(line)) {
    const w = columnsOf(piece, width);
    if (w > 0) at = advance(at, w, width);
  }
  return { rows: at.row, endsAtEdge: at.column === width };
}

/** How many terminal rows the line takes once the terminal wraps it. */
export const rowsOf = (line: string, columns: number): number => lineExtent(line, columns).rows;

/** The line cut so that it takes at most `maxRows` rows, ending in "…" when something was cut. */
export function cutToRows(line: string, columns: number, maxRows: number): string {
  const width = Math.max(1, columns);
  const limit = Math.max(1, maxRows);
  const all = pieces(line);
  if (rowsOf(line, width) <= limit) return join(all);
  const kept: Piece[] = [];
  let at: Place = { row: 1, column: 0 };
  for (const piece of all) {
    const w = columnsOf(piece, width);
    const next = w > 0 ? advance(at, w, width) : at;
    // Stop where the "…" that says the line goes on would no longer fit.
    if (advance(next, 1, width).row > limit) break;
    kept.push(piece);
    at = next;
  }
  return join([...kept, { char: '…', width: 1 }]);
}
