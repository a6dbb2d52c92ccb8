/**
 * The whole path for a first command: signed request → real Bolt receiver → BullMQ on real Redis →
 * worker → progress message in the request's thread, through the fake Slack Web API.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { jobIdFor } from '../../src/queue/contract.js';
import { startTestCapstan, TEST_SIGNING_SECRET, type TestCapstan } from '../helpers/capstan.js';
import { messageText } from '../helpers/fake-slack.js';
import {
  appMentionEventBody,
  fakeTriggerId,
  postToSlackEndpoint,
  signSlackRequest,
  slashCommandBody,
} from '../helpers/signed-request.js';
import { waitFor } from '../helpers/wait-for.js';

let t: TestCapstan | undefined;
afterEach(async () => {
  await t?.stop();
  t = undefined;
});

/** The root message a slash-command job posts, and its progress reply, once the job is done. */
async function finishedThread(tc: TestCapstan, channel = 'C0OPS') {
  return waitFor(() => {
    const root = tc.fake.messagesIn(channel, { topLevelOnly: true })[0];
    if (!root) return undefined;
    const reply = tc.fake.threadReplies(channel, root.ts)[0];
    return reply && /done in/.test(messageText(reply)) ? { root, reply } : undefined;
  });
}

describe('/ops ping end to end', () => {
  it('acks inside 3 s, then posts progress in the thread and updates it in place to done', async () => {
    t = await startTestCapstan();
    const res = await t.slash('/ops', 'ping');
    expect(res.status).toBe(200);
    expect(res.ms).toBeLessThan(3000);
    expect(JSON.parse(res.body)).toMatchObject({
      response_type: 'ephemeral',
      text: expect.stringContaining('Queued as job'),
    });

    const { root, reply } = await finishedThread(t);
    expect(root.text).toContain('<@U0ALICE> asked: `/ops ping`');
    expect(reply.thread_ts).toBe(root.ts);
    // Posted once, then edited in place: never a second progress message.
    expect(t.fake.threadReplies('C0OPS', root.ts)).toHaveLength(1);
    expect(reply.updates).toBeGreaterThanOrEqual(1);
    const final = messageText(reply);
    expect(final).toContain(':white_check_mark:');
    expect(final).toMatch(/pong from .+ — queued .+, Redis [\d.]+ ms/);
    expect(final).toContain('Round trip to Redis');
    // The history shows the job passing through running before done.
    expect(reply.history.map((v) => messageText(v)).some((text) => text.includes('running for'))).toBe(true);
    // The root message gets the outcome too.
    await waitFor(() => /done in/.test(t?.fake.findMessage('C0OPS', root.ts)?.text ?? ''));
    await waitFor(async () => (await t?.jobCounts())?.completed === 1);
  });

  it('answers /ops help and bad input with an ephemeral message and no job', async () => {
    t = await startTestCapstan();
    const help = await t.slash('/ops', 'help lb');
    expect(help.status).toBe(200);
    expect(JSON.parse(help.body).text).toContain('/lb disable <env>');
    const bad = await t.slash('/ops', 'pnig');
    expect(JSON.parse(bad.body)).toMatchObject({
      response_type: 'ephemeral',
      text: expect.stringMatching(
        /no subcommand `pnig`. Did you mean `ping`\?[\s\S]*Usage:[\s\S]*\/ops ping/,
      ),
    });
    expect(await t.jobCounts()).toMatchObject({ wait: 0, active: 0, completed: 0 });
    expect(t.fake.callsTo('chat.postMessage')).toHaveLength(0);
  });

  it('rejects a bad signature with 401 and enqueues nothing', async () => {
    t = await startTestCapstan();
    const body = slashCommandBody({ command: '/ops', text: 'ping', userId: 'U0ALICE', channelId: 'C0OPS' });
    const res = await postToSlackEndpoint(t.eventsUrl, body, { secret: 'not-the-signing-secret' });
    expect(res.status).toBe(401);
    expect(await t.jobCounts()).toMatchObject({ wait: 0, active: 0, completed: 0 });
  });

  it('rejects a request signed more than 5 minutes ago with 401 and enqueues nothing', async () => {
    t = await startTestCapstan();
    const body = slashCommandBody({ command: '/ops', text: 'ping', userId: 'U0ALICE', channelId: 'C0OPS' });
    const timestampSec = Math.floor(Date.now() / 1000) - 6 * 60;
    const res = await postToSlackEndpoint(t.eventsUrl, body, { secret: TEST_SIGNING_SECRET, timestampSec });
    expect(res.status).toBe(401);
    expect(await t.jobCounts()).toMatchObject({ wait: 0, active: 0, completed: 0 });
  });

  it('enqueues exactly one job when the same request arrives three times', async () => {
    t = await startTestCapstan();
    const triggerId = fakeTriggerId();
    const body = slashCommandBody({
      command: '/ops',
      text: 'ping',
      userId: 'U0ALICE',
      channelId: 'C0OPS',
      triggerId,
    });
    const first = await postToSlackEndpoint(t.eventsUrl, body, { secret: TEST_SIGNING_SECRET });
    const retries = await Promise.all(
      [1, 2].map((n) =>
        postToSlackEndpoint(t?.eventsUrl ?? '', body, {
          secret: TEST_SIGNING_SECRET,
          headers: { 'X-Slack-Retry-Num': String(n), 'X-Slack-Retry-Reason': 'http_timeout' },
        }),
      ),
    );
    expect(JSON.parse(first.body).text).toContain(jobIdFor(triggerId));
    for (const r of retries) expect(JSON.parse(r.body).text).toContain('Already received');
    await finishedThread(t);
    await waitFor(async () => (await t?.jobCounts())?.completed === 1);
    const counts = await t.jobCounts();
    expect(counts.completed + counts.wait + counts.active + counts.delayed + counts.failed).toBe(1);
    expect(t.fake.messagesIn('C0OPS', { topLevelOnly: true })).toHaveLength(1);
  });

  it('still delivers the final message when Slack answers 429 twice', async () => {
    t = await startTestCapstan();
    // The job does not wait for Slack: its progress message may be posted already finished, or updated.
    t.fake.failNext('chat.postMessage', 2, { kind: 'ratelimited', retryAfterSec: 1 });
    await t.slash('/ops', 'ping');
    const { reply } = await finishedThread(t);
    const posts = t.fake.callsTo('chat.postMessage');
    expect(posts.filter((c) => c.status === 429)).toHaveLength(2);
    expect(posts.at(-1)?.status).toBe(200);
    expect(messageText(reply)).toContain('pong from');
  });

  it('reports an @capstan mention in the mention’s own thread', async () => {
    t = await startTestCapstan();
    const ts = '1732240000.000200';
    const body = appMentionEventBody({
      userId: 'U0BOB',
      channelId: 'C0OPS',
      text: '<@U0CAPSTAN> ops ping',
      ts,
      eventId: 'Ev0PING0001',
    });
    const res = await postToSlackEndpoint(t.eventsUrl, body, { secret: TEST_SIGNING_SECRET });
    expect(res.status).toBe(200);
    const reply = await waitFor(() => {
      const r = t?.fake.threadReplies('C0OPS', ts)[0];
      return r && /done in/.test(messageText(r)) ? r : undefined;
    });
    expect(messageText(reply)).toContain('asked by <@U0BOB>');
    // A mention already is the request message: no extra root is posted.
    expect(t.fake.messagesIn('C0OPS', { topLevelOnly: true })).toHaveLength(0);
  });

  it('serves /health, /ready and /metrics', async () => {
    t = await startTestCapstan();
    expect((await fetch(`${t.baseUrl}/health`)).status).toBe(200);
    const ready = await waitFor(async () => {
      const r = await fetch(`${t?.baseUrl}/ready`);
      return r.status === 200 ? r : undefined;
    });
    expect(await ready.json()).toEqual({ status: 'ready' });
    await t.slash('/ops', 'ping');
    await finishedThread(t);
    const metrics = await waitFor(async () => {
      const text = await (await fetch(`${t?.baseUrl}/metrics`)).text();
      return text.includes('capstan_jobs_total{name="ops.ping",outcome="done"} 1') ? text : undefined;
    });
    expect(metrics).toContain('capstan_slack_requests_total{kind="command",outcome="enqueued"} 1');
    expect(metrics).toContain('capstan_job_duration_seconds_count{name="ops.ping",outcome="done"} 1');
    // Unsigned requests to the Slack endpoint never reach a listener.
    const unsigned = await fetch(t.eventsUrl, { method: 'POST', body: 'command=%2Fops&text=ping' });
    expect(unsigned.status).toBe(401);
    expect(signSlackRequest('s', 'b', 1)['X-Slack-Signature']).toMatch(/^v0=[0-9a-f]{64}$/);
  });
});
