/**
 * Drill 8 at CI size: one SIGKILL of the Sentinel-watched primary under traffic, then one clean
 * `SENTINEL FAILOVER` (`npm run drill -- --only sentinel`: three of each). The clean one is the
 * case Sentinel's documentation warns of: the old primary, still up, goes on accepting writes for
 * seconds after its replica is promoted, and drops them when it is turned into a replica. Nothing
 * Capstan acknowledged may be among them.
 */
import { describe, expect, it } from 'vitest';
import { sentinelFailoverDrill } from '../../bench/drills/redis-sentinel.js';

describe('drill: Sentinel failover', () => {
  it('loses nothing acked through a crash of the primary or a clean failover: jobs run once, approvals and locks survive', async () => {
    const result = await sentinelFailoverDrill({ count: 1, port: 22_100 });
    expect(result.failures).toEqual([]);
    expect(result.figures?.lost).toBe('0');
    expect(result.passed).toBe(1);
  }, 300_000);
});
