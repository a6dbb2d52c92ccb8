/**
 * Alerts from SNS end to end: the sandbox's SNS signs messages as AWS documents
 * (https://docs.aws.amazon.com/sns/latest/dg/sns-verify-signature-of-message.html) and posts them
 * to Capstan's real `POST /aws/sns` → checks → `alerts.signal` → one Slack message per problem.
 * Subscriptions are confirmed through their SubscribeURL; a BurstBalance alarm and Capstan's own
 * BurstBalance check make one alert whichever comes first; whatever is not a signed message of a
 * configured, recent topic is refused and changes nothing.
 */
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { createSandbox, type Sandbox } from '../../devkit/sandbox/index.js';
import { openSnsSandbox, type SnsSandbox } from '../../devkit/sandbox/sns.js';
import { snsMessageBody, snsMessageHeaders } from '../../devkit/sandbox/sns-messages.js';
import { ALERT_INVESTIGATE_ACTION } from '../../src/slack/blocks/alert.js';
import { startTestCapstan, type TestCapstan } from '../helpers/capstan.js';
import { type FakeMessage, messageText } from '../helpers/fake-slack.js';
import { writeTempFile } from '../helpers/run-capstan.js';
import { waitFor } from '../helpers/wait-for.js';

const TOPIC = 'arn:aws:sns:eu-west-1:123456789012:capstan-alarms';
const OTHER_TOPIC = 'arn:aws:sns:eu-west-1:123456789012:someone-elses';

const CONFIG = `
slack: { notificationsChannel: C0NOTICES }
aws: { region: eu-west-1 }
roles:
  engineers: { users: [U0ALICE] }
alerts:
  quietPeriod: 2s
  renotifyAfter: 1h
  databases: [orders-db]
  checks:
    failedJobs: { enabled: false }
  sns:
    topics: [${TOPIC}]
  routes:
    - match: { source: cloudwatch-alarm, alarm: 'payments-*' }
      channel: C0PAYMENTS
  default: { channel: C0ALERTS, roles: [engineers] }
`;

const fixture = (name: string) => readFileSync(new URL(`../fixtures/sns/${name}`, import.meta.url), 'utf8');

/** The documented BurstBalance alarm payload, stamped now (AWS's time format: 2026-11-22T12:00:41.123+0000). */
function alarmMessage(state: 'ALARM' | 'OK', name = 'orders-db-burst-balance', at = Date.now()): string {
  const doc = JSON.parse(
    fixture(
      state === 'ALARM' ? 'cloudwatch-alarm-burst-balance.json' : 'cloudwatch-alarm-burst-balance-ok.json',
    ),
  ) as Record<string, unknown>;
  return JSON.stringify({
    ...doc,
    AlarmName: name,
    AlarmArn: `arn:aws:cloudwatch:eu-west-1:123456789012:alarm:${name}`,
    StateChangeTime: new Date(at).toISOString().replace('Z', '+0000'),
  });
}

const BASE = Math.floor(Date.now() / 60_000) * 60_000 - 50 * 60_000;

function seedFile(burstBalance: number): string {
  const seed = {
    dbInstances: [{ id: 'orders-db', allocatedStorage: 100, storageType: 'gp2' }],
    metrics: [
      {
        namespace: 'AWS/RDS',
        metricName: 'BurstBalance',
        dimensions: { DBInstanceIdentifier: 'orders-db' },
        unit: 'Percent',
        points: [{ t: BASE, v: burstBalance }],
      },
    ],
  };
  return writeTempFile('capstan-sns-seed-', 'seed.json', JSON.stringify(seed));
}

let t: TestCapstan | undefined;
afterEach(async () => {
  await t?.stop();
  t = undefined;
});

async function start(
  burstBalance = 80,
): Promise<{ tc: TestCapstan; sns: SnsSandbox; sandbox: Sandbox; url: string }> {
  const tc = await startTestCapstan({
    configYaml: CONFIG,
    env: {
      CAPSTAN_AWS: 'sandbox',
      CAPSTAN_SANDBOX_SEED: seedFile(burstBalance),
      CAPSTAN_ALERTS_CHECK_MS: '300',
    },
  });
  t = tc;
  const sns = await openSnsSandbox({ redis: tc.redis, prefix: tc.config.queuePrefix });
  const sandbox = createSandbox({ redis: tc.redis, prefix: tc.config.queuePrefix });
  return { tc, sns, sandbox, url: `${tc.baseUrl}/aws/sns` };
}

/** POSTs one SNS message as SNS does. */
async function post(
  url: string,
  message: ReturnType<SnsSandbox['sign']>,
  over: { body?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; body: string }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { ...snsMessageHeaders(message), ...over.headers },
    body: over.body ?? snsMessageBody(message),
  });
  return { status: res.status, body: await res.text() };
}

const topLevel = (tc: TestCapstan, channel: string) => tc.fake.messagesIn(channel, { topLevelOnly: true });

function onlyAlert(tc: TestCapstan, channel: string, text: RegExp): Promise<FakeMessage> {
  return waitFor(
    () => {
      const [m] = topLevel(tc, channel);
      return m && text.test(messageText(m)) ? m : undefined;
    },
    {
      timeoutMs: 15_000,
      message: `an alert in ${channel} matching ${text}; so far: ${tc.fake.messages.map((m) => `${m.channel}: ${messageText(m).slice(0, 200)}`).join(' | ')}`,
    },
  );
}

describe('alerts from SNS', () => {
  it('confirms a configured topic’s subscription through its SubscribeURL, and never another topic’s', async () => {
    const { sns, url, tc } = await start();
    await sns.createTopic(TOPIC);
    const { confirmation } = await sns.subscribe(TOPIC, url);
    expect(confirmation?.status).toBe(200);
    await waitFor(async () => (await sns.topic(TOPIC))?.subscriptions[0]?.status === 'confirmed', {
      timeoutMs: 15_000,
      message: 'the subscription to be confirmed',
    });

    await sns.createTopic(OTHER_TOPIC);
    const other = await sns.subscribe(OTHER_TOPIC, url);
    expect(other.confirmation?.status).toBe(403);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect((await sns.topic(OTHER_TOPIC))?.subscriptions[0]?.status).toBe('pending');
    expect(await tc.jobsOf('alerts.signal')).toHaveLength(1);
  });

  it('opens one alert on ALARM, with the metric, threshold and Investigate; a redelivery changes nothing; OK resolves it after the quiet period', async () => {
    const { tc, sns, url } = await start();
    const alarm = sns.sign({
      Type: 'Notification',
      TopicArn: TOPIC,
      Subject: 'ALARM: "orders-db-burst-balance" in EU (Ireland)',
      Message: alarmMessage('ALARM'),
    });
    expect((await post(url, alarm)).status).toBe(200);
    const opened = await onlyAlert(tc, 'C0ALERTS', /CRITICAL/);
    const text = messageText(opened);
    expect(text).toContain('BurstBalance');
    // Escaped as text (`<` is `&lt;` in Slack's markup).
    expect(text).toContain('BurstBalance &lt; 20 for 3 × 5 min');
    expect(text).toContain('from a CloudWatch alarm via SNS');
    expect(text).toContain(
      'https://console.aws.amazon.com/cloudwatch/home?region=eu-west-1#alarmsV2:alarm/orders-db-burst-balance',
    );
    expect(JSON.stringify(opened.blocks)).toContain(ALERT_INVESTIGATE_ACTION);

    // SNS delivers at least once: the same message again is answered and queued no second time.
    const again = await post(url, alarm);
    expect(again.status).toBe(200);
    expect(JSON.parse(again.body)).toEqual({ status: 'duplicate' });
    expect(await tc.jobsOf('alerts.signal')).toHaveLength(1);

    const ok = sns.sign({
      Type: 'Notification',
      TopicArn: TOPIC,
      Message: alarmMessage('OK', 'orders-db-burst-balance', Date.now() + 1),
    });
    expect((await post(url, ok)).status).toBe(200);
    const resolved = await onlyAlert(tc, 'C0ALERTS', /Resolved/);
    expect(resolved.ts).toBe(opened.ts);
    expect(topLevel(tc, 'C0ALERTS')).toHaveLength(1);
  });

  it('is one alert with Capstan’s own BurstBalance check: the check opens it, the alarm updates the same message', async () => {
    const { tc, sns, sandbox, url } = await start();
    // The scheduled check sees 8 % first (critical below 10 %).
    await sandbox.putMetricData({
      namespace: 'AWS/RDS',
      metricName: 'BurstBalance',
      dimensions: { DBInstanceIdentifier: 'orders-db' },
      unit: 'Percent',
      points: [{ t: Date.now() - 60_000, v: 8 }],
    });
    const opened = await onlyAlert(tc, 'C0ALERTS', /BurstBalance of `orders-db` is 8(\.0)?%/);
    const alarm = sns.sign({ Type: 'Notification', TopicArn: TOPIC, Message: alarmMessage('ALARM') });
    expect((await post(url, alarm)).status).toBe(200);
    const updated = await waitFor(() => {
      const m = tc.fake.findMessage('C0ALERTS', opened.ts);
      return m && /from a CloudWatch alarm via SNS/.test(messageText(m)) ? m : undefined;
    });
    // Seen by both sources, counted on the one alert.
    expect(Number(/\*Seen\*\s*(\d+) time/.exec(messageText(updated))?.[1])).toBeGreaterThanOrEqual(2);
    expect(topLevel(tc, 'C0ALERTS')).toHaveLength(1);
  });

  it('routes by alarm name pattern', async () => {
    const { tc, sns, url } = await start();
    const alarm = sns.sign({
      Type: 'Notification',
      TopicArn: TOPIC,
      Message: alarmMessage('ALARM', 'payments-api-latency'),
    });
    expect((await post(url, alarm)).status).toBe(200);
    await onlyAlert(tc, 'C0PAYMENTS', /payments-api-latency/);
    expect(topLevel(tc, 'C0ALERTS')).toHaveLength(0);
  });

  it('refuses a tampered, foreign, stale, oddly certified or unsigned message, and nothing opens', async () => {
    const { tc, sns, url } = await start();
    const good = () => sns.sign({ Type: 'Notification', TopicArn: TOPIC, Message: alarmMessage('ALARM') });

    const tampered = good();
    const forged = { ...tampered, Message: alarmMessage('ALARM', 'forged') };
    expect((await post(url, tampered, { body: JSON.stringify(forged) })).status).toBe(403);

    const foreign = sns.sign({ Type: 'Notification', TopicArn: OTHER_TOPIC, Message: alarmMessage('ALARM') });
    expect((await post(url, foreign)).status).toBe(403);

    const elsewhere = good();
    const moved = {
      ...elsewhere,
      SigningCertURL: elsewhere.SigningCertURL.replace(
        'sns.eu-west-1.amazonaws.com',
        'sns.eu-west-1.amazonaws.com.evil.example',
      ),
    };
    expect((await post(url, elsewhere, { body: JSON.stringify(moved) })).status).toBe(403);

    // Validly signed, but sent two hours ago: a replay, not a retry.
    const old = openSnsSandbox({
      redis: tc.redis,
      prefix: tc.config.queuePrefix,
      clock: () => Date.now() - 2 * 3_600_000,
    });
    const stale = (await old).sign({ Type: 'Notification', TopicArn: TOPIC, Message: alarmMessage('ALARM') });
    const staleAnswer = await post(url, stale);
    expect(staleAnswer.status).toBe(400);
    expect(staleAnswer.body).toContain('more than an hour old');

    expect(
      (await post(url, good(), { headers: { 'x-amz-sns-message-type': 'SubscriptionConfirmation' } })).status,
    ).toBe(400);
    const res = await fetch(url, {
      method: 'POST',
      body: 'hello',
      headers: { 'content-type': 'text/plain' },
    });
    expect(res.status).toBe(400);

    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(await tc.jobsOf('alerts.signal')).toHaveLength(0);
    expect(await tc.keys(`${tc.prefix}:alert:*`)).toEqual([]);
    expect(topLevel(tc, 'C0ALERTS')).toHaveLength(0);
  });

  it('the sandbox’s own CloudWatch alarm publishes ALARM when BurstBalance falls below its threshold, and it arrives', async () => {
    const { tc, sns, sandbox, url } = await start();
    await sns.createTopic(TOPIC);
    await sns.subscribe(TOPIC, url);
    await waitFor(async () => (await sns.topic(TOPIC))?.subscriptions[0]?.status === 'confirmed', {
      timeoutMs: 15_000,
    });
    // Three five-minute periods well below the threshold, ending now.
    const now = Date.now();
    await sandbox.putMetricData({
      namespace: 'AWS/RDS',
      metricName: 'BurstBalance',
      dimensions: { DBInstanceIdentifier: 'orders-db' },
      unit: 'Percent',
      points: [0, 1, 2, 3].map((i) => ({ t: now - (i * 5 + 1) * 60_000, v: 40 })),
    });
    await sandbox.seed({
      alarms: [
        {
          name: 'orders-db-burst-low',
          namespace: 'AWS/RDS',
          metricName: 'BurstBalance',
          dimensions: { DBInstanceIdentifier: 'orders-db' },
          statistic: 'Average',
          period: 300,
          evaluationPeriods: 3,
          threshold: 50,
          comparisonOperator: 'LessThanThreshold',
          actions: [TOPIC],
        },
      ],
    });
    // Capstan's own check may see the drop first: either way one message, which the alarm updates.
    const arrived = await onlyAlert(tc, 'C0ALERTS', /from a CloudWatch alarm via SNS/);
    expect(messageText(arrived)).toContain('orders-db-burst-low');
    expect(topLevel(tc, 'C0ALERTS')).toHaveLength(1);
  }, 60_000);
});
