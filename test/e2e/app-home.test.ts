/**
 * The App Home tab end to end: signed `app_home_opened` events and Home-tab clicks through the real
 * Bolt receiver → `home.publish` jobs → `views.publish` recorded by the fake Slack, per user; the
 * tab's buttons through the same intake, policy and approvals as the commands, on the AWS sandbox.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createSandbox, type Sandbox } from '../../devkit/sandbox/index.js';
import { HomeTabs, PUBLISH_LIMIT, PUBLISH_WINDOW_MS, REFRESH_WITHIN_MS } from '../../src/home/tabs.js';
import { ALERT_ACK_ACTION, ALERT_INVESTIGATE_ACTION } from '../../src/slack/blocks/alert.js';
import { APPROVE_ACTION } from '../../src/slack/blocks/approval.js';
import { EXTEND_ACTION } from '../../src/slack/blocks/expiry.js';
import { ENV_DELETE_ACTION, JOB_CANCEL_ACTION } from '../../src/slack/blocks/home.js';
import { startTestCapstan, TEST_SIGNING_SECRET, type TestCapstan } from '../helpers/capstan.js';
import { type FakeHomeView, type FakeMessage, messageText } from '../helpers/fake-slack.js';
import { writeTempFile } from '../helpers/run-capstan.js';
import { homeBlockActionsBody, postToSlackEndpoint } from '../helpers/signed-request.js';
import { waitFor } from '../helpers/wait-for.js';
import { ownedEnvironmentGroup, WEB_TG as TG, worldSeed } from '../helpers/world.js';

const CONFIG = `
slack: { approvalsChannel: C0APPROVALS, notificationsChannel: C0NOTICES }
aws: { region: eu-west-1 }
defaultBlueprint: web
blueprints:
  web:
    launchTemplate: { name: web-lt, version: '$Latest' }
    subnets: [subnet-0aaa11111, subnet-0bbb22222]
    targetGroups: [${TG}]
    size: { min: 0, max: 4, desired: 2 }
    ttl: 8h
    # prod is declared with this blueprint: new environments share its target group on purpose here.
    sharedTargetGroups: true
environments:
  prod: { blueprint: web, asgName: prod-web }
roles:
  admins: { users: [U0ADMIN] }
  engineers: { users: [U0ALICE, U0BOB] }
  approvers: { users: [U0CAROL, U0DAVE] }
policy:
  environments:
    prod: { protected: true }
    dev-alice: { protected: true }
alerts:
  quietPeriod: 2s
  databases: [orders-db]
  checks:
    failedJobs: { enabled: false }
  default: { channel: C0ALERTS, roles: [engineers] }
`;

/** dev-alice's expiry when the test starts: three hours out (the expiry alert looks two ahead). */
const EXPIRES = new Date(Date.now() + 3 * 3_600_000).toISOString();

/** An environment Capstan made for `owner`, as its tags say. */
function ownedGroup(env: string, owner: string, version: string) {
  return ownedEnvironmentGroup(env, owner, version, EXPIRES);
}

/** The world: prod, Alice's dev-alice and Bob's dev-bob, and orders-db with its burst balance at 25 %. */
function seedFile(): string {
  const base = worldSeed({ environments: ['prod'], healthCheckType: 'EC2' });
  const minute = Math.floor(Date.now() / 60_000) * 60_000 - 5 * 60_000;
  const seed = {
    ...base,
    autoScalingGroups: [
      ...(base.autoScalingGroups ?? []),
      ownedGroup('dev-alice', 'U0ALICE', '1.4.2'),
      ownedGroup('dev-bob', 'U0BOB', '2.0.0'),
    ],
    dbInstances: [{ id: 'orders-db', allocatedStorage: 100, storageType: 'gp2' }],
    metrics: [
      {
        namespace: 'AWS/RDS',
        metricName: 'BurstBalance',
        dimensions: { DBInstanceIdentifier: 'orders-db' },
        unit: 'Percent',
        points: [{ t: minute, v: 25 }],
      },
    ],
  };
  return writeTempFile('capstan-home-seed-', 'seed.json', JSON.stringify(seed));
}

let t: TestCapstan | undefined;
afterEach(async () => {
  await t?.stop();
  t = undefined;
});

async function start(): Promise<{ tc: TestCapstan; sandbox: Sandbox }> {
  const tc = await startTestCapstan({
    configYaml: CONFIG,
    env: {
      CAPSTAN_AWS: 'sandbox',
      CAPSTAN_SANDBOX_SEED: seedFile(),
      CAPSTAN_ALERTS_CHECK_MS: '300',
      CAPSTAN_POLL_INTERVAL_MS: '100',
      CAPSTAN_WAIT_TIMEOUT_MS: '20000',
    },
  });
  t = tc;
  return { tc, sandbox: createSandbox({ redis: tc.redis, prefix: tc.config.queuePrefix }) };
}

/** Every text Slack shows on a tab. */
function tabText(view: FakeHomeView | undefined): string {
  return view ? messageText({ blocks: view.blocks }) : '';
}

/** `user`'s tab once it shows what `test` wants (opening it first when `open`). */
async function tabOf(
  tc: TestCapstan,
  user: string,
  test: (text: string) => boolean,
  timeoutMs = 15_000,
): Promise<FakeHomeView> {
  return waitFor(
    () => {
      const view = tc.fake.homeView(user);
      return view && test(tabText(view)) ? view : undefined;
    },
    { timeoutMs, message: `${user}'s Home tab; it shows:\n${tabText(tc.fake.homeView(user))}` },
  );
}

/** The buttons on a tab: action id, value and block. */
function buttonsOf(view: FakeHomeView): Array<{ action_id: string; value: string; block_id: string }> {
  return view.blocks.flatMap((b) => {
    const elements = (b.elements as Array<Record<string, unknown>> | undefined) ?? [];
    const accessory = b.accessory as Record<string, unknown> | undefined;
    return [...elements, ...(accessory ? [accessory] : [])]
      .filter((e) => e.type === 'button')
      .map((e) => ({ action_id: String(e.action_id), value: String(e.value), block_id: String(b.block_id) }));
  });
}

/** The approval request message for `text` in the approvals channel. */
function approvalMessage(tc: TestCapstan, text: string): Promise<FakeMessage> {
  return waitFor(
    () => tc.fake.messagesIn('C0APPROVALS').find((m) => messageText(m).includes(text) && m.blocks),
    { timeoutMs: 20_000, message: `the approval request for ${text}` },
  );
}

async function tagOf(sandbox: Sandbox, group: string, key: string): Promise<string | undefined> {
  const world = await sandbox.snapshot();
  return world.groups[group]?.tags.find((x) => x.Key === key)?.Value;
}

const auditLog = async (tc: TestCapstan) =>
  JSON.stringify(await tc.redis.xrange(`${tc.config.queuePrefix}:audit`, '-', '+'));

describe('App Home', () => {
  it('opening it publishes, for each person, their environments, their jobs, the approvals they may decide and the alerts they may act on', async () => {
    const { tc } = await start();
    // An alert in its channel, a job of Alice's, and an approval request of hers for a protected environment.
    await waitFor(
      () => tc.fake.messagesIn('C0ALERTS').some((m) => /RDS burst balance/.test(messageText(m))),
      {
        timeoutMs: 15_000,
      },
    );
    await tc.slash('/ops', 'ping', { userId: 'U0ALICE' });
    await waitFor(() => tc.fake.messagesIn('C0OPS').some((m) => /pong from/.test(messageText(m))));
    const res = await tc.slash('/env', 'delete dev-alice', { userId: 'U0ALICE' });
    expect(JSON.parse(res.body).text).toContain('needs an approval');
    const request = await approvalMessage(tc, '/env delete dev-alice');

    expect((await tc.openHome('U0ALICE')).status).toBe(200);
    // The request's job ends just after its message is posted: its end re-publishes her tab.
    const alice = await tabOf(
      tc,
      'U0ALICE',
      (s) => /dev-alice/.test(s) && /RDS burst balance/.test(s) && /waiting for an approval/.test(s),
    );
    const aliceText = tabText(alice);
    // Her environment, with version, size and expiry; not Bob's, not the declared prod.
    expect(aliceText).toMatch(/\*dev-alice\* — version `1\.4\.2` · 2\/2 in service · expires <!date\^\d+\^/);
    expect(aliceText).toContain(`|${EXPIRES}>`);
    expect(aliceText).not.toContain('dev-bob');
    expect(aliceText).not.toMatch(/\*prod\*/);
    // Her jobs: the ping, done, and the delete, waiting for an approver, each with a link to its thread.
    expect(aliceText).toMatch(/`\/ops ping` · done/);
    expect(aliceText).toMatch(
      /`\/env delete dev-alice` · waiting .*waiting for an approval from role `approvers`/,
    );
    expect(aliceText).toMatch(/<https:\/\/capstan-test\.slack\.com\/archives\/C0OPS\/p\d+\|thread>/);
    // She may not decide her own request; she may act on the alert (engineers).
    expect(aliceText).toContain('No approval requests are waiting for you.');
    expect(aliceText).toMatch(/\*RDS burst balance\* — BurstBalance of `orders-db` is 25%/);
    expect(aliceText).not.toContain('Audit log');
    const aliceButtons = buttonsOf(alice);
    expect(aliceButtons).toEqual(
      expect.arrayContaining([
        { action_id: EXTEND_ACTION, value: 'dev-alice', block_id: 'home-env:dev-alice' },
        { action_id: ENV_DELETE_ACTION, value: 'dev-alice', block_id: 'home-env:dev-alice' },
        expect.objectContaining({ action_id: ALERT_ACK_ACTION, value: '1|burstBalance:db:orders-db' }),
      ]),
    );
    expect(aliceButtons.some((b) => b.action_id === APPROVE_ACTION)).toBe(false);

    // Carol approves: the request waits for her, with the approval message's own buttons.
    await tc.openHome('U0CAROL');
    const carol = await tabOf(tc, 'U0CAROL', (s) => /\/env delete dev-alice/.test(s));
    const id = JSON.stringify(request.blocks).match(/"value":"(j[0-9a-f]+)"/)?.[1] ?? '';
    expect(buttonsOf(carol)).toEqual(
      expect.arrayContaining([{ action_id: APPROVE_ACTION, value: id, block_id: `approval:${id}` }]),
    );
    expect(tabText(carol)).toContain('asked by <@U0ALICE>');
    expect(tabText(carol)).toContain('You own no environments.');
    // Not an engineer: the alert is not hers to act on.
    expect(tabText(carol)).toContain('No open alerts you can act on.');

    // An admin sees the audit tail.
    await tc.openHome('U0ADMIN');
    const admin = await tabOf(tc, 'U0ADMIN', (s) => /Audit log/.test(s));
    expect(tabText(admin)).toMatch(
      /command <@U0ALICE> env\.delete `\/env delete dev-alice` → \*needs approval\*/,
    );

    // The alert's buttons on the tab are the alert message's: the message says who acknowledged it,
    // and Investigate runs in the alert's thread.
    const alertMessage = tc.fake.messagesIn('C0ALERTS', { topLevelOnly: true })[0];
    await tc.clickHome('U0ALICE', ALERT_ACK_ACTION, '1|burstBalance:db:orders-db');
    await waitFor(() =>
      /acknowledged by <@U0ALICE>/.test(
        messageText(tc.fake.findMessage('C0ALERTS', alertMessage?.ts ?? '') ?? {}),
      ),
    );
    await tabOf(tc, 'U0ALICE', (s) => /:eyes: Acknowledged/.test(s) && /acknowledged by <@U0ALICE>/.test(s));
    await tc.clickHome('U0ALICE', ALERT_INVESTIGATE_ACTION, 'orders-db');
    const [investigation] = await waitFor(() =>
      tc.jobsOf('rds.io-credits').then((ids) => ids.length > 0 && ids),
    );
    const job = await tc.queue.getJob(investigation ?? '');
    expect(job?.data.request).toMatchObject({
      userId: 'U0ALICE',
      channelId: 'C0ALERTS',
      threadTs: alertMessage?.ts,
      source: 'home',
    });

    // Cancel from the tab is `/ops cancel`: a finished job has nothing to cancel, and the tab says so.
    const [pingId] = await tc.jobsOf('ops.ping');
    await tc.clickHome('U0ALICE', JOB_CANCEL_ACTION, pingId ?? '', `home-job:${pingId}`);
    await tabOf(tc, 'U0ALICE', (s) =>
      s.includes(`Job \`${pingId}\` already finished (completed); nothing to cancel.`),
    );

    // Opening the Messages tab publishes nothing.
    const before = tc.fake.homePublishes('U0BOB').length;
    await tc.openHome('U0BOB', { tab: 'messages' });
    await new Promise((resolve) => setTimeout(resolve, 700));
    expect(tc.fake.homePublishes('U0BOB')).toHaveLength(before);
  }, 60_000);

  it('keeps within the workspace’s views.publish a minute: with the last minute’s used up by other workers, an opened tab is published once a slot frees, not before', async () => {
    const { tc } = await start();
    const key = `${tc.config.queuePrefix}:home:published`;
    // The last minute's publishes, as other workers recorded them: all of them, the oldest of
    // which is a minute old 1.5 s from now.
    const now = Date.now();
    const freesAt = now + 1_500;
    await tc.redis.zadd(
      key,
      freesAt - PUBLISH_WINDOW_MS,
      'oldest',
      ...Array.from({ length: PUBLISH_LIMIT.opened - 1 }, (_, i) => [now, `other-${i}`]).flat(),
    );
    expect((await tc.openHome('U0ALICE')).status).toBe(200);
    const publishedAt = await waitFor(
      () => (tc.fake.homePublishes('U0ALICE').length > 0 ? Date.now() : undefined),
      { timeoutMs: 15_000, intervalMs: 20, message: "Alice's tab to be published" },
    );
    expect(publishedAt).toBeGreaterThanOrEqual(freesAt);
    expect(tc.fake.homePublishes('U0ALICE')).toHaveLength(1);
    expect(tabText(tc.fake.homeView('U0ALICE'))).toContain('dev-alice');
    // It took the slot the oldest left: the window never held more than Slack's share.
    expect(await tc.redis.zscore(key, 'oldest')).toBeNull();
    expect(await tc.redis.zcard(key)).toBeLessThanOrEqual(PUBLISH_LIMIT.opened);
  });

  it('an alert that changes re-publishes the tabs of those who may act on it, not the others; a check that changes nothing shown re-publishes nothing', async () => {
    const { tc, sandbox } = await start();
    const alert = await waitFor(() =>
      tc.fake
        .messagesIn('C0ALERTS', { topLevelOnly: true })
        .find((m) => /RDS burst balance/.test(messageText(m))),
    );
    await tc.openHome('U0BOB');
    await tabOf(tc, 'U0BOB', (s) => /\*RDS burst balance\*/.test(s));
    await tc.openHome('U0CAROL');
    await tabOf(tc, 'U0CAROL', (s) => s.includes('No open alerts you can act on.'));
    // The check runs every 300 ms and sees the same problem: nothing a tab shows changes. (Counted
    // once the publishes their opening asked for are out.)
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const bob = tc.fake.homePublishes('U0BOB').length;
    const carol = tc.fake.homePublishes('U0CAROL').length;
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(tc.fake.homePublishes('U0BOB')).toHaveLength(bob);

    // Alice acknowledges it on its message: Bob's tab (an engineer's) says so; Carol's is not touched.
    await tc.click('U0ALICE', alert, ALERT_ACK_ACTION, '1|burstBalance:db:orders-db');
    await tabOf(tc, 'U0BOB', (s) => /acknowledged by <@U0ALICE>/.test(s));
    expect(tc.fake.homePublishes('U0BOB').length).toBeGreaterThan(bob);

    // The balance recovers: the check resolves the alert (after the quiet period), and Bob's tab
    // drops it.
    await sandbox.putMetricData({
      namespace: 'AWS/RDS',
      metricName: 'BurstBalance',
      dimensions: { DBInstanceIdentifier: 'orders-db' },
      unit: 'Percent',
      points: [{ t: Math.floor(Date.now() / 60_000) * 60_000, v: 95 }],
    });
    await waitFor(() => /resolved/i.test(messageText(tc.fake.findMessage('C0ALERTS', alert.ts) ?? {})), {
      timeoutMs: 15_000,
      message: 'the alert message to say it resolved',
    });
    await tabOf(tc, 'U0BOB', (s) => s.includes('No open alerts you can act on.'));
    expect(tc.fake.homePublishes('U0CAROL')).toHaveLength(carol);
  }, 60_000);

  it('Extend on the tab extends the environment through the command intake; the tab is published again; forged and stale clicks are refused', async () => {
    const { tc, sandbox } = await start();
    await tc.openHome('U0ALICE');
    const tab = await tabOf(tc, 'U0ALICE', (s) => /dev-alice/.test(s));
    const published = tc.fake.homePublishes('U0ALICE').length;

    // Signed with another secret, or too old for the request guard: refused before Bolt, nothing runs.
    const forged = homeBlockActionsBody({
      userId: 'U0ALICE',
      view: tab,
      actionId: EXTEND_ACTION,
      value: 'dev-alice',
    });
    expect((await postToSlackEndpoint(tc.eventsUrl, forged, { secret: 'not-the-secret' })).status).toBe(401);
    const old = Math.floor(Date.now() / 1000) - 600;
    expect(
      (await postToSlackEndpoint(tc.eventsUrl, forged, { secret: TEST_SIGNING_SECRET, timestampSec: old }))
        .status,
    ).toBe(401);

    expect((await tc.clickHome('U0ALICE', EXTEND_ACTION, 'dev-alice')).status).toBe(200);
    const moved = await waitFor(
      async () => {
        const at = await tagOf(sandbox, 'capstan-env-dev-alice', 'capstan:expires-at');
        return at && at !== EXPIRES ? at : undefined;
      },
      { timeoutMs: 20_000, message: 'the expiry tag to move' },
    );
    // Four hours later, read back from the sandbox.
    expect(Date.parse(moved) - Date.parse(EXPIRES)).toBe(4 * 3_600_000);
    // The job reported in Alice's direct messages with Capstan, and it went through the intake.
    await waitFor(() =>
      tc.fake
        .messagesIn('D0ALICE')
        .some((m) => /now expires at/.test(messageText(m)) && /done in/.test(messageText(m))),
    );
    const audit = await auditLog(tc);
    expect(audit).toMatch(/"actor","U0ALICE","subject","env\.extend","outcome","allowed"/);
    expect(audit).toContain('\\"source\\":\\"home\\"');
    // The tab says what the click did, and once the job ended shows the new expiry.
    const after = await tabOf(tc, 'U0ALICE', (s) => s.includes(`|${moved}>`) && /Queued as job/.test(s));
    expect(tc.fake.homePublishes('U0ALICE').length).toBeGreaterThan(published);
    expect(tabText(after)).toMatch(/`\/env extend dev-alice` · done/);
    expect(await tc.jobsOf('env.extend')).toHaveLength(1);
  }, 60_000);

  it('Delete of a protected environment asks for approval; Approve on an approver’s tab runs the job once and updates the request; others are refused', async () => {
    const { tc, sandbox } = await start();
    // Dave opened his tab long ago: it is not re-published, and never offered him the request.
    await tc.openHome('U0DAVE');
    await tabOf(tc, 'U0DAVE', (s) => /Waiting for me/.test(s));
    const homes = new HomeTabs(tc.redis, tc.config.queuePrefix, { enqueueCoalesced: async () => {} });
    await homes.opened('U0DAVE', { dm: 'D0DAVE', groupIds: [] }, Date.now() - REFRESH_WITHIN_MS - 60_000);

    await tc.openHome('U0ALICE');
    await tabOf(tc, 'U0ALICE', (s) => /dev-alice/.test(s));
    await tc.clickHome('U0ALICE', ENV_DELETE_ACTION, 'dev-alice');
    const request = await approvalMessage(tc, '/env delete dev-alice');
    expect(messageText(request)).toContain('delete Auto Scaling group capstan-env-dev-alice');
    const id = JSON.stringify(request.blocks).match(/"value":"(j[0-9a-f]+)"/)?.[1] ?? '';
    await tabOf(tc, 'U0ALICE', (s) => /needs an approval from role `approvers`/.test(s));
    expect(await tc.jobsOf('env.delete')).toHaveLength(0);

    // Bob, no approver, clicks Approve from his tab: refused by policy, nothing recorded.
    await tc.openHome('U0BOB');
    await tabOf(tc, 'U0BOB', (s) => /Waiting for me/.test(s));
    await tc.clickHome('U0BOB', APPROVE_ACTION, id, `approval:${id}`);
    await tabOf(tc, 'U0BOB', (s) =>
      /You cannot approve this: only the approvers role may decide this/.test(s),
    );
    // Dave may decide it, but his tab never offered it: refused.
    await tc.clickHome('U0DAVE', APPROVE_ACTION, id, `approval:${id}`);
    await waitFor(async () =>
      /"U0DAVE","subject","approval j[0-9a-f]+","outcome","refused"/.test(await auditLog(tc)),
    );
    const refusals = await auditLog(tc);
    expect(refusals).toContain('request not offered on their Home tab');
    expect(refusals).toMatch(/"U0BOB","subject","approval j[0-9a-f]+","outcome","refused"/);
    expect(messageText(tc.fake.findMessage('C0APPROVALS', request.ts) ?? request)).toContain('Approve');

    // Carol opens her tab and approves there, twice: one job, the request message updated as usual.
    await tc.openHome('U0CAROL');
    await tabOf(tc, 'U0CAROL', (s) => s.includes(`request \`${id}\``));
    await tc.clickHome('U0CAROL', APPROVE_ACTION, id);
    await tc.clickHome('U0CAROL', APPROVE_ACTION, id);
    await waitFor(
      () =>
        /Approved\* by <@U0CAROL>.*job `j[0-9a-f]+` started/.test(
          messageText(tc.fake.findMessage('C0APPROVALS', request.ts) ?? request),
        ),
      { message: 'the approval message to say approved' },
    );
    await waitFor(async () => (await sandbox.snapshot()).groups['capstan-env-dev-alice'] === undefined, {
      timeoutMs: 30_000,
      message: 'dev-alice to be deleted',
    });
    expect(await tc.jobsOf('env.delete')).toHaveLength(1);
    const audit = await auditLog(tc);
    expect(audit).toMatch(/"U0CAROL","subject","approval j[0-9a-f]+","outcome","approved"/);
    // Her tab no longer offers it, and says how her second click went.
    const carol = await tabOf(
      tc,
      'U0CAROL',
      (s) => /No approval requests are waiting for you/.test(s) && /already approved/.test(s),
    );
    expect(buttonsOf(carol).some((b) => b.action_id === APPROVE_ACTION)).toBe(false);
    // Alice's tab follows without her opening it again: the request approved, the environment gone.
    await tabOf(
      tc,
      'U0ALICE',
      (s) =>
        /`\/env delete dev-alice` · done .*approved by <@U0CAROL>/.test(s) &&
        /You own no environments/.test(s),
      30_000,
    );
    // Alice is told in her thread, as from the message.
    await waitFor(() =>
      tc.fake.messagesIn('D0ALICE').some((m) => /was approved by <@U0CAROL>/.test(messageText(m))),
    );
  }, 90_000);
});
