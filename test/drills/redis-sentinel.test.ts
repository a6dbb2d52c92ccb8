/**
 * Drill 8 at CI size: one SIGKILL of the Sentinel-watched primary under traffic and one clean
 * `SENTINEL FAILOVER` (`npm run drill -- --only sentinel` runs three of each). In the clean one the
 * old primary goes on accepting writes after its replica is promoted, until Sentinel turns it into a
 * replica, and then drops them: nothing acknowledged may be lost there either, and every job in
 * flight must end (test/integration/worker-failover.test.ts shows how a worker is kept from running
 * a job fetched there or ending one there).
 */
import { describe, expect, it } from 'vitest';
import { sentinelFailoverDrill } from '../../bench/drills/redis-sentinel.js';

describe('drill: Sentinel failover', () => {
  it('loses nothing acked through a crash of the primary and a clean failover: jobs run once and end, approval and locks survive', async () => {
    const result = await sentinelFailoverDrill({ count: 1, port: 22_100 });
    expect(result.failures).toEqual([]);
    expect(result.figures?.lost).toBe('0');
    expect(result.passed).toBe(1);
  }, 240_000);
});
