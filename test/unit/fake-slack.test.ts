import { createHmac } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { verifySlackRequest } from '@slack/bolt';
import { ErrorCode, LogLevel, WebClient } from '@slack/web-api';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  FAKE_BOT_ID,
  FAKE_BOT_USER_ID,
  type FakeSlack,
  messageText,
  RESPONSE_URL_METHOD,
  startFakeSlack,
  UPLOAD_METHOD,
} from '../helpers/fake-slack.js';
import {
  appHomeOpenedBody,
  appMentionEventBody,
  blockActionsBody,
  homeBlockActionsBody,
  postToSlackEndpoint,
  signSlackRequest,
  slashCommandBody,
} from '../helpers/signed-request.js';
import { waitFor } from '../helpers/wait-for.js';

const CHANNEL = 'C0OPS';

/** A real WebClient aimed at the fake, quiet and with fast retries (the Retry-After wait itself is honoured). */
function clientFor(fake: FakeSlack, retries = 0): WebClient {
  return new WebClient('xoxb-test-token', {
    slackApiUrl: fake.url,
    logLevel: LogLevel.ERROR,
    retryConfig: { retries, minTimeout: 0, maxTimeout: 10 },
  });
}

describe('fake Slack Web API', () => {
  let fake: FakeSlack;

  beforeAll(async () => {
    fake = await startFakeSlack();
  });
  afterAll(async () => {
    await fake.close();
  });
  beforeEach(() => {
    fake.reset();
  });

  it('posts messages and applies chat.update in place', async () => {
    const client = clientFor(fake);
    const blocks = [{ type: 'section', text: { type: 'mrkdwn', text: '*Deploy* queued' } }];
    const posted = await client.chat.postMessage({ channel: CHANNEL, text: 'Deploy queued', blocks });
    expect(posted.ok).toBe(true);
    expect(posted.channel).toBe(CHANNEL);
    expect(posted.ts).toMatch(/^\d{10}\.\d{6}$/);
    expect(posted.message).toMatchObject({
      text: 'Deploy queued',
      user: FAKE_BOT_USER_ID,
      bot_id: FAKE_BOT_ID,
    });
    const parentTs = posted.ts as string;

    const reply = await client.chat.postMessage({ channel: CHANNEL, thread_ts: parentTs, text: 'step 1 ok' });
    expect(Number(reply.ts)).toBeGreaterThan(Number(parentTs));

    const updated = await client.chat.update({ channel: CHANNEL, ts: parentTs, text: 'Deploy done' });
    expect(updated).toMatchObject({ ok: true, channel: CHANNEL, ts: parentTs, text: 'Deploy done' });

    const message = fake.findMessage(CHANNEL, parentTs);
    expect(message?.text).toBe('Deploy done');
    expect(message?.blocks).toEqual(blocks); // omitted blocks are retained, as on Slack
    expect(message?.updates).toBe(1);
    expect(message?.history.map((v) => v.text)).toEqual(['Deploy queued', 'Deploy done']);
    expect(messageText(message ?? {})).toContain('*Deploy* queued');
    expect(fake.messagesIn(CHANNEL)).toHaveLength(2);
    expect(fake.messagesIn(CHANNEL, { topLevelOnly: true })).toHaveLength(1);
    expect(fake.threadReplies(CHANNEL, parentTs).map((m) => m.text)).toEqual(['step 1 ok']);

    const [firstCall] = fake.callsTo('chat.postMessage');
    expect(firstCall?.args.blocks).toEqual(blocks); // form-encoded JSON decoded
    expect(firstCall?.args).not.toHaveProperty('token');
    expect(firstCall?.authorized).toBe(true);
    expect(firstCall?.status).toBe(200);

    await expect(client.chat.update({ channel: CHANNEL, ts: '1.000100', text: 'x' })).rejects.toMatchObject({
      code: ErrorCode.PlatformError,
      data: { error: 'message_not_found' },
    });
  });

  it('answers 429 with Retry-After, which WebClient honours before retrying', async () => {
    fake.failNext('chat.postMessage', 1, { kind: 'ratelimited', retryAfterSec: 1 });
    const client = clientFor(fake, 2);
    const posted = await client.chat.postMessage({ channel: CHANNEL, text: 'after the storm' });
    expect(posted.ok).toBe(true);

    const calls = fake.callsTo('chat.postMessage');
    expect(calls.map((c) => c.status)).toEqual([429, 200]);
    expect(calls[0]?.response).toEqual({ ok: false, error: 'ratelimited' });
    expect(calls[0]?.fault).toEqual({ kind: 'ratelimited', retryAfterSec: 1 });
    expect((calls[1]?.at ?? 0) - (calls[0]?.at ?? 0)).toBeGreaterThanOrEqual(900);
    expect(fake.messagesIn(CHANNEL).map((m) => m.text)).toEqual(['after the storm']);
  });

  it('surfaces an injected Slack error as a platform error and records it', async () => {
    fake.failNext('chat.postMessage', 1, { kind: 'error', error: 'channel_not_found' });
    const client = clientFor(fake);
    await expect(client.chat.postMessage({ channel: 'C0GONE', text: 'hello?' })).rejects.toMatchObject({
      code: ErrorCode.PlatformError,
      data: { ok: false, error: 'channel_not_found' },
    });
    expect(fake.calls).toHaveLength(1);
    expect(fake.calls[0]).toMatchObject({ method: 'chat.postMessage', status: 200 });
    expect(fake.messages).toHaveLength(0);

    // The fault was used up: the next call goes through.
    await client.chat.postMessage({ channel: 'C0GONE', text: 'hello?' });
    expect(fake.messagesIn('C0GONE')).toHaveLength(1);
  });

  it('turns an injected HTTP 503 into an HTTP error', async () => {
    fake.failNext('users.info', 1, { kind: 'http', status: 503 });
    await expect(clientFor(fake).users.info({ user: 'U0ALICE' })).rejects.toMatchObject({
      code: ErrorCode.HTTPError,
      statusCode: 503,
    });
    expect(fake.callsTo('users.info')[0]?.status).toBe(503);
  });

  it('records files.uploadV2 uploads with their bytes', async () => {
    const client = clientFor(fake);
    const content = Buffer.from('line of deploy log\n'.repeat(200));
    const result = await client.files.uploadV2({
      channel_id: CHANNEL,
      thread_ts: '1732240000.000100',
      file: content,
      filename: 'deploy.log',
      title: 'Deploy log',
    });
    expect(result.ok).toBe(true);

    expect(fake.files).toHaveLength(1);
    const [file] = fake.files;
    expect(file).toMatchObject({
      filename: 'deploy.log',
      title: 'Deploy log',
      channel_id: CHANNEL,
      thread_ts: '1732240000.000100',
      length: content.length,
      bytesLength: content.length,
      uploaded: true,
      completed: true,
    });
    expect(file?.bytes?.equals(content)).toBe(true);
    expect(fake.calls.map((c) => c.method)).toEqual([
      'files.getUploadURLExternal',
      UPLOAD_METHOD,
      'files.completeUploadExternal',
    ]);
    expect(fake.callsTo('files.completeUploadExternal')[0]?.args.files).toEqual([
      { id: file?.id, title: 'Deploy log' },
    ]);
  });

  it('serves identity lookups, unknown methods, delays and response_url posts', async () => {
    const client = clientFor(fake);
    expect(await client.auth.test()).toMatchObject({
      ok: true,
      user_id: FAKE_BOT_USER_ID,
      bot_id: FAKE_BOT_ID,
    });

    fake.setUser('U0ALICE', { real_name: 'Alice Example', tz: 'Europe/Berlin' });
    const info = await client.users.info({ user: 'U0ALICE' });
    expect(info.user).toMatchObject({ id: 'U0ALICE', real_name: 'Alice Example', tz: 'Europe/Berlin' });
    expect(info.user?.profile?.real_name).toBe('Alice Example');

    fake.setUserGroup('S0ONCALL', ['U0ALICE', 'U0BOB']);
    expect((await client.usergroups.users.list({ usergroup: 'S0ONCALL' })).users).toEqual([
      'U0ALICE',
      'U0BOB',
    ]);

    await expect(client.apiCall('capstan.nope')).rejects.toMatchObject({ data: { error: 'unknown_method' } });

    fake.setDelay('conversations.info', 120);
    const started = Date.now();
    const conversation = await client.conversations.info({ channel: CHANNEL });
    expect(Date.now() - started).toBeGreaterThanOrEqual(100);
    expect(conversation.channel?.id).toBe(CHANNEL);

    const url = fake.responseUrl('cmd-1');
    const posted = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ text: 'Working on it', response_type: 'ephemeral' }),
    });
    expect(posted.status).toBe(200);
    const response = await waitFor(() => fake.responsesFor('cmd-1')[0]);
    expect(response.body).toEqual({ text: 'Working on it', response_type: 'ephemeral' });

    fake.failNext(RESPONSE_URL_METHOD, 1, { kind: 'http', status: 500 });
    expect((await fetch(url, { method: 'POST', body: '{}' })).status).toBe(500);
    expect(fake.responses).toHaveLength(1);
  });

  it('stores message metadata and answers it from conversations.history only when asked', async () => {
    const client = clientFor(fake);
    const metadata = { event_type: 'capstan_job', event_payload: { job: 'j1', part: 'root' } };
    const first = await client.chat.postMessage({ channel: CHANNEL, text: 'first', metadata });
    expect(first.message?.metadata).toEqual(metadata);
    expect(fake.findMessage(CHANNEL, first.ts ?? '')?.metadata).toEqual(metadata);
    const reply = await client.chat.postMessage({
      channel: CHANNEL,
      thread_ts: first.ts ?? '',
      text: 'reply',
    });
    const second = await client.chat.postMessage({ channel: CHANNEL, text: 'second' });
    await client.chat.postMessage({ channel: 'C0ELSE', text: 'elsewhere' });

    // Top-level messages only, newest first; metadata only with include_all_metadata.
    const plain = await client.conversations.history({ channel: CHANNEL });
    expect(plain).toMatchObject({ ok: true, has_more: false });
    expect(plain.messages?.map((m) => m.text)).toEqual(['second', 'first']);
    expect(plain.messages?.[1]?.metadata).toBeUndefined();
    expect(plain.messages?.[1]).toMatchObject({
      thread_ts: first.ts,
      reply_count: 1,
      latest_reply: reply.ts,
    });
    const full = await client.conversations.history({ channel: CHANNEL, include_all_metadata: true });
    expect(full.messages?.[1]?.metadata).toEqual(metadata);

    // oldest/latest are exclusive unless inclusive.
    const since = await client.conversations.history({ channel: CHANNEL, oldest: first.ts ?? '' });
    expect(since.messages?.map((m) => m.text)).toEqual(['second']);
    const inclusive = await client.conversations.history({
      channel: CHANNEL,
      oldest: first.ts ?? '',
      latest: second.ts ?? '',
      inclusive: true,
    });
    expect(inclusive.messages?.map((m) => m.text)).toEqual(['second', 'first']);
    const before = await client.conversations.history({ channel: CHANNEL, latest: second.ts ?? '' });
    expect(before.messages?.map((m) => m.text)).toEqual(['first']);
    const wholeSeconds = await client.conversations.history({
      channel: CHANNEL,
      oldest: String(Math.floor(Number(first.ts)) - 60),
    });
    expect(wholeSeconds.messages).toHaveLength(2);

    // Cursor pagination.
    const page1 = await client.conversations.history({ channel: CHANNEL, limit: 1 });
    expect(page1.messages?.map((m) => m.text)).toEqual(['second']);
    expect(page1.has_more).toBe(true);
    const cursor = page1.response_metadata?.next_cursor ?? '';
    expect(cursor).not.toBe('');
    const page2 = await client.conversations.history({ channel: CHANNEL, limit: 1, cursor });
    expect(page2.messages?.map((m) => m.text)).toEqual(['first']);
    expect(page2.has_more).toBe(false);
    expect(page2.response_metadata?.next_cursor ?? '').toBe('');

    await expect(
      client.conversations.history({ channel: CHANNEL, cursor: 'bm9wZQ==' }),
    ).rejects.toMatchObject({
      data: { error: 'invalid_cursor' },
    });
    await expect(
      client.conversations.history({ channel: CHANNEL, oldest: 'yesterday' }),
    ).rejects.toMatchObject({
      data: { error: 'invalid_ts_oldest' },
    });
    await expect(client.conversations.history({ channel: 'nope' })).rejects.toMatchObject({
      data: { error: 'channel_not_found' },
    });
    fake.setChannel('C0OUTSIDE', { is_member: false });
    await expect(client.conversations.history({ channel: 'C0OUTSIDE' })).rejects.toMatchObject({
      data: { error: 'not_in_channel' },
    });
  });

  it('answers a thread from conversations.replies, parent first, with metadata when asked', async () => {
    const client = clientFor(fake);
    const parent = await client.chat.postMessage({ channel: CHANNEL, text: 'parent' });
    const parentTs = parent.ts ?? '';
    const metadata = { event_type: 'capstan_job', event_payload: { job: 'j1', part: 'progress' } };
    const r1 = await client.chat.postMessage({ channel: CHANNEL, thread_ts: parentTs, text: 'r1', metadata });
    const r2 = await client.chat.postMessage({ channel: CHANNEL, thread_ts: parentTs, text: 'r2' });

    const thread = await client.conversations.replies({ channel: CHANNEL, ts: parentTs });
    expect(thread.messages?.map((m) => m.text)).toEqual(['parent', 'r1', 'r2']);
    expect(thread.messages?.[1]).toMatchObject({ thread_ts: parentTs, parent_user_id: FAKE_BOT_USER_ID });
    expect(thread.messages?.[1]?.metadata).toBeUndefined();
    const withMetadata = await client.conversations.replies({
      channel: CHANNEL,
      ts: parentTs,
      include_all_metadata: true,
    });
    expect(withMetadata.messages?.[1]?.metadata).toEqual(metadata);

    // The parent comes first whatever the window; a reply's ts names its whole thread.
    const since = await client.conversations.replies({
      channel: CHANNEL,
      ts: r1.ts ?? '',
      oldest: r1.ts ?? '',
    });
    expect(since.messages?.map((m) => m.text)).toEqual(['parent', 'r2']);

    const page1 = await client.conversations.replies({ channel: CHANNEL, ts: parentTs, limit: 2 });
    expect(page1.messages?.map((m) => m.text)).toEqual(['parent', 'r1']);
    expect(page1.has_more).toBe(true);
    const page2 = await client.conversations.replies({
      channel: CHANNEL,
      ts: parentTs,
      limit: 2,
      cursor: page1.response_metadata?.next_cursor ?? '',
    });
    expect(page2.messages?.map((m) => m.ts)).toEqual([r2.ts]);
    expect(page2.has_more).toBe(false);

    const alone = await client.chat.postMessage({ channel: CHANNEL, text: 'alone' });
    const single = await client.conversations.replies({ channel: CHANNEL, ts: alone.ts ?? '' });
    expect(single.messages?.map((m) => m.text)).toEqual(['alone']);
    await expect(client.conversations.replies({ channel: CHANNEL, ts: '1.000001' })).rejects.toMatchObject({
      data: { error: 'thread_not_found' },
    });
  });

  it('refuses malformed message metadata as Slack does', async () => {
    const client = clientFor(fake);
    await expect(
      client.apiCall('chat.postMessage', { channel: CHANNEL, text: 'x', metadata: '{not json' }),
    ).rejects.toMatchObject({ data: { error: 'invalid_metadata_format' } });
    await expect(
      client.apiCall('chat.postMessage', { channel: CHANNEL, text: 'x', metadata: { event_payload: {} } }),
    ).rejects.toMatchObject({ data: { error: 'invalid_metadata_schema' } });
    expect(fake.messages).toHaveLength(0);
  });

  it('keeps each user’s Home tab from views.publish: replaced whole, same id, every version recorded', async () => {
    const client = clientFor(fake);
    const blocks = [
      { type: 'section', text: { type: 'mrkdwn', text: 'hello' } },
      {
        type: 'actions',
        block_id: 'home-env:dev-1',
        elements: [
          {
            type: 'button',
            action_id: 'env.extend',
            text: { type: 'plain_text', text: 'Extend' },
            value: 'dev-1',
          },
        ],
      },
    ];
    const first = await client.views.publish({ user_id: 'U0ALICE', view: { type: 'home', blocks } });
    expect(first.ok).toBe(true);
    const second = await client.views.publish({
      user_id: 'U0ALICE',
      view: { type: 'home', blocks: [{ type: 'section', text: { type: 'mrkdwn', text: 'again' } }] },
    });
    expect(second.view?.id).toBe(first.view?.id);
    expect(second.view?.hash).not.toBe(first.view?.hash);
    expect(messageText({ blocks: fake.homeView('U0ALICE')?.blocks })).toBe('again');
    expect(fake.homeView('U0ALICE')?.publishes).toBe(2);
    expect(fake.homePublishes('U0ALICE').map((v) => messageText({ blocks: v.blocks }))).toEqual([
      'hello\nExtend',
      'again',
    ]);
    expect(fake.homeView('U0BOB')).toBeUndefined();
    // Slack's refusals: a stale hash, a modal, more than 100 blocks, no user.
    await expect(
      client.views.publish({
        user_id: 'U0ALICE',
        hash: first.view?.hash ?? '',
        view: { type: 'home', blocks },
      }),
    ).rejects.toMatchObject({ data: { error: 'hash_conflict' } });
    const tooMany = Array.from({ length: 101 }, () => ({ type: 'divider' as const }));
    await expect(
      client.views.publish({ user_id: 'U0ALICE', view: { type: 'home', blocks: tooMany } }),
    ).rejects.toMatchObject({ data: { error: 'invalid_arguments' } });
    await expect(
      client.apiCall('views.publish', {
        user_id: 'U0ALICE',
        view: { type: 'modal', title: { type: 'plain_text', text: 'x' }, blocks },
      }),
    ).rejects.toMatchObject({ data: { error: 'invalid_arguments' } });
    await expect(client.apiCall('views.publish', { view: { type: 'home', blocks } })).rejects.toMatchObject({
      data: { error: 'invalid_arguments' },
    });

    // What Slack sends back: the event when the tab is opened, a click on it with the view.
    await client.views.publish({ user_id: 'U0ALICE', view: { type: 'home', blocks } });
    const tab = fake.homeView('U0ALICE');
    if (!tab) throw new Error('no tab');
    const opened = JSON.parse(appHomeOpenedBody({ userId: 'U0ALICE', view: tab }));
    expect(opened).toMatchObject({
      type: 'event_callback',
      event: {
        type: 'app_home_opened',
        user: 'U0ALICE',
        channel: 'D0ALICE',
        tab: 'home',
        view: { id: tab.id },
      },
    });
    const click = JSON.parse(
      new URLSearchParams(
        homeBlockActionsBody({ userId: 'U0ALICE', view: tab, actionId: 'env.extend', value: 'dev-1' }),
      ).get('payload') ?? '{}',
    );
    expect(click).toMatchObject({
      type: 'block_actions',
      container: { type: 'view', view_id: tab.id },
      view: { id: tab.id, type: 'home', hash: tab.hash },
      actions: [{ action_id: 'env.extend', value: 'dev-1', block_id: 'home-env:dev-1' }],
    });
    expect(click.view.user).toBeUndefined();
    expect(click.channel).toBeUndefined();
    expect(click.message).toBeUndefined();
  });
});

describe('signed Slack requests', () => {
  it('matches the signature of the example in Slack docs and an independent HMAC', () => {
    // https://api.slack.com/authentication/verifying-requests-from-slack (worked example)
    const secret = '8f742231b10e8888abcd99yyyzzz85a5';
    const body =
      'token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V' +
      '&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=' +
      '&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN' +
      '&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c';
    const headers = signSlackRequest(secret, body, 1531420618);
    expect(headers['X-Slack-Request-Timestamp']).toBe('1531420618');
    expect(headers['X-Slack-Signature']).toBe(
      'v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503',
    );

    const other = appMentionEventBody({
      userId: 'U0ALICE',
      channelId: CHANNEL,
      text: `<@${FAKE_BOT_USER_ID}> deploy api`,
      ts: '1732240000.000100',
      eventId: 'Ev0CAPSTAN01',
    });
    const independent = createHmac('sha256', 's3cret').update(`v0:1732240000:${other}`).digest('hex');
    expect(signSlackRequest('s3cret', other, 1732240000)['X-Slack-Signature']).toBe(`v0=${independent}`);
  });

  it('builds documented payloads and posts them with a signature Bolt accepts', async () => {
    const secret = 'test-signing-secret';
    const seen: Array<{ contentType: string | undefined; body: string; error?: string }> = [];
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        let error: string | undefined;
        try {
          verifySlackRequest({
            signingSecret: secret,
            body,
            headers: {
              'x-slack-signature': String(req.headers['x-slack-signature']),
              'x-slack-request-timestamp': Number(req.headers['x-slack-request-timestamp']),
            },
          });
        } catch (e) {
          error = e instanceof Error ? e.message : String(e);
        }
        seen.push({ contentType: req.headers['content-type'], body, ...(error ? { error } : {}) });
        res.writeHead(error ? 401 : 200).end(error ? 'bad' : '');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/slack/events`;
    try {
      const command = slashCommandBody({
        command: '/capstan',
        text: 'deploy api prod',
        userId: 'U0ALICE',
        channelId: CHANNEL,
      });
      const fields = new URLSearchParams(command);
      expect(fields.get('command')).toBe('/capstan');
      expect(fields.get('text')).toBe('deploy api prod');
      for (const key of [
        'token',
        'team_id',
        'team_domain',
        'channel_name',
        'user_name',
        'api_app_id',
        'response_url',
      ]) {
        expect(fields.get(key), key).toBeTruthy();
      }
      const triggerIds = [
        fields.get('trigger_id'),
        new URLSearchParams(slashCommandBody({ command: '/c', text: '', userId: 'U1', channelId: 'C1' })).get(
          'trigger_id',
        ),
      ];
      for (const id of triggerIds) expect(id).toMatch(/^\d{11,}\.\d+\.[0-9a-f]{19,}$/);
      expect(triggerIds[0]).not.toBe(triggerIds[1]);

      const action = blockActionsBody({
        userId: 'U0ALICE',
        actionId: 'approve',
        value: 'req-42',
        channelId: CHANNEL,
        messageTs: '1732240000.000100',
      });
      const payload = JSON.parse(new URLSearchParams(action).get('payload') ?? '{}');
      expect(payload).toMatchObject({
        type: 'block_actions',
        user: { id: 'U0ALICE' },
        container: { type: 'message', message_ts: '1732240000.000100', channel_id: CHANNEL },
        channel: { id: CHANNEL },
        actions: [{ action_id: 'approve', value: 'req-42', type: 'button' }],
      });

      const ok = await postToSlackEndpoint(url, command, { secret });
      expect(ok.status).toBe(200);
      const event = await postToSlackEndpoint(
        url,
        appMentionEventBody({
          userId: 'U0ALICE',
          channelId: CHANNEL,
          text: 'hi',
          ts: '1732240000.000200',
          eventId: 'Ev1',
        }),
        { secret },
      );
      expect(event.status).toBe(200);
      const stale = await postToSlackEndpoint(url, action, {
        secret,
        timestampSec: Math.floor(Date.now() / 1000) - 600,
      });
      expect(stale.status).toBe(401);
      const forged = await postToSlackEndpoint(url, action, { secret: 'wrong' });
      expect(forged.status).toBe(401);

      expect(seen.map((s) => s.contentType)).toEqual([
        'application/x-www-form-urlencoded',
        'application/json',
        'application/x-www-form-urlencoded',
        'application/x-www-form-urlencoded',
      ]);
      expect(seen[0]?.body).toBe(command);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
