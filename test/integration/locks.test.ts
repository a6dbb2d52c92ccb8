/** Target locks against a real Redis: one holder at a time, renewed, released, expiring on their own. */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { TargetLocks } from '../../src/queue/locks.js';
import type { Confirmation, WriteConfirmer } from '../../src/redis.js';

let redis: Redis;
let locks: TargetLocks;
const prefix = `{t-${randomBytes(4).toString('hex')}}`;

beforeAll(() => {
  redis = new Redis(inject('redisUrl'));
  locks = new TargetLocks(redis, prefix);
});
afterAll(async () => {
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length > 0) await redis.del(...keys);
  await redis.quit();
});

const alice = { jobId: 'job-a', userId: 'U0ALICE', action: '/env delete prod', since: 1 };
const bob = { jobId: 'job-b', userId: 'U0BOB', action: '/lb disable prod', since: 2 };

describe('TargetLocks', () => {
  it('lets one job hold a target and names it to anyone else', async () => {
    expect(await locks.acquire('environment:prod', alice, 5_000)).toEqual({ acquired: true });
    expect(await locks.acquire('environment:prod', bob, 5_000)).toEqual({ acquired: false, holder: alice });
    // The holder itself may take it again (a retried or resumed job).
    expect(await locks.acquire('environment:prod', alice, 5_000)).toEqual({ acquired: true });
    expect(await locks.acquire('environment:staging', bob, 5_000)).toEqual({ acquired: true });
  });

  it('renews and releases only for the holder', async () => {
    expect(await locks.renew('environment:prod', bob, 5_000)).toBe(false);
    expect(await locks.release('environment:prod', 'job-b')).toBe(false);
    expect(await locks.holder('environment:prod')).toEqual(alice);
    expect(await locks.renew('environment:prod', alice, 10_000)).toBe(true);
    expect(await redis.pttl(`${prefix}:lock:environment:prod`)).toBeGreaterThan(5_000);
    expect(await locks.release('environment:prod', 'job-a')).toBe(true);
    expect(await locks.holder('environment:prod')).toBeUndefined();
  });

  it('expires when its holder stops renewing (a dead worker)', async () => {
    expect(await locks.acquire('database:orders-db', alice, 300)).toEqual({ acquired: true });
    await new Promise((resolve) => setTimeout(resolve, 450));
    expect(await locks.acquire('database:orders-db', bob, 5_000)).toEqual({ acquired: true });
    expect(await locks.renew('database:orders-db', alice, 5_000)).toBe(false);
  });

  it('takes back, at its next renewal, a lease its running job lost (a failover dropped it), unless another job holds it now', async () => {
    expect(await locks.acquire('environment:lost', alice, 5_000)).toEqual({ acquired: true });
    // What a failover does to a lease written only on the old primary: the new one never had it.
    await redis.del(`${prefix}:lock:environment:lost`);
    expect(await locks.renew('environment:lost', alice, 5_000)).toBe(true);
    expect(await locks.holder('environment:lost')).toEqual(alice);
    expect(await redis.pttl(`${prefix}:lock:environment:lost`)).toBeGreaterThan(4_000);
    // Bob took it meanwhile: Alice's job is told it lost it, and Bob keeps it.
    await redis.del(`${prefix}:lock:environment:lost`);
    expect(await locks.acquire('environment:lost', bob, 5_000)).toEqual({ acquired: true });
    expect(await locks.renew('environment:lost', alice, 5_000)).toBe(false);
    expect(await locks.holder('environment:lost')).toEqual(bob);
  });

  it('with a confirmer: a lease taken again until confirmed is still its job’s, and another job’s is not taken over', async () => {
    const answers: Confirmation[] = [];
    const confirmer: WriteConfirmer = {
      replicated: true,
      async confirm() {
        return answers.shift() ?? { confirmed: true };
      },
      async close() {},
    };
    const durable = new TargetLocks(redis, prefix, confirmer);
    answers.push({ confirmed: false, reason: 'a failover is under way' });
    expect(await durable.acquire('environment:durable', alice, 5_000)).toEqual({ acquired: true });
    expect(answers).toHaveLength(0);
    expect(await durable.holder('environment:durable')).toEqual(alice);
    answers.push({ confirmed: false, reason: 'a replica is behind' });
    expect(await durable.acquire('environment:durable', bob, 5_000)).toEqual({
      acquired: false,
      holder: alice,
    });
    expect(await durable.holder('environment:durable')).toEqual(alice);
  });

  it('gives a contested target to exactly one of many simultaneous takers', async () => {
    const takers = Array.from({ length: 20 }, (_, i) => ({ ...bob, jobId: `job-${i}` }));
    const results = await Promise.all(takers.map((h) => locks.acquire('environment:race', h, 5_000)));
    expect(results.filter((r) => r.acquired)).toHaveLength(1);
  });
});
