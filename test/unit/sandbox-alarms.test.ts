/**
 * The sandbox's CloudWatch alarms and SNS messages, pure parts: state evaluation over datapoints
 * (AWS's missing-data tables), CloudWatch's reasons and notification JSON, the string SNS signs.
 */
import { describe, expect, it } from 'vitest';
import {
  type AlarmDatapoint,
  type AlarmTransition,
  alarmNotification,
  applySeed,
  cloudWatchTime,
  DEFAULT_TIMING,
  datapointTime,
  type EvaluatedAlarm,
  emptyWorld,
  evaluateAlarm,
  evaluateAlarmInWorld,
  evaluationRange,
  javaDouble,
  type MetricAlarmState,
  parseSeed,
  SandboxSeedError,
  stringToSign,
  transitionTopics,
} from '../../devkit/sandbox/index.js';
import { checkEndpoint } from '../../devkit/sandbox/sns-world.js';

const MINUTE = 60_000;
const NOW = Date.UTC(2026, 11, 7, 10, 0, 30);
const END = Date.UTC(2026, 11, 7, 10, 0, 0);

const alarm = (over: Partial<EvaluatedAlarm> = {}): EvaluatedAlarm => ({
  statistic: 'Average',
  period: 60,
  evaluationPeriods: 3,
  threshold: 20,
  comparisonOperator: 'LessThanThreshold',
  treatMissingData: 'missing',
  ...over,
});

/** `0 - X - X`, oldest first, over the 5 periods before END: 0 clear (50), X breaching (10), - missing. */
function pattern(text: string): AlarmDatapoint[] {
  const cells = text.split(' ');
  return cells.flatMap((c, i) => {
    const t = END - (cells.length - i) * MINUTE;
    return c === '-' ? [] : [{ t, v: c === 'X' ? 10 : 50 }];
  });
}

const state = (text: string, over: Partial<EvaluatedAlarm> = {}, current: 'OK' | 'ALARM' = 'OK') =>
  evaluateAlarm(alarm(over), pattern(text), current, NOW).value ?? 'retain';

describe('evaluateAlarm: the missing-data tables of the CloudWatch user guide', () => {
  // https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html#alarms-evaluating-missing-data
  it.each([
    // datapoints, MISSING, IGNORE, BREACHING, NOT BREACHING (3 out of 3)
    ['0 - X - X', 'OK', 'OK', 'OK', 'OK'],
    ['0 - - - -', 'OK', 'OK', 'OK', 'OK'],
    ['- - - - -', 'INSUFFICIENT_DATA', 'retain', 'ALARM', 'OK'],
    ['0 X X - X', 'ALARM', 'ALARM', 'ALARM', 'ALARM'],
    ['- - - - X', 'INSUFFICIENT_DATA', 'retain', 'ALARM', 'OK'],
  ])('3 of 3: %s', (points, missing, ignore, breaching, notBreaching) => {
    expect(state(points, { treatMissingData: 'missing' })).toBe(missing);
    expect(state(points, { treatMissingData: 'ignore' })).toBe(ignore);
    expect(state(points, { treatMissingData: 'breaching' })).toBe(breaching);
    expect(state(points, { treatMissingData: 'notBreaching' })).toBe(notBreaching);
  });

  it.each([
    // 2 out of 3
    ['0 - X - X', 'ALARM', 'ALARM', 'ALARM', 'ALARM'],
    ['0 0 X 0 X', 'ALARM', 'ALARM', 'ALARM', 'ALARM'],
    ['0 - X - -', 'OK', 'OK', 'ALARM', 'OK'],
    ['- - - - 0', 'OK', 'OK', 'ALARM', 'OK'],
    ['- - - - X', 'INSUFFICIENT_DATA', 'retain', 'ALARM', 'OK'],
  ])('2 of 3: %s', (points, missing, ignore, breaching, notBreaching) => {
    const m = { datapointsToAlarm: 2 };
    expect(state(points, { ...m, treatMissingData: 'missing' })).toBe(missing);
    expect(state(points, { ...m, treatMissingData: 'ignore' })).toBe(ignore);
    expect(state(points, { ...m, treatMissingData: 'breaching' })).toBe(breaching);
    expect(state(points, { ...m, treatMissingData: 'notBreaching' })).toBe(notBreaching);
  });

  it('differs from the guide in one row: a lone old breaching datapoint with `missing` is not enough', () => {
    // The guide's table gives ALARM for `X - - - -` (3 of 3, missing); the sandbox keeps INSUFFICIENT_DATA.
    expect(state('X - - - -', { treatMissingData: 'missing' })).toBe('INSUFFICIENT_DATA');
    expect(state('X - - - -', { treatMissingData: 'ignore' })).toBe('retain');
  });

  it('evaluates the most recent N datapoints when there are N or more', () => {
    expect(state('X X 0 0 0')).toBe('OK');
    expect(state('0 0 X X X')).toBe('ALARM');
    expect(state('0 X X X 0')).toBe('OK');
  });

  it('compares as each operator says (the threshold itself breaches only the OrEqual ones)', () => {
    const at = [
      { t: END - 3 * MINUTE, v: 20 },
      { t: END - 2 * MINUTE, v: 20 },
      { t: END - MINUTE, v: 20 },
    ];
    const of = (comparisonOperator: EvaluatedAlarm['comparisonOperator']) =>
      evaluateAlarm(alarm({ comparisonOperator }), at, 'OK', NOW).value;
    expect(of('LessThanThreshold')).toBe('OK');
    expect(of('LessThanOrEqualToThreshold')).toBe('ALARM');
    expect(of('GreaterThanThreshold')).toBe('OK');
    expect(of('GreaterThanOrEqualToThreshold')).toBe('ALARM');
  });
});

describe('evaluateAlarm: reasons as CloudWatch writes them', () => {
  const breaching = [
    { t: END - 3 * MINUTE, v: 12.5 },
    { t: END - 2 * MINUTE, v: 14 },
    { t: END - MINUTE, v: 16.25 },
  ];

  it('lists the datapoints newest first, with their times', () => {
    const e = evaluateAlarm(alarm(), breaching, 'INSUFFICIENT_DATA', NOW);
    expect(e.value).toBe('ALARM');
    expect(e.reason).toBe(
      'Threshold Crossed: 3 datapoints [16.25 (07/12/26 09:59:00), 14.0 (07/12/26 09:58:00), 12.5 (07/12/26 09:57:00)] were less than the threshold (20.0).',
    );
    expect(JSON.parse(e.reasonData)).toEqual({
      version: '1.0',
      queryDate: '2026-12-07T10:00:30.000+0000',
      startDate: '2026-12-07T09:57:00.000+0000',
      statistic: 'Average',
      period: 60,
      recentDatapoints: [12.5, 14, 16.25],
      threshold: 20,
    });
  });

  it('uses the M-out-of-N wording when DatapointsToAlarm is set', () => {
    const e = evaluateAlarm(
      alarm({ datapointsToAlarm: 1, evaluationPeriods: 1 }),
      [{ t: END - MINUTE, v: 3 }],
      'OK',
      NOW,
    );
    expect(e.reason).toBe(
      'Threshold Crossed: 1 out of the last 1 datapoints [3.0 (07/12/26 09:59:00)] was less than the threshold (20.0) (minimum 1 datapoint for OK -> ALARM transition).',
    );
    const ok = evaluateAlarm(
      alarm({ datapointsToAlarm: 2, comparisonOperator: 'GreaterThanThreshold', threshold: 50 }),
      [
        { t: END - 3 * MINUTE, v: 60 },
        { t: END - 2 * MINUTE, v: 40 },
        { t: END - MINUTE, v: 45 },
      ],
      'ALARM',
      NOW,
    );
    expect(ok.reason).toBe(
      'Threshold Crossed: 2 out of the last 3 datapoints [45.0 (07/12/26 09:59:00), 40.0 (07/12/26 09:58:00)] were not greater than the threshold (50.0) (minimum 2 datapoints for ALARM -> OK transition).',
    );
  });

  it('says when there was no data, and how missing data was treated', () => {
    expect(evaluateAlarm(alarm(), [], 'OK', NOW).reason).toBe(
      'Insufficient Data: 3 datapoints were unknown.',
    );
    expect(evaluateAlarm(alarm({ treatMissingData: 'breaching' }), [], 'OK', NOW).reason).toBe(
      'Threshold Crossed: no datapoints were received for 3 periods and 3 missing datapoints were treated as [Breaching].',
    );
    expect(
      evaluateAlarm(alarm({ treatMissingData: 'breaching' }), [{ t: END - MINUTE, v: 1 }], 'OK', NOW).reason,
    ).toBe(
      'Threshold Crossed: 1 datapoint [1.0 (07/12/26 09:59:00)] was less than the threshold (20.0) and 2 missing datapoints were treated as [Breaching].',
    );
  });
});

describe('numbers and times as CloudWatch writes them', () => {
  it('writes doubles as Java does', () => {
    expect(javaDouble(20)).toBe('20.0');
    expect(javaDouble(16.3)).toBe('16.3');
    expect(javaDouble(0)).toBe('0.0');
    expect(javaDouble(-2)).toBe('-2.0');
    expect(javaDouble(0.0666851903306472)).toBe('0.0666851903306472');
    expect(javaDouble(12_345_678)).toBe('1.2345678E7');
    expect(javaDouble(1e7)).toBe('1.0E7');
    expect(javaDouble(0.0001)).toBe('1.0E-4');
  });

  it('writes times as dd/MM/yy HH:mm:ss in reasons and ISO with +0000 elsewhere', () => {
    expect(datapointTime(Date.UTC(2025, 1, 2, 12, 5))).toBe('02/02/25 12:05:00');
    expect(cloudWatchTime(Date.UTC(2025, 1, 2, 12, 6, 35, 472))).toBe('2025-02-02T12:06:35.472+0000');
  });

  it('evaluates whole periods that have ended, N + 2 of them', () => {
    expect(evaluationRange({ period: 300, evaluationPeriods: 3 }, Date.UTC(2026, 0, 1, 10, 7, 12))).toEqual({
      start: Date.UTC(2026, 0, 1, 9, 40),
      end: Date.UTC(2026, 0, 1, 10, 5),
    });
  });
});

describe('the notification an alarm publishes', () => {
  const base: MetricAlarmState = {
    name: 'db-burst',
    arn: 'arn:aws:cloudwatch:eu-west-1:123456789012:alarm:db-burst',
    namespace: 'AWS/RDS',
    metricName: 'BurstBalance',
    dimensions: [{ Name: 'DBInstanceIdentifier', Value: 'orders-db' }],
    statistic: 'Minimum',
    unit: 'Percent',
    period: 300,
    evaluationPeriods: 3,
    datapointsToAlarm: 2,
    threshold: 20.5,
    comparisonOperator: 'LessThanOrEqualToThreshold',
    treatMissingData: 'breaching',
    actionsEnabled: true,
    alarmActions: ['arn:aws:sns:eu-west-1:123456789012:a', 'arn:aws:automate:eu-west-1:ec2:stop'],
    okActions: ['arn:aws:sns:eu-west-1:123456789012:b'],
    insufficientDataActions: [],
    configurationUpdatedAt: Date.UTC(2026, 0, 1),
    state: { value: 'ALARM', reason: 'r', updatedAt: NOW, transitionedAt: NOW },
  };
  const transition = (over: Partial<AlarmTransition> = {}): AlarmTransition => ({
    alarm: base,
    oldState: 'OK',
    newState: 'ALARM',
    at: NOW,
    region: 'eu-west-1',
    accountId: '123456789012',
    ...over,
  });

  it('names the Region by its long name, and writes the Trigger as CloudWatch does', () => {
    const { subject, message } = alarmNotification(transition());
    expect(subject).toBe('ALARM: "db-burst" in EU (Ireland)');
    const body = JSON.parse(message);
    expect(body).toMatchObject({
      AlarmDescription: null,
      Region: 'EU (Ireland)',
      AlarmConfigurationUpdatedTimestamp: '2026-01-01T00:00:00.000+0000',
      NewStateReason: 'r',
      Trigger: {
        Statistic: 'MINIMUM',
        Unit: 'Percent',
        DatapointsToAlarm: 2,
        TreatMissingData: 'breaching',
        Dimensions: [{ value: 'orders-db', name: 'DBInstanceIdentifier' }],
      },
    });
    expect(Object.keys(body.Trigger)).toEqual([
      'MetricName',
      'Namespace',
      'StatisticType',
      'Statistic',
      'Unit',
      'Dimensions',
      'Period',
      'EvaluationPeriods',
      'DatapointsToAlarm',
      'ComparisonOperator',
      'Threshold',
      'TreatMissingData',
      'EvaluateLowSampleCountPercentile',
    ]);
    expect(message).toContain('"Threshold":20.5,');
    expect(alarmNotification(transition({ region: 'ap-northeast-1' })).subject).toBe(
      'ALARM: "db-burst" in Asia Pacific (Tokyo)',
    );
  });

  it('keeps the Subject within SNS’s 100 characters', () => {
    const long = { ...base, name: 'x'.repeat(120) };
    expect(alarmNotification(transition({ alarm: long })).subject).toHaveLength(100);
  });

  it('goes to the SNS topics of the new state’s actions, only while actions are enabled', () => {
    expect(transitionTopics(transition())).toEqual(['arn:aws:sns:eu-west-1:123456789012:a']);
    expect(transitionTopics(transition({ newState: 'OK' }))).toEqual([
      'arn:aws:sns:eu-west-1:123456789012:b',
    ]);
    expect(transitionTopics(transition({ newState: 'INSUFFICIENT_DATA' }))).toEqual([]);
    expect(transitionTopics(transition({ alarm: { ...base, actionsEnabled: false } }))).toEqual([]);
  });
});

describe('alarms and topics in a seed', () => {
  const topic = 'arn:aws:sns:eu-west-1:123456789012:capstan-alarms';
  const seed = {
    snsTopics: [{ arn: topic, subscriptions: [{ endpoint: 'http://127.0.0.1:3000/aws/sns' }] }],
    alarms: [
      {
        name: 'low',
        namespace: 'AWS/RDS',
        metricName: 'BurstBalance',
        dimensions: { DBInstanceIdentifier: 'orders-db' },
        statistic: 'Average' as const,
        period: 300,
        evaluationPeriods: 3,
        threshold: 20,
        comparisonOperator: 'LessThanThreshold' as const,
        actions: [topic],
      },
    ],
  };

  it('adds a pending subscription and an alarm notifying on ALARM and OK, idempotently', () => {
    const world = emptyWorld('unit');
    applySeed(world, parseSeed(seed), NOW, DEFAULT_TIMING);
    applySeed(world, parseSeed(seed), NOW + MINUTE, DEFAULT_TIMING);
    expect(world.snsTopics?.[topic]?.subscriptions).toEqual([
      expect.objectContaining({
        status: 'pending',
        protocol: 'http',
        endpoint: 'http://127.0.0.1:3000/aws/sns',
      }),
    ]);
    expect(world.snsTopics?.[topic]?.subscriptions[0]?.token).toMatch(/^[0-9a-f]{128}$/);
    expect(world.alarms?.low).toMatchObject({
      alarmActions: [topic],
      okActions: [topic],
      insufficientDataActions: [],
      treatMissingData: 'missing',
      actionsEnabled: true,
      configurationUpdatedAt: NOW,
      state: { value: 'INSUFFICIENT_DATA', reason: 'Unchecked: Initial alarm creation' },
    });
  });

  it('evaluates an alarm on the world’s metrics', () => {
    const world = emptyWorld('unit');
    applySeed(
      world,
      parseSeed({
        ...seed,
        metrics: [
          {
            namespace: 'AWS/RDS',
            metricName: 'BurstBalance',
            dimensions: { DBInstanceIdentifier: 'orders-db' },
            generate: { from: NOW - 60 * MINUTE, every: '5m', values: [15] },
          },
        ],
      }),
      NOW,
      DEFAULT_TIMING,
    );
    const t = evaluateAlarmInWorld(world, 'low', NOW);
    expect(t).toMatchObject({ oldState: 'INSUFFICIENT_DATA', newState: 'ALARM', region: 'eu-west-1' });
    expect(world.alarms?.low?.state.value).toBe('ALARM');
    expect(evaluateAlarmInWorld(world, 'low', NOW + MINUTE)).toBeUndefined();
  });

  it('names what is wrong with an alarm', () => {
    const world = emptyWorld('unit');
    const bad = { ...seed, alarms: [{ ...seed.alarms[0], period: 45 }] };
    expect(() => applySeed(world, parseSeed(bad), NOW, DEFAULT_TIMING)).toThrow(SandboxSeedError);
    expect(() => applySeed(world, parseSeed(bad), NOW, DEFAULT_TIMING)).toThrow(/alarms low: Period must be/);
    expect(() =>
      applySeed(
        world,
        parseSeed({ snsTopics: [{ arn: topic, subscriptions: [{ endpoint: 'https://example.com/hook' }] }] }),
        NOW,
        DEFAULT_TIMING,
      ),
    ).toThrow(/loopback endpoints only/);
  });

  it('delivers only to loopback http(s) endpoints', () => {
    expect(checkEndpoint('http://127.0.0.1:3000/aws/sns')).toEqual({ protocol: 'http' });
    expect(checkEndpoint('https://localhost/aws/sns')).toEqual({ protocol: 'https' });
    expect(checkEndpoint('http://[::1]:8080/')).toEqual({ protocol: 'http' });
    expect(checkEndpoint('http://10.0.0.1/')).toHaveProperty('error');
    expect(checkEndpoint('mailto:ops@example.com')).toHaveProperty('error');
  });
});

describe('the string SNS signs', () => {
  // https://docs.aws.amazon.com/sns/latest/dg/sns-verify-signature-of-message.html
  const common = {
    MessageId: 'id',
    Timestamp: '2026-12-07T10:00:00.000Z',
    TopicArn: 'arn',
    SignatureVersion: '2' as const,
  };

  it('takes a Notification’s Message, MessageId, Subject (when present), Timestamp, TopicArn and Type', () => {
    expect(stringToSign({ ...common, Type: 'Notification', Subject: 'S', Message: 'M' })).toBe(
      'Message\nM\nMessageId\nid\nSubject\nS\nTimestamp\n2026-12-07T10:00:00.000Z\nTopicArn\narn\nType\nNotification\n',
    );
    expect(stringToSign({ ...common, Type: 'Notification', Message: 'M' })).toBe(
      'Message\nM\nMessageId\nid\nTimestamp\n2026-12-07T10:00:00.000Z\nTopicArn\narn\nType\nNotification\n',
    );
  });

  it('takes a confirmation’s SubscribeURL and Token instead of a Subject', () => {
    expect(
      stringToSign({
        ...common,
        Type: 'SubscriptionConfirmation',
        Message: 'M',
        Token: 'T',
        SubscribeURL: 'U',
      }),
    ).toBe(
      'Message\nM\nMessageId\nid\nSubscribeURL\nU\nTimestamp\n2026-12-07T10:00:00.000Z\nToken\nT\nTopicArn\narn\nType\nSubscriptionConfirmation\n',
    );
  });
});
