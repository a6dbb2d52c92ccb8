/**
 * Drill 5 at CI size: 100 commands from 200 users over 15 s through 2 web and 3 worker processes
 * (`npm run drill -- --only load`: 1,000 over a minute).
 */
import { describe, expect, inject, it } from 'vitest';
import { loadDrill } from '../../bench/drills/load.js';

describe('drill: load', () => {
  it('acks every command within 3 s, loses and doubles no job, holds locks, audits every decision', async () => {
    const result = await loadDrill({ count: 100, spreadMs: 15_000, redisUrl: inject('redisUrl') });
    expect(result.failures).toEqual([]);
    expect(result.passed).toBe(result.runs);
  }, 240_000);
});
