/**
 * Home tabs' state against the real Redis: publishing coalesced per person (one running and one
 * waiting at most), who opened their tab and who gets theirs re-published, the answers to clicks,
 * what a tab offered, and the index of open approval requests the tabs read.
 */
import { randomBytes } from 'node:crypto';
import { Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { ApprovalStore, type ApprovalSubject } from '../../src/approvals/store.js';
import { type ConfigFile, readConfig } from '../../src/config.js';
import {
  HomeTabs,
  PUBLISH_LIMIT,
  PUBLISH_WINDOW_MS,
  REFRESH_DELAY_MS,
  REFRESH_WITHIN_MS,
} from '../../src/home/tabs.js';
import { type JobData, QUEUE_NAME } from '../../src/queue/contract.js';
import { JobProducer } from '../../src/queue/producer.js';
import { writeTempFile } from '../helpers/run-capstan.js';
import { waitFor } from '../helpers/wait-for.js';

const CONFIG = `
roles:
  engineers: { users: [U0ALICE] }
  approvers: { users: [U0CAROL], groups: [S0APPROVERS] }
`;

let redis: Redis;
let prefix: string;
let producer: JobProducer;
let homes: HomeTabs;
let file: ConfigFile;

beforeAll(() => {
  redis = new Redis(inject('redisUrl'));
  file = readConfig({ CAPSTAN_CONFIG: writeTempFile('capstan-home-', 'capstan.yml', CONFIG) }).file;
});
afterAll(async () => {
  await redis.quit();
});
beforeEach(() => {
  prefix = `{t-home-${randomBytes(4).toString('hex')}}`;
  producer = new JobProducer(redis, prefix);
  homes = new HomeTabs(redis, prefix, producer);
});
afterEach(async () => {
  await producer.close();
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length > 0) await redis.del(...keys);
});

/** The `home.publish` jobs not yet run, by whose tab. */
async function pendingPublishes(): Promise<string[]> {
  const jobs = await producer.queue.getJobs(['waiting', 'delayed', 'prioritized']);
  return jobs
    .filter((j) => j?.name === 'home.publish')
    .map((j) => j.data.request.userId)
    .sort();
}

describe('HomeTabs', () => {
  it('coalesces publishing per person: a burst leaves one waiting; while one runs, one more is kept', async () => {
    await Promise.all([
      ...Array.from({ length: 20 }, () => homes.publish('U0ALICE')),
      ...Array.from({ length: 5 }, () => homes.publish('U0BOB')),
    ]);
    expect(await pendingPublishes()).toEqual(['U0ALICE', 'U0BOB']);

    // A worker takes Alice's; while it runs, more changes keep exactly one more to run after it.
    const ran: string[] = [];
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const connection = new Redis(inject('redisUrl'), { maxRetriesPerRequest: null });
    const worker = new Worker<JobData>(
      QUEUE_NAME,
      async (job) => {
        ran.push(job.data.request.userId);
        if (ran.length === 1) await held;
      },
      { connection, prefix, concurrency: 1 },
    );
    try {
      await waitFor(() => ran.length === 1);
      const first = ran[0];
      for (let i = 0; i < 10; i++) await homes.publish(first ?? '');
      release();
      await waitFor(() => ran.length === 3, { message: `three runs; ran ${ran.join(', ')}` });
      await new Promise((resolve) => setTimeout(resolve, 300));
      // The held one, the other person's, and one more for the held one's person: no more.
      expect(ran).toHaveLength(3);
      expect(ran.filter((u) => u === first)).toHaveLength(2);
      expect(await pendingPublishes()).toEqual([]);
    } finally {
      release();
      await worker.close();
      await connection.quit();
    }
  });

  it('re-publishes only the tabs opened lately, after a short delay, and knows who may decide a role’s requests', async () => {
    const now = Date.now();
    await homes.opened('U0ALICE', { dm: 'D0ALICE', groupIds: [] }, now);
    await homes.opened('U0DAVE', { dm: 'D0DAVE', groupIds: ['S0APPROVERS'] }, now);
    await homes.opened('U0OLD', { dm: 'D0OLD', groupIds: ['S0APPROVERS'] }, now - REFRESH_WITHIN_MS - 1);
    expect(await homes.openedBy('U0DAVE')).toMatchObject({
      dm: 'D0DAVE',
      groupIds: ['S0APPROVERS'],
      at: now,
    });

    // Carol holds the role but never opened her tab; the old opener is not re-published; the
    // requester never decides.
    expect((await homes.deciders(file, 'approvers', 'U0ALICE', now)).sort()).toEqual(['U0DAVE']);
    expect(await homes.deciders(file, 'approvers', 'U0DAVE', now)).toEqual([]);

    await homes.refresh(['U0ALICE', 'U0CAROL', 'U0OLD', 'capstan', 'U0ALICE']);
    expect(await pendingPublishes()).toEqual(['U0ALICE']);
    const [job] = await producer.queue.getJobs(['delayed']);
    expect(job?.opts.delay).toBe(REFRESH_DELAY_MS);
    expect(job?.data.request).toMatchObject({ userId: 'U0ALICE', channelId: '', source: 'home' });
  });

  it('limits publishes workspace-wide: re-publishes after a change stop at their share, opened tabs may use more, then a slot frees a minute after the publish it replaces', async () => {
    const t0 = 1_000_000;
    // Another HomeTabs on the same Redis: another worker process.
    const other = new HomeTabs(redis, prefix, producer);
    const changed = [];
    for (let i = 0; i < PUBLISH_LIMIT.changed; i++)
      changed.push(await (i % 2 ? other : homes).takePublishSlot('changed', t0 + i));
    expect(changed.every((wait) => wait === 0)).toBe(true);
    // The share of changes is used up: the next one waits until the first of the window is a
    // minute old; a tab being opened still gets a slot.
    expect(await homes.takePublishSlot('changed', t0 + 100)).toBe(PUBLISH_WINDOW_MS - 100);
    for (let i = PUBLISH_LIMIT.changed; i < PUBLISH_LIMIT.opened; i++)
      expect(await other.takePublishSlot('opened', t0 + 100 + i)).toBe(0);
    // Every slot is used: an opened tab waits too, for the publish that frees one (the first).
    expect(await homes.takePublishSlot('opened', t0 + 500)).toBe(PUBLISH_WINDOW_MS - 500);
    // A refused ask takes nothing: still full.
    expect(await redis.zcard(`${prefix}:home:published`)).toBe(PUBLISH_LIMIT.opened);
    // A minute after the first, its slot is free again, for either.
    expect(await homes.takePublishSlot('opened', t0 + PUBLISH_WINDOW_MS + 1)).toBe(0);
    // Changes wait until the window holds fewer than their share: of the 88 publishes left (those
    // at t0+3…t0+59, 30 opened, the one just taken), 29 must age out: the 29th oldest is t0+31's.
    const wait = await homes.takePublishSlot('changed', t0 + PUBLISH_WINDOW_MS + 2);
    expect(wait).toBe(t0 + 31 + PUBLISH_WINDOW_MS - (t0 + PUBLISH_WINDOW_MS + 2));
  });

  it('keeps the answers to the latest three clicks, newest first, and what each tab offered', async () => {
    for (const text of ['one', 'two', 'three', 'four']) await homes.notify('U0ALICE', text);
    expect((await homes.notices('U0ALICE')).map((n) => n.text)).toEqual(['four', 'three', 'two']);
    expect(await homes.notices('U0BOB')).toEqual([]);

    await homes.markShown('U0CAROL', ['j1', 'j2']);
    await homes.markShown('U0CAROL', ['j3']);
    expect(await homes.wasShown('U0CAROL', 'j1')).toBe(true);
    expect(await homes.wasShown('U0CAROL', 'j3')).toBe(true);
    expect(await homes.wasShown('U0DAVE', 'j1')).toBe(false);
  });
});

describe('ApprovalStore.listOpen', () => {
  function subject(id: string, expiresAt: number): ApprovalSubject {
    return {
      id,
      jobName: 'ops.ping',
      command: { kind: 'ops.ping' },
      request: {
        requestId: id,
        userId: 'U0ALICE',
        channelId: 'C0OPS',
        text: '/ops ping',
        source: 'slash',
        receivedAt: 0,
      },
      target: 'Capstan',
      plan: ['run ops.ping'],
      role: 'approvers',
      quorum: 2,
      rule: 'test',
      createdAt: Date.now(),
      expiresAt,
    };
  }

  it('lists pending requests until they are approved, rejected or expired', async () => {
    const approvals = new ApprovalStore(redis, prefix);
    const later = Date.now() + 60_000;
    for (const id of ['ja', 'jb', 'jc', 'jd']) await approvals.create(subject(id, later));
    await approvals.create(subject('jgone', Date.now() - 1));
    expect((await approvals.listOpen()).map((r) => r.id).sort()).toEqual(['ja', 'jb', 'jc', 'jd']);

    expect(await approvals.decide('ja', 'U0CAROL', 'reject')).toEqual({ outcome: 'rejected' });
    // One vote of two: still open.
    expect(await approvals.decide('jb', 'U0CAROL', 'approve')).toEqual({ outcome: 'recorded', count: 1 });
    expect(await approvals.decide('jc', 'U0CAROL', 'approve')).toEqual({ outcome: 'recorded', count: 1 });
    expect(await approvals.decide('jc', 'U0DAVE', 'approve')).toEqual({ outcome: 'approved', count: 2 });
    expect(await approvals.expire('jgone')).toBe(true);
    const open = await approvals.listOpen();
    expect(open.map((r) => r.id).sort()).toEqual(['jb', 'jd']);
    expect(open.find((r) => r.id === 'jb')?.approvals.map((a) => a.userId)).toEqual(['U0CAROL']);
    expect(await redis.zrange(`${prefix}:approvals:open`, '0', '-1')).toEqual(
      expect.arrayContaining(['jb', 'jd']),
    );
    expect(await redis.zcard(`${prefix}:approvals:open`)).toBe(2);
  });
});
