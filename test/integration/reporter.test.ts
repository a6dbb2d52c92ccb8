/**
 * The reporter against the real WebClient and the fake Slack Web API: coalescing, retries, the final
 * state always delivered, and resuming the same message from a checkpoint.
 */
import { pino } from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ProgressState } from '../../src/slack/blocks/progress.js';
import { createSlackClient, createSlackNotifier } from '../../src/slack/notifier.js';
import { JobReporter, type ReporterSnapshot } from '../../src/slack/reporter.js';
import { type FakeSlack, messageText, startFakeSlack } from '../helpers/fake-slack.js';

const logger = pino({ level: 'silent' });
let fake: FakeSlack;

beforeAll(async () => {
  fake = await startFakeSlack();
});
afterAll(async () => {
  await fake.close();
});
beforeEach(() => fake.reset());

function initialState(): ProgressState {
  return {
    title: '/ops ping',
    jobId: 'j1',
    requester: 'U0ALICE',
    status: 'queued',
    queuedAt: Date.now(),
    steps: [],
    notes: [],
  };
}

function reporter(
  opts: { minIntervalMs?: number; snapshot?: ReporterSnapshot; saved?: ReporterSnapshot[] } = {},
) {
  const notifier = createSlackNotifier(createSlackClient({ token: 'xoxb-test', apiUrl: fake.url, logger }));
  const saved = opts.saved ?? [];
  return new JobReporter({
    notifier,
    channel: 'C0OPS',
    rootText: '<@U0ALICE> asked: `/ops ping`',
    snapshot: opts.snapshot ?? { state: initialState() },
    minIntervalMs: opts.minIntervalMs ?? 1000,
    persist: async (s) => {
      saved.push(s);
    },
    logger,
  });
}

describe('JobReporter', () => {
  it('coalesces a burst of updates to about one edit per second and delivers the last state', async () => {
    const r = reporter({ minIntervalMs: 1000 });
    await r.start();
    await r.step('Copying rows');
    const started = Date.now();
    for (let i = 1; i <= 200; i++) {
      r.progress(`${i} of 200 ranges`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await r.done('copied 200 ranges');
    const elapsedSec = (Date.now() - started) / 1000;
    const progress = fake.messagesIn('C0OPS').filter((m) => m.thread_ts);
    expect(progress).toHaveLength(1);
    const updates = fake.callsTo('chat.update').filter((c) => c.args.ts === progress[0]?.ts);
    // 200 changes over ~2.5 s: at most one edit per second, plus the final one.
    expect(updates.length).toBeLessThanOrEqual(Math.ceil(elapsedSec) + 2);
    const times = updates.map((c) => c.at);
    for (let i = 1; i < times.length; i++)
      expect((times[i] ?? 0) - (times[i - 1] ?? 0)).toBeGreaterThanOrEqual(950);
    const final = messageText(progress[0] ?? {});
    expect(final).toContain('done in');
    expect(final).toContain('200 of 200 ranges');
    expect(final).toContain('copied 200 ranges');
  });

  it('retries transient 5xx answers and still delivers the final state', async () => {
    const r = reporter({ minIntervalMs: 0 });
    await r.start();
    await r.flush();
    fake.failNext('chat.update', 2, { kind: 'http', status: 503 });
    await r.done('finished');
    const updates = fake.callsTo('chat.update');
    expect(updates.map((c) => c.status).slice(0, 3)).toEqual([503, 503, 200]);
    const reply = fake.messagesIn('C0OPS').find((m) => m.thread_ts);
    expect(messageText(reply ?? {})).toContain('finished');
  });

  it('keeps editing the checkpointed message when a job resumes elsewhere', async () => {
    const saved: ReporterSnapshot[] = [];
    const first = reporter({ minIntervalMs: 0, saved });
    await first.start();
    await first.step('Step one');
    await first.flush();
    const checkpoint = saved.at(-1);
    expect(checkpoint?.messageTs).toBeDefined();

    const second = reporter({ minIntervalMs: 0, ...(checkpoint ? { snapshot: checkpoint } : {}) });
    second.info('resumed on another worker');
    await second.start();
    await second.step('Step two');
    await second.done('all steps done');
    expect(fake.messagesIn('C0OPS', { topLevelOnly: true })).toHaveLength(1);
    const replies = fake.messagesIn('C0OPS').filter((m) => m.thread_ts);
    expect(replies).toHaveLength(1);
    const text = messageText(replies[0] ?? {});
    expect(text).toMatch(/Step one[\s\S]*Step two[\s\S]*resumed on another worker[\s\S]*all steps done/);
  });

  it('gives up quietly on a channel it cannot post in, and posts anew when its message was deleted', async () => {
    fake.failNext('chat.postMessage', 1, { kind: 'error', error: 'channel_not_found' });
    const lost = reporter({ minIntervalMs: 0 });
    await lost.start();
    await lost.done('finished');
    expect(fake.callsTo('chat.postMessage')).toHaveLength(1);

    fake.reset();
    const r = reporter({ minIntervalMs: 0 });
    await r.start();
    await r.flush();
    fake.failNext('chat.update', 1, { kind: 'error', error: 'message_not_found' });
    await r.done('finished anyway');
    const replies = fake.messagesIn('C0OPS').filter((m) => m.thread_ts);
    expect(replies).toHaveLength(2);
    expect(messageText(replies[1] ?? {})).toContain('finished anyway');
  });
});
