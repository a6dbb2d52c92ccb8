/**
 * Drill 4 at CI size: ten seconds of 50% throttling then five of 30% transient 5xx under three
 * environment lifecycles and a load balancer round (`npm run drill -- --only throttle`: a minute, 12).
 */
import { describe, expect, inject, it } from 'vitest';
import { throttlingStormDrill } from '../../bench/drills/throttle.js';

describe('drill: AWS throttling storm', () => {
  it('jobs slow down but finish, and nothing is done twice', async () => {
    const result = await throttlingStormDrill({ count: 3, stormMs: 10_000, redisUrl: inject('redisUrl') });
    expect(result.failures).toEqual([]);
    expect(result.passed).toBe(result.runs);
  }, 180_000);
});
