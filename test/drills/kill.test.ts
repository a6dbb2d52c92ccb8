/**
 * Drill 1 at CI size: one SIGKILL per job kind, at a random point, and one aimed at the instant
 * between each create and its checkpoint (temporary instance and side table of each restore mode,
 * launch template and group of env create); every job must end as if uninterrupted, adopting what
 * it made (`npm run drill -- --only kill` runs 20 per kind).
 */
import { describe, expect, inject, it } from 'vitest';
import { workerKilledDrill } from '../../bench/drills/kill.js';

describe('drill: worker killed', () => {
  it('every job kind survives a SIGKILL of its worker at a random step', async () => {
    const result = await workerKilledDrill({ count: 1, control: false, redisUrl: inject('redisUrl') });
    expect(result.failures).toEqual([]);
    expect(result.passed).toBe(result.runs);
    // 8 random kills, then 8 aimed ones: each landed where it was aimed.
    expect(result.runs).toBe(16);
    expect(result.aimed.map((a) => `${a.kind} ${a.step} ${a.landed}/${a.aimed}`).sort()).toEqual(
      [
        'env.create group 1/1',
        'env.create launch-template 1/1',
        'restore.merge-missing side-table 1/1',
        'restore.merge-missing temporary-instance 1/1',
        'restore.replace side-table 1/1',
        'restore.replace temporary-instance 1/1',
        'restore.side-table side-table 1/1',
        'restore.side-table temporary-instance 1/1',
      ].sort(),
    );
  }, 420_000);
});
