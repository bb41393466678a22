// Replays the recorded histories of representative runs against today's workflow code: a change that would
// break workflows already running in production (non-determinism) fails here, not in a user's cluster.
// `npm run record-histories` re-records them (before the first release, instead of patching: docs/versioning.md);
// a fixture named before-<patch-id>--*.binpb is frozen: it was recorded before that patch and proves the old path.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { Worker } from '@temporalio/worker';
import {
  beforePatchPrefix,
  historiesDir,
  loadHistory,
  patchIdsInSource,
  patchMarkers,
  workflowIdOf,
} from '../support/histories.js';

const files = readdirSync(historiesDir).filter((f) => f.endsWith('.binpb'));

describe('recorded histories replay deterministically', () => {
  it('has histories to replay', () => {
    expect(files.length).toBeGreaterThan(0);
  });

  it.each(files)('%s', async (file) => {
    const history = loadHistory(file);
    await expect(
      Worker.runReplayHistory(
        { workflowBundle: { codePath: inject('workflowBundlePath') } },
        history,
        workflowIdOf(history, file),
      ),
    ).resolves.toBeUndefined();
  });
});

const workflowsDir = new URL('../../src/workflows/', import.meta.url).pathname;
const workflowSources = (readdirSync(workflowsDir, { recursive: true }) as string[])
  .filter((f) => f.endsWith('.ts'))
  .map((f) => ({ file: f, source: readFileSync(join(workflowsDir, f), 'utf8') }));

describe('every patch in the workflow code has a history recorded before it', () => {
  const ids = workflowSources.flatMap(({ file, source }) => patchIdsInSource(source).map((id) => ({ file, id })));

  it('has, for each patch id, a replaying fixture that took the old path', () => {
    const problems = ids.flatMap(({ file, id }) => {
      if (id.startsWith('<not a literal')) return [`${file}: a patch id must be a string literal (${id})`];
      const before = files.filter((f) => f.startsWith(beforePatchPrefix(id)));
      if (!before.length) return [`${file}: no test/histories/${beforePatchPrefix(id)}*.binpb for patch "${id}"`];
      return before.filter((f) => patchMarkers(loadHistory(f)).includes(id)).map((f) => `${f} took patch "${id}"`);
    });
    expect(problems).toEqual([]);
  });

  it('finds patch calls in source, and reports an id that is not a literal', () => {
    const source = 'if (patched(\'cordon-first\')) x(); deprecatePatch("old-lanes"); if (patched(ID)) y();';
    expect(patchIdsInSource(source)).toEqual(['cordon-first', 'old-lanes', '<not a literal: ID>']);
  });
});
