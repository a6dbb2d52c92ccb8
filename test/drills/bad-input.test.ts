/**
 * Drill 6 at CI size: 600 malformed, oversized, badly signed, replayed, future-dated, tampered and
 * injection-laden requests, mentions carrying Slack markup and forged approval clicks (every kind 30 times),
 * then 600 garbage posts to `POST /aws/sns` (every kind 50 times); `npm run drill -- --only bad-input`
 * sends 10,000 of each.
 */
import { describe, expect, inject, it } from 'vitest';
import { badInputDrill } from '../../bench/drills/bad-input.js';

describe('drill: bad input', () => {
  it('answers each bad request correctly, enqueues nothing, and stays up', async () => {
    const result = await badInputDrill({ count: 600, redisUrl: inject('redisUrl') });
    expect(result.failures).toEqual([]);
    expect(result.passed).toBe(1200);
  }, 120_000);
});
