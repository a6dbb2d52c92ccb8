import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The conformance suite runs against moto on its own (`npm run test:aws`, vitest.aws.config.ts).
    // The Cluster suite runs on a Redis Cluster on its own (`npm run test:cluster`, vitest.cluster.config.ts).
    exclude: ['test/conformance/**', 'test/cluster/**', 'node_modules/**'],
    globalSetup: ['test/helpers/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Integration tests share one Redis (separate key prefixes) and spawn worker processes:
    // two cores, so keep files from competing for them.
    fileParallelism: false,
    reporters: ['default'],
  },
});
