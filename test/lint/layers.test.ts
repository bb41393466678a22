// The layer lint of eslint.config.js: an import that reaches up the layers fails it, one that stays within passes.
import { describe, expect, it } from 'vitest';
import { ruleMessages } from './snippets.js';

/** The messages of the rule for `code` placed at `filePath` (relative to the repository). */
const importErrors = ruleMessages('no-restricted-imports');

describe('layer lint: what is refused', () => {
  it.each([
    ['src/domain/x.ts', "import { kv } from '../activities/kubevirt.js';", /domain may import only domain/],
    ['src/domain/x.ts', "import type { Progress } from '../workflows/messages.js';", /domain may import only/],
    ['src/domain/x.ts', "import { readFileSync } from 'node:fs';", /deterministic/],
    ['src/domain/x.ts', "export { kv } from '../activities/kubevirt.js';", /domain may import only/],
    ['src/domain/x.ts', "import { loadTemporalConfig } from '../config.js';", /domain may import only/],
    ['src/k8s/x.ts', "import { kv } from '../activities/kubevirt.js';", /k8s may import only/],
    ['src/config.ts', "import { readTokens } from './api/auth.js';", /config may import only/],
    ['src/config.ts', "import { TASK_QUEUE } from './workflows/messages.js';", /config may import only/],
    ['src/activities/x.ts', "import type { Progress } from '../workflows/messages.js';", /activities may import only/],
    ['src/workflows/x.ts', "import { KubeConfig } from '@kubernetes/client-node';", /deterministic/],
    ['src/workflows/x.ts', "import { createActivities } from '../activities/index.js';", /only as `import type`/],
    ['src/workflows/x.ts', "import { KubeClient } from '../k8s/client.js';", /workflows may import only/],
    ['src/workflows/x.ts', "import { loadTemporalConfig } from '../config.js';", /workflows may import only/],
    ['src/workflows/run/steps/x.ts', "import { kv } from '../../../activities/kubevirt.js';", /only as `import type`/],
    ['src/workflows/x.ts', "import { anything } from '../notYetPlaced/x.js';", /workflows may import only/],
    ['src/client/x.ts', "import { loadWorkerConfig } from '../worker/config.js';", /client may import only/],
    ['src/worker/x.ts', "import { PitstopService } from '../client/service.js';", /worker may import only/],
    ['src/worker/x.ts', "import { startApi } from '../api/server.js';", /worker may import only/],
    ['src/chaos/x.ts', "import { NODE_LEASE } from '../activities/kubernetes.js';", /chaos may not import activities/],
    ['src/sandbox/x.ts', "import { nodeMaintenance } from '../workflows/index.js';", /sandbox may not import/],
    ['src/sandbox/controllers/x.ts', "import { kv } from '../../activities/kubevirt.js';", /sandbox may not import/],
    ['src/sandbox/x.ts', "import type { Progress } from '../workflows/messages.js';", /sandbox may not import/],
  ])('%s: %s', async (filePath, code, expected) => {
    const errors = await importErrors(filePath, code);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(expected);
  });
});

describe('layer lint: what is allowed', () => {
  it.each([
    ['src/domain/x.ts', "import { z } from 'zod';\nimport { planNode } from './plan.js';"],
    ['src/k8s/x.ts', "import { parseQuantity } from '../domain/quantity.js';"],
    [
      'src/config.ts',
      "import { readFileSync } from 'node:fs';\nimport { parseDuration } from './domain/durations.js';",
    ],
    [
      'src/activities/x.ts',
      "import { KubeClient } from '../k8s/client.js';\nimport { planNode } from '../domain/plan.js';",
    ],
    ['src/workflows/x.ts', "import type { Activities } from '../activities/index.js';"],
    ['src/workflows/x.ts', "import { type Activities } from '../activities/index.js';"],
    ['src/workflows/run/steps/x.ts', "import { preflight } from '../../../domain/preflight.js';\nimport '../../x.js';"],
    ['src/worker/x.ts', "import { createActivities } from '../activities/index.js';\nimport '../config.js';"],
    ['src/client/x.ts', "import { TASK_QUEUE } from '../workflows/messages.js';"],
    ['src/api/x.ts', "import { PitstopService } from '../client/service.js';\nimport '../worker/config.js';"],
    ['src/chaos/x.ts', "import type { Progress } from '../workflows/messages.js';\nimport '../sandbox/index.js';"],
    ['src/worker/x.ts', "import pkg from '../../package.json' with { type: 'json' };"],
  ])('%s: %s', async (filePath, code) => {
    expect(await importErrors(filePath, code)).toEqual([]);
  });
});
