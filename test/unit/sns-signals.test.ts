/**
 * The SNS signal mapping (src/domain/alerts/signals.ts): AWS's documented example payloads
 * (test/fixtures/sns/, ids adjusted where the docs have placeholders) for every branch, then bad
 * input, then a property test: thousands of seeded random and garbled messages never throw, and
 * always give a refusal that quotes nothing or signals that respect every cap.
 *
 * Fixtures marked "derived" keep a documented payload's shape and change the values a branch needs
 * (a BurstBalance metric, an OK state, an error event): AWS documents no example for those.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { configFileSchema } from '../../src/config.js';
import { burstBalanceRule, replicaLagRule } from '../../src/domain/alerts/rules.js';
import {
  type ExternalSignal,
  RDS_EVENT_RULES,
  SIGNAL_CHECKS,
  SIGNAL_LIMITS,
  type SignalParse,
  signalsFromNotification,
} from '../../src/domain/alerts/signals.js';
import { prng } from '../helpers/prng.js';

const TOPIC = 'arn:aws:sns:us-east-1:123456789012:capstan-alerts';
const PUBLISHED = '2026-11-22T12:00:00.000Z';
const checks = configFileSchema.parse({ alerts: {} }).alerts.checks;

type Json = Record<string, unknown>;

const FIXTURES = new URL('../fixtures/sns/', import.meta.url);

function fixture(name: string): Json {
  return JSON.parse(readFileSync(new URL(name, FIXTURES), 'utf8')) as Json;
}

function notify(message: unknown, over: { topicArn?: string; timestamp?: string } = {}): SignalParse {
  return signalsFromNotification({
    topicArn: over.topicArn ?? TOPIC,
    subject: 'Notification',
    message: typeof message === 'string' ? message : JSON.stringify(message),
    timestamp: over.timestamp ?? PUBLISHED,
  });
}

function one(result: SignalParse): ExternalSignal {
  if (!result.ok) throw new Error(`refused: ${result.reason}`);
  expect(result.signals).toHaveLength(1);
  const [signal] = result.signals;
  if (!signal) throw new Error('no signal');
  expectWellFormed(signal);
  return signal;
}

function refused(result: SignalParse): string {
  if (result.ok) throw new Error(`accepted: ${JSON.stringify(result.signals).slice(0, 300)}`);
  expect(result.reason.length).toBeGreaterThan(0);
  expect(result.reason.length).toBeLessThanOrEqual(200);
  return result.reason;
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: what must never reach Slack
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const RESOURCE =
  /^(db|alarm|asg|event|db-cluster|db-snapshot|db-cluster-snapshot|db-parameter-group|db-security-group|db-proxy|[a-z][a-z0-9-]*):./;

/** Every invariant a signal keeps, whatever its input. */
function expectWellFormed(s: ExternalSignal): void {
  expect(['cloudwatch-alarm', 'rds-event', 'autoscaling', 'eventbridge']).toContain(s.source);
  expect(['sns', 'eventbridge']).toContain(s.via);
  expect(['burstBalance', 'replicaLag', ...SIGNAL_CHECKS]).toContain(s.key.check);
  expect(s.key.resource).toMatch(RESOURCE);
  expect(s.key.resource.length).toBeLessThanOrEqual(SIGNAL_LIMITS.resource);
  expect(CONTROL.test(s.key.resource)).toBe(false);
  expect(['problem', 'clear', 'info', 'status']).toContain(s.kind);
  expect(['warning', 'critical']).toContain(s.severity);
  for (const [text, max] of [
    [s.value, SIGNAL_LIMITS.value],
    [s.summary, SIGNAL_LIMITS.summary],
  ] as const) {
    expect(text.length).toBeGreaterThan(0);
    expect(text.length).toBeLessThanOrEqual(max);
    expect(CONTROL.test(text)).toBe(false);
    expect(LONE_SURROGATE.test(text)).toBe(false);
  }
  expect(s.details.length).toBeLessThanOrEqual(SIGNAL_LIMITS.detailLines);
  for (const line of s.details) {
    expect(line.length).toBeGreaterThan(0);
    expect(line.length).toBeLessThanOrEqual(SIGNAL_LIMITS.detailLine);
    expect(CONTROL.test(line)).toBe(false);
    expect(LONE_SURROGATE.test(line)).toBe(false);
  }
  if (s.link) {
    expect(s.link.url).toMatch(
      /^https:\/\/([a-z0-9-]+\.)*(console\.aws\.amazon\.com|console\.amazonaws\.cn|console\.amazonaws-us-gov\.com)\//,
    );
    expect(s.link.url.length).toBeLessThanOrEqual(SIGNAL_LIMITS.url);
    expect(CONTROL.test(s.link.url)).toBe(false);
    expect(s.link.label.length).toBeLessThanOrEqual(SIGNAL_LIMITS.linkLabel);
  }
  if (s.investigate) expect(s.investigate.dbInstance).toMatch(/^[A-Za-z][A-Za-z0-9-]{0,62}$/);
  if (s.match.database) expect(s.match.database).toMatch(/^[A-Za-z][A-Za-z0-9-]{0,62}$/);
  if (s.match.region) expect(s.match.region).toMatch(/^[a-z]{2}(-[a-z]+)+-\d{1,2}$/);
  if (s.match.account) expect(s.match.account).toMatch(/^\d{12}$/);
  for (const name of [s.match.alarmName, s.match.autoScalingGroup]) {
    if (name !== undefined) expect(CONTROL.test(name) || LONE_SURROGATE.test(name)).toBe(false);
  }
  expect(Number.isFinite(s.occurredAt)).toBe(true);
  if (s.resolves) expect(s.kind).toBe('clear');
}

// ── CloudWatch alarms via SNS ─────────────────────────────────────────────────────────────────

describe('CloudWatch alarm notifications (SNS)', () => {
  // https://github.com/aws/aws-lambda-go/blob/main/events/testdata/cloudwatch-alarm-sns-payload-single-metric.json
  // (AWS's own example of an alarm's SNS Message; Region and AlarmArn placeholders filled in)
  it('maps ALARM of a single-metric alarm to a problem on alarm:<name>, with its condition in words', () => {
    const s = one(notify(fixture('cloudwatch-alarm-single-metric.json')));
    expect(s).toMatchObject({
      source: 'cloudwatch-alarm',
      via: 'sns',
      key: { check: 'alarm', resource: 'alarm:EXAMPLE' },
      kind: 'problem',
      severity: 'critical',
      value: 'NetworkOut 1234 > 0 (1 datapoint)',
      summary: 'CloudWatch alarm `EXAMPLE` is in ALARM: NetworkOut > 0 for 60 s',
      occurredAt: Date.parse('2015-06-03T17:43:27.123Z'),
      link: {
        url: 'https://console.aws.amazon.com/cloudwatch/home?region=us-east-1#alarmsV2:alarm/EXAMPLE',
        label: 'Open the alarm in CloudWatch',
      },
      // The message's Region is a display name ("US East (N. Virginia)"): the ARN gives the code.
      match: { alarmName: 'EXAMPLE', region: 'us-east-1', account: '123456789012' },
    });
    expect(s.investigate).toBeUndefined();
    expect(s.details).toEqual(
      expect.arrayContaining([
        'Condition: NetworkOut > 0 for 60 s',
        'Metric: AWS/EC2 NetworkOut (Average, Bytes) InstanceId=TestInstance',
        expect.stringMatching(/^Reason: Threshold Crossed: 1 out of the last 1 datapoints \[1234\.0/),
        'Missing data: treated as missing',
        'State: INSUFFICIENT_DATA → ALARM at 2015-06-03T17:43:27.123Z',
      ]),
    );
  });

  // https://github.com/aws/aws-lambda-go/blob/main/events/testdata/cloudwatch-alarm-sns-payload-multiple-metrics.json
  it('names a metric-math alarm by its returned expression and lists its metrics', () => {
    const s = one(notify(fixture('cloudwatch-alarm-metric-math.json')));
    expect(s.key).toEqual({ check: 'alarm', resource: 'alarm:EXAMPLE' });
    expect(s.value).toBe('Expression1 1234 > 0 (1 datapoint)');
    expect(s.details).toEqual(
      expect.arrayContaining([
        'Condition: Expression1 > 0 for 60 s',
        'Metric m1: AWS/EC2 NetworkOut (Average, 60 s) InstanceId=TestInstance',
        'Expression e1 (Expression1): m1*1',
      ]),
    );
  });

  // Derived from the single-metric example: AWS/RDS BurstBalance of one DB instance.
  it('feeds the same alert as the scheduled BurstBalance check, with Investigate', () => {
    const s = one(notify(fixture('cloudwatch-alarm-burst-balance.json')));
    const scheduled = burstBalanceRule(
      { dbInstance: 'orders-db', status: 'available', burstBalance: 12.5 },
      checks.burstBalance,
    );
    expect(s.key).toEqual(scheduled?.key);
    expect(s).toMatchObject({
      key: { check: 'burstBalance', resource: 'db:orders-db' },
      kind: 'problem',
      value: 'BurstBalance 12.5 < 20 (3 datapoints)',
      summary:
        'CloudWatch alarm `orders-db-burst-balance` is in ALARM: BurstBalance < 20 for 3 × 5 min on `orders-db`',
      investigate: { dbInstance: 'orders-db' },
      match: { alarmName: 'orders-db-burst-balance', database: 'orders-db', region: 'eu-west-1' },
      occurredAt: Date.parse('2026-11-22T12:00:41.123Z'),
    });
  });

  // Derived: the same alarm returning to OK.
  it('maps OK to a clear of the same alert', () => {
    const s = one(notify(fixture('cloudwatch-alarm-burst-balance-ok.json')));
    expect(s).toMatchObject({
      key: { check: 'burstBalance', resource: 'db:orders-db' },
      kind: 'clear',
      value: 'BurstBalance 45 (alarm: < 20)',
    });
    expect(s.summary).toContain('is OK again');
  });

  // Derived: INSUFFICIENT_DATA (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html#alarm-states).
  it('maps INSUFFICIENT_DATA to info: shown, neither opening nor resolving', () => {
    const s = one(notify(fixture('cloudwatch-alarm-insufficient-data.json')));
    expect(s.kind).toBe('info');
    expect(s.value).toBe('insufficient data (alarm: NetworkOut > 0 for 60 s)');
    expect(s.details).toContain('Reason: Insufficient Data: 1 datapoint was unknown.');
  });

  // Derived: AWS/RDS ReplicaLag with DatapointsToAlarm (M of N), and "warning" in its name.
  it('feeds ReplicaLag alarms into the replicaLag alert; M of N datapoints in the condition', () => {
    const s = one(notify(fixture('cloudwatch-alarm-replica-lag-warning.json')));
    const scheduled = replicaLagRule(
      { dbInstance: 'orders-replica', status: 'available', replicaLagSeconds: 412 },
      checks.replicaLag,
    );
    expect(s.key).toEqual(scheduled?.key);
    expect(s).toMatchObject({
      severity: 'warning',
      value: 'ReplicaLag 412 ≥ 300 (2 datapoints)',
      investigate: { dbInstance: 'orders-replica' },
    });
    expect(s.details).toContain('Condition: ReplicaLag ≥ 300 for 2 of 3 × 60 s');
    expect(s.details).toContain('Missing data: treated as notBreaching');
  });

  // Derived: a composite alarm has AlarmRule and TriggeringChildren instead of a Trigger
  // (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Create_Composite_Alarm.html).
  it('maps a composite alarm by its rule', () => {
    const s = one(notify(fixture('cloudwatch-alarm-composite.json')));
    expect(s).toMatchObject({
      key: { check: 'alarm', resource: 'alarm:CompositeDemo.Main' },
      kind: 'problem',
      value: 'ALARM',
      match: { alarmName: 'CompositeDemo.Main', region: 'us-east-1', account: '111122223333' },
    });
    expect(s.summary).toContain('rule ALARM(CompositeDemo.FirstChild) OR ALARM(CompositeDemo.SecondChild)');
    expect(s.details).toContain('Triggered by: CompositeDemo.FirstChild (ALARM)');
  });

  // Variations of the single-metric example: the severity rule of signals.ts (alarms carry no severity).
  it('is critical unless the alarm name or description says warn/warning', () => {
    const base = fixture('cloudwatch-alarm-single-metric.json');
    const severity = (name: string, description: string | null) =>
      one(notify({ ...base, AlarmName: name, AlarmDescription: description })).severity;
    expect(severity('prod-cpu-high', 'CPU above 90%')).toBe('critical');
    expect(severity('prod-cpu-warning', null)).toBe('warning');
    expect(severity('[WARN] prod cpu', null)).toBe('warning');
    expect(severity('prod_cpu_Warnings', null)).toBe('warning');
    expect(severity('prod-cpu', 'Warning: CPU above 70%')).toBe('warning');
    expect(severity('forewarned-cpu', 'unwarned')).toBe('critical');
  });

  // Variations of the BurstBalance example: another AWS/RDS metric, and a dimension that is no identifier.
  it('offers Investigate for any alarm on a DB instance, keeping other RDS metrics on alarm:<name>', () => {
    const base = fixture('cloudwatch-alarm-burst-balance.json');
    const trigger = base.Trigger as Json;
    const s = one(
      notify({ ...base, AlarmName: 'orders-db-cpu', Trigger: { ...trigger, MetricName: 'CPUUtilization' } }),
    );
    expect(s.key).toEqual({ check: 'alarm', resource: 'alarm:orders-db-cpu' });
    expect(s.investigate).toEqual({ dbInstance: 'orders-db' });
    expect(s.match.database).toBe('orders-db');
    // A dimension value that is no DB instance identifier is shown, never used as one.
    const odd = one(
      notify({
        ...base,
        Trigger: { ...trigger, Dimensions: [{ name: 'DBInstanceIdentifier', value: 'orders db; rm -rf /' }] },
      }),
    );
    expect(odd.key).toEqual({ check: 'alarm', resource: 'alarm:orders-db-burst-balance' });
    expect(odd.investigate).toBeUndefined();
    expect(odd.match.database).toBeUndefined();
  });

  // Variation of the single-metric example in the aws-cn partition
  // (https://docs.aws.amazon.com/whitepapers/latest/aws-fault-isolation-boundaries/partitions.html).
  it('URL-encodes the alarm name in the console link, on the partition of its ARN', () => {
    const base = fixture('cloudwatch-alarm-single-metric.json');
    const s = one(
      notify({
        ...base,
        AlarmName: 'web 5xx/min #1',
        AlarmArn: 'arn:aws-cn:cloudwatch:cn-north-1:123456789012:alarm:web 5xx/min #1',
      }),
    );
    expect(s.link?.url).toBe(
      'https://console.amazonaws.cn/cloudwatch/home?region=cn-north-1#alarmsV2:alarm/web%205xx%2Fmin%20%231',
    );
    expect(s.key.resource).toBe('alarm:web 5xx/min #1');
  });

  // Variation of the BurstBalance example: numbers as strings, no StateChangeTime.
  it('reads numbers written as strings, and dates by SNS when the alarm carries no time', () => {
    const base = fixture('cloudwatch-alarm-burst-balance.json');
    const trigger = base.Trigger as Json;
    const { StateChangeTime: _t, ...untimed } = base;
    const s = one(
      notify({ ...untimed, Trigger: { ...trigger, Threshold: '20', Period: '300', EvaluationPeriods: '3' } }),
    );
    expect(s.details).toContain('Condition: BurstBalance < 20 for 3 × 5 min');
    expect(s.occurredAt).toBe(Date.parse(PUBLISHED));
  });
});

// ── CloudWatch alarms via EventBridge ─────────────────────────────────────────────────────────

describe('CloudWatch Alarm State Change events (EventBridge via SNS)', () => {
  // https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch-and-eventbridge.html (single metric)
  it('maps like the SNS form, reading threshold and comparison from the state reason', () => {
    const s = one(notify(fixture('eventbridge-alarm-single-metric.json')));
    expect(s).toMatchObject({
      source: 'cloudwatch-alarm',
      via: 'eventbridge',
      key: { check: 'alarm', resource: 'alarm:ServerCpuTooHigh' },
      kind: 'problem',
      severity: 'critical',
      value: 'CPUUtilization 99.5 > 50 (1 datapoint)',
      summary: 'CloudWatch alarm `ServerCpuTooHigh` is in ALARM: CPUUtilization > 50 for 5 min',
      occurredAt: Date.parse('2019-10-02T17:04:40.989Z'),
      match: { alarmName: 'ServerCpuTooHigh', region: 'us-east-1', account: '123456789012' },
    });
    expect(s.details).toContain('Description: Goes into alarm when server CPU utilization is too high!');
    expect(s.details).toContain('State: OK → ALARM at 2019-10-02T17:04:40.989Z');
  });

  // Same page, metric math alarm.
  it('names a metric-math alarm by its expression label', () => {
    const s = one(notify(fixture('eventbridge-alarm-metric-math.json')));
    expect(s.value).toBe('Total Network Traffic 45628 > 10000 (1 datapoint)');
    expect(s.details).toEqual(
      expect.arrayContaining([
        'Condition: Total Network Traffic > 10000 for 5 min',
        'Expression e1 (Total Network Traffic): SUM(METRICS())',
        'Metric m2: AWS/EC2 NetworkOut (Maximum, 5 min) InstanceId=i-12345678901234567',
      ]),
    );
  });

  // Same page, anomaly detection alarm.
  it('describes an anomaly detection alarm by its metric and band', () => {
    const s = one(notify(fixture('eventbridge-alarm-anomaly.json')));
    expect(s.value).toBe('CPUUtilization 0 outside the band (1 datapoint)');
    expect(s.summary).toBe(
      'CloudWatch alarm `EC2 CPU Utilization Anomaly` is in ALARM: CPUUtilization outside the band ad1 for 60 s',
    );
    expect(s.link?.url).toContain('#alarmsV2:alarm/EC2%20CPU%20Utilization%20Anomaly');
  });

  // Variations of the single-metric event: the other states of detail.state.value.
  it('maps OK and INSUFFICIENT_DATA, and refuses a state CloudWatch does not have', () => {
    const event = fixture('eventbridge-alarm-single-metric.json');
    const detail = event.detail as Json;
    const withState = (value: string) =>
      notify({ ...event, detail: { ...detail, state: { ...(detail.state as Json), value } } });
    expect(one(withState('OK')).kind).toBe('clear');
    expect(one(withState('INSUFFICIENT_DATA')).kind).toBe('info');
    expect(refused(withState('BROKEN'))).toContain('detail.state.value');
  });

  // Variation of the single-metric event watching AWS/RDS BurstBalance.
  it('keys a BurstBalance alarm the same way in both formats', () => {
    const event = fixture('eventbridge-alarm-single-metric.json');
    const detail = event.detail as Json;
    const configuration = detail.configuration as { metrics: Json[] };
    const metric = {
      id: 'm1',
      metricStat: {
        metric: {
          dimensions: { DBInstanceIdentifier: 'orders-db' },
          name: 'BurstBalance',
          namespace: 'AWS/RDS',
        },
        period: 300,
        stat: 'Average',
      },
      returnData: true,
    };
    const s = one(
      notify({ ...event, detail: { ...detail, configuration: { ...configuration, metrics: [metric] } } }),
    );
    expect(s.key).toEqual(one(notify(fixture('cloudwatch-alarm-burst-balance.json'))).key);
    expect(s.investigate).toEqual({ dbInstance: 'orders-db' });
  });
});

// ── RDS events ────────────────────────────────────────────────────────────────────────────────

describe('RDS event notifications (SNS)', () => {
  // https://docs.aws.amazon.com/lambda/latest/dg/services-rds.html ("Amazon RDS Message in an Amazon SNS Event")
  it('shows an event Capstan does not map as info on rdsEvent/db:<Source ID>', () => {
    const s = one(notify(fixture('rds-event-backup-finished.json')));
    expect(s).toMatchObject({
      source: 'rds-event',
      via: 'sns',
      key: { check: 'rdsEvent', resource: 'db:dbinstanceid' },
      kind: 'info',
      value: 'RDS-EVENT-0002',
      summary: 'DB instance `dbinstanceid`: Finished DB Instance backup',
      // "Event Time" has no zone: RDS writes UTC.
      occurredAt: Date.UTC(2019, 0, 2, 12, 45, 6),
      link: { url: 'https://console.aws.amazon.com/rds/home?region=eu-west-1#dbinstance:id=dbinstanceid' },
      // The region from the Identifier Link, the account from the topic (the message has no ARN).
      match: { database: 'dbinstanceid', region: 'eu-west-1', account: '123456789012' },
    });
    expect(s.investigate).toBeUndefined();
    expect(s.details).toContain('Event RDS-EVENT-0002: not one Capstan maps: shown for information');
  });

  // Derived from the same example: RDS-EVENT-0089 and RDS-EVENT-0007 with the descriptions of
  // https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_Events.Messages.html
  it('opens low-storage problems (0089 warning, 0007 critical) with Investigate', () => {
    const low = one(notify(fixture('rds-event-low-storage.json')));
    expect(low).toMatchObject({
      key: { check: 'rdsEvent', resource: 'db:orders-db' },
      kind: 'problem',
      severity: 'warning',
      value: 'RDS-EVENT-0089',
      investigate: { dbInstance: 'orders-db' },
      match: { database: 'orders-db', region: 'eu-west-1', account: '123456789012' },
    });
    expect(low.details).toEqual(
      expect.arrayContaining([
        'Event RDS-EVENT-0089: More than 90% of the allocated storage is used (low storage)',
        'Source ARN: arn:aws:rds:eu-west-1:123456789012:db:orders-db',
        'Event reference: https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_Events.Messages.html',
      ]),
    );
    const full = one(notify(fixture('rds-event-storage-full.json')));
    expect(full).toMatchObject({
      kind: 'problem',
      severity: 'critical',
      investigate: { dbInstance: 'orders-db' },
    });
  });

  // Derived: RDS-EVENT-0013 (failover started) and RDS-EVENT-0049 (failover completed).
  it('clears a failover with its completion, naming the problems that recovery answers', () => {
    const started = one(notify(fixture('rds-event-failover-started.json')));
    expect(started).toMatchObject({ kind: 'problem', severity: 'warning', value: 'RDS-EVENT-0013' });
    expect(started.investigate).toBeUndefined();
    const completed = one(notify(fixture('rds-event-failover-completed.json')));
    expect(completed).toMatchObject({ key: started.key, kind: 'clear', value: 'RDS-EVENT-0049' });
    expect(completed.resolves).toContain('RDS-EVENT-0013');
    expect(completed.resolves).not.toContain('RDS-EVENT-0089');
  });

  // Derived: RDS-EVENT-0044 (operator-issued notification), which Capstan does not map.
  it('shows unknown event ids as info', () => {
    expect(one(notify(fixture('rds-event-unmapped.json')))).toMatchObject({
      kind: 'info',
      value: 'RDS-EVENT-0044',
    });
    const { 'Event ID': _id, ...noId } = fixture('rds-event-unmapped.json');
    const s = one(notify(noId));
    expect(s).toMatchObject({ kind: 'info', value: 'RDS event' });
    expect(s.details).toContain('The notification names no RDS event id');
  });

  // Variation of the SNS example for a DB cluster (RDS-EVENT-0069, cluster failover failed), and for a
  // source type RDS does not list (https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_Event.html).
  it('keys events of other source types by type and id, with no database to match', () => {
    const s = one(
      notify({
        ...fixture('rds-event-failover-started.json'),
        'Event Source': 'db-cluster',
        'Source ID': 'orders-cluster',
        'Source ARN': 'arn:aws:rds:eu-west-1:123456789012:cluster:orders-cluster',
        'Event ID':
          'http://docs.amazonwebservices.com/AmazonRDS/latest/UserGuide/USER_Events.html#RDS-EVENT-0069',
        'Event Message': 'A failover for the DB cluster has failed.',
      }),
    );
    expect(s).toMatchObject({
      key: { check: 'rdsEvent', resource: 'db-cluster:orders-cluster' },
      kind: 'problem',
      severity: 'critical',
    });
    expect(s.match.database).toBeUndefined();
    expect(s.investigate).toBeUndefined();
    // A source type RDS may add later is shown, keyed the same way.
    const later = one(notify({ ...fixture('rds-event-unmapped.json'), 'Event Source': 'db-future-thing' }));
    expect(later).toMatchObject({ key: { resource: 'db-future-thing:orders-db' }, kind: 'info' });
  });

  // Variation of the RDS-EVENT-0089 example with a foreign Identifier Link.
  it('links to the console only: an Identifier Link elsewhere is replaced by a console link', () => {
    const s = one(
      notify({ ...fixture('rds-event-low-storage.json'), 'Identifier Link': 'https://evil.example/rds?x=1' }),
    );
    expect(s.link?.url).toBe(
      'https://console.aws.amazon.com/rds/home?region=eu-west-1#database:id=orders-db;is-cluster=false',
    );
  });

  // Variation of the RDS-EVENT-0089 example; identifiers per
  // https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_CreateDBInstance.html
  it('refuses a DB-instance Source ID that is no DB instance identifier', () => {
    const reason = refused(
      notify({ ...fixture('rds-event-low-storage.json'), 'Source ID': 'orders db; DROP' }),
    );
    expect(reason).toContain('not a DB instance identifier');
  });

  it('has a consistent table: every recovery answers problems the table opens', () => {
    for (const [id, rule] of RDS_EVENT_RULES) {
      expect(id).toMatch(/^RDS-EVENT-\d{4}$/);
      if (rule.kind === 'clear') {
        expect(rule.resolves?.length ?? 0).toBeGreaterThan(0);
        for (const answered of rule.resolves ?? [])
          expect(RDS_EVENT_RULES.get(answered)?.kind).toBe('problem');
      } else {
        expect(rule.resolves).toBeUndefined();
      }
    }
  });
});

describe('RDS events (EventBridge via SNS)', () => {
  // https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/rds-cloud-watch-events.html (DB instance event)
  it('maps a DB instance event like the SNS form; the ARN names the instance the identifier prefixes', () => {
    const s = one(notify(fixture('eventbridge-rds-failover-completed.json')));
    expect(s).toMatchObject({
      source: 'rds-event',
      via: 'eventbridge',
      key: { check: 'rdsEvent', resource: 'db:my-db-instance' },
      kind: 'clear',
      value: 'RDS-EVENT-0049',
      occurredAt: Date.parse('2018-09-27T22:36:43.292Z'),
      match: { database: 'my-db-instance', region: 'us-east-1', account: '123456789012' },
      link: {
        url: 'https://console.aws.amazon.com/rds/home?region=us-east-1#database:id=my-db-instance;is-cluster=false',
      },
    });
    expect(s.details).toContain('Categories: failover');
    const sns = one(
      notify({
        ...fixture('rds-event-failover-completed.json'),
        'Source ID': 'my-db-instance',
        'Source ARN': 'arn:aws:rds:us-east-1:123456789012:db:my-db-instance',
      }),
    );
    expect([sns.key, sns.kind, sns.value, sns.resolves]).toEqual([s.key, s.kind, s.value, s.resolves]);
  });

  // Same page, tutorial: "DB instance stopped" (RDS-EVENT-0087).
  it('opens a problem when an instance is stopped', () => {
    const s = one(notify(fixture('eventbridge-rds-stopped.json')));
    expect(s).toMatchObject({ key: { resource: 'db:testdb' }, kind: 'problem', severity: 'warning' });
    const started = one(
      notify({
        ...fixture('eventbridge-rds-stopped.json'),
        detail: { ...(fixture('eventbridge-rds-stopped.json').detail as Json), EventID: 'RDS-EVENT-0088' },
      }),
    );
    expect(started.kind).toBe('clear');
    expect(started.resolves).toContain('RDS-EVENT-0087');
  });

  // Same page, DB parameter group event.
  it('keys a parameter group event by its name from the ARN', () => {
    const s = one(notify(fixture('eventbridge-rds-parameter-group.json')));
    expect(s).toMatchObject({
      key: { check: 'rdsEvent', resource: 'db-parameter-group:my-db-param-group' },
      kind: 'info',
      summary:
        'DB parameter group `my-db-param-group`: Updated parameter time_zone to UTC with apply method immediate',
    });
    expect(s.match.database).toBeUndefined();
  });
});

// ── Auto Scaling ──────────────────────────────────────────────────────────────────────────────

describe('Auto Scaling notifications (SNS)', () => {
  // https://docs.aws.amazon.com/autoscaling/ec2/userguide/ec2-auto-scaling-sns-notifications.html
  // (the documented launch notification, as the JSON Message an HTTP subscriber receives)
  it('reports a successful launch as status, not as an alert', () => {
    const s = one(notify(fixture('autoscaling-launch.json')));
    expect(s).toMatchObject({
      source: 'autoscaling',
      via: 'sns',
      key: { check: 'autoScaling', resource: 'asg:my-asg' },
      kind: 'status',
      value: 'launched i-0598c7d356eba48d7',
      occurredAt: Date.parse('2016-09-30T19:00:36.414Z'),
      match: { autoScalingGroup: 'my-asg', region: 'us-east-1', account: '123456789012' },
      link: {
        url: 'https://console.aws.amazon.com/ec2/home?region=us-east-1#AutoScalingGroupDetails:id=my-asg;view=activity',
      },
    });
    expect(s.details).toContain('Details: Subnet ID subnet-12345678, Availability Zone us-east-1a');
  });

  // Derived: the same message for autoscaling:EC2_INSTANCE_LAUNCH_ERROR, with the failure fields of
  // https://docs.aws.amazon.com/autoscaling/ec2/userguide/ec2-auto-scaling-event-reference.html
  it('opens a critical problem on a launch error', () => {
    const s = one(notify(fixture('autoscaling-launch-error.json')));
    expect(s).toMatchObject({
      key: { check: 'autoScaling', resource: 'asg:my-asg' },
      kind: 'problem',
      severity: 'critical',
      value: 'launch failed',
      summary: 'Auto Scaling group `my-asg` could not launch an instance: message-text',
    });
    expect(s.details).toContain('Status: Failed — message-text');
  });

  // Derived: termination and its error.
  it('reports a termination as status and opens a warning on a termination error', () => {
    expect(one(notify(fixture('autoscaling-terminate.json')))).toMatchObject({
      kind: 'status',
      value: 'terminated i-0598c7d356eba48d7',
    });
    expect(one(notify(fixture('autoscaling-terminate-error.json')))).toMatchObject({
      kind: 'problem',
      severity: 'warning',
      value: 'termination failed: i-0598c7d356eba48d7',
    });
  });

  // Derived: autoscaling:TEST_NOTIFICATION, sent when a notification configuration is created
  // (https://docs.aws.amazon.com/autoscaling/ec2/userguide/ec2-auto-scaling-sns-notifications.html).
  it('gives no signal for a test notification', () => {
    expect(notify(fixture('autoscaling-test-notification.json'))).toEqual({ ok: true, signals: [] });
  });

  // Variation of the launch example with a lifecycle-hook transition name as its Event.
  it('shows an Auto Scaling event it does not know as info', () => {
    const s = one(
      notify({ ...fixture('autoscaling-launch.json'), Event: 'autoscaling:EC2_INSTANCE_LAUNCHING' }),
    );
    expect(s).toMatchObject({ kind: 'info', value: 'autoscaling:EC2_INSTANCE_LAUNCHING' });
  });
});

describe('Auto Scaling events (EventBridge via SNS)', () => {
  // https://docs.aws.amazon.com/autoscaling/ec2/userguide/ec2-auto-scaling-event-reference.html
  // (the four examples; their yyyy-mm-ddThh:mm:ssZ placeholders filled in)
  it.each([
    [
      'eventbridge-autoscaling-launch-unsuccessful.json',
      'problem',
      'critical',
      'launch failed: i-1234567890abcdef0',
    ],
    [
      'eventbridge-autoscaling-terminate-unsuccessful.json',
      'problem',
      'warning',
      'termination failed: i-1234567890abcdef0',
    ],
    ['eventbridge-autoscaling-launch-successful.json', 'status', 'warning', 'launched i-1234567890abcdef0'],
    [
      'eventbridge-autoscaling-terminate-successful.json',
      'status',
      'warning',
      'terminated i-1234567890abcdef0',
    ],
  ])('%s → %s', (file, kind, severity, value) => {
    const s = one(notify(fixture(file)));
    expect(s).toMatchObject({
      source: 'autoscaling',
      via: 'eventbridge',
      key: { check: 'autoScaling', resource: 'asg:my-auto-scaling-group' },
      kind,
      severity,
      value,
      occurredAt: Date.parse('2026-11-22T10:15:29Z'),
      match: { autoScalingGroup: 'my-auto-scaling-group', region: 'us-west-2', account: '123456789012' },
    });
  });
});

// ── Other EventBridge events ──────────────────────────────────────────────────────────────────

describe('other EventBridge events', () => {
  // https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/monitoring-instance-state-changes.html
  it('shows any other event as info on event:<source>:<first resource>', () => {
    const s = one(notify(fixture('eventbridge-ec2-state-change.json')));
    expect(s).toMatchObject({
      source: 'eventbridge',
      via: 'eventbridge',
      key: {
        check: 'event',
        resource: 'event:aws.ec2:arn:aws:ec2:us-east-1:123456789012:instance/i-1234567890abcdef0',
      },
      kind: 'info',
      value: 'EC2 Instance State-change Notification',
      occurredAt: Date.parse('2021-11-11T21:29:54Z'),
      match: { region: 'us-east-1', account: '123456789012' },
    });
    expect(s.details).toContain('Detail: instance-id: i-1234567890abcdef0, state: pending');
  });

  // Variation of the same example shaped as an Auto Scaling instance refresh event
  // (https://docs.aws.amazon.com/autoscaling/ec2/userguide/ec2-auto-scaling-event-reference.html).
  it('keys an event without resources by its id, and lets routing match its Auto Scaling group', () => {
    const s = one(
      notify({
        ...fixture('eventbridge-ec2-state-change.json'),
        source: 'aws.autoscaling',
        'detail-type': 'EC2 Auto Scaling Instance Refresh Failed',
        resources: [],
        detail: { InstanceRefreshId: 'c613620e', AutoScalingGroupName: 'my-asg' },
      }),
    );
    expect(s.key).toEqual({
      check: 'event',
      resource: 'event:aws.autoscaling:7bf73129-1428-4cd3-a780-95db273d1602',
    });
    expect(s.match.autoScalingGroup).toBe('my-asg');
  });
});

// ── Bad input ─────────────────────────────────────────────────────────────────────────────────

describe('bad input', () => {
  const MARK = 'QQ-INPUT-MARKER-QQ';

  it('refuses text that is not JSON, or JSON that is not an object', () => {
    expect(refused(notify('This is a message to notify you that the subscription was created.'))).toContain(
      'not JSON',
    );
    expect(refused(notify(''))).toContain('empty');
    for (const json of ['[]', '42', '"text"', 'null', 'true']) {
      expect(refused(notify(json))).toContain('not an object');
    }
  });

  it('refuses JSON of none of the shapes', () => {
    expect(refused(notify({ hello: 'world' }))).toContain('no known shape');
    expect(refused(notify({ Event: 'ec2:SOMETHING', AutoScalingGroupName: 'x' }))).toContain(
      'no known shape',
    );
  });

  it('names the field that is missing or of the wrong type, never its value', () => {
    const alarm = fixture('cloudwatch-alarm-single-metric.json');
    const trigger = alarm.Trigger as Json;
    const cases: Array<[unknown, string]> = [
      [{ ...alarm, AlarmName: 42 }, 'AlarmName'],
      [{ ...alarm, NewStateValue: MARK }, 'NewStateValue'],
      [{ ...alarm, Trigger: { ...trigger, Threshold: MARK } }, 'Trigger.Threshold'],
      [{ ...alarm, Trigger: { ...trigger, Threshold: '1e999' } }, 'Trigger.Threshold'],
      [{ ...alarm, Trigger: { ...trigger, Dimensions: [{ name: MARK }] } }, 'Trigger.Dimensions.0.value'],
      [{ ...alarm, Trigger: MARK }, 'Trigger'],
      [{ ...fixture('rds-event-low-storage.json'), 'Event Source': 7 }, 'Event Source'],
      [{ ...fixture('autoscaling-launch.json'), AutoScalingGroupName: [MARK] }, 'AutoScalingGroupName'],
      [{ ...fixture('eventbridge-ec2-state-change.json'), id: { MARK } }, 'id'],
      [{ ...fixture('eventbridge-rds-stopped.json'), detail: { SourceType: `${MARK} x` } }, 'RDS'],
    ];
    for (const [message, field] of cases) {
      const reason = refused(notify(message));
      expect(reason).toContain(field);
      expect(reason).not.toContain(MARK);
    }
  });

  it('refuses identifiers with control characters or beyond AWS limits', () => {
    const alarm = fixture('cloudwatch-alarm-single-metric.json');
    expect(refused(notify({ ...alarm, AlarmName: 'cpu\u0000high' }))).toContain('control characters');
    expect(refused(notify({ ...alarm, AlarmName: 'x'.repeat(256) }))).toContain('longer than 255');
    expect(refused(notify({ ...alarm, AlarmName: '   ' }))).toContain('empty');
    const asg = fixture('autoscaling-launch-error.json');
    expect(refused(notify({ ...asg, AutoScalingGroupName: 'web\u202eevil' }))).toContain(
      'control characters',
    );
  });

  it('cleans and caps every string it shows', () => {
    const alarm = fixture('cloudwatch-alarm-single-metric.json');
    const s = one(
      notify({
        ...alarm,
        AlarmDescription: `line one\nline two\u0007\u202e${'d'.repeat(150_000)}`,
        NewStateReason: `${'r'.repeat(100_000)}\ud800`,
      }),
    );
    const description = s.details.find((d) => d.startsWith('Description: '));
    expect(description?.startsWith('Description: line one line two d')).toBe(true);
    expect(description?.length).toBe(SIGNAL_LIMITS.detailLine);
    expect(description?.endsWith('…')).toBe(true);
    const rds = one(
      notify({ ...fixture('rds-event-low-storage.json'), 'Event Message': `${'m'.repeat(10_000)}\t\r\n` }),
    );
    expect(rds.summary.length).toBe(SIGNAL_LIMITS.summary);
    expect(rds.summary.endsWith('…')).toBe(true);
  });

  it('caps the details at 20 lines', () => {
    const alarm = fixture('cloudwatch-alarm-metric-math.json');
    const trigger = alarm.Trigger as { Metrics: Json[] };
    const metrics = Array.from({ length: 20 }, (_, i) => ({
      Id: `m${i}`,
      MetricStat: {
        Metric: { MetricName: `M${i}`, Namespace: 'X', Dimensions: [] },
        Period: 60,
        Stat: 'Sum',
      },
    }));
    const expressions = Array.from({ length: 20 }, (_, i) => ({ Id: `e${i}`, Expression: `m${i}*2` }));
    const s = one(
      notify({
        ...alarm,
        Trigger: { ...trigger, Metrics: [...metrics.slice(0, 15), ...expressions.slice(0, 5)] },
      }),
    );
    expect(s.details.length).toBeLessThanOrEqual(20);
    const tooMany = notify({ ...alarm, Trigger: { ...trigger, Metrics: [...metrics, ...expressions] } });
    expect(refused(tooMany)).toContain('Trigger.Metrics');
  });

  it('treats __proto__ keys as plain names and pollutes nothing', () => {
    const alarm = JSON.stringify(fixture('cloudwatch-alarm-single-metric.json'));
    const polluted = `{"__proto__":{"polluted":"yes"},${alarm.slice(1)}`;
    expect(one(notify(polluted)).key.resource).toBe('alarm:EXAMPLE');
    const event = fixture('eventbridge-alarm-single-metric.json');
    const detail = event.detail as Json;
    const withProtoDimension = JSON.stringify({ ...event, detail }).replace(
      '"dimensions":{"InstanceId":"i-12345678901234567"}',
      '"dimensions":{"__proto__":{"polluted":"yes"},"constructor":"x","InstanceId":"i-12345678901234567"}',
    );
    expect(one(notify(withProtoDimension)).details).toContain(
      'Metric: AWS/EC2 CPUUtilization (Average, 5 min) constructor=x InstanceId=i-12345678901234567',
    );
    const asg = JSON.stringify(fixture('autoscaling-launch.json')).replace(
      '"Details":{',
      '"Details":{"__proto__":"x","toString":{"a":1},',
    );
    expect(one(notify(asg)).kind).toBe('status');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('polluted');
  });

  it('accepts a message of SNS’s 256 KB maximum, capped, and refuses a larger one', () => {
    const base = fixture('rds-event-low-storage.json');
    const size = JSON.stringify({ ...base, 'Event Message': '' }).length;
    const full = JSON.stringify({ ...base, 'Event Message': 'x'.repeat(SIGNAL_LIMITS.message - size) });
    expect(full.length).toBe(SIGNAL_LIMITS.message);
    const s = one(notify(full));
    expect(s.summary.length).toBe(SIGNAL_LIMITS.summary);
    expect(refused(notify(`${full} `))).toContain('256 KB');
  });

  it('survives deep nesting', () => {
    const deep = `${'['.repeat(200_000)}${']'.repeat(200_000)}`.slice(0, SIGNAL_LIMITS.message);
    expect(notify(deep).ok).toBe(false);
    const nested = `${'{"a":'.repeat(5_000)}"bottom"${'}'.repeat(5_000)}`;
    const event = JSON.stringify(fixture('eventbridge-ec2-state-change.json'));
    const s = one(notify(event.replace(/"detail":\{[^}]*\}/, `"detail":${nested}`)));
    expect(s.kind).toBe('info');
  });

  it('refuses a payload it cannot date', () => {
    const { StateChangeTime: _t, ...untimed } = fixture('cloudwatch-alarm-single-metric.json');
    expect(refused(notify(untimed, { timestamp: 'yesterday' }))).toContain('StateChangeTime');
    expect(one(notify({ ...untimed, StateChangeTime: '2015-02-30T10:00:00Z' })).occurredAt).toBe(
      Date.parse(PUBLISHED),
    );
  });

  it('never throws, even when called with the wrong types', () => {
    const call = (input: unknown) =>
      signalsFromNotification(input as Parameters<typeof signalsFromNotification>[0]);
    for (const input of [undefined, null, 42, 'text', {}, { message: 42 }, { message: null, topicArn: 7 }]) {
      expect(() => call(input)).not.toThrow();
      expect(call(input).ok).toBe(false);
    }
    expect(one(call({ message: JSON.stringify(fixture('autoscaling-launch.json')) })).match.region).toBe(
      'us-east-1',
    );
  });
});

// ── Property: garbled messages ────────────────────────────────────────────────────────────────

describe('2 000 random and garbled messages', () => {
  const fixtures = readdirSync(FIXTURES)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => fixture(f));

  it('never throw; each is refused with a reason that quotes nothing, or gives well-formed, capped signals', () => {
    const random = prng(21);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
    const MARK = 'ZQZQ';
    const nasty = [
      '',
      ' ',
      '\u0000',
      '\u202e',
      '\ud800',
      '`',
      '<!channel>',
      '__proto__',
      'constructor',
      'RDS-EVENT-0089',
      'ALARM',
      'OK',
      'autoscaling:EC2_INSTANCE_LAUNCH_ERROR',
      '2026-11-22T12:00:00Z',
      'arn:aws:rds:us-east-1:123456789012:db:x',
      '-1e308',
      '1e999',
      'NaN',
    ];
    const randomText = (max: number) => {
      const length = Math.floor(random() * max);
      let out = '';
      for (let i = 0; i < length; i++) {
        const r = random();
        out +=
          r < 0.1
            ? String.fromCharCode(Math.floor(random() * 32))
            : r < 0.15
              ? String.fromCharCode(0xd800 + Math.floor(random() * 0x800))
              : String.fromCharCode(32 + Math.floor(random() * 0x2fff));
      }
      return `${MARK}${out}`;
    };
    const randomValue = (depth: number): unknown => {
      const r = random();
      if (depth > 3 || r < 0.25) return pick(nasty);
      if (r < 0.4) return randomText(r < 0.3 ? 40 : 3_000);
      if (r < 0.5) return pick([0, -1, 1.5, 1e21, Number.MAX_SAFE_INTEGER, 300]);
      if (r < 0.55) return pick([null, true, false]);
      if (r < 0.75) return Array.from({ length: Math.floor(random() * 4) }, () => randomValue(depth + 1));
      const o: Json = {};
      for (let i = Math.floor(random() * 4); i > 0; i--)
        o[pick(['__proto__', 'name', 'value', MARK, 'Metrics'])] = randomValue(depth + 1);
      return o;
    };
    const mutate = (value: unknown, depth: number): unknown => {
      if (Array.isArray(value)) {
        if (random() < 0.2) return randomValue(depth);
        return value.map((v) => (random() < 0.3 ? mutate(v, depth + 1) : v));
      }
      if (value !== null && typeof value === 'object') {
        const out: Json = {};
        for (const [k, v] of Object.entries(value)) {
          const r = random();
          if (r < 0.08) continue; // dropped
          out[k] = r < 0.3 ? mutate(v, depth + 1) : v;
        }
        if (random() < 0.1)
          out[pick(['__proto__', 'Trigger', 'detail', 'Event ID', MARK])] = randomValue(depth);
        return out;
      }
      return random() < 0.5 ? randomValue(depth) : value;
    };

    let accepted = 0;
    for (let i = 0; i < 2_000; i++) {
      const r = random();
      let message: string;
      if (r < 0.1) message = randomText(500);
      else if (r < 0.2) message = JSON.stringify(randomValue(0));
      else {
        const text = JSON.stringify(mutate(pick(fixtures), 0));
        // Sometimes cut the JSON short, or splice garbage into it.
        const cut = random();
        message =
          cut < 0.1
            ? text.slice(0, Math.floor(random() * text.length))
            : cut < 0.15
              ? `${text.slice(0, 20)}${randomText(50)}${text.slice(20)}`
              : text;
      }
      let result: SignalParse | undefined;
      expect(() => {
        result = signalsFromNotification({
          topicArn: pick([TOPIC, '', MARK]),
          message,
          timestamp: pick([PUBLISHED, '', MARK]),
        });
      }).not.toThrow();
      if (!result) throw new Error('no result');
      if (result.ok) {
        accepted++;
        for (const signal of result.signals) expectWellFormed(signal);
      } else {
        expect(result.reason.length).toBeLessThanOrEqual(200);
        expect(result.reason).not.toContain(MARK);
        // A refusal is a judgment on the input; the internal-error fallback would be a bug here.
        expect(result.reason).not.toContain('internal error');
        expect(CONTROL.test(result.reason)).toBe(false);
      }
    }
    // The mutations leave many messages readable: the property covers both outcomes.
    expect(accepted).toBeGreaterThan(200);
    expect(accepted).toBeLessThan(1_900);
  });
});
