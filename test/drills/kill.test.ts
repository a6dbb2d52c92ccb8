/**
 * Drill 1 at CI size: one SIGKILL per job kind, at a random point; every job must end as if
 * uninterrupted (`npm run drill -- --only kill` runs 20 per kind).
 */
import { describe, expect, inject, it } from 'vitest';
import { workerKilledDrill } from '../../bench/drills/kill.js';

describe('drill: worker killed', () => {
  it('every job kind survives a SIGKILL of its worker at a random step', async () => {
    const result = await workerKilledDrill({ count: 1, control: false, redisUrl: inject('redisUrl') });
    expect(result.failures).toEqual([]);
    expect(result.passed).toBe(result.runs);
    expect(result.runs).toBe(8);
  }, 240_000);
});
