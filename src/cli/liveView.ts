/**
 * The live view of `pitstop watch` on a terminal: each frame replaces the one before it in place.
 *
 * The redraw climbs back over the terminal rows the last frame took (wrapped lines counted as the terminal wraps
 * them) and writes the new frame over them, erasing what each line leaves of its row and what is left below, so no
 * row of an earlier frame stays behind. A frame is cut to the screen's height (see fitFrame). On a resize the
 * terminal has already re-laid the old frame its own way (some re-wrap it, some cut it), so no count of rows is right
 * any more: the view then repaints the whole screen from its top. When the watch ends, the last view is written in
 * full and stays.
 */
import { fitFrame, type Frame, type ScreenSize } from './frame.js';
import { cleanLine, lineExtent } from './terminalText.js';

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
const ERASE_LINE_END = `${CSI}K`;
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
    this.show(`\r${cursorUp(this.drawnRows)}`, frame, { unlessUnchanged: true });
  }

  /** Replaces the frame on screen with `lines`, written in full to stay, and stops following resizes. */
  finish(lines: string[]): void {
    this.close();
    this.stream.write(`\r${cursorUp(this.drawnRows)}${this.paint(lines.map(cleanLine)).text}`);
    this.drawnRows = 0;
    this.frame = undefined;
  }

  /**
   * Stops following resizes; the frame on screen stays as it is. For a caller that goes on without finish() (the CLI
   * exits right after an error, so it needs none).
   */
  close(): void {
    this.stream.off('resize', this.onResize);
  }

  private repaint(): void {
    if (this.frame) this.show(CURSOR_HOME, this.frame, { unlessUnchanged: false });
  }

  /** Writes the frame fitted to the screen after `move`, which puts the cursor where the frame on screen starts. */
  private show(move: string, frame: Frame, { unlessUnchanged }: { unlessUnchanged: boolean }): void {
    const size = this.size();
    const { text, rows } = this.paint(fitFrame(frame, size));
    // Polling repeats the same frame most of the time: rewriting it would only make the terminal flicker.
    const output = `${size.columns}x${size.rows}:${text}`;
    if (unlessUnchanged && this.drawnRows > 0 && output === this.lastOutput) return;
    this.stream.write(move + text);
    this.lastOutput = output;
    this.drawnRows = rows;
  }

  /**
   * The text that writes `lines` over the rows from the cursor down, with the rows they take. Each line erases the
   * rest of its last row and the frame erases what is below it, rather than erasing first from the frame's top: an
   * erase from the top-left corner to the end of the screen makes tmux push the whole screen into the scrollback.
   */
  private paint(lines: string[]): { text: string; rows: number } {
    const { columns } = this.size();
    let rows = 0;
    let text = '';
    for (const line of lines) {
      const extent = lineExtent(line, columns);
      rows += extent.rows;
      // A row filled to the edge has no rest to erase, and the erase would take its last character.
      text += `${line}${extent.endsAtEdge ? '' : ERASE_LINE_END}\n`;
    }
    return { text: text + ERASE_BELOW, rows };
  }

  private size(): ScreenSize {
    return {
      columns: this.stream.columns || DEFAULT_SIZE.columns,
      rows: this.stream.rows || DEFAULT_SIZE.rows,
    };
  }
}
