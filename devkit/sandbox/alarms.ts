/**
 * CloudWatch metric alarms (pure): creating and updating them as PutMetricAlarm does, evaluating
 * their state over a metric's datapoints, the reason CloudWatch gives for a state, the notification
 * an alarm publishes to its SNS topics on a state change, and DescribeAlarms' view of one.
 *
 * Evaluation, including missing data (`TreatMissingData`), follows
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html#alarms-evaluating-missing-data:
 * CloudWatch looks at more periods than `EvaluationPeriods` (the evaluation range; here N + 2, as in
 * that page's tables), evaluates the N most recent datapoints when there are at least N, and
 * otherwise fills the missing ones as the alarm says; the alarm is ALARM when at least
 * `DatapointsToAlarm` (M, default N) of the N are breaching, else OK. One row of those tables is not
 * reproduced: with `missing`, a lone breaching datapoint at the old end of the range (`X - - - -`)
 * gives INSUFFICIENT_DATA here where the page says ALARM.
 *
 * The notification's JSON is the one CloudWatch publishes to SNS
 * (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Notify_Users_Alarm_Changes.html),
 * field for field as a real one reads:
 * `{"AlarmName":…,"AlarmDescription":…,"AWSAccountId":…,"AlarmConfigurationUpdatedTimestamp":"2025-02-02T11:48:52.788+0000",
 * "NewStateValue":"ALARM","NewStateReason":"Threshold Crossed: 1 datapoint [1.0 (02/02/25 12:05:00)] was greater than or
 * equal to the threshold (1.0).","StateChangeTime":…,"Region":"Asia Pacific (Tokyo)","AlarmArn":…,"OldStateValue":…,
 * "OKActions":[…],"AlarmActions":[…],"InsufficientDataActions":[],"Trigger":{"MetricName":…,"Namespace":…,
 * "StatisticType":"Statistic","Statistic":"SUM","Unit":null,"Dimensions":[{"value":…,"name":…}],"Period":60,
 * "EvaluationPeriods":1,"ComparisonOperator":"GreaterThanOrEqualToThreshold","Threshold":1.0,"TreatMissingData":"missing",
 * "EvaluateLowSampleCountPercentile":""}}` with the Subject `ALARM: "<name>" in <Region's long name>`.
 */
import type { MetricAlarm } from '@aws-sdk/client-cloudwatch';
import { regionLongName } from './regions.js';
import type {
  AlarmComparisonOperator,
  AlarmStateValue,
  AlarmStatistic,
  MetricAlarmState,
  TreatMissingData,
  World,
} from './world.js';

export const ALARM_STATISTICS: readonly AlarmStatistic[] = [
  'SampleCount',
  'Average',
  'Sum',
  'Minimum',
  'Maximum',
];
export const COMPARISON_OPERATORS: readonly AlarmComparisonOperator[] = [
  'GreaterThanOrEqualToThreshold',
  'GreaterThanThreshold',
  'LessThanThreshold',
  'LessThanOrEqualToThreshold',
];
export const TREAT_MISSING_DATA: readonly TreatMissingData[] = [
  'missing',
  'ignore',
  'breaching',
  'notBreaching',
];

/** What PutMetricAlarm (or a seed) says about an alarm: everything but its state. */
export type AlarmSpec = Omit<MetricAlarmState, 'arn' | 'configurationUpdatedAt' | 'state'>;

/** The reason CloudWatch gives a new alarm. */
export const INITIAL_REASON = 'Unchecked: Initial alarm creation';

/** `arn:aws:cloudwatch:<region>:<account>:alarm:<name>`. */
export function alarmArn(world: World, name: string): string {
  return `arn:aws:cloudwatch:${world.region}:${world.accountId}:alarm:${name}`;
}

/**
 * Creates or updates an alarm as PutMetricAlarm does: a new alarm starts in INSUFFICIENT_DATA; an
 * update replaces the configuration and leaves the state as it is.
 */
export function putAlarm(world: World, spec: AlarmSpec, now: number): MetricAlarmState {
  world.alarms ??= {};
  const existing = world.alarms[spec.name];
  const alarm: MetricAlarmState = {
    ...spec,
    dimensions: spec.dimensions.map((d) => ({ ...d })),
    alarmActions: [...spec.alarmActions],
    okActions: [...spec.okActions],
    insufficientDataActions: [...spec.insufficientDataActions],
    arn: alarmArn(world, spec.name),
    configurationUpdatedAt: now,
    state: existing?.state ?? {
      value: 'INSUFFICIENT_DATA',
      reason: INITIAL_REASON,
      updatedAt: now,
      transitionedAt: now,
    },
  };
  world.alarms[spec.name] = alarm;
  return alarm;
}

// ── Evaluation (pure) ────────────────────────────────────────────────────────────────────────

/** One period's value of the alarm's statistic; `t` is the start of the period (epoch ms). */
export interface AlarmDatapoint {
  t: number;
  v: number;
}

/** The periods an evaluation at `now` looks at: [start, end), whole periods that have ended. */
export function evaluationRange(
  alarm: Pick<MetricAlarmState, 'period' | 'evaluationPeriods'>,
  now: number,
): { start: number; end: number } {
  const periodMs = alarm.period * 1000;
  const end = Math.floor(now / periodMs) * periodMs;
  return { start: end - (alarm.evaluationPeriods + 2) * periodMs, end };
}

/** Whether a value breaches the threshold. */
export function isBreaching(operator: AlarmComparisonOperator, value: number, threshold: number): boolean {
  switch (operator) {
    case 'GreaterThanOrEqualToThreshold':
      return value >= threshold;
    case 'GreaterThanThreshold':
      return value > threshold;
    case 'LessThanThreshold':
      return value < threshold;
    case 'LessThanOrEqualToThreshold':
      return value <= threshold;
  }
}

/** The outcome of one evaluation. */
export interface AlarmEvaluation {
  /** The state the alarm should be in; undefined: keep the current one (`ignore` without data). */
  value: AlarmStateValue | undefined;
  reason: string;
  /** StateReasonData (JSON). */
  reasonData: string;
}

/** What evaluation needs of an alarm. */
export type EvaluatedAlarm = Pick<
  MetricAlarmState,
  | 'statistic'
  | 'period'
  | 'evaluationPeriods'
  | 'datapointsToAlarm'
  | 'threshold'
  | 'comparisonOperator'
  | 'treatMissingData'
>;

/**
 * The state an alarm should be in, given the datapoints of its evaluation range (one per period that
 * has data, any order) and its current state (for the reason's "OK -> ALARM").
 */
export function evaluateAlarm(
  alarm: EvaluatedAlarm,
  datapoints: AlarmDatapoint[],
  current: AlarmStateValue,
  now: number,
): AlarmEvaluation {
  const n = alarm.evaluationPeriods;
  const m = alarm.datapointsToAlarm ?? n;
  const present = [...datapoints].sort((a, b) => a.t - b.t);
  const evaluated = present.slice(-n);
  const fills = n - evaluated.length;
  const breaching = evaluated.filter((p) => isBreaching(alarm.comparisonOperator, p.v, alarm.threshold));
  const clear = evaluated.filter((p) => !isBreaching(alarm.comparisonOperator, p.v, alarm.threshold));
  const reasonData = JSON.stringify({
    version: '1.0',
    queryDate: cloudWatchTime(now),
    ...(evaluated[0] ? { startDate: cloudWatchTime(evaluated[0].t) } : {}),
    statistic: alarm.statistic,
    period: alarm.period,
    recentDatapoints: evaluated.map((p) => p.v),
    threshold: alarm.threshold,
  });
  const unknown: AlarmEvaluation = {
    value: alarm.treatMissingData === 'ignore' ? undefined : 'INSUFFICIENT_DATA',
    reason: `Insufficient Data: ${n} ${plural(n, 'datapoint')} ${n === 1 ? 'was' : 'were'} unknown.`,
    reasonData,
  };
  let breachingFills = 0;
  let clearFills = 0;
  if (fills > 0) {
    if (alarm.treatMissingData === 'breaching') breachingFills = fills;
    else if (alarm.treatMissingData === 'notBreaching') clearFills = fills;
    else if (evaluated.length === 0) return unknown;
    // `missing`/`ignore` with too few datapoints: only breaching ones and too few to alarm leaves
    // the question open; any clear one settles it as OK.
    else if (breaching.length < m && clear.length === 0) return unknown;
  }
  const alarmed = breaching.length + breachingFills >= m;
  const value: AlarmStateValue = alarmed ? 'ALARM' : 'OK';
  const shown = alarmed ? breaching : clear;
  const filled = alarmed ? breachingFills : clearFills;
  return {
    value,
    reason: thresholdReason(alarm, {
      value,
      from: current === value ? undefined : current,
      shown,
      filled,
      n,
      m,
    }),
    reasonData,
  };
}

const PHRASES: Record<AlarmComparisonOperator, string> = {
  GreaterThanOrEqualToThreshold: 'greater than or equal to',
  GreaterThanThreshold: 'greater than',
  LessThanThreshold: 'less than',
  LessThanOrEqualToThreshold: 'less than or equal to',
};

function plural(count: number, word: string): string {
  return count === 1 ? word : `${word}s`;
}

/**
 * "Threshold Crossed: 3 datapoints [16.2 (07/12/26 10:05:00), …] were less than the threshold (20.0)."
 * — the datapoints newest first; with DatapointsToAlarm set, CloudWatch's M-out-of-N wording.
 */
function thresholdReason(
  alarm: EvaluatedAlarm,
  r: {
    value: 'OK' | 'ALARM';
    from: AlarmStateValue | undefined;
    shown: AlarmDatapoint[];
    filled: number;
    n: number;
    m: number;
  },
): string {
  const phrase = `${r.value === 'OK' ? 'not ' : ''}${PHRASES[alarm.comparisonOperator]}`;
  const threshold = `the threshold (${javaDouble(alarm.threshold)})`;
  const treated = r.value === 'ALARM' ? 'Breaching' : 'NonBreaching';
  if (r.shown.length === 0) {
    return `Threshold Crossed: no datapoints were received for ${r.n} ${plural(r.n, 'period')} and ${r.filled} missing ${plural(r.filled, 'datapoint')} ${r.filled === 1 ? 'was' : 'were'} treated as [${treated}].`;
  }
  const list = [...r.shown]
    .sort((a, b) => b.t - a.t)
    .map((p) => `${javaDouble(p.v)} (${datapointTime(p.t)})`)
    .join(', ');
  const k = r.shown.length;
  const verb = k === 1 ? 'was' : 'were';
  const fills =
    r.filled > 0
      ? ` and ${r.filled} missing ${plural(r.filled, 'datapoint')} ${r.filled === 1 ? 'was' : 'were'} treated as [${treated}]`
      : '';
  if (alarm.datapointsToAlarm === undefined)
    return `Threshold Crossed: ${k} ${plural(k, 'datapoint')} [${list}] ${verb} ${phrase} ${threshold}${fills}.`;
  const needed = r.value === 'ALARM' ? r.m : r.n - r.m + 1;
  const transition = r.from
    ? ` (minimum ${needed} ${plural(needed, 'datapoint')} for ${r.from} -> ${r.value} transition)`
    : '';
  return `Threshold Crossed: ${k} out of the last ${r.n} datapoints [${list}] ${verb} ${phrase} ${threshold}${fills}${transition}.`;
}

/** A number as Java prints a double (CloudWatch's reasons and JSON): `20.0`, `16.3`, `1.0E7`. */
export function javaDouble(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return v > 0 ? 'Infinity' : '-Infinity';
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e7)) {
    const [mantissa = '0', exponent = '0'] = v.toExponential().split('e');
    return `${mantissa.includes('.') ? mantissa : `${mantissa}.0`}E${Number(exponent)}`;
  }
  const text = String(v);
  return text.includes('.') ? text : `${text}.0`;
}

/** `dd/MM/yy HH:mm:ss` in UTC, as the datapoints of a reason are written. */
export function datapointTime(t: number): string {
  const d = new Date(t);
  const two = (x: number) => String(x).padStart(2, '0');
  return `${two(d.getUTCDate())}/${two(d.getUTCMonth() + 1)}/${two(d.getUTCFullYear() % 100)} ${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())}`;
}

/** `2025-02-02T12:06:35.472+0000`, as CloudWatch writes times in notifications. */
export function cloudWatchTime(t: number): string {
  return new Date(t).toISOString().replace('Z', '+0000');
}

// ── State changes and what they publish ──────────────────────────────────────────────────────

/** A change of an alarm's state, as it was saved. */
export interface AlarmTransition {
  /** The alarm after the change. */
  alarm: MetricAlarmState;
  oldState: AlarmStateValue;
  newState: AlarmStateValue;
  at: number;
  region: string;
  accountId: string;
}

/** Applies an evaluation to the alarm in the world; returns the transition when the state changed. */
export function applyEvaluation(
  world: World,
  alarm: MetricAlarmState,
  evaluation: AlarmEvaluation,
  now: number,
): AlarmTransition | undefined {
  if (evaluation.value === undefined || evaluation.value === alarm.state.value) return undefined;
  const oldState = alarm.state.value;
  alarm.state = {
    value: evaluation.value,
    reason: evaluation.reason,
    reasonData: evaluation.reasonData,
    updatedAt: now,
    transitionedAt: now,
  };
  return {
    alarm: structuredClone(alarm),
    oldState,
    newState: evaluation.value,
    at: now,
    region: world.region,
    accountId: world.accountId,
  };
}

/** The topics a transition notifies: the actions of the new state, when actions are enabled. */
export function transitionTopics(transition: AlarmTransition): string[] {
  const { alarm } = transition;
  if (!alarm.actionsEnabled) return [];
  const actions =
    transition.newState === 'ALARM'
      ? alarm.alarmActions
      : transition.newState === 'OK'
        ? alarm.okActions
        : alarm.insufficientDataActions;
  return [...new Set(actions.filter((a) => a.startsWith('arn:') && a.split(':')[2] === 'sns'))];
}

const STATISTIC_NAMES: Record<AlarmStatistic, string> = {
  SampleCount: 'SAMPLE_COUNT',
  Average: 'AVERAGE',
  Sum: 'SUM',
  Minimum: 'MINIMUM',
  Maximum: 'MAXIMUM',
};

/** Marks a number to be written as a Java double (`20.0`) in the notification's JSON. */
const DOUBLE = '\u0000double:';

/**
 * The SNS message a transition publishes: Subject `ALARM: "<name>" in <Region's long name>` and the
 * JSON Message CloudWatch sends (see the module comment for the document and a real example).
 */
export function alarmNotification(transition: AlarmTransition): { subject: string; message: string } {
  const { alarm } = transition;
  const region = regionLongName(transition.region);
  const trigger = {
    MetricName: alarm.metricName,
    Namespace: alarm.namespace,
    StatisticType: 'Statistic',
    Statistic: STATISTIC_NAMES[alarm.statistic],
    Unit: alarm.unit ?? null,
    Dimensions: alarm.dimensions.map((d) => ({ value: d.Value, name: d.Name })),
    Period: alarm.period,
    EvaluationPeriods: alarm.evaluationPeriods,
    ...(alarm.datapointsToAlarm !== undefined ? { DatapointsToAlarm: alarm.datapointsToAlarm } : {}),
    ComparisonOperator: alarm.comparisonOperator,
    Threshold: `${DOUBLE}${javaDouble(alarm.threshold)}`,
    TreatMissingData: alarm.treatMissingData,
    EvaluateLowSampleCountPercentile: '',
  };
  const body = {
    AlarmName: alarm.name,
    AlarmDescription: alarm.description ?? null,
    AWSAccountId: transition.accountId,
    AlarmConfigurationUpdatedTimestamp: cloudWatchTime(alarm.configurationUpdatedAt),
    NewStateValue: transition.newState,
    NewStateReason: alarm.state.reason,
    StateChangeTime: cloudWatchTime(transition.at),
    Region: region,
    AlarmArn: alarm.arn,
    OldStateValue: transition.oldState,
    OKActions: alarm.okActions,
    AlarmActions: alarm.alarmActions,
    InsufficientDataActions: alarm.insufficientDataActions,
    Trigger: trigger,
  };
  const message = JSON.stringify(body).replace(/"\\u0000double:([^"]*)"/g, '$1');
  // SNS takes a Subject of up to 100 characters.
  const subject = `${transition.newState}: "${alarm.name}" in ${region}`.slice(0, 100);
  return { subject, message };
}

/** DescribeAlarms' view of an alarm. */
export function describeAlarm(alarm: MetricAlarmState): MetricAlarm {
  return {
    AlarmName: alarm.name,
    AlarmArn: alarm.arn,
    ...(alarm.description !== undefined ? { AlarmDescription: alarm.description } : {}),
    AlarmConfigurationUpdatedTimestamp: new Date(alarm.configurationUpdatedAt),
    ActionsEnabled: alarm.actionsEnabled,
    OKActions: [...alarm.okActions],
    AlarmActions: [...alarm.alarmActions],
    InsufficientDataActions: [...alarm.insufficientDataActions],
    StateValue: alarm.state.value,
    StateReason: alarm.state.reason,
    ...(alarm.state.reasonData !== undefined ? { StateReasonData: alarm.state.reasonData } : {}),
    StateUpdatedTimestamp: new Date(alarm.state.updatedAt),
    StateTransitionedTimestamp: new Date(alarm.state.transitionedAt),
    MetricName: alarm.metricName,
    Namespace: alarm.namespace,
    Statistic: alarm.statistic,
    Dimensions: alarm.dimensions.map((d) => ({ ...d })),
    Period: alarm.period,
    ...(alarm.unit !== undefined ? { Unit: alarm.unit as MetricAlarm['Unit'] } : {}),
    EvaluationPeriods: alarm.evaluationPeriods,
    ...(alarm.datapointsToAlarm !== undefined ? { DatapointsToAlarm: alarm.datapointsToAlarm } : {}),
    Threshold: alarm.threshold,
    ComparisonOperator: alarm.comparisonOperator,
    TreatMissingData: alarm.treatMissingData,
  };
}
