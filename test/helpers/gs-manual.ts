import type { TestProject } from 'vitest/node';
export default async function setup(project: TestProject) {
  project.provide('redisUrl', '');
  project.provide('redisEnv', { REDIS_CLUSTER_NODES: '127.0.0.1:19100,127.0.0.1:19101,127.0.0.1:19102' });
}
