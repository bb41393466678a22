// The saved query the README and the operations guide give for "runs waiting for a decision" is the one the
// pitstop_decisions_pending gauge counts: a user pasting it into the Temporal UI sees what the alert saw.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DECISIONS_PENDING_QUERY } from '../../src/client/visibility.js';

const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8').replace(/\s+/g, ' ');

describe('the saved query for runs waiting for a decision', () => {
  it.each(['README.md', 'docs/operations.md'])('%s gives the query the gauge counts', (path) => {
    expect(read(path)).toContain(`\`${DECISIONS_PENDING_QUERY}\``);
  });
});
