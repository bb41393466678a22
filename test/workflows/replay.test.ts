// Replays the recorded histories of representative runs against today's workflow code: a change that would
// break workflows already running in production (non-determinism) fails here, not in a user's cluster.
import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { Worker } from '@temporalio/worker';
import { historiesDir, loadHistory } from '../support/histories.js';

const files = readdirSync(historiesDir).filter((f) => f.endsWith('.binpb'));

describe('recorded histories replay deterministically', () => {
  it('has histories to replay', () => {
    expect(files.length).toBeGreaterThan(0);
  });

  it.each(files)('%s', async (file) => {
    const history = loadHistory(file);
    await expect(
      Worker.runReplayHistory({ workflowBundle: { codePath: inject('workflowBundlePath') } }, history, file),
    ).resolves.toBeUndefined();
  });
});
