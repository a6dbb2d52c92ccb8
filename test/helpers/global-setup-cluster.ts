/**
 * The Cluster suite's services (`npm run test:cluster`): a Redis Cluster of 3 primaries and 3
 * replicas from Debian's redis-server (scripts/services), handed to the tests as
 * REDIS_CLUSTER_NODES, so the e2e files it runs go through Capstan's Cluster client.
 */
import type { TestProject } from 'vitest/node';
import { startRedisCluster } from './services.js';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const cluster = await startRedisCluster(
    process.env.CAPSTAN_TEST_CLUSTER_PORT ? Number(process.env.CAPSTAN_TEST_CLUSTER_PORT) : undefined,
  );
  project.provide('redisUrl', '');
  project.provide('redisEnv', cluster.env);
  return async () => {
    await cluster.stop({ purge: true });
  };
}
