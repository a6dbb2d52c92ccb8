/**
 * The Cluster suite's services (`npm run test:cluster`): a Redis Cluster of 3 primaries and 3
 * replicas from Debian's redis-server (scripts/services), handed to the tests as
 * REDIS_CLUSTER_NODES, so the e2e files it runs go through Capstan's Cluster client.
 */
import type { TestProject } from 'vitest/node';
import { freePortBase, REDIS_CLUSTER_PORT_OFFSETS, startRedisCluster } from './services.js';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  // A Cluster of this run's own, on free ports (and its bus ports, 10000 above).
  const cluster = await startRedisCluster(await freePortBase(REDIS_CLUSTER_PORT_OFFSETS));
  project.provide('redisUrl', '');
  project.provide('redisEnv', cluster.env);
  return async () => {
    await cluster.stop({ purge: true });
  };
}
