/**
 * Drill 8 at CI size: one SIGKILL of the Sentinel-watched primary under traffic (`npm run drill --
 * --only sentinel`: three, each followed by a clean SENTINEL FAILOVER).
 *
 * KNOWN GAP (issue #20, open): a clean `SENTINEL FAILOVER` loses acknowledged work — the old primary
 * goes on accepting writes for about 2.6 s after its replica is promoted, and drops them when it
 * resyncs as a replica (measured: 4–7 acked jobs, approval decisions). So CI runs the crash only;
 * `npm run drill -- --only sentinel` runs both and reports the clean failover's losses as failures.
 */
import { describe, expect, it } from 'vitest';
import { sentinelFailoverDrill } from '../../bench/drills/redis-sentinel.js';

describe('drill: Sentinel failover', () => {
  it('loses nothing acked through a crash of the primary: jobs run once, approval and locks survive', async () => {
    const result = await sentinelFailoverDrill({ count: 1, port: 22_100, kinds: ['kill'] });
    expect(result.failures).toEqual([]);
    expect(result.figures?.lost).toBe('0');
    expect(result.passed).toBe(1);
  }, 150_000);
});
