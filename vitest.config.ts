import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Each test file starts its own sandbox cluster; forks keep their servers and workers apart.
    pool: 'forks',
    maxWorkers: 2,
    globalSetup: ['test/support/global-setup.ts'],
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 300_000,
    teardownTimeout: 60_000,
  },
});
