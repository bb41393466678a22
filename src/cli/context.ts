// What every `pitstop` command shares: the output format, printing, the exit codes, the one service connection
// of the process (opened on first use, closed when the command ends), and reading --input.
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { loadTemporalConfig } from '../config/temporal.js';
import { InvalidInputError } from '../domain/errors.js';
import type { MaintenanceView } from '../client/service.js';
import { PitstopService } from '../client/service.js';
import { connectClient, temporalEndpoint, type ConnectedClient } from '../temporal/connection.js';

export const EXIT = { ok: 0, failed: 1, usage: 2, notFound: 3, refused: 4, internal: 5 } as const;

export type Output = 'text' | 'json';

/** Ends the command with this exit code (thrown from an action, caught by run()). */
export class Exit extends Error {
  constructor(
    readonly code: number,
    message = '',
  ) {
    super(message);
  }
}

export const out = (line: string) => process.stdout.write(`${line}\n`);
export const err = (line: string) => process.stderr.write(`${line}\n`);
export const json = (value: unknown) => out(JSON.stringify(value, null, 2));

export function outputOf(command: Command): Output {
  return (command.optsWithGlobals() as { output: Output }).output;
}

/** `value` as JSON with `-o json`, else the text lines. */
export function show(command: Command, value: unknown, text: string | readonly string[]): void {
  if (outputOf(command) === 'json') json(value);
  else for (const line of typeof text === 'string' ? [text] : text) out(line);
}

let connected: ConnectedClient | undefined;

/** The service over this process's Temporal connection; a local CLI defaults to the dev server's address. */
export async function service(): Promise<PitstopService> {
  const { temporal, taskQueue } = loadTemporalConfig(process.env, { defaultAddress: '127.0.0.1:7233' });
  connected ??= await connectClient(temporalEndpoint(temporal), { connectTimeoutMs: 5000 });
  return new PitstopService({ client: connected.client, taskQueue });
}

export async function closeService(): Promise<void> {
  await connected?.close().catch(() => undefined);
  connected = undefined;
}

/** `--input` as JSON text or `@file.json`. */
export function readInput(text: string | undefined): Record<string, unknown> {
  if (text === undefined) return {};
  const raw = text.startsWith('@') ? readFileSync(text.slice(1), 'utf8') : text;
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (e) {
    throw new InvalidInputError(`--input: not valid JSON (${(e as Error).message})`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidInputError('--input: expected a JSON object');
  }
  return value as Record<string, unknown>;
}

/** Exit code of a finished node maintenance. */
export function exitOf(view: MaintenanceView): number {
  if (view.status === 'Completed') return EXIT.ok;
  if (view.failure?.type === 'PreflightRefused') return EXIT.refused;
  if (view.failure?.type === 'InvalidInput') return EXIT.usage;
  return EXIT.failed;
}

export function intervalOf(text: string): number {
  const interval = Number(text);
  if (!Number.isInteger(interval) || interval < 100) throw new InvalidInputError('--interval: at least 100 (ms)');
  return interval;
}
