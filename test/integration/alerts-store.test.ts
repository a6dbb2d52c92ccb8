/** The alert store against the real Redis: atomic steps, one post per alert, restarts, expiry. */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { deliver } from '../../jobs/alerts-check.js';
import { AlertStore } from '../../src/alerts/store.js';
import type { Observation } from '../../src/domain/alerts/rules.js';
import { type AlertTiming, alertIdFor, claimPosting, step } from '../../src/domain/alerts/state.js';
import type { Confirmation, WriteConfirmer } from '../../src/redis.js';
import type { OutgoingMessage, SlackNotifier } from '../../src/slack/notifier.js';

const timing: AlertTiming = { quietPeriodMs: 1_000, renotifyAfterMs: 60_000 };
const route = { channel: 'C0ALERTS' };
const obs: Observation = {
  key: { check: 'burstBalance', resource: 'db:orders-db' },
  severity: 'warning',
  value: '25%',
  summary: 'BurstBalance of orders-db is 25%',
};
const ID = alertIdFor(obs.key);

let redis: Redis;
let prefix: string;
let store: AlertStore;

beforeAll(() => {
  redis = new Redis(inject('redisUrl'));
});
afterAll(async () => {
  await redis.quit();
});
beforeEach(() => {
  prefix = `{t-alerts-${randomBytes(4).toString('hex')}}`;
  store = new AlertStore(redis, prefix);
});
afterEach(async () => {
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length > 0) await redis.del(...keys);
});

/** One evaluation of the alert, as the job does it. */
function evaluate(s: AlertStore, seen: Observation | undefined, now: number) {
  return s.update(ID, (current) => {
    const r = step(current, seen, now, timing, route);
    return { next: r.changed ? r.next : 'unchanged', result: r.notice };
  });
}

/** A notifier that records what it was asked to do, slowly (so races have room). */
function recordingNotifier(delayMs = 20) {
  const posts: OutgoingMessage[] = [];
  const updates: Array<{ ts: string; text: string }> = [];
  let n = 0;
  const notifier: SlackNotifier = {
    async post(message) {
      await sleep(delayMs);
      posts.push(message);
      n += 1;
      return { ts: `1700000000.${String(n).padStart(6, '0')}` };
    },
    async update(message) {
      await sleep(delayMs / 2);
      updates.push({ ts: message.ts, text: message.text });
    },
    async upload() {},
    async permalink() {
      return '';
    },
    async messageLink() {
      return undefined;
    },
    async publishHome() {},
  };
  return { notifier, posts, updates };
}

describe('AlertStore', () => {
  it('keeps alerts under the prefix, with increasing versions, across a new connection (restart)', async () => {
    const now = Date.now();
    const first = await evaluate(store, obs, now);
    expect(first.written).toBe(true);
    expect(first.before).toBeUndefined();
    const second = await evaluate(store, obs, now + 10);
    expect((second.stored?.version ?? 0) > (first.stored?.version ?? 0)).toBe(true);
    expect(await redis.exists(`${prefix}:alert:${ID}`)).toBe(1);
    expect(await redis.smembers(`${prefix}:alerts`)).toEqual([ID]);

    const other = new Redis(inject('redisUrl'));
    try {
      const again = new AlertStore(other, prefix);
      const stored = await again.get(ID);
      expect(stored?.state).toMatchObject({ phase: 'open', count: 2, occurrence: 1 });
      expect(stored?.syncedVersion).toBe(0);
      expect((await again.list()).map((a) => a.state.id)).toEqual([ID]);
    } finally {
      await other.quit();
    }
  });

  it('applies concurrent evaluations one after the other: one opens, the rest repeat', async () => {
    const now = Date.now();
    const results = await Promise.all(Array.from({ length: 40 }, () => evaluate(store, obs, now)));
    expect(results.filter((r) => r.before === undefined)).toHaveLength(1);
    const stored = await store.get(ID);
    expect(stored?.state).toMatchObject({ phase: 'open', occurrence: 1, count: 40 });
  });

  it('concurrent evaluations on separate connections (two workers) post one message per alert', async () => {
    const connections = Array.from({ length: 4 }, () => new Redis(inject('redisUrl')));
    try {
      const { notifier, posts } = recordingNotifier();
      const stores = connections.map((c) => new AlertStore(c, prefix));
      const now = Date.now();
      await Promise.all(
        Array.from({ length: 24 }, async (_, i) => {
          const s = stores[i % stores.length] as AlertStore;
          await evaluate(s, obs, now);
          await deliver({ alerts: s, notifier }, ID, now);
        }),
      );
      expect(posts).toHaveLength(1);
      expect(posts[0]?.channel).toBe('C0ALERTS');
      const stored = await store.get(ID);
      expect(stored?.state.message).toEqual({ channel: 'C0ALERTS', ts: '1700000000.000001' });
      expect(stored?.state.posting).toBeUndefined();
      // The message ends up showing the last version.
      await deliver({ alerts: store, notifier }, ID, now);
      expect((await store.get(ID))?.syncedVersion).toBe(stored?.version);
    } finally {
      for (const c of connections) await c.quit();
    }
  });

  it('updates the message only when the state moved past what it shows', async () => {
    const { notifier, posts, updates } = recordingNotifier(0);
    const now = Date.now();
    await evaluate(store, obs, now);
    await deliver({ alerts: store, notifier }, ID, now);
    expect(posts).toHaveLength(1);
    expect(updates).toHaveLength(0);
    await deliver({ alerts: store, notifier }, ID, now);
    expect(updates).toHaveLength(0);
    await evaluate(store, { ...obs, value: '20%' }, now + 1);
    await deliver({ alerts: store, notifier }, ID, now + 1);
    expect(updates).toHaveLength(1);
    expect(updates[0]?.ts).toBe('1700000000.000001');
  });

  it('a worker that claimed the post and died: after the lease the next evaluation posts', async () => {
    const now = Date.now();
    await evaluate(store, obs, now);
    // The dead worker's claim, as it left it.
    await store.update(ID, (current) => ({
      next: claimPosting(current, 'dead', now, 60_000) ?? 'unchanged',
      result: 0,
    }));
    const { notifier, posts } = recordingNotifier(0);
    await deliver({ alerts: store, notifier }, ID, now + 1_000);
    expect(posts).toHaveLength(0);
    await deliver({ alerts: store, notifier }, ID, now + 60_001);
    expect(posts).toHaveLength(1);
  });

  it('a resolution stored but not yet shown (a crash in between) is shown by the next delivery', async () => {
    const { notifier, updates } = recordingNotifier(0);
    const now = Date.now();
    await evaluate(store, obs, now);
    await deliver({ alerts: store, notifier }, ID, now);
    await evaluate(store, undefined, now + 100);
    await evaluate(store, undefined, now + 1_200);
    // (No delivery here: the worker died.)
    expect((await store.get(ID))?.state.phase).toBe('resolved');
    await deliver({ alerts: store, notifier }, ID, now + 2_000);
    expect(updates.at(-1)?.text).toMatch(/^Resolved: /);
    const stored = await store.get(ID);
    expect(stored?.syncedVersion).toBe(stored?.version);
  });

  it('keeps resolved alerts for a while, then forgets them and their index entry', async () => {
    const short = new AlertStore(redis, prefix, { retainResolvedMs: 150 });
    const now = Date.now();
    await evaluate(short, obs, now);
    await evaluate(short, undefined, now + 1);
    expect(await redis.pttl(`${prefix}:alert:${ID}`)).toBe(-1);
    await evaluate(short, undefined, now + 2_000);
    expect((await short.get(ID))?.state.phase).toBe('resolved');
    expect(await redis.pttl(`${prefix}:alert:${ID}`)).toBeGreaterThan(0);
    await sleep(250);
    expect(await short.list()).toEqual([]);
    expect(await redis.smembers(`${prefix}:alerts`)).toEqual([]);
  });

  it('deletes an alert whose next state is none, and never resurrects it when marking synced', async () => {
    const pending = { ...obs, holdForMs: 60_000 };
    const now = Date.now();
    await evaluate(store, pending, now);
    expect((await store.get(ID))?.state.phase).toBe('pending');
    const gone = await evaluate(store, undefined, now + 1);
    expect(gone.stored).toBeUndefined();
    await store.markSynced(ID, 99);
    expect(await redis.exists(`${prefix}:alert:${ID}`)).toBe(0);
    expect(await store.list()).toEqual([]);
  });

  it('marks synced only forward', async () => {
    const now = Date.now();
    await evaluate(store, obs, now);
    await store.markSynced(ID, 5);
    await store.markSynced(ID, 3);
    expect((await store.get(ID))?.syncedVersion).toBe(5);
  });

  it('with a confirmer: a change made again until confirmed is written once, and counts as written', async () => {
    // What writeDurably does when a confirmation fails after the write went through (a failover
    // under way, a replica behind): it makes the same write again. The second attempt finds its own
    // document there and must answer as the writer, not as a conflict, nor bump the version again.
    const answers: Confirmation[] = [
      { confirmed: false, reason: 'a failover is under way' },
      { confirmed: true },
    ];
    let asked = 0;
    const confirmer: WriteConfirmer = {
      replicated: true,
      async confirm() {
        asked += 1;
        return answers.shift() ?? { confirmed: true };
      },
      async close() {},
    };
    const durable = new AlertStore(redis, prefix, { confirmer });
    const opened = await evaluate(durable, obs, Date.now());
    expect(asked).toBe(2);
    expect(opened.written).toBe(true);
    expect(Number(await redis.get(`${prefix}:alerts:seq`))).toBe(1);
    expect((await durable.get(ID))?.version).toBe(opened.stored?.version);
    // The same for a deletion: the second attempt finds it gone and reports it deleted.
    answers.push({ confirmed: false, reason: 'a replica is behind' });
    const deleted = await durable.update(ID, () => ({ next: undefined, result: 'gone' }));
    expect(deleted.written).toBe(true);
    expect(await durable.get(ID)).toBeUndefined();
  });

  it('lets one caller per interval run a check, however many ask', async () => {
    const answers = await Promise.all(
      Array.from({ length: 10 }, () => store.claimCheckRun('burstBalance', 200)),
    );
    expect(answers.filter(Boolean)).toHaveLength(1);
    expect(await store.claimCheckRun('rdsStatus', 200)).toBe(true);
    await sleep(250);
    expect(await store.claimCheckRun('burstBalance', 200)).toBe(true);
  });
});
