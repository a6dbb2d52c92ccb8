import { defineConfig } from 'vitest/config';

/** The conformance suite: Capstan with CAPSTAN_AWS=aws against moto's server (`npm run test:aws`). */
export default defineConfig({
  test: {
    include: ['test/conformance/**/*.test.ts'],
    globalSetup: ['test/helpers/global-setup-aws.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    fileParallelism: false,
    reporters: ['default'],
  },
});
