/**
 * Drill 8 at CI size: one SIGKILL of the Sentinel-watched primary and one SENTINEL FAILOVER under
 * traffic (`npm run drill -- --only sentinel`: three of each).
 */
import { describe, expect, it } from 'vitest';
import { sentinelFailoverDrill } from '../../bench/drills/redis-sentinel.js';

describe('drill: Sentinel failover', () => {
  it('loses nothing acked through a crash and a clean failover: jobs run once, approval and locks survive', async () => {
    const result = await sentinelFailoverDrill({ count: 1, port: 22_100 });
    expect(result.failures).toEqual([]);
    expect(result.figures?.lost).toBe('0');
    expect(result.passed).toBe(1);
  }, 150_000);
});
