/**
 * External alert signals (pure): what one SNS notification from AWS means for Capstan's alerts. The
 * sources are CloudWatch alarms, RDS event subscriptions and Auto Scaling notifications publishing
 * to SNS themselves, and EventBridge rules whose target is an SNS topic (the Message is then the
 * event). Each becomes zero or more {@link ExternalSignal}s keyed like the scheduled checks' alerts
 * (rules.ts), so the store and the state machine (state.ts) treat them alike; a BurstBalance alarm
 * on a DB instance is the same alert as Capstan's own BurstBalance check of it.
 *
 * Input is untrusted even after the endpoint checked SNS's signature (anyone who may publish to the
 * topic writes the Message), so everything here is validated, every string shown to people is
 * cleaned and capped ({@link SIGNAL_LIMITS}), and a message that is none of these shapes is refused
 * with a short reason that never repeats the input. Nothing here throws.
 *
 * Payload formats:
 * - CloudWatch alarm via SNS: https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Notify_Users_Alarm_Changes.html
 *   (AWS's own examples: https://github.com/aws/aws-lambda-go/tree/main/events/testdata, cloudwatch-alarm-sns-payload-*.json)
 * - CloudWatch alarm via EventBridge: https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch-and-eventbridge.html
 * - RDS event via SNS: https://docs.aws.amazon.com/lambda/latest/dg/services-rds.html
 * - RDS event via EventBridge: https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/rds-cloud-watch-events.html
 * - RDS event ids: https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_Events.Messages.html
 * - Auto Scaling via SNS: https://docs.aws.amazon.com/autoscaling/ec2/userguide/ec2-auto-scaling-sns-notifications.html
 * - Auto Scaling via EventBridge: https://docs.aws.amazon.com/autoscaling/ec2/userguide/ec2-auto-scaling-event-reference.html
 * - EventBridge envelope: https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-events-structure.html
 */
import { z } from 'zod';
import { type AlertSource, SIGNAL_CHECKS, type SignalCheckName } from '../../config.js';
import { formatDuration, resourceOf, type Severity } from './rules.js';

/** Where an external signal came from: the AWS service that produced it (whichever way it was delivered). */
export type SignalSource = Exclude<AlertSource, 'scheduled'>;

/**
 * Alert checks that external signals feed besides the scheduled ones (config.ts): a BurstBalance
 * alarm feeds 'burstBalance' (so it is the SAME alert as Capstan's scheduled BurstBalance check for
 * that DB: key { check: 'burstBalance', resource: 'db:<id>' }), a ReplicaLag alarm feeds
 * 'replicaLag'; anything else is one of these.
 */
export { SIGNAL_CHECKS };

/** A check only external signals feed. */
export type SignalCheck = SignalCheckName;

/**
 * The alert a signal is about. Resources read `db:<DBInstanceIdentifier>`, `alarm:<AlarmName>`,
 * `asg:<AutoScalingGroupName>`, `event:<source>:<first resource or event id>`, and for RDS events
 * whose source is not a DB instance `<RDS source type>:<source id>` (`db-cluster:orders`,
 * `db-snapshot:rds:orders-2026-11-22`).
 */
export interface SignalKey {
  check: 'burstBalance' | 'replicaLag' | SignalCheck;
  resource: string;
}

/** One thing an SNS notification says about an alert (or about an environment's status). */
export interface ExternalSignal {
  source: SignalSource;
  /** How it arrived: the SNS Message was the service's own JSON, or an EventBridge event. */
  via: 'sns' | 'eventbridge';
  key: SignalKey;
  /**
   * problem: opens the alert or updates it; clear: the problem is gone (the alert resolves after the
   * quiet period); info: shown on the alert (e.g. INSUFFICIENT_DATA) without opening or resolving it;
   * status: not an alert at all (a successful Auto Scaling launch/terminate: the environment's
   * status, not the channel).
   */
  kind: 'problem' | 'clear' | 'info' | 'status';
  severity: Severity;
  /** Short, for people: `BurstBalance 12.5 < 20 (3 datapoints)`, `RDS-EVENT-0089`. At most 300 characters. */
  value: string;
  /** One line: what is wrong. At most 300 characters; identifiers in code spans, as rules.ts writes them. */
  summary: string;
  /**
   * Extra lines: the alarm's condition (metric, comparison, threshold, periods), its reason and
   * description; the RDS event's id, meaning and message; the Auto Scaling activity's status, cause
   * and instance. Plain text, at most 20 lines of at most 2 000 characters.
   */
  details: string[];
  /** Console page: the alarm, the RDS resource, or the Auto Scaling group's activity history. */
  link?: { url: string; label: string };
  /**
   * RDS alarms (any alarm with a DBInstanceIdentifier dimension) and storage- or burst-related RDS
   * events of a DB instance: Investigate runs `/rds io-credits` on it.
   */
  investigate?: { dbInstance: string };
  /** Epoch ms from the payload (StateChangeTime, Event Time, EndTime, time); SNS's Timestamp only when the payload has none. */
  occurredAt: number;
  /** What routing can match: the DB instance, the Auto Scaling group (the job maps it to an environment), the alarm name. */
  match: {
    database?: string;
    autoScalingGroup?: string;
    alarmName?: string;
    region?: string;
    account?: string;
  };
  /**
   * RDS recovery events only (kind 'clear'): the event ids of the problems this one answers. Every
   * event of a DB instance shares the key `rdsEvent`/`db:<id>`, so a clear should resolve the alert
   * only when its current value (the problem's event id) is one of these: a completed failover does
   * not resolve a low-storage alert.
   */
  resolves?: string[];
}

/** The outcome for one SNS Notification's Message (a string: JSON for these sources) and Subject. */
export type SignalParse = { ok: true; signals: ExternalSignal[] } | { ok: false; reason: string };

/** The caps on what a signal shows, and on what is read at all. */
export const SIGNAL_LIMITS = {
  value: 300,
  summary: 300,
  detailLine: 2_000,
  detailLines: 20,
  linkLabel: 75,
  url: 2_000,
  /** The resource part of a key (Slack block ids and button values carry the alert id). */
  resource: 600,
  /** SNS's maximum message size, 256 KiB (https://docs.aws.amazon.com/general/latest/gr/sns.html). */
  message: 262_144,
} as const;

// ── Refusals ──────────────────────────────────────────────────────────────────────────────────

/** A message this module will not map; the text is the reason, and never contains the input. */
class SignalRefusal extends Error {}

function refuse(reason: string): never {
  throw new SignalRefusal(reason);
}

/** The first problem zod found, by path and kind only (zod's messages name types, never values). */
function refusal(what: string, error: z.ZodError): never {
  const issue = error.issues[0];
  const path = issue?.path.map(String).join('.') ?? '';
  const message = (issue?.message ?? 'is not valid').slice(0, 80);
  refuse(`${what}: ${path === '' ? 'the message' : path}: ${message}`.slice(0, 200));
}

function parseWith<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const result = schema.safeParse(value);
  if (!result.success) refusal(what, result.error);
  return result.data;
}

// ── Text ──────────────────────────────────────────────────────────────────────────────────────

// C0/C1 controls, line and paragraph separators, and the bidirectional overrides that can make a
// line read differently from what it says.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is this pattern's purpose
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is this pattern's purpose
const HAS_CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

function cap(text: string, max: number): string {
  if (text.length <= max) return text;
  let cut = text.slice(0, max - 1);
  if (/[\ud800-\udbff]$/.test(cut)) cut = cut.slice(0, -1);
  return `${cut}…`;
}

/** Text for people: control and direction characters become spaces, whitespace runs one space, capped. */
function plain(value: string, max: number): string {
  return cap(value.replace(LONE_SURROGATE, '\ufffd').replace(CONTROL, ' ').replace(/\s+/g, ' ').trim(), max);
}

/** A name in a code span, as rules.ts shows names; a backtick inside would end the span early. */
function code(name: string): string {
  return `\`${name.replace(/`/g, "'")}\``;
}

/** What is wrong with `raw` as an identifier (part of a key or a match), if anything. */
function identifierProblem(raw: string, max: number): string | undefined {
  if (raw.trim().length === 0) return 'is empty';
  if (raw.length > max) return `is longer than ${max} characters`;
  if (HAS_CONTROL.test(raw) || raw.replace(LONE_SURROGATE, '') !== raw) return 'contains control characters';
  return undefined;
}

/** An identifier the signal is keyed by: refused, not repaired, when it is odd. */
function identifier(raw: string, what: string, max: number): string {
  const problem = identifierProblem(raw, max);
  return problem === undefined ? raw : refuse(`${what} ${problem}`);
}

/** An identifier routing may match on, when it is a sound one (dropped, not refused, when it is not). */
function soundIdentifier(raw: unknown, max: number): string | undefined {
  return typeof raw === 'string' && identifierProblem(raw, max) === undefined ? raw : undefined;
}

// https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_CreateDBInstance.html (DBInstanceIdentifier)
const DB_INSTANCE = /^[A-Za-z][A-Za-z0-9-]{0,62}$/;

/** A DB instance identifier when `raw` is one (the io-credits command takes nothing else). */
function dbInstanceOf(raw: string | undefined): string | undefined {
  return raw !== undefined && DB_INSTANCE.test(raw) ? raw : undefined;
}

const NUMBER_TEXT = /^\s*-?\d+(\.\d+)?([eE][+-]?\d+)?\s*$/;

/** A JSON number, or a number written as a string; never NaN or ±Infinity. */
const numeric = z
  .union([z.number(), z.string().regex(NUMBER_TEXT, 'expected a number').transform(Number)])
  .pipe(z.number());

/** `20`, `12.5`, `0.06669`, `45628`. */
function formatNumber(n: number): string {
  if (Math.abs(n) >= 1000) return String(Math.round(n));
  return String(Number(n.toPrecision(4)));
}

// ── Time ──────────────────────────────────────────────────────────────────────────────────────

// ISO-8601 as AWS writes it: `2019-10-02T17:04:40Z`, `2015-06-03T17:43:27.123+0000`, and RDS's
// `2019-01-02 12:45:06.000` (no zone: RDS event times are UTC).
const TIME =
  /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?\s?(Z|[+-]\d{2}(?::?\d{2})?)?$/i;

/** Epoch ms, or undefined when `text` is not such a time. */
function parseTime(text: string | null | undefined): number | undefined {
  if (typeof text !== 'string' || text.length > 40) return undefined;
  const m = TIME.exec(text.trim());
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = [m[1], m[2], m[3], m[4], m[5], m[6] ?? '0'].map(
    Number,
  ) as [number, number, number, number, number, number];
  const ms = Number(`${m[7] ?? ''}000`.slice(0, 3));
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  let at = Date.UTC(year, month - 1, day, hour, minute, second, ms);
  const check = new Date(at);
  if (check.getUTCFullYear() !== year || check.getUTCMonth() !== month - 1 || check.getUTCDate() !== day) {
    return undefined;
  }
  const zone = m[8];
  if (zone && zone.toUpperCase() !== 'Z') {
    const digits = zone.slice(1).replace(':', '');
    const offset = Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2) || '0');
    at -= (zone.startsWith('-') ? -1 : 1) * offset * 60_000;
  }
  return Number.isFinite(at) ? at : undefined;
}

// ── ARNs, regions, console links ──────────────────────────────────────────────────────────────

interface Arn {
  partition: string;
  service: string;
  region?: string;
  account?: string;
  /** Everything after the account: `alarm:Name`, `db:orders-db`, `autoScalingGroup:uuid:autoScalingGroupName/web`. */
  resource: string;
}

const REGION = /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/;
const ACCOUNT = /^\d{12}$/;

function parseArn(text: string | null | undefined): Arn | undefined {
  if (typeof text !== 'string' || text.length > 2048 || HAS_CONTROL.test(text)) return undefined;
  const parts = text.split(':');
  if (parts.length < 6 || parts[0] !== 'arn' || !/^aws[a-z-]*$/.test(parts[1] ?? '')) return undefined;
  const [, partition = 'aws', service = '', region = '', account = ''] = parts;
  return {
    partition,
    service,
    ...(REGION.test(region) ? { region } : {}),
    ...(ACCOUNT.test(account) ? { account } : {}),
    resource: parts.slice(5).join(':'),
  };
}

/** Where a notification came from, as far as the envelope says: the topic's ARN and SNS's timestamp. */
interface Envelope {
  region?: string;
  account?: string;
  partition: string;
  /** SNS's Timestamp: used only when the payload carries no time of its own. */
  publishedAt?: number;
}

function regionOf(...candidates: Array<string | null | undefined>): string | undefined {
  return candidates.find((r): r is string => typeof r === 'string' && REGION.test(r));
}

function accountOf(...candidates: Array<string | null | undefined>): string | undefined {
  return candidates.find((a): a is string => typeof a === 'string' && ACCOUNT.test(a));
}

// The console's host per partition (https://docs.aws.amazon.com/whitepapers/latest/aws-fault-isolation-boundaries/partitions.html).
const CONSOLE_HOSTS: Readonly<Record<string, string>> = {
  aws: 'console.aws.amazon.com',
  'aws-cn': 'console.amazonaws.cn',
  'aws-us-gov': 'console.amazonaws-us-gov.com',
};

function consoleUrl(
  partition: string,
  service: string,
  region: string | undefined,
  fragment: string,
): string {
  const host = Object.hasOwn(CONSOLE_HOSTS, partition) ? CONSOLE_HOSTS[partition] : CONSOLE_HOSTS.aws;
  return `https://${host}/${service}/home${region ? `?region=${region}` : ''}#${fragment}`;
}

/** A console link taken from a payload, only when it is an https link to the AWS console itself. */
function trustedConsoleLink(raw: string | undefined): string | undefined {
  if (raw === undefined || raw.length > SIGNAL_LIMITS.url) return undefined;
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    return undefined;
  }
  const host = url.hostname.toLowerCase();
  const onConsole = Object.values(CONSOLE_HOSTS).some((h) => host === h || host.endsWith(`.${h}`));
  if (url.protocol !== 'https:' || !onConsole || url.username !== '' || url.password !== '') return undefined;
  return url.href.length <= SIGNAL_LIMITS.url ? url.href : undefined;
}

// ── Shapes shared by the sources ──────────────────────────────────────────────────────────────

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function has(record: Record<string, unknown>, key: string): boolean {
  return Object.hasOwn(record, key);
}

/**
 * A flat JSON object of names to scalar values (EventBridge alarm dimensions, Auto Scaling
 * `Details`), read as pairs: its keys are never used as property names, so `__proto__` is just a name.
 */
const scalarPairs = z.unknown().transform((value, ctx): Array<[string, string]> => {
  if (!isRecord(value)) {
    ctx.addIssue({ code: 'custom', message: 'expected an object' });
    return z.NEVER;
  }
  const pairs: Array<[string, string]> = [];
  for (const [name, v] of Object.entries(value)) {
    if (pairs.length >= 30) break;
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean')
      pairs.push([name, String(v)]);
  }
  return pairs;
});

const text = z.string();
const optionalText = z.string().nullish();

// ── CloudWatch alarms ─────────────────────────────────────────────────────────────────────────

type AlarmState = 'ALARM' | 'OK' | 'INSUFFICIENT_DATA';
const ALARM_STATES = ['ALARM', 'OK', 'INSUFFICIENT_DATA'] as const;

/** One metric an alarm watches. */
interface MetricFacts {
  id?: string;
  namespace?: string;
  name: string;
  dimensions: Array<[string, string]>;
  stat?: string;
  period?: number;
  unit?: string;
}

/** What either alarm format says, in one shape. */
interface AlarmFacts {
  via: ExternalSignal['via'];
  name: string;
  description?: string;
  state: AlarmState;
  previous?: string;
  reason?: string;
  reasonData?: string;
  at?: number;
  arn?: Arn;
  account?: string;
  metrics: MetricFacts[];
  expressions: Array<{ id: string; expression: string; label?: string; returnData?: boolean }>;
  comparison?: string;
  threshold?: number;
  thresholdMetricId?: string;
  evaluationPeriods?: number;
  datapointsToAlarm?: number;
  period?: number;
  treatMissingData?: string;
  /** Composite alarms. */
  rule?: string;
  children: Array<{ arn: string; state?: string }>;
}

// The SNS message of an alarm action (https://github.com/aws/aws-lambda-go/blob/main/events/testdata/cloudwatch-alarm-sns-payload-single-metric.json).
const snsDimensions = z.array(z.object({ name: text, value: text })).max(30);
const snsAlarmSchema = z.object({
  AlarmName: text,
  AlarmDescription: optionalText,
  AWSAccountId: optionalText,
  NewStateValue: z.enum(ALARM_STATES),
  NewStateReason: optionalText,
  StateChangeTime: optionalText,
  AlarmArn: optionalText,
  OldStateValue: optionalText,
  Trigger: z
    .object({
      MetricName: optionalText,
      Namespace: optionalText,
      Statistic: optionalText,
      ExtendedStatistic: optionalText,
      Unit: optionalText,
      Dimensions: snsDimensions.nullish(),
      Period: numeric.nullish(),
      EvaluationPeriods: numeric.nullish(),
      DatapointsToAlarm: numeric.nullish(),
      ComparisonOperator: optionalText,
      Threshold: numeric.nullish(),
      ThresholdMetricId: optionalText,
      TreatMissingData: optionalText,
      Metrics: z
        .array(
          z.object({
            Id: text,
            Expression: optionalText,
            Label: optionalText,
            ReturnData: z.boolean().nullish(),
            MetricStat: z
              .object({
                Metric: z.object({
                  MetricName: text,
                  Namespace: optionalText,
                  Dimensions: snsDimensions.nullish(),
                }),
                Period: numeric.nullish(),
                Stat: optionalText,
                Unit: optionalText,
              })
              .nullish(),
          }),
        )
        .max(20)
        .nullish(),
    })
    .nullish(),
  AlarmRule: optionalText,
  TriggeringChildren: z
    .array(z.object({ Arn: text, State: z.object({ Value: optionalText }).nullish() }))
    .max(50)
    .nullish(),
});

function alarmFromSns(message: Record<string, unknown>, envelope: Envelope): ExternalSignal {
  const m = parseWith(snsAlarmSchema, message, 'CloudWatch alarm notification');
  const trigger = m.Trigger ?? undefined;
  const metrics: MetricFacts[] = [];
  const expressions: AlarmFacts['expressions'] = [];
  if (trigger?.MetricName) {
    metrics.push({
      name: trigger.MetricName,
      ...(trigger.Namespace ? { namespace: trigger.Namespace } : {}),
      dimensions: (trigger.Dimensions ?? []).map((d): [string, string] => [d.name, d.value]),
      ...optional('stat', trigger.Statistic || trigger.ExtendedStatistic || undefined),
      ...(trigger.Unit ? { unit: trigger.Unit } : {}),
    });
  }
  for (const metric of trigger?.Metrics ?? []) {
    if (metric.MetricStat) {
      const stat = metric.MetricStat;
      metrics.push({
        id: metric.Id,
        name: stat.Metric.MetricName,
        ...(stat.Metric.Namespace ? { namespace: stat.Metric.Namespace } : {}),
        dimensions: (stat.Metric.Dimensions ?? []).map((d): [string, string] => [d.name, d.value]),
        ...(stat.Stat ? { stat: stat.Stat } : {}),
        ...(stat.Period != null ? { period: stat.Period } : {}),
        ...(stat.Unit ? { unit: stat.Unit } : {}),
      });
    } else if (metric.Expression) {
      expressions.push({
        id: metric.Id,
        expression: metric.Expression,
        ...(metric.Label ? { label: metric.Label } : {}),
        ...(metric.ReturnData != null ? { returnData: metric.ReturnData } : {}),
      });
    }
  }
  const arn = parseArn(m.AlarmArn);
  return alarmSignal(
    {
      via: 'sns',
      name: m.AlarmName,
      ...(m.AlarmDescription ? { description: m.AlarmDescription } : {}),
      state: m.NewStateValue,
      ...(m.OldStateValue ? { previous: m.OldStateValue } : {}),
      ...(m.NewStateReason ? { reason: m.NewStateReason } : {}),
      ...optionalAt(parseTime(m.StateChangeTime)),
      ...(arn ? { arn } : {}),
      ...optional('account', accountOf(m.AWSAccountId, arn?.account)),
      metrics,
      expressions,
      ...(trigger?.ComparisonOperator ? { comparison: trigger.ComparisonOperator } : {}),
      ...(trigger?.Threshold != null ? { threshold: trigger.Threshold } : {}),
      ...(trigger?.ThresholdMetricId ? { thresholdMetricId: trigger.ThresholdMetricId } : {}),
      ...(trigger?.EvaluationPeriods != null ? { evaluationPeriods: trigger.EvaluationPeriods } : {}),
      ...(trigger?.DatapointsToAlarm != null ? { datapointsToAlarm: trigger.DatapointsToAlarm } : {}),
      ...(trigger?.Period != null ? { period: trigger.Period } : {}),
      ...(trigger?.TreatMissingData ? { treatMissingData: trigger.TreatMissingData } : {}),
      ...(m.AlarmRule ? { rule: m.AlarmRule } : {}),
      children: (m.TriggeringChildren ?? []).map((c) => ({
        arn: c.Arn,
        ...(c.State?.Value ? { state: c.State.Value } : {}),
      })),
    },
    envelope,
  );
}

// The EventBridge event (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch-and-eventbridge.html).
const eventAlarmState = z.object({
  value: text,
  reason: optionalText,
  reasonData: optionalText,
  timestamp: optionalText,
});
const eventAlarmDetailSchema = z.object({
  alarmName: text,
  state: eventAlarmState,
  previousState: eventAlarmState.partial().nullish(),
  configuration: z
    .object({
      description: optionalText,
      alarmRule: optionalText,
      metrics: z
        .array(
          z.object({
            id: text,
            expression: optionalText,
            label: optionalText,
            returnData: z.boolean().nullish(),
            metricStat: z
              .object({
                metric: z.object({ name: text, namespace: optionalText, dimensions: scalarPairs.nullish() }),
                period: numeric.nullish(),
                stat: optionalText,
                unit: optionalText,
              })
              .nullish(),
          }),
        )
        .max(20)
        .nullish(),
    })
    .nullish(),
});

function alarmFromEvent(event: EventEnvelope, envelope: Envelope): ExternalSignal {
  const d = parseWith(eventAlarmDetailSchema, event.detail, 'CloudWatch alarm event');
  const state = d.state.value;
  if (!(ALARM_STATES as readonly string[]).includes(state)) {
    refuse('CloudWatch alarm event: detail.state.value is not ALARM, OK or INSUFFICIENT_DATA');
  }
  const metrics: MetricFacts[] = [];
  const expressions: AlarmFacts['expressions'] = [];
  for (const metric of d.configuration?.metrics ?? []) {
    if (metric.metricStat) {
      const stat = metric.metricStat;
      metrics.push({
        id: metric.id,
        name: stat.metric.name,
        ...(stat.metric.namespace ? { namespace: stat.metric.namespace } : {}),
        dimensions: stat.metric.dimensions ?? [],
        ...(stat.stat ? { stat: stat.stat } : {}),
        ...(stat.period != null ? { period: stat.period } : {}),
        ...(stat.unit ? { unit: stat.unit } : {}),
      });
    } else if (metric.expression) {
      expressions.push({
        id: metric.id,
        expression: metric.expression,
        ...(metric.label ? { label: metric.label } : {}),
        ...(metric.returnData != null ? { returnData: metric.returnData } : {}),
      });
    }
  }
  const arn = parseArn(event.resources?.[0]);
  return alarmSignal(
    {
      via: 'eventbridge',
      name: d.alarmName,
      ...(d.configuration?.description ? { description: d.configuration.description } : {}),
      state: state as AlarmState,
      ...(d.previousState?.value ? { previous: d.previousState.value } : {}),
      ...(d.state.reason ? { reason: d.state.reason } : {}),
      ...(d.state.reasonData ? { reasonData: d.state.reasonData } : {}),
      ...optionalAt(parseTime(d.state.timestamp) ?? parseTime(event.time)),
      ...(arn ? { arn } : {}),
      ...optional('account', accountOf(event.account, arn?.account)),
      metrics,
      expressions,
      ...(d.configuration?.alarmRule ? { rule: d.configuration.alarmRule } : {}),
      children: [],
    },
    { ...envelope, ...optional('region', regionOf(event.region, envelope.region)) },
  );
}

/** CloudWatch's comparison operators (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html). */
const COMPARISONS: ReadonlyMap<string, { symbol: string; band?: true }> = new Map([
  ['GreaterThanOrEqualToThreshold', { symbol: '≥' }],
  ['GreaterThanThreshold', { symbol: '>' }],
  ['LessThanThreshold', { symbol: '<' }],
  ['LessThanOrEqualToThreshold', { symbol: '≤' }],
  ['LessThanLowerOrGreaterThanUpperThreshold', { symbol: 'outside the band', band: true }],
  ['LessThanLowerThreshold', { symbol: 'below the band', band: true }],
  ['GreaterThanUpperThreshold', { symbol: 'above the band', band: true }],
]);

/** What the state reason says: `Threshold Crossed: 3 out of the last 3 datapoints [12.5 (…), …] was less than the threshold (20.0)`. */
interface ReasonFacts {
  /** Newest first, as the reason lists them. */
  datapoints: number[];
  breaching?: number;
  of?: number;
  comparison?: string;
  threshold?: number;
}

const REASON_WORDS: ReadonlyArray<[RegExp, string]> = [
  [
    /lower thresholds?.* or (?:not )?greater than the upper thresholds?/,
    'LessThanLowerOrGreaterThanUpperThreshold',
  ],
  [/less than the lower thresholds?/, 'LessThanLowerThreshold'],
  [/greater than the upper thresholds?/, 'GreaterThanUpperThreshold'],
  [/greater than or equal to the threshold/, 'GreaterThanOrEqualToThreshold'],
  [/less than or equal to the threshold/, 'LessThanOrEqualToThreshold'],
  [/greater than the threshold/, 'GreaterThanThreshold'],
  [/less than the threshold/, 'LessThanThreshold'],
];

function reasonFacts(reason: string | undefined, reasonData: string | undefined): ReasonFacts {
  const facts: ReasonFacts = { datapoints: [] };
  if (reason) {
    const r = reason.slice(0, SIGNAL_LIMITS.detailLine);
    const counts = /(\d{1,4}) out of the last (\d{1,4}) datapoints?/.exec(r);
    if (counts) {
      facts.breaching = Number(counts[1]);
      facts.of = Number(counts[2]);
    }
    const list = /datapoints? \[([^\]]{0,1500})\]/.exec(r) ?? /datapoint \((-?[\d.Ee+-]{1,30})\)/.exec(r);
    if (list?.[1]) {
      for (const match of list[1].matchAll(/(-?\d+(?:\.\d+)?(?:[Ee][+-]?\d+)?)(?: \(|$)/g)) {
        const n = Number(match[1]);
        if (Number.isFinite(n)) facts.datapoints.push(n);
      }
      if (facts.breaching === undefined && facts.datapoints.length > 0)
        facts.breaching = facts.datapoints.length;
    }
    facts.comparison = REASON_WORDS.find(([pattern]) => pattern.test(r))?.[1];
    const threshold = /the threshold \((-?\d+(?:\.\d+)?(?:[Ee][+-]?\d+)?)\)/.exec(r);
    if (threshold) facts.threshold = Number(threshold[1]);
  }
  if (facts.threshold === undefined && reasonData && reasonData.length <= 20_000) {
    try {
      const data: unknown = JSON.parse(reasonData);
      const parsed = z.object({ threshold: numeric }).safeParse(data);
      if (parsed.success) facts.threshold = parsed.data.threshold;
    } catch {
      // reasonData is informational; a malformed one changes nothing.
    }
  }
  return facts;
}

const STATISTICS: ReadonlyMap<string, string> = new Map([
  ['AVERAGE', 'Average'],
  ['SUM', 'Sum'],
  ['MINIMUM', 'Minimum'],
  ['MAXIMUM', 'Maximum'],
  ['SAMPLE_COUNT', 'SampleCount'],
]);

// Severity: CloudWatch alarms carry none, so an alarm someone wired to Capstan's topic is taken as
// critical (it pages the on-call group) unless its name or description says warning: "warn",
// "warning" or "warnings" as a word (`orders-db-cpu-warning`, `[WARN] replica lag`,
// `Warning: CPU above 70%`), in any case. A missed page costs more than an extra one.
const WARNING_WORD = /(?:^|[^a-z])warn(?:ings?)?(?:[^a-z]|$)/i;

function alarmSeverity(name: string, description: string | undefined): Severity {
  return WARNING_WORD.test(name) || (description !== undefined && WARNING_WORD.test(description))
    ? 'warning'
    : 'critical';
}

function dimension(metric: MetricFacts | undefined, name: string): string | undefined {
  return metric?.dimensions.find(([n]) => n === name)?.[1];
}

function alarmSignal(f: AlarmFacts, envelope: Envelope): ExternalSignal {
  const name = identifier(f.name, 'AlarmName', 255);
  const reason = reasonFacts(f.reason, f.reasonData);
  const comparison = f.comparison ?? reason.comparison;
  const threshold = f.threshold ?? reason.threshold;
  const operator = comparison ? COMPARISONS.get(comparison) : undefined;
  // An anomaly detection alarm compares its metric with a band expression (its ThresholdMetricId).
  const bands = f.expressions.filter(
    (e) => e.id === f.thresholdMetricId || /^\s*ANOMALY_DETECTION_BAND\s*\(/i.test(e.expression),
  );
  const expressions = f.expressions.filter((e) => !bands.includes(e));
  const band = f.thresholdMetricId ?? bands[0]?.id;
  const only = f.metrics.length === 1 && expressions.length === 0 ? f.metrics[0] : undefined;
  const returned = expressions.find((e) => e.returnData !== false);
  const subject = only?.name ?? (returned ? (returned.label ?? returned.id) : f.metrics[0]?.name);
  const period = f.period ?? only?.period ?? f.metrics[0]?.period;
  const evaluations = f.evaluationPeriods ?? reason.of;
  const toAlarm = f.datapointsToAlarm ?? (f.evaluationPeriods === undefined ? reason.breaching : undefined);

  let condition: string | undefined;
  if (subject !== undefined) {
    condition = subject;
    if (operator?.band) condition += ` ${operator.symbol}${band ? ` ${band}` : ''}`;
    else if (operator && threshold !== undefined)
      condition += ` ${operator.symbol} ${formatNumber(threshold)}`;
    else if (comparison)
      condition += ` ${plain(comparison, 60)}${threshold !== undefined ? ` ${formatNumber(threshold)}` : ''}`;
    if (period !== undefined && period > 0) {
      const times =
        evaluations !== undefined && evaluations > 1
          ? `${toAlarm !== undefined && toAlarm !== evaluations ? `${toAlarm} of ` : ''}${evaluations} × `
          : '';
      condition += ` for ${times}${formatDuration(period * 1000)}`;
    }
  }

  // The DB instance: the metric's dimension (RDS metrics name it DBInstanceIdentifier).
  const dbMetric = f.metrics.find((m) => dbInstanceOf(dimension(m, 'DBInstanceIdentifier')) !== undefined);
  const database = dbInstanceOf(dimension(dbMetric, 'DBInstanceIdentifier'));
  const group = soundIdentifier(
    f.metrics.map((m) => dimension(m, 'AutoScalingGroupName')).find((g) => g !== undefined),
    255,
  );

  // Same alert as the scheduled check when the alarm watches exactly that metric of one instance.
  let key: SignalKey = { check: 'alarm', resource: `alarm:${name}` };
  const onlyDb = dbInstanceOf(dimension(only, 'DBInstanceIdentifier'));
  if (only?.namespace === 'AWS/RDS' && onlyDb !== undefined) {
    if (only.name === 'BurstBalance') key = { check: 'burstBalance', resource: resourceOf.database(onlyDb) };
    else if (only.name === 'ReplicaLag') key = { check: 'replicaLag', resource: resourceOf.database(onlyDb) };
  }

  const latest = reason.datapoints[0];
  const label = subject ?? 'alarm';
  const against =
    operator?.band === true
      ? ` ${operator.symbol}`
      : operator && threshold !== undefined
        ? ` ${operator.symbol} ${formatNumber(threshold)}`
        : '';
  let value: string;
  if (f.state === 'ALARM') {
    value =
      latest !== undefined
        ? `${label} ${formatNumber(latest)}${against}${
            reason.breaching !== undefined
              ? ` (${reason.breaching} datapoint${reason.breaching === 1 ? '' : 's'})`
              : ''
          }`
        : (condition ?? 'ALARM');
  } else if (f.state === 'OK') {
    value =
      latest !== undefined
        ? `${label} ${formatNumber(latest)}${against ? ` (alarm:${against})` : ''}`
        : `OK${condition ? ` (alarm: ${condition})` : ''}`;
  } else {
    value = `insufficient data${condition ? ` (alarm: ${condition})` : ''}`;
  }

  const what =
    condition ?? (f.description ? plain(f.description, 200) : f.rule ? `rule ${f.rule}` : undefined);
  const on = database !== undefined ? ` on ${code(database)}` : '';
  const alarm = `CloudWatch alarm ${code(name)}`;
  const summary =
    f.state === 'ALARM'
      ? `${alarm} is in ALARM${what ? `: ${what}` : ''}${on}`
      : f.state === 'OK'
        ? `${alarm} is OK again${on}${what ? `: ${what} no longer holds` : ''}`
        : `${alarm} has insufficient data${on}${what ? ` (${what})` : ''}`;

  const details: string[] = [];
  if (condition) details.push(`Condition: ${condition}`);
  for (const metric of f.metrics.slice(0, 5)) {
    const stat = metric.stat ? (STATISTICS.get(metric.stat) ?? metric.stat) : undefined;
    const how = [stat, metric.period ? formatDuration(metric.period * 1000) : undefined, metric.unit]
      .filter((x) => x !== undefined && x !== '')
      .join(', ');
    const dims = metric.dimensions.map(([n, v]) => `${n}=${v}`).join(' ');
    // Metric ids matter only to the expressions that name them.
    const id = metric.id && f.expressions.length > 0 ? ` ${metric.id}` : '';
    details.push(
      `Metric${id}: ${metric.namespace ? `${metric.namespace} ` : ''}${metric.name}${
        how ? ` (${how})` : ''
      }${dims ? ` ${dims}` : ''}`,
    );
  }
  for (const e of f.expressions.slice(0, 3)) {
    details.push(`Expression ${e.id}${e.label ? ` (${e.label})` : ''}: ${e.expression}`);
  }
  if (f.rule) details.push(`Rule: ${f.rule}`);
  if (f.children.length > 0) {
    details.push(
      `Triggered by: ${f.children
        .slice(0, 5)
        .map(
          (c) =>
            `${parseArn(c.arn)?.resource.replace(/^alarm:/, '') ?? c.arn}${c.state ? ` (${c.state})` : ''}`,
        )
        .join(', ')}`,
    );
  }
  if (f.reason) details.push(`Reason: ${f.reason}`);
  if (f.description) details.push(`Description: ${f.description}`);
  if (f.treatMissingData) {
    const treat = f.treatMissingData.replace(/^-?\s*TreatMissingData:\s*/i, '');
    if (treat) details.push(`Missing data: treated as ${treat}`);
  }
  const at = f.at ?? envelope.publishedAt;
  details.push(
    `State: ${f.previous ? `${f.previous} → ` : ''}${f.state}${at !== undefined ? ` at ${new Date(at).toISOString()}` : ''}`,
  );
  const region = regionOf(f.arn?.region, envelope.region);
  const account = f.account ?? envelope.account;
  if (account || region) details.push(`Account ${account ?? 'unknown'}, region ${region ?? 'unknown'}`);

  return finish({
    source: 'cloudwatch-alarm',
    via: f.via,
    key,
    kind: f.state === 'ALARM' ? 'problem' : f.state === 'OK' ? 'clear' : 'info',
    severity: alarmSeverity(name, f.description),
    value,
    summary,
    details,
    link: {
      url: consoleUrl(
        f.arn?.partition ?? envelope.partition,
        'cloudwatch',
        region,
        `alarmsV2:alarm/${encodeURIComponent(name)}`,
      ),
      label: 'Open the alarm in CloudWatch',
    },
    ...(database !== undefined ? { investigate: { dbInstance: database } } : {}),
    occurredAt: requireTime(at, 'CloudWatch alarm notification', 'StateChangeTime'),
    match: {
      alarmName: name,
      ...(database !== undefined ? { database } : {}),
      ...(group !== undefined ? { autoScalingGroup: group } : {}),
      ...(region ? { region } : {}),
      ...(account ? { account } : {}),
    },
  });
}

// ── RDS events ────────────────────────────────────────────────────────────────────────────────

/** How Capstan treats one RDS event id. */
export interface RdsEventRule {
  kind: 'problem' | 'clear' | 'info';
  severity: Severity;
  /** The event's category and meaning, in the words of AWS's list. */
  category: string;
  what: string;
  /** Storage or burst related: Investigate runs `/rds io-credits` on the instance. */
  storage?: true;
  /** Clears: the problem events this one answers. */
  resolves?: string[];
}

const problem = (severity: Severity, category: string, what: string, storage?: true): RdsEventRule => ({
  kind: 'problem',
  severity,
  category,
  what,
  ...(storage ? { storage } : {}),
});
const clear = (category: string, what: string, resolves: string[], storage?: true): RdsEventRule => ({
  kind: 'clear',
  severity: 'warning',
  category,
  what,
  resolves: resolves.map((n) => `RDS-EVENT-${n}`),
  ...(storage ? { storage } : {}),
});
const info = (category: string, what: string, storage?: true): RdsEventRule => ({
  kind: 'info',
  severity: 'warning',
  category,
  what,
  ...(storage ? { storage } : {}),
});

/**
 * The RDS event ids Capstan maps, from AWS's list
 * (https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_Events.Messages.html). Any other id
 * is shown as info. Problems that need a person now (storage exhausted, the instance failed or
 * cannot restart, a failover that failed) are critical; degraded or in-progress states are
 * warnings; their documented recoveries clear them.
 */
export const RDS_EVENT_RULES: ReadonlyMap<string, RdsEventRule> = new Map(
  (
    [
      // availability
      ['0004', problem('warning', 'availability', 'DB instance shutdown')],
      ['0006', clear('availability', 'The DB instance restarted', ['0004', '0022'])],
      ['0022', problem('critical', 'availability', 'An error has occurred while restarting MySQL')],
      ['0221', problem('critical', 'availability', 'Storage full: the database has been shut down', true)],
      [
        '0222',
        problem(
          'warning',
          'availability',
          'Free storage capacity is low; the database will be shut down if it runs out',
          true,
        ),
      ],
      // low storage, storage autoscaling, burst credits
      ['0007', problem('critical', 'low storage', 'The allocated storage has been consumed', true)],
      ['0089', problem('warning', 'low storage', 'More than 90% of the allocated storage is used', true)],
      [
        '0227',
        problem('warning', 'low storage', 'The Aurora storage subsystem is running low on space', true),
      ],
      ['0189', problem('warning', 'notification', 'The gp2 burst balance credits are low', true)],
      ['0223', problem('warning', 'failure', 'Storage autoscaling is unable to scale the storage', true)],
      [
        '0224',
        problem('warning', 'failure', 'Storage autoscaling would reach the maximum storage threshold', true),
      ],
      [
        '0225',
        problem('warning', 'notification', 'Storage is approaching the maximum storage threshold', true),
      ],
      [
        '0254',
        problem(
          'warning',
          'failure',
          'The account storage quota is exceeded: storage autoscaling cannot proceed',
          true,
        ),
      ],
      [
        '0017',
        clear(
          'configuration change',
          'The storage settings have changed',
          ['0007', '0089', '0189', '0221', '0222'],
          true,
        ),
      ],
      [
        '0218',
        clear(
          'configuration change',
          'Storage autoscaling finished adding storage',
          ['0007', '0089', '0222'],
          true,
        ),
      ],
      ['0018', info('configuration change', 'The storage settings are being changed', true)],
      ['0217', info('configuration change', 'Storage autoscaling is adding storage', true)],
      ['0219', info('failure', 'Storage autoscaling will retry: the instance is in an invalid state', true)],
      ['0220', info('failure', 'Storage autoscaling will retry after the cooling-off period', true)],
      [
        '0231',
        info('notification', 'A storage modification hit an internal error and will be retried', true),
      ],
      [
        '0237',
        info('failure', 'Storage autoscaling will retry: the storage type is unavailable in the AZ', true),
      ],
      // failover
      ['0013', problem('warning', 'failover', 'A Multi-AZ failover has started')],
      ['0015', clear('failover', 'The Multi-AZ failover is complete', ['0013'])],
      ['0049', clear('failover', 'A Multi-AZ failover has completed', ['0013'])],
      ['0050', problem('warning', 'failover', 'A Multi-AZ activation has started after instance recovery')],
      ['0051', clear('failover', 'The Multi-AZ activation is complete', ['0050', '0013'])],
      ['0065', clear('failover', 'The instance has recovered from a partial failover', ['0013'])],
      ['0034', info('failover', 'A requested failover was not attempted: one occurred recently')],
      ['0069', problem('critical', 'failover', 'A failover for the DB cluster has failed')],
      ['0071', clear('failover', 'The DB cluster failover has finished', ['0069', '0072', '0073'])],
      ['0072', problem('warning', 'failover', 'A DB cluster failover has begun (same Availability Zone)')],
      ['0073', problem('warning', 'failover', 'A DB cluster failover has begun (across Availability Zones)')],
      ['0187', problem('critical', 'global failover', 'The global failover to the DB cluster failed')],
      // failure
      [
        '0031',
        problem(
          'critical',
          'failure',
          'The DB instance has failed (incompatible configuration or storage issue)',
        ),
      ],
      ['0035', problem('critical', 'failure', 'The DB instance has invalid parameters and could not start')],
      ['0036', problem('critical', 'failure', 'The DB instance is in an incompatible network')],
      ['0079', problem('warning', 'failure', 'Enhanced Monitoring cannot be enabled without its IAM role')],
      ['0080', problem('warning', 'failure', 'Enhanced Monitoring was disabled by a configuration error')],
      ['0086', problem('warning', 'backup', 'The option group could not be associated with the instance')],
      ['0188', problem('warning', 'failure', 'The MySQL 5.7 to 8.0 upgrade failed and was rolled back')],
      ['0195', problem('warning', 'maintenance, failure', 'The time zone file upgrade failed')],
      // recovery and maintenance
      ['0020', problem('warning', 'recovery', 'Recovery of the DB instance has started')],
      ['0021', clear('recovery', 'Recovery of the DB instance is complete', ['0020'])],
      ['0052', problem('warning', 'recovery', 'Recovery of the Multi-AZ instance has started')],
      ['0053', clear('recovery', 'Recovery of the Multi-AZ instance is complete', ['0052'])],
      ['0026', problem('warning', 'maintenance', 'Offline maintenance: the DB instance is unavailable')],
      [
        '0027',
        clear('maintenance', 'Offline maintenance is complete: the DB instance is available', ['0026']),
      ],
      // stopped and started
      ['0087', problem('warning', 'notification', 'The DB instance has been stopped')],
      ['0088', clear('notification', 'The DB instance has been started', ['0087', '0004'])],
      ['0154', info('notification', 'The DB instance is being started: it was stopped longer than allowed')],
      // read replicas
      ['0045', problem('warning', 'read replica', 'An error has occurred in the read replication process')],
      ['0046', clear('read replica', 'The read replica has resumed replication', ['0045', '0057'])],
      ['0057', problem('warning', 'read replica', 'Replication on the read replica was terminated')],
      ['0062', info('read replica', 'Replication on the read replica was manually stopped')],
      ['0202', problem('warning', 'read replica', 'Read replica creation failed')],
      // proxies and blue/green deployments
      [
        '0243',
        problem('warning', 'failure', 'RDS Proxy could not provision capacity: too few free IP addresses'),
      ],
      ['0245', problem('warning', 'failure', 'Creation of the blue/green deployment failed')],
    ] as const
  ).map(([n, rule]): [string, RdsEventRule] => [`RDS-EVENT-${n}`, rule]),
);

/** What either RDS format says, in one shape. */
interface RdsFacts {
  via: ExternalSignal['via'];
  /** As SNS names it: `db-instance`, `db-cluster`, `db-snapshot` … */
  sourceType: string;
  sourceId: string;
  arn?: Arn;
  /** The ARN as the payload wrote it. */
  sourceArn?: string;
  eventId?: string;
  message?: string;
  at?: number;
  link?: string;
  categories: string[];
  account?: string;
  region?: string;
}

// EventBridge's SourceType values, as SNS's "Event Source" names them.
const EVENT_SOURCE_TYPES: ReadonlyMap<string, string> = new Map([
  ['DB_INSTANCE', 'db-instance'],
  ['CLUSTER', 'db-cluster'],
  ['DB_CLUSTER', 'db-cluster'],
  ['DB_PARAM', 'db-parameter-group'],
  ['SECURITY_GROUP', 'db-security-group'],
  ['SNAPSHOT', 'db-snapshot'],
  ['CLUSTER_SNAPSHOT', 'db-cluster-snapshot'],
  ['DB_CLUSTER_SNAPSHOT', 'db-cluster-snapshot'],
]);

/** The source types RDS names (https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_Event.html), as people call them. */
const SOURCE_TYPE_NAMES: ReadonlyMap<string, string> = new Map([
  ['db-instance', 'DB instance'],
  ['db-cluster', 'DB cluster'],
  ['db-snapshot', 'DB snapshot'],
  ['db-cluster-snapshot', 'DB cluster snapshot'],
  ['db-parameter-group', 'DB parameter group'],
  ['db-security-group', 'DB security group'],
  ['db-proxy', 'RDS Proxy'],
  ['blue-green-deployment', 'blue/green deployment'],
  ['custom-engine-version', 'custom engine version'],
  ['db-shard-group', 'DB shard group'],
  ['zero-etl', 'zero-ETL integration'],
]);

// The SNS message of an RDS event subscription (https://docs.aws.amazon.com/lambda/latest/dg/services-rds.html).
const snsRdsSchema = z.object({
  'Event Source': text,
  'Event Time': optionalText,
  'Identifier Link': optionalText,
  'Source ID': optionalText,
  'Source ARN': optionalText,
  'Event ID': optionalText,
  'Event Message': optionalText,
});

function rdsFromSns(message: Record<string, unknown>, envelope: Envelope): ExternalSignal {
  const m = parseWith(snsRdsSchema, message, 'RDS event notification');
  const arn = parseArn(m['Source ARN']);
  const link = trustedConsoleLink(m['Identifier Link'] ?? undefined);
  const linkRegion = link ? (new URL(link).searchParams.get('region') ?? undefined) : undefined;
  return rdsSignal(
    {
      via: 'sns',
      sourceType: m['Event Source'].trim().toLowerCase(),
      sourceId: m['Source ID'] ?? arnResourceName(arn) ?? refuse('RDS event notification: no Source ID'),
      ...(arn ? { arn, sourceArn: m['Source ARN'] ?? '' } : {}),
      ...optional('eventId', eventIdOf(m['Event ID'])),
      ...(m['Event Message'] ? { message: m['Event Message'] } : {}),
      ...optionalAt(parseTime(m['Event Time'])),
      ...(link ? { link } : {}),
      categories: [],
      ...optional('account', accountOf(arn?.account)),
      ...optional('region', regionOf(arn?.region, linkRegion)),
    },
    envelope,
  );
}

// The EventBridge event (https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/rds-cloud-watch-events.html).
const eventRdsDetailSchema = z.object({
  EventCategories: z.array(text).max(20).nullish(),
  SourceType: text,
  SourceArn: optionalText,
  Date: optionalText,
  Message: optionalText,
  SourceIdentifier: optionalText,
  EventID: optionalText,
});

function rdsFromEvent(event: EventEnvelope, envelope: Envelope): ExternalSignal {
  const d = parseWith(eventRdsDetailSchema, event.detail, 'RDS event');
  const arn = parseArn(d.SourceArn) ?? parseArn(event.resources?.[0]);
  const sourceType =
    EVENT_SOURCE_TYPES.get(d.SourceType) ?? d.SourceType.trim().toLowerCase().replace(/_/g, '-');
  return rdsSignal(
    {
      via: 'eventbridge',
      sourceType,
      // The documented example names the instance `rds:my-db-instance`: the ARN says it plainly.
      sourceId: arnResourceName(arn) ?? d.SourceIdentifier ?? refuse('RDS event: no SourceIdentifier'),
      ...(arn ? { arn, sourceArn: d.SourceArn ?? event.resources?.[0] ?? '' } : {}),
      ...optional('eventId', eventIdOf(d.EventID)),
      ...(d.Message ? { message: d.Message } : {}),
      ...optionalAt(parseTime(d.Date) ?? parseTime(event.time)),
      categories: (d.EventCategories ?? []).slice(0, 10),
      ...optional('account', accountOf(event.account, arn?.account)),
      ...optional('region', regionOf(event.region, arn?.region)),
    },
    envelope,
  );
}

/** `orders-db` from `arn:aws:rds:us-east-1:123456789012:db:orders-db`; `rds:snap` from `…:snapshot:rds:snap`. */
function arnResourceName(arn: Arn | undefined): string | undefined {
  if (arn?.service !== 'rds') return undefined;
  const colon = arn.resource.indexOf(':');
  return colon > 0 && colon < arn.resource.length - 1 ? arn.resource.slice(colon + 1) : undefined;
}

/** `RDS-EVENT-0089` from itself or from SNS's documentation link `…/USER_Events.html#RDS-EVENT-0089`. */
function eventIdOf(raw: string | null | undefined): string | undefined {
  if (typeof raw !== 'string') return undefined;
  return /RDS-EVENT-\d{4,5}(?!\d)/.exec(raw.slice(0, 500))?.[0];
}

function rdsSignal(f: RdsFacts, envelope: Envelope): ExternalSignal {
  // A source type RDS adds later is still shown (as info, unless its event id is mapped).
  if (!/^[a-z][a-z0-9-]{0,40}$/.test(f.sourceType))
    refuse('RDS event: the source type is not one RDS could name');
  const instance = f.sourceType === 'db-instance';
  let id: string;
  if (instance) {
    // Some payloads prefix the identifier (`rds:my-db-instance`); instance identifiers have no colon.
    const raw = f.sourceId.includes(':') ? f.sourceId.slice(f.sourceId.lastIndexOf(':') + 1) : f.sourceId;
    id = dbInstanceOf(raw) ?? refuse('RDS event: the Source ID is not a DB instance identifier');
  } else {
    id = identifier(f.sourceId, 'RDS event Source ID', 255);
  }
  const rule = f.eventId ? RDS_EVENT_RULES.get(f.eventId) : undefined;
  const entity = SOURCE_TYPE_NAMES.get(f.sourceType) ?? 'RDS source';
  const region = f.region ?? envelope.region;
  const account = f.account ?? envelope.account;
  const partition = f.arn?.partition ?? envelope.partition;
  const message = f.message ? plain(f.message, SIGNAL_LIMITS.detailLine) : undefined;

  const details: string[] = [];
  details.push(
    f.eventId
      ? `Event ${f.eventId}: ${rule ? `${rule.what} (${rule.category})` : 'not one Capstan maps: shown for information'}`
      : 'The notification names no RDS event id',
  );
  if (message) details.push(`Message: ${message}`);
  if (f.categories.length > 0) details.push(`Categories: ${f.categories.join(', ')}`);
  if (f.sourceArn) details.push(`Source ARN: ${f.sourceArn}`);
  if (account || region) details.push(`Account ${account ?? 'unknown'}, region ${region ?? 'unknown'}`);
  details.push(
    'Event reference: https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_Events.Messages.html',
  );

  const fragment =
    f.sourceType === 'db-instance' || f.sourceType === 'db-cluster'
      ? `database:id=${encodeURIComponent(id)};is-cluster=${f.sourceType === 'db-cluster'}`
      : 'events:';
  const at = f.at ?? envelope.publishedAt;
  const kind = rule?.kind ?? 'info';
  return finish({
    source: 'rds-event',
    via: f.via,
    key: { check: 'rdsEvent', resource: instance ? resourceOf.database(id) : `${f.sourceType}:${id}` },
    kind,
    severity: rule?.severity ?? 'warning',
    value: f.eventId ?? 'RDS event',
    summary: `${entity} ${code(id)}: ${message ?? rule?.what ?? 'RDS event'}`,
    details,
    link: {
      url: f.link ?? consoleUrl(partition, 'rds', region, fragment),
      label: `Open the ${entity} in RDS`,
    },
    ...(instance && rule?.storage ? { investigate: { dbInstance: id } } : {}),
    occurredAt: requireTime(at, 'RDS event', 'Event Time'),
    match: {
      ...(instance ? { database: id } : {}),
      ...(region ? { region } : {}),
      ...(account ? { account } : {}),
    },
    ...(kind === 'clear' && rule?.resolves ? { resolves: [...rule.resolves] } : {}),
  });
}

// ── Auto Scaling ──────────────────────────────────────────────────────────────────────────────

/** The Auto Scaling notification types (https://docs.aws.amazon.com/autoscaling/ec2/userguide/ec2-auto-scaling-sns-notifications.html). */
type AsgEvent = 'launch' | 'launch-error' | 'terminate' | 'terminate-error' | 'other';

const ASG_SNS_EVENTS: ReadonlyMap<string, AsgEvent> = new Map([
  ['autoscaling:EC2_INSTANCE_LAUNCH', 'launch'],
  ['autoscaling:EC2_INSTANCE_LAUNCH_ERROR', 'launch-error'],
  ['autoscaling:EC2_INSTANCE_TERMINATE', 'terminate'],
  ['autoscaling:EC2_INSTANCE_TERMINATE_ERROR', 'terminate-error'],
]);

/** The same four as EventBridge names them (https://docs.aws.amazon.com/autoscaling/ec2/userguide/ec2-auto-scaling-event-reference.html). */
const ASG_EVENT_TYPES: ReadonlyMap<string, AsgEvent> = new Map([
  ['EC2 Instance Launch Successful', 'launch'],
  ['EC2 Instance Launch Unsuccessful', 'launch-error'],
  ['EC2 Instance Terminate Successful', 'terminate'],
  ['EC2 Instance Terminate Unsuccessful', 'terminate-error'],
]);

const TEST_NOTIFICATION = 'autoscaling:TEST_NOTIFICATION';

// One activity, in either format: the SNS message and the EventBridge detail carry the same fields.
const asgActivitySchema = z.object({
  AutoScalingGroupName: text,
  AutoScalingGroupARN: optionalText,
  AccountId: optionalText,
  ActivityId: optionalText,
  Description: optionalText,
  Cause: optionalText,
  StartTime: optionalText,
  EndTime: optionalText,
  Time: optionalText,
  StatusCode: optionalText,
  StatusMessage: optionalText,
  EC2InstanceId: optionalText,
  Details: z.union([scalarPairs, text]).nullish(),
});

type AsgActivity = z.infer<typeof asgActivitySchema>;

function asgFromSns(message: Record<string, unknown>, envelope: Envelope): SignalParse {
  const event = message.Event;
  if (typeof event !== 'string') refuse('Auto Scaling notification: Event: expected text');
  // Sent when a notification configuration is created or tested: nothing happened to any instance.
  if (event === TEST_NOTIFICATION) return { ok: true, signals: [] };
  const activity = parseWith(asgActivitySchema, message, 'Auto Scaling notification');
  const kind = ASG_SNS_EVENTS.get(event) ?? 'other';
  return {
    ok: true,
    signals: [asgSignal(activity, kind, plain(event, 100), 'sns', envelope, parseTime(activity.Time))],
  };
}

function asgFromEvent(event: EventEnvelope, kind: AsgEvent, envelope: Envelope): ExternalSignal {
  const activity = parseWith(asgActivitySchema, event.detail, 'Auto Scaling event');
  return asgSignal(
    activity,
    kind,
    plain(event['detail-type'], 100),
    'eventbridge',
    {
      ...envelope,
      ...optional('region', regionOf(event.region, envelope.region)),
      ...optional('account', accountOf(event.account, envelope.account)),
    },
    parseTime(event.time),
  );
}

// A launch that fails leaves the group short of capacity (a scale-out under load, or the
// replacement of an unhealthy instance): critical. A termination that fails leaves an extra
// instance running: a warning.
const ASG_SEVERITY: Readonly<Record<AsgEvent, Severity>> = {
  'launch-error': 'critical',
  'terminate-error': 'warning',
  launch: 'warning',
  terminate: 'warning',
  other: 'warning',
};

function asgSignal(
  a: AsgActivity,
  kind: AsgEvent,
  eventName: string,
  via: ExternalSignal['via'],
  envelope: Envelope,
  fallbackAt: number | undefined,
): ExternalSignal {
  const group = identifier(a.AutoScalingGroupName, 'AutoScalingGroupName', 255);
  const arn = parseArn(a.AutoScalingGroupARN);
  const region = regionOf(arn?.region, envelope.region);
  const account = accountOf(a.AccountId, arn?.account, envelope.account);
  const instance =
    a.EC2InstanceId && /^i-[0-9a-f]{8,32}$/.test(a.EC2InstanceId) ? a.EC2InstanceId : undefined;
  const why = [a.StatusMessage, a.Cause, a.Description, a.StatusCode].find(
    (s): s is string => typeof s === 'string' && s.trim() !== '',
  );
  const g = code(group);
  const summaries: Record<AsgEvent, string> = {
    'launch-error': `Auto Scaling group ${g} could not launch an instance${why ? `: ${why}` : ''}`,
    'terminate-error': `Auto Scaling group ${g} could not terminate ${instance ? code(instance) : 'an instance'}${why ? `: ${why}` : ''}`,
    launch: `Auto Scaling group ${g} launched ${instance ? code(instance) : 'an instance'}`,
    terminate: `Auto Scaling group ${g} terminated ${instance ? code(instance) : 'an instance'}`,
    other: `Auto Scaling group ${g}: ${eventName}`,
  };
  const values: Record<AsgEvent, string> = {
    'launch-error': `launch failed${instance ? `: ${instance}` : ''}`,
    'terminate-error': `termination failed${instance ? `: ${instance}` : ''}`,
    launch: `launched${instance ? ` ${instance}` : ''}`,
    terminate: `terminated${instance ? ` ${instance}` : ''}`,
    other: eventName,
  };

  const details: string[] = [];
  if (a.StatusCode || a.StatusMessage) {
    details.push(
      `Status: ${[a.StatusCode, a.StatusMessage].filter((s) => s && s.trim() !== '').join(' — ')}`,
    );
  }
  if (a.Cause) details.push(`Cause: ${a.Cause}`);
  if (a.Description) details.push(`Description: ${a.Description}`);
  if (instance) details.push(`Instance: ${instance}`);
  if (typeof a.Details === 'string' && a.Details.trim() !== '') details.push(`Details: ${a.Details}`);
  else if (Array.isArray(a.Details) && a.Details.length > 0) {
    details.push(`Details: ${a.Details.map(([n, v]) => `${n} ${v}`).join(', ')}`);
  }
  if (a.ActivityId) details.push(`Activity: ${a.ActivityId}`);
  const started = parseTime(a.StartTime);
  const ended = parseTime(a.EndTime);
  if (started !== undefined || ended !== undefined) {
    details.push(
      [
        started !== undefined ? `Started ${new Date(started).toISOString()}` : undefined,
        ended !== undefined ? `ended ${new Date(ended).toISOString()}` : undefined,
      ]
        .filter((s) => s !== undefined)
        .join(', '),
    );
  }
  details.push(`Event: ${eventName}`);
  if (account || region) details.push(`Account ${account ?? 'unknown'}, region ${region ?? 'unknown'}`);

  const at = ended ?? fallbackAt ?? started ?? envelope.publishedAt;
  return finish({
    source: 'autoscaling',
    via,
    key: { check: 'autoScaling', resource: `asg:${group}` },
    kind:
      kind === 'launch-error' || kind === 'terminate-error'
        ? 'problem'
        : kind === 'other'
          ? 'info'
          : 'status',
    severity: ASG_SEVERITY[kind],
    value: values[kind],
    summary: summaries[kind],
    details,
    link: {
      url: consoleUrl(
        arn?.partition ?? envelope.partition,
        'ec2',
        region,
        `AutoScalingGroupDetails:id=${encodeURIComponent(group)};view=activity`,
      ),
      label: 'Auto Scaling group activity',
    },
    occurredAt: requireTime(at, 'Auto Scaling notification', 'EndTime'),
    match: { autoScalingGroup: group, ...(region ? { region } : {}), ...(account ? { account } : {}) },
  });
}

// ── EventBridge ───────────────────────────────────────────────────────────────────────────────

// https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-events-structure.html
const eventEnvelopeSchema = z.object({
  id: text,
  'detail-type': text,
  source: text,
  account: optionalText,
  time: optionalText,
  region: optionalText,
  resources: z.array(text).max(100).nullish(),
  detail: z.unknown(),
});

type EventEnvelope = z.infer<typeof eventEnvelopeSchema>;

function fromEvent(message: Record<string, unknown>, envelope: Envelope): SignalParse {
  const event = parseWith(eventEnvelopeSchema, message, 'EventBridge event');
  const type = event['detail-type'];
  const context: Envelope = {
    ...envelope,
    ...optional('region', regionOf(event.region ?? undefined, envelope.region)),
    ...optional('account', accountOf(event.account, envelope.account)),
  };
  if (event.source === 'aws.cloudwatch' && type === 'CloudWatch Alarm State Change') {
    return { ok: true, signals: [alarmFromEvent(event, context)] };
  }
  if (
    event.source === 'aws.rds' &&
    /^RDS .*Event$/.test(type) &&
    isRecord(event.detail) &&
    has(event.detail, 'SourceType')
  ) {
    return { ok: true, signals: [rdsFromEvent(event, context)] };
  }
  const asg = event.source === 'aws.autoscaling' ? ASG_EVENT_TYPES.get(type) : undefined;
  if (asg) return { ok: true, signals: [asgFromEvent(event, asg, context)] };
  return { ok: true, signals: [otherEvent(event, context)] };
}

/** Any other event: shown as info on its own key, never opening an alert. */
function otherEvent(event: EventEnvelope, envelope: Envelope): ExternalSignal {
  const source = identifier(event.source, 'EventBridge event source', 256);
  const type = plain(event['detail-type'], 200);
  const firstResource = event.resources?.map((r) => soundIdentifier(r, 300)).find((r) => r !== undefined);
  const subject = firstResource ?? identifier(event.id, 'EventBridge event id', 256);
  const details: string[] = [`Event ${plain(event.id, 100)}: ${type} from ${source}`];
  const resources = (event.resources ?? []).slice(0, 5);
  if (resources.length > 0) details.push(`Resources: ${resources.join(', ')}`);
  let group: string | undefined;
  if (isRecord(event.detail)) {
    const fields: string[] = [];
    for (const [name, value] of Object.entries(event.detail)) {
      if (fields.length >= 10) break;
      if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
        fields.push(`${plain(name, 60)}: ${plain(String(value), 200)}`);
      }
      if (name === 'AutoScalingGroupName') group = soundIdentifier(value, 255);
    }
    if (fields.length > 0) details.push(`Detail: ${fields.join(', ')}`);
  }
  if (envelope.account || envelope.region) {
    details.push(`Account ${envelope.account ?? 'unknown'}, region ${envelope.region ?? 'unknown'}`);
  }
  return finish({
    source: 'eventbridge',
    via: 'eventbridge',
    key: { check: 'event', resource: `event:${source}:${subject}` },
    kind: 'info',
    severity: 'warning',
    value: type,
    summary: `${type} from ${code(source)}${firstResource ? ` for ${code(firstResource)}` : ''}`,
    details,
    occurredAt: requireTime(parseTime(event.time) ?? envelope.publishedAt, 'EventBridge event', 'time'),
    match: {
      ...(group !== undefined ? { autoScalingGroup: group } : {}),
      ...(envelope.region ? { region: envelope.region } : {}),
      ...(envelope.account ? { account: envelope.account } : {}),
    },
  });
}

// ── Together ──────────────────────────────────────────────────────────────────────────────────

function optional<K extends string, V>(name: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [name]: value }) as { [P in K]?: V };
}

function optionalAt(at: number | undefined): { at?: number } {
  return at === undefined ? {} : { at };
}

function requireTime(at: number | undefined, what: string, field: string): number {
  return at ?? refuse(`${what}: no ${field} and no SNS Timestamp to date it`);
}

/** The last word on every string a signal carries: cleaned and capped, whatever built it. */
function finish(signal: ExternalSignal): ExternalSignal {
  const resource = signal.key.resource;
  if (resource.length > SIGNAL_LIMITS.resource) refuse('the resource name is too long to key an alert');
  const { link, ...rest } = signal;
  const details = signal.details
    .map((line) => plain(line, SIGNAL_LIMITS.detailLine))
    .filter((line) => line !== '')
    .slice(0, SIGNAL_LIMITS.detailLines);
  return {
    ...rest,
    value: plain(signal.value, SIGNAL_LIMITS.value) || '(none)',
    summary: plain(signal.summary, SIGNAL_LIMITS.summary) || '(none)',
    details,
    ...(link && link.url.length <= SIGNAL_LIMITS.url
      ? { link: { url: link.url, label: plain(link.label, SIGNAL_LIMITS.linkLabel) } }
      : {}),
  };
}

function envelopeOf(topicArn: unknown, timestamp: unknown): Envelope {
  const arn = parseArn(typeof topicArn === 'string' ? topicArn : undefined);
  return {
    partition: arn?.partition ?? 'aws',
    ...(arn?.region ? { region: arn.region } : {}),
    ...(arn?.account ? { account: arn.account } : {}),
    ...optional('publishedAt', parseTime(typeof timestamp === 'string' ? timestamp : undefined)),
  };
}

function route(input: {
  topicArn: string;
  subject?: string;
  message: string;
  timestamp: string;
}): SignalParse {
  if (!isRecord(input) || typeof input.message !== 'string') refuse('the notification has no Message text');
  const { message } = input;
  if (message.length > SIGNAL_LIMITS.message) refuse("the Message is larger than SNS's 256 KB maximum");
  if (message.trim() === '') refuse('the Message is empty');
  let parsed: unknown;
  try {
    parsed = JSON.parse(message);
  } catch {
    refuse(
      'the Message is not JSON (a plain-text notice, such as a subscription confirmation, carries no alert)',
    );
  }
  if (!isRecord(parsed)) refuse('the Message is JSON but not an object');
  const envelope = envelopeOf(input.topicArn, input.timestamp);
  if (has(parsed, 'detail-type') && has(parsed, 'source')) return fromEvent(parsed, envelope);
  if (has(parsed, 'AlarmName') && has(parsed, 'NewStateValue')) {
    return { ok: true, signals: [alarmFromSns(parsed, envelope)] };
  }
  if (has(parsed, 'Event Source') || has(parsed, 'Event ID')) {
    return { ok: true, signals: [rdsFromSns(parsed, envelope)] };
  }
  if (has(parsed, 'Event') && typeof parsed.Event === 'string' && parsed.Event.startsWith('autoscaling:')) {
    return asgFromSns(parsed, envelope);
  }
  return refuse(
    'the Message is JSON of no known shape (not a CloudWatch alarm, an RDS event, an Auto Scaling notification or an EventBridge event)',
  );
}

/**
 * The signals in one SNS notification. `message` is the notification's Message (JSON for every
 * source here), `topicArn` and `timestamp` its TopicArn and Timestamp: the topic's region and
 * account stand in when the payload names none, and the timestamp dates a payload that carries no
 * time. `subject` is not needed: every source says what it is in the Message.
 *
 * An Auto Scaling TEST_NOTIFICATION gives no signal; anything unreadable gives `{ ok: false }` with
 * a short reason. Never throws.
 */
export function signalsFromNotification(input: {
  topicArn: string;
  subject?: string;
  message: string;
  timestamp: string;
}): SignalParse {
  try {
    return route(input);
  } catch (error) {
    if (error instanceof SignalRefusal) return { ok: false, reason: error.message };
    // A bug here must not become an exception in the endpoint; the reason says so without detail.
    return {
      ok: false,
      reason: 'the Message could not be mapped (an internal error; nothing was read from it)',
    };
  }
}
