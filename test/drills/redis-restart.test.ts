/**
 * Drill 2 at CI size: one restart of a private Redis (append-only file on) under running and
 * queued jobs, an open approval and held locks (`npm run drill -- --only redis`: five).
 */
import { describe, expect, it } from 'vitest';
import { redisRestartDrill } from '../../bench/drills/redis-restart.js';

describe('drill: Redis restarted', () => {
  it('loses no job, approval, lock or audit entry, and the running jobs resume', async () => {
    const result = await redisRestartDrill({ count: 1 });
    expect(result.failures).toEqual([]);
    expect(result.passed).toBe(1);
  }, 180_000);
});
