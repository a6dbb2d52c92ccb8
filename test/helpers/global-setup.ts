/**
 * Starts the real services the tests use (Redis from Debian's package, via scripts/services) once
 * per run, and hands their URLs to the tests through `inject`.
 */
import type { TestProject } from 'vitest/node';
import { startRedis } from './services.js';

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
  }
}

/** Port of the tests' Redis: apart from local mode's default, so a running Capstan is not disturbed. */
const TEST_REDIS_PORT = Number(process.env.CAPSTAN_TEST_REDIS_PORT ?? 6391);

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const redis = await startRedis(TEST_REDIS_PORT);
  project.provide('redisUrl', redis.url);
  return async () => {
    if (process.env.CAPSTAN_KEEP_SERVICES !== '1') await redis.stop();
  };
}
