/**
 * The reporter against the real WebClient and the fake Slack Web API: coalescing, retries, the final
 * state always delivered, resuming the same message from a checkpoint, and finding the message a
 * worker posted but died before checkpointing.
 */
import { Writable } from 'node:stream';
import { type Logger, pino } from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ProgressState } from '../../src/slack/blocks/progress.js';
import { createSlackClient, createSlackNotifier } from '../../src/slack/notifier.js';
import { JOB_MESSAGE_EVENT, JobReporter, type ReporterSnapshot } from '../../src/slack/reporter.js';
import { type FakeSlack, messageText, startFakeSlack } from '../helpers/fake-slack.js';
import { waitFor } from '../helpers/wait-for.js';

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
  opts: {
    minIntervalMs?: number;
    snapshot?: ReporterSnapshot;
    saved?: ReporterSnapshot[];
    /**
     * The worker dies (SIGKILL) at the first checkpoint for which this is true: as it writes it (the
     * write never lands), or with `landed`, right after the write landed.
     */
    diesAt?: (snapshot: ReporterSnapshot) => boolean;
    landed?: boolean;
    logger?: Logger;
  } = {},
) {
  const log = opts.logger ?? logger;
  const notifier = createSlackNotifier(
    createSlackClient({ token: 'xoxb-test', apiUrl: fake.url, logger: log }),
  );
  const saved = opts.saved ?? [];
  let dead = false;
  return new JobReporter({
    notifier,
    jobId: 'j1',
    channel: 'C0OPS',
    rootText: '<@U0ALICE> asked: `/ops ping`',
    snapshot: opts.snapshot ?? { state: initialState() },
    minIntervalMs: opts.minIntervalMs ?? 1000,
    persist: async (s) => {
      // A dead worker does nothing more: its pending work never settles.
      if (dead) return new Promise<void>(() => undefined);
      dead = opts.diesAt?.(s) ?? false;
      if (!dead || opts.landed) saved.push(s);
      if (dead) return new Promise<void>(() => undefined);
    },
    logger: log,
  });
}

/** Slack calls that read history; the normal path makes none. */
function historyReads() {
  return fake.calls.filter((c) => c.method.startsWith('conversations.'));
}

/**
 * Runs a reporter until its worker dies at `diesAt` (see `reporter`), and returns the last checkpoint
 * that reached Redis: what the job is retried from.
 */
async function killedAt(
  diesAt: (snapshot: ReporterSnapshot) => boolean,
  { landed = false } = {},
): Promise<ReporterSnapshot> {
  const saved: ReporterSnapshot[] = [];
  let died = false;
  const doomed = reporter({
    minIntervalMs: 0,
    saved,
    landed,
    diesAt: (s) => {
      died = diesAt(s);
      return died;
    },
  });
  void doomed.start();
  await waitFor(() => died, { message: 'the worker to reach its kill point' });
  const checkpoint = saved.at(-1);
  if (!checkpoint) throw new Error('nothing was checkpointed before the kill');
  return checkpoint;
}

/** Finishes the job from `checkpoint` as a retried attempt on another worker would. */
async function resume(checkpoint: ReporterSnapshot, opts: { logger?: Logger } = {}) {
  const saved: ReporterSnapshot[] = [];
  const r = reporter({ minIntervalMs: 0, snapshot: checkpoint, saved, ...opts });
  r.info('resumed on another worker');
  await r.start();
  await r.step('Step two');
  await r.done('all steps done');
  return saved;
}

/** The root and progress messages in C0OPS; each must be there exactly once. */
function theMessages() {
  const roots = fake.messagesIn('C0OPS', { topLevelOnly: true });
  const replies = fake.messagesIn('C0OPS').filter((m) => m.thread_ts && m.thread_ts !== m.ts);
  expect(roots).toHaveLength(1);
  expect(replies).toHaveLength(1);
  expect(replies[0]?.thread_ts).toBe(roots[0]?.ts);
  return { root: roots[0], reply: replies[0] };
}

/** A logger whose JSON lines the test can read. */
function capturingLogger(): { logger: Logger; lines: () => Record<string, unknown>[] } {
  const out: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      out.push(String(chunk));
      done();
    },
  });
  return {
    logger: pino({ level: 'info' }, sink),
    lines: () =>
      out
        .join('')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
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
    // The checkpoint had both ts: nothing to look up.
    expect(historyReads()).toEqual([]);
  });

  it('labels its posts with the job in message metadata, without reading any history', async () => {
    const saved: ReporterSnapshot[] = [];
    const r = reporter({ minIntervalMs: 0, saved });
    await r.start();
    await r.step('Step one');
    await r.done('finished');
    const posts = fake.callsTo('chat.postMessage');
    expect(posts.map((c) => c.args.metadata)).toEqual([
      { event_type: JOB_MESSAGE_EVENT, event_payload: { job: 'j1', part: 'root' } },
      { event_type: JOB_MESSAGE_EVENT, event_payload: { job: 'j1', part: 'progress' } },
    ]);
    const { root, reply } = theMessages();
    expect(root?.metadata).toEqual(posts[0]?.args.metadata);
    expect(reply?.metadata).toEqual(posts[1]?.args.metadata);
    expect(historyReads()).toEqual([]);
    // Each post was announced before it was made and settled once its ts was checkpointed.
    expect(saved.some((s) => s.posting?.root !== undefined && s.rootTs === undefined)).toBe(true);
    expect(saved.some((s) => s.posting?.progress !== undefined && s.messageTs === undefined)).toBe(true);
    expect(saved.at(-1)?.posting).toBeUndefined();
    expect(saved.at(-1)).toMatchObject({ rootTs: root?.ts, messageTs: reply?.ts });
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

describe('JobReporter resumed after its worker died between a post and its checkpoint', () => {
  it('adopts the thread root the dead worker posted instead of starting a second thread', async () => {
    // The kill lands as the root's ts is checkpointed: Slack has the root, Redis only the intent.
    const checkpoint = await killedAt((s) => s.rootTs !== undefined);
    expect(checkpoint.rootTs).toBeUndefined();
    expect(checkpoint.posting?.root).toBeTypeOf('number');
    expect(fake.messagesIn('C0OPS')).toHaveLength(1);

    const saved = await resume(checkpoint);
    const { root, reply } = theMessages();
    expect(root?.text).toContain('done in'); // the outcome is appended to the adopted root
    expect(messageText(reply ?? {})).toMatch(/Step two[\s\S]*resumed on another worker[\s\S]*all steps done/);
    const lookups = fake.callsTo('conversations.history');
    expect(lookups).toHaveLength(1);
    expect(lookups[0]?.args).toMatchObject({ channel: 'C0OPS', include_all_metadata: 'true' });
    expect(Number(lookups[0]?.args.oldest)).toBeLessThan(Number(root?.ts));
    expect(fake.callsTo('conversations.replies')).toHaveLength(0);
    expect(fake.callsTo('chat.postMessage')).toHaveLength(2); // the dead worker's root, then the progress
    expect(saved.at(-1)).toMatchObject({ rootTs: root?.ts, messageTs: reply?.ts });
    expect(saved.at(-1)?.posting).toBeUndefined();
  });

  it('adopts the progress reply the dead worker posted and brings it up to date', async () => {
    const checkpoint = await killedAt((s) => s.messageTs !== undefined);
    expect(checkpoint.rootTs).toBeDefined();
    expect(checkpoint.messageTs).toBeUndefined();
    expect(checkpoint.posting?.progress).toBeTypeOf('number');
    expect(fake.messagesIn('C0OPS')).toHaveLength(2);

    await resume(checkpoint);
    const { reply } = theMessages();
    expect(messageText(reply ?? {})).toMatch(/Step two[\s\S]*resumed on another worker[\s\S]*all steps done/);
    const lookups = fake.callsTo('conversations.replies');
    expect(lookups).toHaveLength(1);
    expect(lookups[0]?.args).toMatchObject({
      channel: 'C0OPS',
      ts: checkpoint.rootTs,
      include_all_metadata: 'true',
    });
    expect(fake.callsTo('conversations.history')).toHaveLength(0);
    expect(fake.callsTo('chat.postMessage')).toHaveLength(2);
  });

  it('posts when the dead worker announced a post but never made it', async () => {
    // The kill lands right after the intent reached Redis, before chat.postMessage.
    const checkpoint = await killedAt((s) => s.posting?.root !== undefined, { landed: true });
    expect(checkpoint.posting?.root).toBeTypeOf('number');
    expect(fake.messages).toHaveLength(0);

    await resume(checkpoint);
    theMessages();
    expect(fake.callsTo('conversations.history')).toHaveLength(1);
    expect(fake.callsTo('chat.postMessage')).toHaveLength(2);
  });

  it('adopts only its own job’s message', async () => {
    const checkpoint = await killedAt((s) => s.rootTs !== undefined);
    // Another job's root, posted meanwhile with the same part, carries its own job id.
    const client = createSlackClient({ token: 'xoxb-test', apiUrl: fake.url, logger });
    await client.chat.postMessage({
      channel: 'C0OPS',
      text: 'another job',
      metadata: { event_type: JOB_MESSAGE_EVENT, event_payload: { job: 'j2', part: 'root' } },
    });
    await resume(checkpoint);
    const roots = fake.messagesIn('C0OPS', { topLevelOnly: true });
    expect(roots).toHaveLength(2);
    expect(roots[0]?.text).toMatch(/asked: `\/ops ping` — .*done in/);
    expect(roots[1]?.text).toBe('another job');
    expect(fake.threadReplies('C0OPS', roots[0]?.ts ?? '')).toHaveLength(1);
    expect(fake.threadReplies('C0OPS', roots[1]?.ts ?? '')).toHaveLength(0);
  });

  it('falls back to posting, with a warning and no secrets, when it may not read history', async () => {
    const checkpoint = await killedAt((s) => s.posting?.root !== undefined, { landed: true });
    fake.failNext('conversations.history', 1, { kind: 'error', error: 'missing_scope' });
    const { logger: capturing, lines } = capturingLogger();
    await resume(checkpoint, { logger: capturing });
    theMessages();
    const warning = lines().find((l) => l.level === 40 && String(l.msg).includes('could not look'));
    expect(warning).toMatchObject({ part: 'root', code: 'missing_scope' });
    expect(JSON.stringify(lines())).not.toContain('xoxb-test');
  });
});
