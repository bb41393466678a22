// A terminal for the live view's tests: a stream with a settable size that emits 'resize' like process.stdout, whose
// bytes go into a headless xterm.js, so a test reads what the screen shows (and what scrolled into the scrollback).
import { EventEmitter } from 'node:events';
import xterm from '@xterm/headless';
import type { TerminalStream } from '../../src/cli/liveView.js';

export class FakeTerminal extends EventEmitter implements TerminalStream {
  readonly isTTY = true;
  /** Every write, as the program made it. */
  readonly writes: string[] = [];
  /**
   * Erases to the end of the screen issued with the cursor in the top-left corner: tmux (scroll-on-clear, on by
   * default) pushes the whole screen into the scrollback for each.
   */
  screenClearsFromTopLeft = 0;
  private readonly term: xterm.Terminal;
  private parsed: Promise<void> = Promise.resolve();

  constructor(
    public columns: number,
    public rows: number,
  ) {
    super();
    // convertEol: a terminal's line discipline turns "\n" into "\r\n" (onlcr) before the emulator sees it.
    this.term = new xterm.Terminal({ cols: columns, rows, convertEol: true, scrollback: 1000, allowProposedApi: true });
    this.term.parser.registerCsiHandler({ final: 'J' }, (params) => {
      const buffer = this.term.buffer.active;
      const mode = params[0] ?? 0;
      if ((mode === 0 || mode === 2) && buffer.cursorX === 0 && buffer.cursorY === 0) this.screenClearsFromTopLeft++;
      return false; // the emulator still erases
    });
  }

  write(text: string): boolean {
    this.writes.push(text);
    this.parsed = this.parsed.then(() => new Promise<void>((done) => this.term.write(text, done)));
    return true;
  }

  /** The window changes size: the emulator re-lays its buffer its own way first, then the program is told. */
  async resize(columns: number, rows: number): Promise<void> {
    await this.parsed;
    this.term.resize(columns, rows);
    this.columns = columns;
    this.rows = rows;
    this.emit('resize');
  }

  /** The rows on screen as the eye reads them (trailing spaces are not seen). */
  async screen(): Promise<string[]> {
    await this.parsed;
    const buffer = this.term.buffer.active;
    return Array.from({ length: this.rows }, (_, row) => this.rowText(buffer.baseY + row));
  }

  /** The rows that scrolled off the top of the screen. */
  async scrollback(): Promise<string[]> {
    await this.parsed;
    return Array.from({ length: this.term.buffer.active.baseY }, (_, row) => this.rowText(row));
  }

  private rowText(index: number): string {
    return (this.term.buffer.active.getLine(index)?.translateToString(true) ?? '').trimEnd();
  }

  /** The cursor's row on screen (0 is the top). */
  async cursorRow(): Promise<number> {
    await this.parsed;
    return this.term.buffer.active.cursorY;
  }
}

/** What a screen of `columns` shows for `lines` written from its top: each line cut into rows of `columns`. */
export function wrapped(lines: string[], columns: number): string[] {
  return lines.flatMap((line) => {
    const rows: string[] = [];
    for (let at = 0; at < line.length; at += columns) rows.push(line.slice(at, at + columns).trimEnd());
    return rows.length > 0 ? rows : [''];
  });
}
