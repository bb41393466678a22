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

/**
 * The workflow id the history ran under (its started event has it since Temporal 1.21): a replay must run under the
 * same id, since nodeMaintenance refuses to run under any but its node's.
 */
export function workflowIdOf(history: temporal.api.history.v1.IHistory, fallback: string): string {
  return history.events?.[0]?.workflowExecutionStartedEventAttributes?.workflowId || fallback;
}

/** The patch ids a history's markers record (the SDK's `core_patch` markers). */
export function patchMarkers(history: temporal.api.history.v1.IHistory): string[] {
  const ids: string[] = [];
  for (const event of history.events ?? []) {
    const marker = event.markerRecordedEventAttributes;
    if (marker?.markerName !== 'core_patch') continue;
    for (const payload of marker.details?.['patch-data']?.payloads ?? []) {
      ids.push((JSON.parse(Buffer.from(payload.data ?? []).toString()) as { id: string }).id);
    }
  }
  return ids;
}

/**
 * The patch ids workflow source calls `patched`/`deprecatePatch` with. An id must be a string literal: the guard
 * has to see it, so any other argument is reported as `<not a literal: …>` and fails the check.
 */
export function patchIdsInSource(source: string): string[] {
  return [...source.matchAll(/\b(?:patched|deprecatePatch)\(\s*([^)]*?)\s*\)/g)].map(([, arg = '']) => {
    const literal = /^(['"`])([^'"`]+)\1$/.exec(arg);
    return literal ? literal[2]! : `<not a literal: ${arg}>`;
  });
}

/** A fixture recorded before patch `id` was added: `before-<id>--<what it shows>.binpb`. */
export const beforePatchPrefix = (id: string) => `before-${id}--`;
