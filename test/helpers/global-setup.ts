/**
 * Starts the real services the tests use (Redis from Debian's package, via scripts/services) once
 * per run, and hands their URLs to the tests through `inject`.
 */
import type { TestProject } from 'vitest/node';
import { freePort, startRedis } from './services.js';

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
    /** REDIS_* variables for another topology (the Cluster suite); empty: use `redisUrl`. */
    redisEnv: Record<string, string>;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  // A Redis of this run's own, on a free port: concurrent runs never stop each other's server.
  const port = process.env.CAPSTAN_TEST_REDIS_PORT
    ? Number(process.env.CAPSTAN_TEST_REDIS_PORT)
    : await freePort();
  const redis = await startRedis(port);
  project.provide('redisUrl', redis.url);
  project.provide('redisEnv', {});
  return async () => {
    if (!process.env.CAPSTAN_TEST_REDIS_PORT) await redis.stop({ purge: true });
  };
}
