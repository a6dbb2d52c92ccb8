/**
 * Status alerts end to end: the sandbox's CloudWatch (BurstBalance) and Auto Scaling state driven by
 * the test → the scheduled `alerts.check` → one Slack message per alert, updated in place, resolved
 * after the quiet period; Acknowledge / Snooze / Investigate through signed Slack requests; several
 * worker processes and restarts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createSandbox, type Sandbox } from '../../devkit/sandbox/index.js';
import type { Role } from '../../src/main.js';
import { JOB_NAMES } from '../../src/queue/contract.js';
import {
  ALERT_ACK_ACTION,
  ALERT_INVESTIGATE_ACTION,
  ALERT_SNOOZE_1H_ACTION,
} from '../../src/slack/blocks/alert.js';
import { startTestCapstan, type TestCapstan } from '../helpers/capstan.js';
import { type FakeMessage, messageText } from '../helpers/fake-slack.js';
import { writeTempFile } from '../helpers/run-capstan.js';
import { waitFor } from '../helpers/wait-for.js';
import { WEB_TG as TG, worldSeed } from '../helpers/world.js';

const QUIET_MS = 2_000;

const CONFIG = `
slack: { notificationsChannel: C0NOTICES }
aws: { region: eu-west-1 }
blueprints:
  web:
    launchTemplate: { name: web-lt, version: '$Latest' }
    subnets: [subnet-0aaa11111]
    targetGroups: [${TG}]
environments:
  prod: { blueprint: web, asgName: prod-web }
roles:
  dba: { users: [U0DBA] }
  engineers: { users: [U0ALICE] }
alerts:
  quietPeriod: 2s
  renotifyAfter: 1h
  databases: [orders-db]
  checks:
    inService: { grace: 1s }
    standby: { maxAge: 2s }
    failedJobs: { enabled: false }
  routes:
    - match: { check: burstBalance }
      channel: C0DBA
      oncall: S0DBAONCALL
      roles: [dba]
  default: { channel: C0ALERTS, roles: [engineers] }
`;

/** BurstBalance points go into successive whole minutes in the past, so the newest is the latest datapoint. */
const BASE = Math.floor(Date.now() / 60_000) * 60_000 - 50 * 60_000;
let minute = 0;

/** The tests' world (`prod-web` on EC2 health checks) with `orders-db` and its BurstBalance. */
function seedFile(): string {
  const seed = {
    ...worldSeed({
      environments: ['prod'],
      healthCheckType: 'EC2',
      timing: { instanceLaunch: 300, healthCheck: 200, standby: 200, exitStandby: 300, terminate: 200 },
    }),
    dbInstances: [{ id: 'orders-db', allocatedStorage: 100, storageType: 'gp2' }],
    metrics: [
      {
        namespace: 'AWS/RDS',
        metricName: 'BurstBalance',
        dimensions: { DBInstanceIdentifier: 'orders-db' },
        unit: 'Percent',
        points: [{ t: BASE, v: 60 }],
      },
    ],
  };
  return writeTempFile('capstan-alerts-seed-', 'seed.json', JSON.stringify(seed));
}

let t: TestCapstan | undefined;
afterEach(async () => {
  await t?.stop();
  t = undefined;
});

/** Capstan on the sandbox, seeded before the first check runs, checking every 300 ms. */
async function start(
  role: Role = 'start',
  configYaml = CONFIG,
): Promise<{ tc: TestCapstan; sandbox: Sandbox }> {
  minute = 0;
  const tc = await startTestCapstan({
    role,
    configYaml,
    env: {
      CAPSTAN_AWS: 'sandbox',
      CAPSTAN_SANDBOX_SEED: seedFile(),
      CAPSTAN_ALERTS_CHECK_MS: '300',
      CAPSTAN_POLL_INTERVAL_MS: '100',
    },
  });
  t = tc;
  const sandbox = createSandbox({ redis: tc.redis, prefix: tc.config.queuePrefix });
  return { tc, sandbox };
}

async function setBurstBalance(sandbox: Sandbox, value: number): Promise<void> {
  minute += 1;
  await sandbox.putMetricData({
    namespace: 'AWS/RDS',
    metricName: 'BurstBalance',
    dimensions: { DBInstanceIdentifier: 'orders-db' },
    unit: 'Percent',
    points: [{ t: BASE + minute * 60_000, v: value }],
  });
}

const alertsIn = (tc: TestCapstan, channel: string) => tc.fake.messagesIn(channel, { topLevelOnly: true });

/** The one alert message in `channel`, once its text matches. */
function alertMessage(
  tc: TestCapstan,
  channel: string,
  text: RegExp,
  timeoutMs = 15_000,
): Promise<FakeMessage> {
  return waitFor(
    () => {
      const [message] = alertsIn(tc, channel);
      return message && text.test(messageText(message)) ? message : undefined;
    },
    {
      timeoutMs,
      message: `an alert in ${channel} matching ${text}; so far:\n${alertsIn(tc, channel)
        .map((m) => messageText(m))
        .join('\n---\n')}`,
    },
  );
}

const seenCount = (m: FakeMessage) => Number(/\*Seen\*\\?n?\s*(\d+) time/.exec(messageText(m))?.[1] ?? 0);

describe('status alerts', () => {
  it('opens one message in the routed channel, updates it on repeats, and resolves only after the quiet period', async () => {
    const { tc, sandbox } = await start();
    await setBurstBalance(sandbox, 25);
    const opened = await alertMessage(tc, 'C0DBA', /Warning.*RDS burst balance/);
    expect(messageText(opened)).toContain('BurstBalance of `orders-db` is 25% (below 30%)');
    expect(messageText(opened)).toContain('db:orders-db');
    // A warning pages nobody.
    expect(opened.text).not.toContain('subteam');

    // Repeats update the same message: count and current value.
    await setBurstBalance(sandbox, 20);
    await waitFor(() => messageText(alertsIn(tc, 'C0DBA')[0] as FakeMessage).includes('is 20%'));
    await waitFor(() => seenCount(alertsIn(tc, 'C0DBA')[0] as FakeMessage) >= 3);
    // Critical: the message says so, and a re-notification with the on-call mention goes to its thread.
    await setBurstBalance(sandbox, 5);
    await waitFor(() => /CRITICAL/.test(messageText(alertsIn(tc, 'C0DBA')[0] as FakeMessage)));
    const reply = await waitFor(() => tc.fake.threadReplies('C0DBA', opened.ts)[0]);
    expect(reply.text).toContain('<!subteam^S0DBAONCALL> :rotating_light: escalated to *critical*');

    // Recovery: clearing at first, resolved only once the quiet period has passed.
    await setBurstBalance(sandbox, 90);
    const recoveredAt = Date.now();
    await waitFor(() => /Clearing/.test(messageText(alertsIn(tc, 'C0DBA')[0] as FakeMessage)));
    const resolved = await alertMessage(tc, 'C0DBA', /Resolved/);
    const resolvedAt = resolved.history.at(-1)?.at ?? 0;
    expect(resolvedAt - recoveredAt).toBeGreaterThanOrEqual(QUIET_MS);
    expect(messageText(resolved)).toMatch(/lasted \d+ s/);
    expect(JSON.stringify(resolved.blocks)).not.toContain(ALERT_ACK_ACTION);

    // One message for the whole story, nothing anywhere else.
    expect(alertsIn(tc, 'C0DBA')).toHaveLength(1);
    expect(alertsIn(tc, 'C0ALERTS')).toHaveLength(0);
    expect(alertsIn(tc, 'C0NOTICES')).toHaveLength(0);

    // It comes back: a new occurrence, a new message.
    await setBurstBalance(sandbox, 15);
    await waitFor(() => alertsIn(tc, 'C0DBA').length === 2);
    expect(messageText(alertsIn(tc, 'C0DBA')[1] as FakeMessage)).toContain('occurrence 2');
  });

  it('acknowledge and snooze work only for the roles the route allows, recorded and shown', async () => {
    const { tc, sandbox } = await start();
    await setBurstBalance(sandbox, 5);
    const alert = await alertMessage(tc, 'C0DBA', /CRITICAL/);
    expect(alert.text).toMatch(/^<!subteam\^S0DBAONCALL> CRITICAL: RDS burst balance/);
    const value = JSON.stringify(alert.blocks).match(/"value":"(1\|burstBalance:db:orders-db)"/)?.[1] ?? '';
    expect(value).toBe('1|burstBalance:db:orders-db');

    // An engineer (not dba) may not.
    await tc.click('U0ALICE', alert, ALERT_ACK_ACTION, value);
    const denied = await waitFor(() => tc.fake.ephemerals.find((e) => e.user === 'U0ALICE'));
    expect(denied.text).toContain(
      'You cannot acknowledge this alert: only the role(s) dba may act on this alert',
    );
    expect(messageText(alertsIn(tc, 'C0DBA')[0] as FakeMessage)).not.toContain('acknowledged by');

    // A DBA may: recorded, shown at once, audited.
    await tc.click('U0DBA', alert, ALERT_ACK_ACTION, value);
    await waitFor(() =>
      messageText(alertsIn(tc, 'C0DBA')[0] as FakeMessage).includes('acknowledged by <@U0DBA>'),
    );
    expect(JSON.stringify(alertsIn(tc, 'C0DBA')[0]?.blocks)).not.toContain(ALERT_ACK_ACTION);
    await tc.click('U0DBA', alert, ALERT_SNOOZE_1H_ACTION, value);
    await waitFor(() =>
      messageText(alertsIn(tc, 'C0DBA')[0] as FakeMessage).includes('snoozed by <@U0DBA> until'),
    );
    // Updates go on while acknowledged and snoozed.
    await setBurstBalance(sandbox, 4);
    await waitFor(() => messageText(alertsIn(tc, 'C0DBA')[0] as FakeMessage).includes('is 4.0%'));
    expect(messageText(alertsIn(tc, 'C0DBA')[0] as FakeMessage)).toContain('acknowledged by <@U0DBA>');

    const audit = JSON.stringify(await tc.redis.xrange(`${tc.config.queuePrefix}:audit`, '-', '+'));
    expect(audit).toMatch(/"U0ALICE","subject","alert burstBalance:db:orders-db","outcome","denied"/);
    expect(audit).toMatch(/"U0DBA","subject","alert burstBalance:db:orders-db","outcome","acknowledged"/);
    expect(audit).toMatch(/"U0DBA","subject","alert burstBalance:db:orders-db","outcome","snoozed"/);
    expect(alertsIn(tc, 'C0DBA')).toHaveLength(1);
  });

  it('Investigate starts /rds io-credits in the alert’s thread through the command intake', async () => {
    const { tc, sandbox } = await start();
    await setBurstBalance(sandbox, 25);
    const alert = await alertMessage(tc, 'C0DBA', /RDS burst balance/);
    expect(JSON.stringify(alert.blocks)).toContain(`"action_id":"${ALERT_INVESTIGATE_ACTION}"`);
    await tc.click('U0DBA', alert, ALERT_INVESTIGATE_ACTION, 'orders-db');
    const answer = await waitFor(() => tc.fake.ephemerals.find((e) => e.user === 'U0DBA'));
    if ((JOB_NAMES as readonly string[]).includes('rds.io-credits')) {
      expect(answer.text).toContain('Queued as job');
      const jobId = await waitFor(async () => (await tc.jobsOf('rds.io-credits'))[0]);
      const job = await tc.queue.getJob(jobId);
      expect(job?.data.command).toMatchObject({ kind: 'rds.io-credits', dbInstance: 'orders-db' });
      expect(job?.data.request).toMatchObject({ userId: 'U0DBA', channelId: 'C0DBA', threadTs: alert.ts });
    } else {
      // TODO(lead): once the `rds.io-credits` job is in JOB_NAMES, the branch above checks it was
      // enqueued in the alert's thread; until then intake answers that it is not available yet.
      expect(answer.text).toContain(
        '`/rds io-credits orders-db` is understood, but `rds.io-credits` is not available',
      );
    }
    const audit = JSON.stringify(await tc.redis.xrange(`${tc.config.queuePrefix}:audit`, '-', '+'));
    expect(audit).toContain('/rds io-credits orders-db');
  });

  it('an instance left in Standby opens an alert in the default channel after maxAge and resolves once it is back', async () => {
    const { tc, sandbox } = await start();
    const world = await sandbox.snapshot();
    const [instance] = Object.values(world.instances).filter((i) => i.group === 'prod-web');
    const id = instance?.id ?? '';
    await sandbox.call('AutoScaling', 'EnterStandby', {
      AutoScalingGroupName: 'prod-web',
      InstanceIds: [id],
      ShouldDecrementDesiredCapacity: true,
    });
    const enteredAt = Date.now();
    const alert = await alertMessage(tc, 'C0ALERTS', /Instances left in Standby/);
    // Not before it was in Standby for maxAge (2 s), as Capstan first saw it.
    expect(alert.history[0]?.at ?? 0).toBeGreaterThanOrEqual(enteredAt + 2_000);
    expect(messageText(alert)).toContain(`\`${id}\` in Standby`);
    expect(JSON.stringify(alert.blocks)).not.toContain(ALERT_INVESTIGATE_ACTION);

    await sandbox.call('AutoScaling', 'ExitStandby', { AutoScalingGroupName: 'prod-web', InstanceIds: [id] });
    await alertMessage(tc, 'C0ALERTS', /Resolved/);
    // Exiting Standby briefly leaves fewer InService than desired, within the grace period: no alert.
    expect(alertsIn(tc, 'C0ALERTS')).toHaveLength(1);
    expect(alertsIn(tc, 'C0DBA')).toHaveLength(0);
  });

  it('several worker processes post one message per alert; restarts lose neither the message nor the resolution', async () => {
    // The last worker is killed while the alert is clearing: a longer quiet period keeps that state
    // long enough for the kill to land in it on a loaded machine (2 s left it to chance).
    const quietMs = 6_000;
    const config = CONFIG.replace('quietPeriod: 2s', `quietPeriod: ${quietMs / 1000}s`);
    expect(config).toContain('quietPeriod: 6s');
    const { tc, sandbox } = await start('web', config);
    const a = tc.spawn(['worker']);
    const b = tc.spawn(['worker']);
    await setBurstBalance(sandbox, 25);
    const alert = await alertMessage(tc, 'C0DBA', /RDS burst balance/, 30_000);
    await waitFor(() => seenCount(alertsIn(tc, 'C0DBA')[0] as FakeMessage) >= 5, { timeoutMs: 15_000 });
    expect(alertsIn(tc, 'C0DBA')).toHaveLength(1);

    // One worker dies: the other carries on with the same message.
    await a.kill();
    const before = seenCount(alertsIn(tc, 'C0DBA')[0] as FakeMessage);
    await waitFor(() => seenCount(alertsIn(tc, 'C0DBA')[0] as FakeMessage) >= before + 3, {
      timeoutMs: 15_000,
    });
    expect(alertsIn(tc, 'C0DBA')).toHaveLength(1);

    // Recovery starts; every worker dies while it is clearing; a new one resolves it, in place.
    await setBurstBalance(sandbox, 90);
    await waitFor(() => /Clearing/.test(messageText(alertsIn(tc, 'C0DBA')[0] as FakeMessage)), {
      timeoutMs: 15_000,
    });
    await b.kill();
    await new Promise((resolve) => setTimeout(resolve, quietMs + 500));
    expect(messageText(alertsIn(tc, 'C0DBA')[0] as FakeMessage)).not.toMatch(/Resolved/);
    tc.spawnWorker();
    const resolved = await alertMessage(tc, 'C0DBA', /Resolved/, 30_000);
    expect(resolved.ts).toBe(alert.ts);
    expect(alertsIn(tc, 'C0DBA')).toHaveLength(1);
    expect(tc.fake.threadReplies('C0DBA', alert.ts)).toHaveLength(0);
  }, 120_000);
});
