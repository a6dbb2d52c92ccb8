/**
 * Drill 8 at CI size: one SIGKILL of the Sentinel-watched primary under traffic (`npm run drill --
 * --only sentinel`: three, each followed by a clean SENTINEL FAILOVER).
 *
 * KNOWN GAP (issue #20, open): in a clean `SENTINEL FAILOVER` the old primary goes on accepting
 * writes for about 2.6 s after its replica is promoted. Nothing Capstan acknowledges is lost there
 * any more (an enqueue, approval decision or job outcome is confirmed against the sentinels:
 * test/integration/redis-connection.test.ts proves it on real servers), but a worker still on the
 * old primary may finish a job there, and that ending is lost with it: the job runs again on the
 * new primary, and the drill sees its lock let go while it goes on. So CI runs the crash only;
 * `npm run drill -- --only sentinel` runs both and reports what the clean failover does.
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
