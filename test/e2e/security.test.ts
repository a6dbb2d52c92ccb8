/**
 * The holes an outside review found, kept closed, each through the real Bolt receiver with requests
 * signed as Slack signs them:
 * - text a person writes (an @mention's markup, a `--reason`) never comes back as a ping, a group
 *   mention or a link in any of Capstan's messages (https://api.slack.com/reference/surfaces/formatting#escaping);
 * - a `*` rule never grants the admin-only actions (reading the audit log, cancelling others' jobs);
 * - a request whose timestamp is more than five minutes from now, either way, is refused
 *   (https://api.slack.com/authentication/verifying-requests-from-slack);
 * - an approval click counts only on the approval request's own message.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { appMentionEventBody, postToSlackEndpoint } from '../../devkit/local/signed-request.js';
import { createSandbox, type Sandbox } from '../../devkit/sandbox/index.js';
import { ApprovalStore } from '../../src/approvals/store.js';
import { APPROVE_ACTION } from '../../src/slack/blocks/approval.js';
import { startTestCapstan, TEST_SIGNING_SECRET, type TestCapstan } from '../helpers/capstan.js';
import { type FakeMessage, messageText } from '../helpers/fake-slack.js';
import { CONFIG } from '../helpers/sandbox-world.js';
import { slashCommandBody } from '../helpers/signed-request.js';
import { waitFor } from '../helpers/wait-for.js';
import { liveInstances, worldSeed } from '../helpers/world.js';

/** The sandbox world's configuration, with an admin and the README's `*` rule for engineers. */
const SECURITY_CONFIG = CONFIG.replace('roles:\n', 'roles:\n  admins: { users: [U0ADMIN] }\n').replace(
  'policy:\n',
  'policy:\n  defaults: { allow: { "*": [engineers] } }\n',
);

/** Slack markup that would ping, mention a group, and disguise a link, if Capstan posted it as is. */
const HOSTILE = /<!channel>|<!here>|<!subteam|<http:\/\/evil|evil\.example|<@U0EVE/;

let t: TestCapstan | undefined;
afterEach(async () => {
  await t?.stop();
  t = undefined;
});

async function start(): Promise<{ tc: TestCapstan; sandbox: Sandbox }> {
  const tc = await startTestCapstan({
    configYaml: SECURITY_CONFIG,
    env: { CAPSTAN_AWS: 'sandbox', CAPSTAN_POLL_INTERVAL_MS: '100', CAPSTAN_WAIT_TIMEOUT_MS: '20000' },
  });
  t = tc;
  const sandbox = createSandbox({ redis: tc.redis, prefix: tc.config.queuePrefix });
  await sandbox.seed(worldSeed({ environments: ['prod'] }));
  return { tc, sandbox };
}

/** Everything Capstan sent to Slack: every post, edit and ephemeral, text and blocks. */
function everythingSent(tc: TestCapstan): string {
  return ['chat.postMessage', 'chat.update', 'chat.postEphemeral']
    .flatMap((m) => tc.fake.callsTo(m))
    .map((c) => JSON.stringify({ text: c.args.text, blocks: c.args.blocks }))
    .join('\n');
}

/** A signed `app_mention` event from `userId` in #ops. */
function mention(tc: TestCapstan, text: string, userId = 'U0ALICE') {
  const ts = (Date.now() / 1000).toFixed(6);
  const body = appMentionEventBody({
    userId,
    channelId: 'C0OPS',
    text: `<@U0CAPSTAN> ${text}`,
    ts,
    eventId: `Ev0SEC${Date.now()}`,
  });
  return postToSlackEndpoint(tc.eventsUrl, body, { secret: TEST_SIGNING_SECRET });
}

function approvalIdOf(message: FakeMessage): string {
  return JSON.stringify(message.blocks).match(/"value":"(j[0-9a-f]+)"/)?.[1] ?? '';
}

describe('user text in Capstan’s messages', () => {
  it('an @mention’s --reason with @channel, a group ping and a disguised link comes back as plain text everywhere', async () => {
    const { tc, sandbox } = await start();
    const reason =
      'deploy <!channel> <!subteam^S0ONCALL|@oncall> <@U0EVE|eve> <http://evil.example/approve|Approve here>';
    expect((await mention(tc, `lb disable prod --reason "${reason}"`)).status).toBe(200);

    // The approval request (prod is protected), the requester's note, and the decision line.
    const request = await waitFor(() => tc.fake.messagesIn('C0APPROVALS')[0]);
    // (User mentions in a mention's text are dropped by the grammar, the bot's own and others'.)
    expect(messageText(request)).toMatch(/\*Reason\*\ndeploy @channel @oncall +Approve here/);
    await tc.click('U0CAROL', request, APPROVE_ACTION, approvalIdOf(request));
    const done = await waitFor(() =>
      tc.fake.messagesIn('C0OPS').find((m) => /out of the load balancer/.test(messageText(m))),
    );
    expect(messageText(done)).toMatch(/deploy @channel @oncall +Approve here/);
    await waitFor(() => tc.fake.messagesIn('C0OPS').some((m) => /was approved by/.test(messageText(m))));

    // The standby note kept on the group is plain text too, and `/lb status` shows it escaped.
    const world = await sandbox.snapshot();
    expect(liveInstances(world, 'prod-web').every((i) => i.lifecycle === 'Standby')).toBe(true);
    await tc.slash('/lb', 'status prod');
    await waitFor(() =>
      tc.fake
        .messagesIn('C0OPS')
        .some((m) => /since .* by <@U0ALICE> — deploy @channel/.test(messageText(m))),
    );
    // The admin's lists show the command as text too.
    const audit = JSON.parse((await tc.slash('/ops', 'audit 20', { userId: 'U0ADMIN' })).body).text as string;
    expect(audit).toContain('deploy @channel');
    const jobs = JSON.parse((await tc.slash('/ops', 'jobs', { userId: 'U0ADMIN' })).body).text as string;

    const sent = [everythingSent(tc), audit, jobs].join('\n');
    expect(sent).toContain('@channel');
    expect(sent).not.toMatch(HOSTILE);
  });

  it('a slash command’s text (escaped by Slack) is shown escaped: typed markup never becomes a ping or a link', async () => {
    const { tc } = await start();
    // What Slack sends for a typed `<!channel>` and `<http://evil.example|x>`: its own escaping.
    const typed = '--reason "&lt;!channel&gt; &lt;http://evil.example|x&gt; `code` &amp; more"';
    const reply = await tc.slash('/lb', `disable prod ${typed}`);
    expect(JSON.parse(reply.body).text).toContain('needs an approval');
    const request = await waitFor(() => tc.fake.messagesIn('C0APPROVALS')[0]);
    expect(messageText(request)).toContain('&lt;!channel&gt;');
    await tc.click('U0CAROL', request, APPROVE_ACTION, approvalIdOf(request));
    await waitFor(() =>
      tc.fake.messagesIn('C0OPS').find((m) => /out of the load balancer/.test(messageText(m))),
    );
    const sent = everythingSent(tc);
    expect(sent).not.toMatch(/<!channel>|<http:\/\/evil/);
    // Inside a code span the person's own backticks are shown as quotes: they never end it early.
    expect(sent).toContain(
      'asked: `/lb disable prod --reason \\"&lt;!channel&gt; &lt;http://evil.example|x&gt; \'code\' &amp; more\\"`',
    );
  });
});

describe('admin-only actions', () => {
  it('the `*` rule lets engineers change things, not read the audit log nor cancel others’ jobs', async () => {
    const { tc } = await start();
    const audit = JSON.parse((await tc.slash('/ops', 'audit', { userId: 'U0ALICE' })).body).text as string;
    expect(audit).toContain(
      'Not allowed: ops.audit is admin-only: for the admins role, or a rule naming ops.audit (rule `safe defaults`)',
    );
    const asAdmin = JSON.parse((await tc.slash('/ops', 'audit', { userId: 'U0ADMIN' })).body).text as string;
    expect(asAdmin).not.toContain('Not allowed');

    const queued = JSON.parse((await tc.slash('/env', 'status prod', { userId: 'U0BOB' })).body)
      .text as string;
    const jobId = /job `(j[0-9a-f]+)`/.exec(queued)?.[1] ?? '';
    expect(jobId).not.toBe('');
    const cancel = JSON.parse((await tc.slash('/ops', `cancel ${jobId}`, { userId: 'U0ALICE' })).body)
      .text as string;
    expect(cancel).toContain('Only <@U0BOB>');
    const own = JSON.parse((await tc.slash('/ops', `cancel ${jobId}`, { userId: 'U0BOB' })).body)
      .text as string;
    expect(own).not.toContain('Only <@U0BOB>');
  });
});

describe('request timestamps', () => {
  it('refuses requests dated more than 300 s from now in either direction; takes one 200 s ahead', async () => {
    const { tc } = await start();
    const now = Math.floor(Date.now() / 1000);
    const send = (timestampSec: number) =>
      postToSlackEndpoint(
        tc.eventsUrl,
        slashCommandBody({ command: '/ops', text: 'ping', userId: 'U0ALICE', channelId: 'C0OPS' }),
        { secret: TEST_SIGNING_SECRET, timestampSec },
      );
    for (const skew of [600, 365 * 86_400, -600]) {
      expect((await send(now + skew)).status, `skew ${skew}`).toBe(401);
    }
    // Signed events too (the Events API shares the endpoint and the rule).
    const event = appMentionEventBody({
      userId: 'U0ALICE',
      channelId: 'C0OPS',
      text: '<@U0CAPSTAN> ops ping',
      ts: `${now}.000100`,
      eventId: 'Ev0FUTURE',
    });
    expect(
      (
        await postToSlackEndpoint(tc.eventsUrl, event, {
          secret: TEST_SIGNING_SECRET,
          timestampSec: now + 600,
        })
      ).status,
    ).toBe(401);
    expect(await tc.jobsOf('ops.ping')).toEqual([]);
    expect((await send(now + 200)).status).toBe(200);
    await waitFor(async () => (await tc.jobsOf('ops.ping')).length === 1);
  });
});

describe('signed requests no listener takes', () => {
  it('are answered at once (400 for a body that is no Slack request, 404 for an unknown command or action), not after the 2.5 s unhandled timeout', async () => {
    const { tc } = await start();
    const send = (body: string, contentType?: string) =>
      postToSlackEndpoint(tc.eventsUrl, body, {
        secret: TEST_SIGNING_SECRET,
        ...(contentType ? { contentType } : {}),
      });
    const cases: Array<[string, string, number, string?]> = [
      ['garbage form body', '%%%&&==', 400],
      ['form fields of no request', 'command=&text=&token=', 400],
      ['malformed JSON', '{"type":', 400, 'application/x-www-form-urlencoded'],
      [
        'unknown command',
        slashCommandBody({ command: '/nope', text: 'x', userId: 'U0ALICE', channelId: 'C0OPS' }),
        404,
      ],
      [
        'unknown action',
        `payload=${encodeURIComponent(JSON.stringify({ type: 'block_actions', user: { id: 'U0EVE' }, team: { id: 'T0CAPSTAN' }, actions: [{ action_id: 'nope-1', value: 'x' }] }))}`,
        404,
      ],
    ];
    for (const [what, body, status, type] of cases) {
      const answer = await send(body, type);
      expect(answer.status, what).toBe(status);
      // Bolt's own timeout is 2,500 ms; an answer well under it was not waiting for it.
      expect(answer.ms, what).toBeLessThan(1_000);
    }
    // The process is healthy and a real command still works.
    const ok = await tc.slash('/ops', 'ping');
    expect(ok.status).toBe(200);
  });
});

describe('approval clicks', () => {
  it('counts a click only on the request’s own message, not a button elsewhere carrying its id', async () => {
    const { tc } = await start();
    await tc.slash('/lb', 'disable prod --reason first');
    const first = await waitFor(() => tc.fake.messagesIn('C0APPROVALS')[0]);
    await tc.slash('/env', 'delete prod', { userId: 'U0BOB' });
    const second = await waitFor(() => tc.fake.messagesIn('C0APPROVALS')[1]);
    const firstId = approvalIdOf(first);

    // The first request's id on the second request's message, and on a message in another channel.
    const elsewhere = { ...first, channel: 'C0OPS', ts: tc.fake.messagesIn('C0OPS')[0]?.ts ?? '1.000' };
    for (const message of [second, elsewhere]) {
      expect((await tc.click('U0CAROL', message, APPROVE_ACTION, firstId)).status).toBe(200);
    }
    await waitFor(
      () =>
        tc.fake.ephemerals.filter(
          (e) => e.user === 'U0CAROL' && /not on the message of approval request/.test(e.text ?? ''),
        ).length === 2,
    );
    const record = await new ApprovalStore(tc.redis, tc.config.queuePrefix).get(firstId);
    expect(record).toMatchObject({ status: 'pending', approvals: [] });
    expect(await tc.jobsOf('lb.disable')).toEqual([]);

    await tc.click('U0CAROL', first, APPROVE_ACTION, firstId);
    await waitFor(async () => (await tc.jobsOf('lb.disable')).length === 1);
  });

  it('counts a click that comes between the request message being posted and its place being recorded', async () => {
    const { tc } = await start();
    await tc.slash('/lb', 'disable prod --reason patch');
    const request = await waitFor(() => tc.fake.messagesIn('C0APPROVALS')[0]);
    const id = approvalIdOf(request);
    const store = new ApprovalStore(tc.redis, tc.config.queuePrefix);
    const recorded = await waitFor(async () => (await store.get(id))?.message);
    // Back to the instant after the post, before the request job records where the message is.
    await tc.redis.hdel(`${tc.config.queuePrefix}:approval:${id}`, 'message');
    const click = tc.click('U0CAROL', request, APPROVE_ACTION, id);
    await new Promise((resolve) => setTimeout(resolve, 500));
    await store.setMessage(id, recorded);
    expect((await click).status).toBe(200);
    await waitFor(async () => (await tc.jobsOf('lb.disable')).length === 1);
    expect(await store.get(id)).toMatchObject({ status: 'approved' });
    expect(tc.fake.ephemerals.filter((e) => /not on the message/.test(e.text ?? ''))).toEqual([]);
  });
});
