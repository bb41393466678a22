// The chaos runner's worker: a child process (src/chaos/worker.ts) it can SIGKILL and start again, and that is
// killed with the runner however the runner exits.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { sleep } from './retry.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

// Worker processes alive right now: killed with this process however it exits (servers have their own handler).
const liveWorkers = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of liveWorkers) {
    try {
      if (child.pid) process.kill(-child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

/** One worker child process; restarted by the runner after each kill (and if it dies on its own). */
export class WorkerProcess {
  child: ChildProcess | undefined;
  private output: string[] = [];
  private stopping = false;
  kills = 0;

  constructor(
    private readonly env: NodeJS.ProcessEnv,
    private readonly log: (line: string) => void,
  ) {}

  async start(): Promise<void> {
    this.stopping = false;
    this.output = [];
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/chaos/worker.ts'], {
      cwd: ROOT,
      env: { ...process.env, ...this.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    this.child = child;
    liveWorkers.add(child);
    child.once('exit', () => liveWorkers.delete(child));
    for (const stream of [child.stdout, child.stderr]) {
      stream?.setEncoding('utf8');
      stream?.on('data', (chunk: string) => {
        this.output.push(chunk);
        if (this.output.length > 200) this.output.shift();
      });
    }
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.once('exit', (code, signal) => {
      if (this.child === child && !this.stopping) {
        this.log(`worker exited on its own (${code ?? signal}): ${this.output.join('').slice(-500)}; restarting`);
        void this.start().catch((e: unknown) => this.log(`worker restart failed: ${String(e)}`));
      }
    });
    const deadline = Date.now() + 120_000;
    while (!this.output.join('').includes('pitstop worker polling')) {
      if (child.exitCode !== null || child.signalCode !== null) {
        await exited;
        throw new Error(`the worker exited before polling:\n${this.output.join('').slice(-2000)}`);
      }
      if (Date.now() > deadline) throw new Error('the worker did not start polling within 120 s');
      await sleep(100);
    }
  }

  private queue: Promise<unknown> = Promise.resolve();

  /** SIGKILL, down for `downMs`, start again; one crash at a time (a second waits for the first restart). */
  crash(downMs: number): Promise<void> {
    const next = this.queue.then(async () => {
      await this.kill();
      await sleep(downMs);
      await this.start();
    });
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** SIGKILL to the worker's process group; resolves once it is gone. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child?.pid || child.exitCode !== null || child.signalCode !== null) return;
    this.stopping = true;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
    await exited;
    this.kills += 1;
  }
}
