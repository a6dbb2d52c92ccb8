import { defineConfig } from 'vitest/config';

/**
 * The Cluster suite (`npm run test:cluster`, part of `npm test`): the e2e files that cover the
 * ping, approval, lock, alert and Home tab paths, run again with Capstan on a Redis Cluster of 3 primaries
 * and 3 replicas (test/helpers/global-setup-cluster.ts), and the Cluster's own checks.
 */
export default defineConfig({
  test: {
    include: [
      'test/cluster/**/*.test.ts',
      'test/e2e/ops-ping.test.ts',
      'test/e2e/approvals.test.ts',
      'test/e2e/ops-admin.test.ts',
      'test/e2e/alerts.test.ts',
      'test/e2e/environments.test.ts',
      'test/e2e/app-home.test.ts',
    ],
    globalSetup: ['test/helpers/global-setup-cluster.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    fileParallelism: false,
    reporters: ['default'],
  },
});
