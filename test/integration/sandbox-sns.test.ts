/**
 * The sandbox's SNS stand-in over a real Redis: messages signed as AWS signs them verify with the
 * real sns-payload-validator through the stand-in's agent (which reaches the sandbox's loopback
 * endpoint and nothing else), subscriptions are confirmed by their SubscribeURL, and CloudWatch
 * alarms on the sandbox's metrics publish AWS's notification to a loopback HTTP server this test runs.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import Validator from 'sns-payload-validator';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { connectDemoAlarms, DEMO_BURST_ALARM } from '../../devkit/local/demo/alarms.js';
import { ioCreditHistory } from '../../devkit/local/demo/io-credit-history.js';
import { DEMO_ALARM_TOPIC_ARN, demoAwsSeed, ORDERS_DB } from '../../devkit/local/demo/world.js';
import {
  createSandbox,
  openSnsSandbox,
  openSnsStandIn,
  type Sandbox,
  type SnsHttpMessage,
  type SnsStandInHandle,
} from '../../devkit/sandbox/index.js';
import type { StandIns } from '../../src/stand-ins.js';
import { waitFor } from '../helpers/wait-for.js';

const REGION = 'us-east-1';
const ACCOUNT = '123456789012';
const TOPIC = `arn:aws:sns:${REGION}:${ACCOUNT}:capstan-alarms`;
const OTHER_TOPIC = `arn:aws:sns:${REGION}:${ACCOUNT}:other`;
const V1_TOPIC = `arn:aws:sns:${REGION}:${ACCOUNT}:signed-with-sha1`;
const ALARM = 'orders-db-burst-balance-low';
const MINUTE = 60_000;
/** The sandbox clock, moved by hand: 10:00:30 UTC on 7 December 2026 to start with. */
let clock = Date.UTC(2026, 11, 7, 10, 0, 30);
const now = () => clock;

/** What the test's endpoint received. */
interface Received {
  headers: http.IncomingHttpHeaders;
  body: string;
  message: SnsHttpMessage;
}

let redis: Redis;
let prefix: string;
let sandbox: Sandbox;
let sns: SnsStandInHandle;
let other: SnsStandInHandle;
let receiver: http.Server;
let endpoint: string;
const received: Received[] = [];

/** GET through an agent; the body as text. */
function get(url: string, agent: https.Agent): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    https
      .get(url, { agent }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          body += d;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}

const notifications = (type = 'Notification') => received.filter((r) => r.message.Type === type);

beforeAll(async () => {
  redis = new Redis(inject('redisUrl'));
  prefix = `{sbsns-${randomBytes(4).toString('hex')}}`;
  sandbox = createSandbox({ redis, prefix, now });
  await sandbox.seed({
    region: REGION,
    accountId: ACCOUNT,
    snsTopics: [{ arn: TOPIC }, { arn: OTHER_TOPIC }, { arn: V1_TOPIC, signatureVersion: '1' }],
  });
  receiver = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (d: string) => {
      body += d;
    });
    req.on('end', () => {
      received.push({ headers: req.headers, body, message: JSON.parse(body) as SnsHttpMessage });
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/aws/sns`;
  // Two stand-ins on one world, as a web and a worker process would have; rounds by hand.
  sns = await openSnsStandIn({ redis, prefix, clock: now, evaluate: false, intervalMs: 200 });
  other = await openSnsStandIn({ redis, prefix, clock: now, evaluate: false, intervalMs: 200 });
});

afterAll(async () => {
  await sns?.close();
  await other?.close();
  await new Promise((resolve) => receiver?.close(resolve));
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length > 0) await redis.del(...keys);
  await redis.quit();
});

describe('the identity', () => {
  it('is made once and shared by every process through Redis', async () => {
    const third = await openSnsSandbox({ redis, prefix });
    expect(third.identity).toEqual(sns.identity);
    expect(other.identity).toEqual(sns.identity);
    expect(sns.identity.certificateName).toMatch(/^SimpleNotificationService-[a-f0-9]{32}\.pem$/);
    expect(await redis.exists(`${prefix}:sandbox:sns:identity`)).toBe(1);
  });
});

describe('signed messages and sns-payload-validator', () => {
  const validator = () => new Validator({ requestAgent: sns.agent, useCache: false });

  it.each(['2', '1'] as const)('accepts a Notification signed with SignatureVersion %s', async (version) => {
    const message = sns.sign({
      Type: 'Notification',
      TopicArn: TOPIC,
      Subject: 'ALARM: "x" in US East (N. Virginia)',
      Message: '{"AlarmName":"x"}\nwith a second line',
      SignatureVersion: version,
    });
    expect(message).toMatchObject({
      Type: 'Notification',
      TopicArn: TOPIC,
      SignatureVersion: version,
      SigningCertURL: `https://sns.us-east-1.amazonaws.com/${sns.identity.certificateName}`,
    });
    expect(message.MessageId).toMatch(/^[0-9a-f-]{36}$/);
    expect(message.UnsubscribeURL).toMatch(
      /^https:\/\/sns\.us-east-1\.amazonaws\.com\/\?Action=Unsubscribe&SubscriptionArn=arn:aws:sns:us-east-1:123456789012:capstan-alarms:/,
    );
    await expect(validator().validate(message)).resolves.toEqual(message);
    // As the body SNS POSTs (text), too.
    await expect(validator().validate(JSON.stringify(message))).resolves.toMatchObject({
      Type: 'Notification',
    });
  });

  it('accepts a Notification without a Subject', async () => {
    const message = sns.sign({ Type: 'Notification', TopicArn: TOPIC, Message: 'hello' });
    expect('Subject' in message).toBe(false);
    await expect(validator().validate(message)).resolves.toEqual(message);
  });

  it.each(['2', '1'] as const)(
    'accepts a SubscriptionConfirmation signed with SignatureVersion %s',
    async (version) => {
      const message = sns.sign({
        Type: 'SubscriptionConfirmation',
        TopicArn: TOPIC,
        Message: 'You have chosen to subscribe…',
        SignatureVersion: version,
      });
      expect(message.Token).toMatch(/^[0-9a-f]{128}$/);
      expect(message.SubscribeURL).toBe(
        `https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=${TOPIC}&Token=${message.Token}`,
      );
      await expect(validator().validate(message)).resolves.toEqual(message);
    },
  );

  it('rejects a tampered Message, Subject or Token', async () => {
    const message = sns.sign({
      Type: 'Notification',
      TopicArn: TOPIC,
      Subject: 's',
      Message: 'threshold 20',
    });
    await expect(validator().validate({ ...message, Message: 'threshold 21' })).rejects.toThrow(
      'Invalid Signature',
    );
    await expect(validator().validate({ ...message, Subject: 't' })).rejects.toThrow('Invalid Signature');
    const confirmation = sns.sign({ Type: 'SubscriptionConfirmation', TopicArn: TOPIC, Message: 'm' });
    await expect(validator().validate({ ...confirmation, Token: `${confirmation.Token}0` })).rejects.toThrow(
      'Invalid Signature',
    );
  });

  it('serves the signing certificate at the SigningCertURL, and 404 for any other certificate', async () => {
    const url = `https://sns.eu-west-1.amazonaws.com/${sns.identity.certificateName}`;
    const cert = await get(url, sns.agent);
    expect(cert.status).toBe(200);
    expect(cert.body).toBe(sns.identity.signingCert);
    const wrong = await get(
      `https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-${'0'.repeat(32)}.pem`,
      sns.agent,
    );
    expect(wrong.status).toBe(404);
  });
});

describe('the agent', () => {
  it('refuses any host that is not an SNS endpoint, so nothing leaves the machine', async () => {
    for (const url of [
      'https://example.com/',
      'https://127.0.0.1/',
      'https://s3.us-east-1.amazonaws.com/x.pem',
    ]) {
      await expect(get(url, sns.agent)).rejects.toMatchObject({ code: 'ERR_SANDBOX_HOST_REFUSED' });
    }
    const validator = new Validator({ requestAgent: sns.agent, useCache: false });
    const message = sns.sign({ Type: 'Notification', TopicArn: TOPIC, Message: 'm' });
    // The validator's own URL pattern turns this one away before any request.
    await expect(
      validator.validate({
        ...message,
        SigningCertURL: `https://example.com/${sns.identity.certificateName}`,
      }),
    ).rejects.toThrow('Invalid SigningCertURL');
  });

  it('is what the product gets through the stand-ins seam (StandIns.snsStandIn)', async () => {
    const standIns: Pick<StandIns, 'snsStandIn'> = await import('../../devkit/index.js');
    const product = await standIns.snsStandIn({ redis, prefix, evaluateAlarms: false });
    try {
      expect(product.agent).toBeInstanceOf(https.Agent);
      const message = sns.sign({
        Type: 'Notification',
        TopicArn: TOPIC,
        Subject: 's',
        Message: 'from another process',
      });
      await expect(new Validator({ requestAgent: product.agent }).validate(message)).resolves.toEqual(
        message,
      );
    } finally {
      await product.close();
    }
  });

  it('trusts only the sandbox CA, and the endpoint is not trusted by a default agent', async () => {
    const direct = `${sns.endpointUrl}/${sns.identity.certificateName}`;
    await expect(get(direct, new https.Agent())).rejects.toThrow(
      /self[- ]signed|unable to verify|certificate/i,
    );
  });
});

describe('subscriptions', () => {
  it('refuses an endpoint that is not on loopback', async () => {
    await expect(sns.subscribe(TOPIC, 'https://hooks.example.com/aws/sns')).rejects.toThrow(/loopback/);
  });

  it('POSTs a signed SubscriptionConfirmation with SNS headers; a wrong token confirms nothing', async () => {
    const { subscription, confirmation } = await sns.subscribe(OTHER_TOPIC, endpoint);
    expect(subscription.status).toBe('pending');
    expect(confirmation?.status).toBe(200);
    const got = notifications('SubscriptionConfirmation').find((r) => r.message.TopicArn === OTHER_TOPIC);
    expect(got?.headers).toMatchObject({
      'x-amz-sns-message-type': 'SubscriptionConfirmation',
      'x-amz-sns-message-id': got?.message.MessageId,
      'x-amz-sns-topic-arn': OTHER_TOPIC,
      'content-type': 'text/plain; charset=UTF-8',
    });
    expect(got?.body).toMatch(/^\{\n {2}"Type" : "SubscriptionConfirmation",\n {2}"MessageId" : /);
    expect(got?.message.Message).toBe(
      `You have chosen to subscribe to the topic ${OTHER_TOPIC}.\nTo confirm the subscription, visit the SubscribeURL included in this message.`,
    );
    await expect(new Validator({ requestAgent: sns.agent }).validate(got?.body ?? '')).resolves.toBeTruthy();

    const wrong = (got?.message.SubscribeURL ?? '').replace(/Token=[0-9a-f]+/, `Token=${'ab'.repeat(64)}`);
    const refused = await get(wrong, sns.agent);
    expect(refused.status).toBe(400);
    expect(refused.body).toContain('<Code>InvalidParameter</Code>');
    expect(refused.body).toContain('<Message>Invalid token</Message>');
    const noTopic = await get(
      (got?.message.SubscribeURL ?? '').replace(OTHER_TOPIC, `${OTHER_TOPIC}-gone`),
      sns.agent,
    );
    expect(noTopic.status).toBe(404);
    expect(noTopic.body).toContain('<Code>NotFound</Code>');
    expect((await sns.topic(OTHER_TOPIC))?.subscriptions[0]?.status).toBe('pending');
    // Nothing is published to a pending subscription.
    expect(await sns.publish(OTHER_TOPIC, { message: 'not yet' })).toEqual([]);
  });

  it('confirms a subscription through its SubscribeURL (any process), and then delivers notifications', async () => {
    await sns.subscribe(TOPIC, endpoint);
    const got = notifications('SubscriptionConfirmation').find((r) => r.message.TopicArn === TOPIC);
    // The worker that confirms may not be the process that sent the confirmation.
    const answer = await get(got?.message.SubscribeURL ?? '', other.agent);
    expect(answer.status).toBe(200);
    const topic = await sns.topic(TOPIC);
    const arn = topic?.subscriptions[0]?.arn ?? '';
    expect(arn).toMatch(new RegExp(`^${TOPIC}:[0-9a-f-]{36}$`));
    expect(answer.body).toContain(
      `<ConfirmSubscriptionResult>\n    <SubscriptionArn>${arn}</SubscriptionArn>`,
    );
    expect(topic?.subscriptions[0]?.status).toBe('confirmed');
    // Confirming again is harmless; a new Subscribe of a confirmed endpoint sends nothing.
    expect((await get(got?.message.SubscribeURL ?? '', sns.agent)).status).toBe(200);
    const before = received.length;
    expect((await sns.subscribe(TOPIC, endpoint)).confirmation).toBeUndefined();
    expect(received.length).toBe(before);

    const results = await sns.publish(TOPIC, { subject: 'hello', message: 'world' });
    expect(results).toEqual([expect.objectContaining({ subscriptionArn: arn, status: 200 })]);
    const note = received.at(-1);
    expect(note?.headers).toMatchObject({
      'x-amz-sns-message-type': 'Notification',
      'x-amz-sns-topic-arn': TOPIC,
      'x-amz-sns-subscription-arn': arn,
      'x-amz-sns-message-id': results[0]?.messageId,
    });
    expect(note?.message).toMatchObject({ Subject: 'hello', Message: 'world', SignatureVersion: '2' });
    expect(note?.message.UnsubscribeURL).toBe(
      `https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=${arn}`,
    );
    await expect(
      new Validator({ requestAgent: other.agent }).validate(note?.body ?? ''),
    ).resolves.toBeTruthy();
  });

  it('signs with SHA1 for a topic whose SignatureVersion is 1, and sends seeded confirmations itself', async () => {
    await sandbox.seed({ snsTopics: [{ arn: V1_TOPIC, subscriptions: [{ endpoint }] }] });
    const results = await sns.deliverPendingConfirmations();
    expect(results).toEqual([expect.objectContaining({ status: 200 })]);
    // Delivered once: another process does not send it again.
    expect(await other.deliverPendingConfirmations()).toEqual([]);
    const got = notifications('SubscriptionConfirmation').find((r) => r.message.TopicArn === V1_TOPIC);
    expect(got?.message.SignatureVersion).toBe('1');
    await expect(new Validator({ requestAgent: sns.agent }).validate(got?.body ?? '')).resolves.toBeTruthy();
  });
});

describe('CloudWatch alarms publishing through SNS', () => {
  /** Puts BurstBalance values one a minute, in the minutes ending at the current minute's start. */
  async function burstBalance(values: number[]): Promise<void> {
    const end = Math.floor(clock / MINUTE) * MINUTE;
    await sandbox.putMetricData({
      namespace: 'AWS/RDS',
      metricName: 'BurstBalance',
      dimensions: { DBInstanceIdentifier: 'orders-db' },
      unit: 'Percent',
      points: values.map((v, i) => ({ t: end - (values.length - i) * MINUTE + 20_000, v })),
    });
  }

  /** One round in each stand-in at once, as two processes would run them. */
  async function roundInBoth() {
    const [a, b] = await Promise.all([sns.tick(), other.tick()]);
    return [...a, ...b];
  }

  const alarmNotes = () => notifications().filter((r) => r.message.Subject?.includes(`"${ALARM}"`));

  it('goes to ALARM once when the series crosses the threshold, and back to OK when it recovers', async () => {
    await sandbox.seed({
      alarms: [
        {
          name: ALARM,
          description: 'orders-db is running out of gp2 I/O credits',
          namespace: 'AWS/RDS',
          metricName: 'BurstBalance',
          dimensions: { DBInstanceIdentifier: 'orders-db' },
          statistic: 'Average',
          period: 60,
          evaluationPeriods: 3,
          threshold: 20,
          comparisonOperator: 'LessThanThreshold',
          actions: [TOPIC],
        },
      ],
    });
    // No data yet: it stays INSUFFICIENT_DATA and publishes nothing.
    expect(await roundInBoth()).toEqual([]);
    await burstBalance([12.5, 14, 16.25]);
    clock += 250;
    await sleep(150); // past the claims of the last round (each alarm is evaluated once per interval)
    const transitions = await roundInBoth();
    expect(transitions.map((t) => [t.oldState, t.newState])).toEqual([['INSUFFICIENT_DATA', 'ALARM']]);
    // Later rounds in both processes see no change and publish nothing more.
    for (let i = 0; i < 3; i++) {
      await sleep(150);
      expect(await roundInBoth()).toEqual([]);
    }
    expect(alarmNotes()).toHaveLength(1);

    const note = alarmNotes()[0] as Received;
    expect(note.message.Subject).toBe(`ALARM: "${ALARM}" in US East (N. Virginia)`);
    expect(note.headers['x-amz-sns-message-type']).toBe('Notification');
    await expect(new Validator({ requestAgent: sns.agent }).validate(note.body)).resolves.toBeTruthy();
    const body = JSON.parse(note.message.Message) as Record<string, unknown>;
    expect(Object.keys(body)).toEqual([
      'AlarmName',
      'AlarmDescription',
      'AWSAccountId',
      'AlarmConfigurationUpdatedTimestamp',
      'NewStateValue',
      'NewStateReason',
      'StateChangeTime',
      'Region',
      'AlarmArn',
      'OldStateValue',
      'OKActions',
      'AlarmActions',
      'InsufficientDataActions',
      'Trigger',
    ]);
    expect(body).toEqual({
      AlarmName: ALARM,
      AlarmDescription: 'orders-db is running out of gp2 I/O credits',
      AWSAccountId: ACCOUNT,
      AlarmConfigurationUpdatedTimestamp: '2026-12-07T10:00:30.000+0000',
      NewStateValue: 'ALARM',
      NewStateReason:
        'Threshold Crossed: 3 datapoints [16.25 (07/12/26 09:59:00), 14.0 (07/12/26 09:58:00), 12.5 (07/12/26 09:57:00)] were less than the threshold (20.0).',
      StateChangeTime: '2026-12-07T10:00:30.250+0000',
      Region: 'US East (N. Virginia)',
      AlarmArn: `arn:aws:cloudwatch:${REGION}:${ACCOUNT}:alarm:${ALARM}`,
      OldStateValue: 'INSUFFICIENT_DATA',
      OKActions: [TOPIC],
      AlarmActions: [TOPIC],
      InsufficientDataActions: [],
      Trigger: {
        MetricName: 'BurstBalance',
        Namespace: 'AWS/RDS',
        StatisticType: 'Statistic',
        Statistic: 'AVERAGE',
        Unit: null,
        Dimensions: [{ value: 'orders-db', name: 'DBInstanceIdentifier' }],
        Period: 60,
        EvaluationPeriods: 3,
        ComparisonOperator: 'LessThanThreshold',
        Threshold: 20,
        TreatMissingData: 'missing',
        EvaluateLowSampleCountPercentile: '',
      },
    });
    // Numbers as CloudWatch writes them.
    expect(note.message.Message).toContain('"Threshold":20.0,');

    // DescribeAlarms tells the same.
    const described = await sandbox.call<{ MetricAlarms: Record<string, unknown>[] }>(
      'CloudWatch',
      'DescribeAlarms',
      {
        AlarmNames: [ALARM],
      },
    );
    expect(described.MetricAlarms[0]).toMatchObject({
      AlarmName: ALARM,
      StateValue: 'ALARM',
      StateReason: body.NewStateReason,
      Threshold: 20,
      ComparisonOperator: 'LessThanThreshold',
    });

    // Three healthy minutes later, OK.
    clock += 3 * MINUTE;
    await burstBalance([35, 60, 80]);
    await sleep(150);
    const recovered = await roundInBoth();
    expect(recovered.map((t) => [t.oldState, t.newState])).toEqual([['ALARM', 'OK']]);
    expect(alarmNotes()).toHaveLength(2);
    const ok = alarmNotes()[1] as Received;
    expect(ok.message.Subject).toBe(`OK: "${ALARM}" in US East (N. Virginia)`);
    expect(JSON.parse(ok.message.Message)).toMatchObject({
      NewStateValue: 'OK',
      OldStateValue: 'ALARM',
      NewStateReason:
        'Threshold Crossed: 3 datapoints [80.0 (07/12/26 10:02:00), 60.0 (07/12/26 10:01:00), 35.0 (07/12/26 10:00:00)] were not less than the threshold (20.0).',
    });
  });

  it('creates, lists and deletes alarms through the CloudWatch API', async () => {
    await sandbox.call('CloudWatch', 'PutMetricAlarm', {
      AlarmName: 'cpu-high',
      Namespace: 'AWS/EC2',
      MetricName: 'CPUUtilization',
      Dimensions: [{ Name: 'InstanceId', Value: 'i-0123' }],
      Statistic: 'Maximum',
      Period: 300,
      EvaluationPeriods: 3,
      DatapointsToAlarm: 2,
      Threshold: 90,
      ComparisonOperator: 'GreaterThanThreshold',
      AlarmActions: [TOPIC],
    });
    const listed = await sandbox.call<{ MetricAlarms: { AlarmName: string; StateValue: string }[] }>(
      'CloudWatch',
      'DescribeAlarms',
      { AlarmNamePrefix: 'cpu-' },
    );
    expect(listed.MetricAlarms).toEqual([
      expect.objectContaining({
        AlarmName: 'cpu-high',
        StateValue: 'INSUFFICIENT_DATA',
        StateReason: 'Unchecked: Initial alarm creation',
        DatapointsToAlarm: 2,
      }),
    ]);
    await expect(
      sandbox.call('CloudWatch', 'PutMetricAlarm', {
        AlarmName: 'bad',
        Namespace: 'X',
        MetricName: 'Y',
        Period: 45,
      }),
    ).rejects.toMatchObject({ code: 'ValidationError' });
    await sandbox.call('CloudWatch', 'DeleteAlarms', { AlarmNames: ['cpu-high'] });
    await expect(
      sandbox.call('CloudWatch', 'DeleteAlarms', { AlarmNames: ['cpu-high'] }),
    ).rejects.toMatchObject({
      code: 'ResourceNotFound',
    });
  });
});

describe("the local-mode demo's alarm", () => {
  it('subscribes Capstan, waits for its confirmation, then alarms on the draining BurstBalance', async () => {
    const demoPrefix = `{sbsns-demo-${randomBytes(4).toString('hex')}}`;
    const demoSandbox = createSandbox({ redis, prefix: demoPrefix });
    await demoSandbox.seed(demoAwsSeed());
    const t = Date.now();
    await demoSandbox.putMetricData(
      ioCreditHistory({
        dbInstanceId: ORDERS_DB,
        from: t - 24 * 3_600_000,
        to: t,
        drainStartedAt: t - 6 * 3_600_000,
      }),
    );
    const standIn = await openSnsStandIn({ redis, prefix: demoPrefix, evaluate: false });
    // Capstan's side, as the product does it: verify each message, confirm by GETting the SubscribeURL.
    const validator = new Validator({ requestAgent: standIn.agent });
    const alarms: SnsHttpMessage[] = [];
    const capstan = http.createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (d: string) => {
        body += d;
      });
      req.on('end', async () => {
        const message = (await validator.validate(body)) as SnsHttpMessage;
        if (message.Type === 'SubscriptionConfirmation') await get(message.SubscribeURL ?? '', standIn.agent);
        else alarms.push(message);
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((resolve) => capstan.listen(0, '127.0.0.1', resolve));
    const capstanUrl = `http://127.0.0.1:${(capstan.address() as AddressInfo).port}/aws/sns`;
    try {
      const outcome = await connectDemoAlarms({
        redis,
        prefix: demoPrefix,
        sandbox: demoSandbox,
        endpoint: capstanUrl,
        logger: pino({ level: 'silent' }),
        signal: new AbortController().signal,
      });
      expect(outcome).toEqual({ confirmed: true, alarm: true });
      const transitions = await standIn.tick();
      expect(transitions.map((x) => x.newState)).toEqual(['ALARM']);
      await waitFor(() => alarms.length === 1, { message: 'the ALARM notification' });
      expect(alarms[0]?.Subject).toBe(`ALARM: "${DEMO_BURST_ALARM}" in EU (Ireland)`);
      const body = JSON.parse(alarms[0]?.Message ?? '{}');
      expect(body).toMatchObject({
        AlarmName: DEMO_BURST_ALARM,
        AWSAccountId: '123456789012',
        Region: 'EU (Ireland)',
        NewStateValue: 'ALARM',
        OldStateValue: 'INSUFFICIENT_DATA',
        AlarmActions: [DEMO_ALARM_TOPIC_ARN],
        Trigger: {
          MetricName: 'BurstBalance',
          Namespace: 'AWS/RDS',
          Statistic: 'AVERAGE',
          Dimensions: [{ value: ORDERS_DB, name: 'DBInstanceIdentifier' }],
          Period: 300,
          EvaluationPeriods: 3,
          ComparisonOperator: 'LessThanThreshold',
          Threshold: 25,
        },
      });
      expect(body.NewStateReason).toMatch(
        /^Threshold Crossed: 3 datapoints \[(1\d|2[0-4])\.\d \(\d\d\/\d\d\/\d\d \d\d:\d[05]:00\), .*\] were less than the threshold \(25\.0\)\.$/,
      );
      // A later start on another port drops the old subscription and subscribes the new endpoint.
      await connectDemoAlarms({
        redis,
        prefix: demoPrefix,
        sandbox: demoSandbox,
        endpoint: `${capstanUrl}?again`,
        logger: pino({ level: 'silent' }),
        signal: new AbortController().signal,
      });
      const topic = await standIn.topic(DEMO_ALARM_TOPIC_ARN);
      expect(topic?.subscriptions.map((s) => [s.endpoint, s.status])).toEqual([
        [`${capstanUrl}?again`, 'confirmed'],
      ]);
    } finally {
      await standIn.close();
      await new Promise((resolve) => capstan.close(resolve));
      const keys = await redis.keys(`${demoPrefix}*`);
      if (keys.length > 0) await redis.del(...keys);
    }
  });
});
