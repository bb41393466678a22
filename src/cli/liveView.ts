/**
 * The live view of `pitstop watch` on a terminal: each frame replaces the one before it in place.
 *
 * The redraw climbs back over the terminal rows the last frame took (wrapped lines counted as the terminal wraps
 * them), erases from there down and writes the new frame, so no row of an earlier frame stays behind. A
 * frame is cut to the screen's height (see fitFrame). On a resize the terminal has already re-laid the old frame
 * its own way (some terminals re-wrap it, some cut it), so no count of rows is right any more: the view then
 * repaints from the top of the screen. When the watch ends, the last view is written in full and stays.
 */
import { fitFrame, type Frame, type ScreenSize } from './frame.js';
import { cleanLine, rowsOf } from './terminalText.js';

/** What the view needs of a terminal stream (process.stdout is one). */
export interface TerminalStream {
  columns?: number;
  rows?: number;
  write(text: string): unknown;
  on(event: 'resize', listener: () => void): unknown;
  off(event: 'resize', listener: () => void): unknown;
}

// The sizes a terminal that does not say its size is taken to have (the VT100's).
const DEFAULT_SIZE: ScreenSize = { columns: 80, rows: 24 };

const CSI = '\x1b[';
const cursorUp = (rows: number) => (rows > 0 ? `${CSI}${rows}A` : '');
const ERASE_BELOW = `${CSI}J`;
const CURSOR_HOME = `${CSI}H`;

export class LiveView {
  private frame: Frame | undefined;
  /** Rows the frame on screen takes, the cursor being at the start of the row below it. */
  private drawnRows = 0;
  private lastOutput = '';
  private readonly onResize = () => this.repaint();

  constructor(private readonly stream: TerminalStream) {
    stream.on('resize', this.onResize);
  }

  /** Shows `frame` in place of the frame on screen. */
  draw(frame: Frame): void {
    this.frame = frame;
    const { text, rows } = this.paint(fitFrame(frame, this.size()));
    // Polling repeats the same frame most of the time: rewriting it would only make the terminal flicker.
    const output = `${JSON.stringify(this.size())}${text}`;
    if (this.drawnRows > 0 && output === this.lastOutput) return;
    this.stream.write(`\r${cursorUp(this.drawnRows)}${text}`);
    this.lastOutput = output;
    this.drawnRows = rows;
  }

  /** Replaces the frame on screen with `lines`, written in full to stay, and stops following resizes. */
  finish(lines: string[]): void {
    this.close();
    const rest = lines.map((line) => `${cleanLine(line)}\n`).join('');
    this.stream.write(`\r${cursorUp(this.drawnRows)}${ERASE_BELOW}${rest}`);
    this.drawnRows = 0;
    this.frame = undefined;
  }

  /** Stops following resizes; the frame on screen stays as it is. */
  close(): void {
    this.stream.off('resize', this.onResize);
  }

  private repaint(): void {
    if (!this.frame) return;
    const { text, rows } = this.paint(fitFrame(this.frame, this.size()));
    this.stream.write(`${CURSOR_HOME}${text}`);
    this.lastOutput = `${JSON.stringify(this.size())}${text}`;
    this.drawnRows = rows;
  }

  /** The text that erases from the cursor down and writes `lines` there, with the rows they take. */
  private paint(lines: string[]): { text: string; rows: number } {
    const { columns } = this.size();
    const rows = lines.reduce((total, line) => total + rowsOf(line, columns), 0);
    return { text: ERASE_BELOW + lines.map((line) => `${line}\n`).join(''), rows };
  }

  private size(): ScreenSize {
    return {
      columns: this.stream.columns || DEFAULT_SIZE.columns,
      rows: this.stream.rows || DEFAULT_SIZE.rows,
    };
  }
}
