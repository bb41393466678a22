// The typed-messages lint of eslint.config.js: a Temporal message or a workflow named by a string fails it, one sent
// through its typed definition passes.
import { describe, expect, it } from 'vitest';
import { ruleMessages } from './snippets.js';

/** The messages of the rule for `code` placed at `filePath` (relative to the repository). */
const syntaxErrors = ruleMessages('no-restricted-syntax');

const handle = 'declare const handle: any;\ndeclare const client: any;\ndeclare const p: string;\n';
const MESSAGE = /typed definition from src\/workflows\/messages\.ts/;
const WORKFLOW = /WORKFLOW_TYPES\.nodeMaintenance/;

describe('typed-messages lint: what is refused', () => {
  it.each([
    ['test/x.test.ts', "await handle.query('progress');", MESSAGE],
    ['test/x.test.ts', "await handle.query<Progress>('progress');", MESSAGE],
    ['test/x.test.ts', "await handle.executeUpdate('decide', { args: [{ vmi: 'a', action: 'skip' }] });", MESSAGE],
    ['test/x.test.ts', 'await handle.startUpdate(`pause`, { waitForStage: 2 });', MESSAGE],
    ['src/chaos/x.ts', "await handle.signal('childReport', {});", MESSAGE],
    ['test/x.test.ts', "await client.workflow.start('nodeMaintenance', { args: [] });", WORKFLOW],
    ['bench/x.ts', 'await client.workflow.execute(`rollingMaintenance`, { args: [] });', WORKFLOW],
    ['src/cli/x.ts', "await client.workflow.signalWithStart('nodeMaintenance', { signal: 'x' });", WORKFLOW],
  ])('%s: %s', async (filePath, code, expected) => {
    const errors = await syntaxErrors(filePath, `${handle}${code}`);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(expected);
  });
});

describe('typed-messages lint: what is allowed', () => {
  it.each([
    [
      'test/x.test.ts',
      "import { progressQuery } from '../src/workflows/messages.js';\nawait handle.query(progressQuery);",
    ],
    [
      'test/x.test.ts',
      "import { decideUpdate } from '../src/workflows/messages.js';\n" +
        "await handle.executeUpdate(decideUpdate, { args: [{ vmi: 'a', action: 'skip' }] });",
    ],
    [
      'bench/x.ts',
      "import { WORKFLOW_TYPES } from '../src/domain/workflowNames.js';\n" +
        "import type { nodeMaintenance } from '../src/workflows/index.js';\n" +
        'await client.workflow.start<typeof nodeMaintenance>(WORKFLOW_TYPES.nodeMaintenance, { args: [] });',
    ],
    ['src/k8s/x.ts', "declare const url: URL;\nurl.searchParams.get('signal');\nprocess.kill(1, 'SIGTERM');"],
  ])('%s: %s', async (filePath, code) => {
    expect(await syntaxErrors(filePath, `${handle}${code}`)).toEqual([]);
  });
});
