// Recorded workflow histories: the determinism guard. `PITSTOP_RECORD_HISTORIES=1 npx vitest run test/workflows`
// refreshes them from real runs; the replay test replays every file against the current workflow code.
// Stored as protobuf binary (historyToJSON trips over two protobufjs copies in the SDK's dependency tree).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { temporal } from '@temporalio/proto';
import type { WorkflowHandle } from '@temporalio/client';

export const historiesDir = fileURLToPath(new URL('../histories/', import.meta.url));

export async function recordHistory(name: string, handle: WorkflowHandle): Promise<void> {
  if (!process.env.PITSTOP_RECORD_HISTORIES) return;
  mkdirSync(historiesDir, { recursive: true });
  const history = await handle.fetchHistory();
  writeFileSync(`${historiesDir}${name}.binpb`, temporal.api.history.v1.History.encode(history).finish());
}

export function loadHistory(file: string): temporal.api.history.v1.History {
  return temporal.api.history.v1.History.decode(readFileSync(`${historiesDir}${file}`));
}
