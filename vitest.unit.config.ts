// `npm run test:unit`: the tests that start no sandbox cluster — the fast tier (workflow logic against the dev
// server with stub activities), the pure domain, and the other files that need no cluster. `npm test` (the default
// config) runs these and the end-to-end files.
import { defineConfig } from 'vitest/config';
import base from './vitest.config.js';

export default defineConfig({
  ...base,
  test: {
    ...base.test,
    // These files start no cluster and clean up after themselves (a fast-tier file's worker has a task queue of its
    // own): one process per worker for all of them loads Temporal's SDK, the Kubernetes client and ESLint once, not
    // once per file, which was most of the tier's time.
    isolate: false,
    include: [
      'test/fast/**/*.test.ts',
      'test/chaos/generateCrash.test.ts',
      'test/domain/**/*.test.ts',
      'test/api/auth.test.ts',
      'test/config/config.test.ts',
      'test/deploy/compose.test.ts',
      'test/deploy/manifests.test.ts',
      'test/observability/logger.test.ts',
      'test/tools/binaries.test.ts',
      'test/ui/chromium.test.ts',
      'test/workflows/replay.test.ts',
      'test/workflows/versioning.test.ts',
      'test/api/responses.test.ts',
      'test/lint/**/*.test.ts',
      'test/docs/**/*.test.ts',
    ],
  },
});
