/**
 * Drill 7 at CI size: one SIGKILL of the Redis Cluster primary serving Capstan's slot under traffic
 * (`npm run drill -- --only cluster`: three, each after the killed node has rejoined as a replica).
 */
import { describe, expect, it } from 'vitest';
import { clusterFailoverDrill } from '../../bench/drills/redis-cluster.js';

describe('drill: Redis Cluster failover', () => {
  it('loses nothing acked: every job runs once with its final message, the open approval and the locks survive', async () => {
    const result = await clusterFailoverDrill({ count: 1, port: 22_000 });
    expect(result.failures).toEqual([]);
    expect(result.figures?.lost).toBe('0');
    expect(result.passed).toBe(1);
  }, 150_000);
});
