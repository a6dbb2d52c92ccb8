import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/helpers/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Integration tests share one Redis (separate key prefixes) and spawn worker processes:
    // two cores, so keep files from competing for them.
    fileParallelism: false,
    reporters: ['default'],
  },
});
