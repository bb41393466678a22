// `pitstop watch` on a terminal: frames written through the live view into a headless xterm.js, and the screen read
// back, so each test states what the operator sees.
import { describe, expect, it } from 'vitest';
import { LiveView } from '../../src/cli/liveView.js';
import { progressFrame, viewLines } from '../../src/cli/render.js';
import type { MaintenanceResult, Progress, VmRow } from '../../src/domain/progress.js';
import { FakeTerminal, wrapped } from './fakeTerminal.js';

const PROMPT = '$ pitstop watch w-1';

const vm = (n: number, extra: Partial<VmRow> = {}): VmRow => ({
  vmi: `vm-${n}`,
  action: 'migrate',
  restore: 'afterMaintenance',
  state: 'migrating',
  attempts: 1,
  sourceNode: 'w-1',
  ...extra,
});

/** A maintenance waiting on an escalation whose reason is far wider than the terminal. */
function escalated(step: number, vmCount = 2, reason = 'x'.repeat(40)): Progress {
  return {
    node: 'w-1',
    phase: 'EvacuateVMs',
    dryRun: false,
    paused: false,
    startedAt: '2026-12-02T06:00:00Z',
    message: `step ${step}`,
    vms: Array.from({ length: vmCount }, (_, i) => vm(i + 1)),
    pods: { total: 10, evicted: step, blocked: 0, blockers: [] },
    decisionsPending: [
      {
        vmi: 'vm-1',
        reason: `migration of vm-1 failed ${step} times: ${reason}`,
        allowed: ['shutdown', 'retry', 'delete'],
        since: '2026-12-02T06:00:00Z',
        deadline: '2026-12-02T07:00:00Z',
      },
    ],
    power: 'on',
    drainProgress: step * 10,
    timeline: [],
  };
}

/** A terminal that shows the shell's prompt line, as when the operator typed the command. */
function terminal(columns: number, rows: number): FakeTerminal {
  const term = new FakeTerminal(columns, rows);
  term.write(`${PROMPT}\n`);
  return term;
}

const blankTo = (rows: string[], height: number) => [...rows, ...Array<string>(height - rows.length).fill('')];

describe('the live view of pitstop watch', () => {
  it('after frames with lines wider than the terminal, the screen holds the last frame and nothing of earlier ones', async () => {
    const term = terminal(60, 15);
    const view = new LiveView(term);
    for (let step = 1; step <= 6; step++) view.draw(progressFrame(escalated(step)));

    const last = progressFrame(escalated(6)).lines;
    expect(last.some((line) => line.length > 120)).toBe(true); // the escalation line takes three rows
    expect(await term.screen()).toEqual(blankTo([PROMPT, ...wrapped(last, 60)], 15));
    expect(await term.scrollback()).toEqual([]);
  });

  it('the check would catch the old redraw, which climbed back one row per logical line', async () => {
    const term = terminal(60, 15);
    let drawn = 0;
    for (let step = 1; step <= 3; step++) {
      const lines = progressFrame(escalated(step)).lines;
      if (drawn > 0) term.write(`\x1b[${drawn}A\x1b[0J`);
      for (const line of lines) term.write(`${line}\n`);
      drawn = lines.length;
    }
    const everything = [...(await term.scrollback()), ...(await term.screen())];
    expect(everything.filter((row) => row.startsWith('w-1  phase')).length).toBeGreaterThan(1);
  });

  it('a frame taller than the terminal is cut to it, the VM rows folded, the decision and the power kept', async () => {
    const term = terminal(80, 15);
    const view = new LiveView(term);
    for (let step = 1; step <= 4; step++) view.draw(progressFrame(escalated(step, 40)));

    // The frame takes every row but the cursor's: the prompt scrolled away, and nothing of any frame did.
    expect(await term.scrollback()).toEqual([PROMPT]);
    expect(await term.cursorRow()).toBe(14);
    const frame = (await term.screen()).slice(0, 14);
    expect(frame[0]).toBe('w-1  phase EvacuateVMs: step 4');
    expect(frame).toContain('    vm-1                             migrate                  migrating');
    expect(frame.find((row) => row.startsWith('… '))).toMatch(/^… \d+ more lines$/);
    expect(frame.some((row) => row.startsWith('  DECISION NEEDED vm-1: migration of vm-1 failed 4 times'))).toBe(true);
    expect(frame[13]).toBe('  power   on');
    const hidden = Number(/… (\d+) more lines/.exec(frame.join('\n'))?.[1]);
    const shownVmRows = frame.filter((row) => row.startsWith('    vm-')).length;
    expect(shownVmRows).toBeGreaterThan(0);
    expect(shownVmRows + hidden).toBe(40);
  });

  it('after a resize the frame is drawn again at the new width, from the top, with nothing of the old layout', async () => {
    const term = terminal(60, 15);
    const view = new LiveView(term);
    view.draw(progressFrame(escalated(1)));
    view.draw(progressFrame(escalated(2)));
    const frame = progressFrame(escalated(2)).lines;

    await term.resize(50, 24);
    expect(await term.screen()).toEqual(blankTo(wrapped(frame, 50), 24));

    await term.resize(100, 12);
    expect(await term.screen()).toEqual(blankTo(wrapped(frame, 100), 12));

    // Later frames are drawn in place of the repainted one.
    view.draw(progressFrame(escalated(3)));
    expect(await term.screen()).toEqual(blankTo(wrapped(progressFrame(escalated(3)).lines, 100), 12));
  });

  it('a resize to a shorter terminal cuts the frame to the new height', async () => {
    const term = terminal(80, 24);
    const view = new LiveView(term);
    view.draw(progressFrame(escalated(1, 12)));
    await term.resize(80, 10);
    const screen = await term.screen();
    expect(screen[0]).toBe('w-1  phase EvacuateVMs: step 1');
    expect(screen.some((row) => /^… \d+ more lines$/.test(row))).toBe(true);
    expect(screen[9]).toBe('');
  });

  it('when the watch ends, the final view replaces the frame and stays, in full, after resizes too', async () => {
    const term = terminal(100, 15);
    const view = new LiveView(term);
    view.draw(progressFrame(escalated(1)));
    const final = viewLines({
      workflowId: 'maintenance-w-1',
      runId: 'r',
      type: 'nodeMaintenance',
      status: 'Completed',
      startTime: '2026-12-02T06:00:00Z',
      closeTime: '2026-12-02T06:30:00Z',
      phase: 'Done',
      result: {
        node: 'w-1',
        outcome: 'Completed',
        verdict: { ok: true, refusals: [], plan: [] } as unknown as MaintenanceResult['verdict'],
        summary: { migrated: 2, restored: 0, leftOff: 0, deleted: 0, podsEvicted: 10 },
      },
    });
    view.finish(final);
    await term.resize(90, 15);

    const screen = await term.screen();
    expect(screen.slice(0, 1 + final.length)).toEqual([PROMPT, ...final]);
    expect(screen.join('\n')).not.toMatch(/DECISION NEEDED/);
    expect(term.listenerCount('resize')).toBe(0);
  });

  it('colours take no columns: a coloured line as wide as the terminal takes one row', async () => {
    const term = terminal(20, 6);
    const view = new LiveView(term);
    const red = (text: string) => `\x1b[31m${text}\x1b[39m`;
    view.draw({ lines: [red('a'.repeat(20)), red('b'.repeat(25))] });
    view.draw({ lines: [red('c'.repeat(20)), red('d'.repeat(25))] });
    expect(await term.screen()).toEqual(blankTo([PROMPT, 'c'.repeat(20), 'd'.repeat(20), 'd'.repeat(5)], 6));
  });

  it('wide characters are counted as two columns, and one that does not fit starts the next row', async () => {
    const term = terminal(11, 8);
    const view = new LiveView(term);
    view.draw({ lines: ['x'.repeat(22), 'x'] });
    // Five two-column characters fill ten columns; the sixth does not fit in the eleventh and wraps.
    view.draw({ lines: ['日本語日本語', 'x'] });
    view.draw({ lines: ['本日本日本日', 'y'] });
    expect(await term.screen()).toEqual(blankTo([PROMPT.slice(0, 11), PROMPT.slice(11), '本日本日本', '日', 'y'], 8));
  });

  it('never erases the screen from its top-left corner, which tmux would push into the scrollback', async () => {
    const term = new FakeTerminal(60, 15); // no prompt: every frame starts in the top-left corner
    const view = new LiveView(term);
    for (let step = 1; step <= 3; step++) view.draw(progressFrame(escalated(step, 40)));
    await term.resize(40, 12);
    view.draw(progressFrame(escalated(4, 40)));
    view.finish(['done']);
    expect(await term.screen()).toEqual(blankTo(['done'], 12));
    expect(term.screenClearsFromTopLeft).toBe(0);
  });

  it('escape sequences and control characters inside a message cannot move the cursor or break the count', async () => {
    const term = terminal(60, 15);
    const view = new LiveView(term);
    for (let step = 1; step <= 3; step++) {
      view.draw({ lines: [`step ${step}`, `event: line one\nline two\ttab \x1b[2J\x1b[H\x1b]0;title\x07 end`] });
    }
    expect(await term.screen()).toEqual(blankTo([PROMPT, 'step 3', 'event: line one line two tab  end'], 15));
  });

  it('a frame that has not changed is not written again', () => {
    const term = terminal(60, 15);
    const view = new LiveView(term);
    view.draw(progressFrame(escalated(1)));
    view.draw(progressFrame(escalated(1)));
    expect(term.writes.length).toBe(2); // the prompt and one frame
  });
});
