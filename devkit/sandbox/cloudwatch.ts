/**
 * CloudWatch: metric series stored in the world (raw points), aggregated per period and
 * statistic the way GetMetricData / GetMetricStatistics do; metric alarms on them (PutMetricAlarm,
 * DescribeAlarms, DeleteAlarms, and their evaluation: alarms.ts).
 */
import type {
  Datapoint,
  DeleteAlarmsInput,
  DescribeAlarmsCommandInput,
  DescribeAlarmsCommandOutput,
  Dimension,
  GetMetricDataCommandInput,
  GetMetricDataCommandOutput,
  GetMetricStatisticsCommandInput,
  GetMetricStatisticsCommandOutput,
  ListMetricsCommandInput,
  ListMetricsCommandOutput,
  MetricDataResult,
  PutMetricAlarmCommandInput,
  PutMetricDataCommandInput,
} from '@aws-sdk/client-cloudwatch';
import {
  ALARM_STATISTICS,
  type AlarmSpec,
  type AlarmTransition,
  applyEvaluation,
  COMPARISON_OPERATORS,
  describeAlarm,
  evaluateAlarm,
  evaluationRange,
  putAlarm,
  TREAT_MISSING_DATA,
} from './alarms.js';
import type { CallContext, HandlerTable, Out } from './context.js';
import { cwError, unsupported } from './errors.js';
import { paginate, parseDuration, parseTime } from './util.js';
import type {
  AlarmComparisonOperator,
  AlarmStateValue,
  AlarmStatistic,
  MetricPoint,
  MetricSeries,
  TreatMissingData,
  World,
} from './world.js';

/** A series as tests and seed files give it. */
export interface MetricSeriesInput {
  namespace: string;
  metricName: string;
  dimensions?: Record<string, string> | { Name: string; Value: string }[];
  unit?: string;
  /** `t`: epoch ms, ISO text, or relative to now (`-15m`). */
  points?: { t: number | string | Date; v: number }[];
  /** Regular points from `from` to `to` (default now) every `every`, cycling through `values`. */
  generate?: { from: number | string; to?: number | string; every: number | string; values: number[] };
}

export function normalizeDimensions(
  d: MetricSeriesInput['dimensions'] | Dimension[] | undefined,
): { Name: string; Value: string }[] {
  const list = Array.isArray(d)
    ? d.map((x) => ({ Name: String(x.Name ?? ''), Value: String(x.Value ?? '') }))
    : Object.entries(d ?? {}).map(([Name, Value]) => ({ Name, Value: String(Value) }));
  return list.sort((a, b) => a.Name.localeCompare(b.Name));
}

function seriesKey(namespace: string, metricName: string, dims: { Name: string; Value: string }[]): string {
  return JSON.stringify([namespace, metricName, dims.map((x) => [x.Name, x.Value])]);
}

/** The series with exactly these dimensions (sorted by name), if the world has it. */
export function findSeries(
  world: World,
  namespace: string,
  metricName: string,
  dims: { Name: string; Value: string }[],
) {
  const key = seriesKey(namespace, metricName, dims);
  return world.metrics.find((s) => seriesKey(s.namespace, s.metricName, s.dimensions) === key);
}

/** Adds points to a series (creating it); a point at an existing timestamp replaces it. */
export function appendPoints(
  world: World,
  namespace: string,
  metricName: string,
  dims: { Name: string; Value: string }[],
  unit: string | undefined,
  points: MetricPoint[],
): MetricSeries {
  let series = findSeries(world, namespace, metricName, dims);
  if (!series) {
    series = { namespace, metricName, dimensions: dims, unit: unit ?? 'None', points: [] };
    world.metrics.push(series);
  } else if (unit && series.unit === 'None') {
    series.unit = unit;
  }
  const byTime = new Map(series.points.map((p) => [p.t, p.v]));
  for (const p of points) byTime.set(p.t, p.v);
  series.points = [...byTime].map(([t, v]) => ({ t, v })).sort((a, b) => a.t - b.t);
  return series;
}

/** Seeds or extends a series from a test or a seed file. */
export function putSeries(world: World, input: MetricSeriesInput, now: number): MetricSeries {
  const points: MetricPoint[] = (input.points ?? []).map((p) => ({ t: parseTime(p.t, now), v: Number(p.v) }));
  if (input.generate) {
    const g = input.generate;
    const from = parseTime(g.from, now);
    const to = parseTime(g.to ?? 'now', now);
    const every = parseDuration(g.every);
    if (every <= 0 || g.values.length === 0) throw new Error('metric generate needs every > 0 and values');
    for (let t = from, i = 0; t <= to; t += every, i++)
      points.push({ t, v: g.values[i % g.values.length] as number });
  }
  return appendPoints(
    world,
    input.namespace,
    input.metricName,
    normalizeDimensions(input.dimensions),
    input.unit,
    points,
  );
}

// ── Aggregation (pure) ───────────────────────────────────────────────────────────────────────

const STAT = /^(SampleCount|Average|Sum|Minimum|Maximum|p(\d{1,2}(\.\d+)?|100))$/;

export function isSupportedStat(stat: string): boolean {
  return STAT.test(stat);
}

/** One statistic over a bucket's values (non-empty). */
export function statistic(stat: string, values: number[]): number {
  switch (stat) {
    case 'SampleCount':
      return values.length;
    case 'Sum':
      return values.reduce((a, b) => a + b, 0);
    case 'Average':
      return values.reduce((a, b) => a + b, 0) / values.length;
    case 'Minimum':
      return Math.min(...values);
    case 'Maximum':
      return Math.max(...values);
    default: {
      // pNN: nearest rank.
      const p = Number(stat.slice(1));
      const sorted = [...values].sort((a, b) => a - b);
      const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
      return sorted[Math.min(rank, sorted.length) - 1] as number;
    }
  }
}

/** Groups points in [start, end) into period buckets aligned to the epoch, oldest first. */
export function buckets(
  points: MetricPoint[],
  start: number,
  end: number,
  periodMs: number,
): { t: number; values: number[] }[] {
  const out = new Map<number, number[]>();
  for (const p of points) {
    if (p.t < start || p.t >= end) continue;
    const b = Math.floor(p.t / periodMs) * periodMs;
    const list = out.get(b);
    if (list) list.push(p.v);
    else out.set(b, [p.v]);
  }
  return [...out].map(([t, values]) => ({ t, values })).sort((a, b) => a.t - b.t);
}

/** Aggregates a series: one value per period bucket that has points. */
export function aggregate(
  points: MetricPoint[],
  start: number,
  end: number,
  periodSeconds: number,
  stat: string,
): { t: number; v: number }[] {
  return buckets(points, start, end, periodSeconds * 1000).map((b) => ({
    t: b.t,
    v: statistic(stat, b.values),
  }));
}

function checkPeriod(period: number | undefined, where: string): number {
  if (period === undefined || !Number.isInteger(period) || period < 1) {
    throw cwError('InvalidParameterValue', `The parameter ${where} must be a positive integer.`);
  }
  if (![1, 5, 10, 20, 30].includes(period) && period % 60 !== 0) {
    throw cwError(
      'InvalidParameterValue',
      `The parameter ${where} must be 1, 5, 10, 20, 30, or a multiple of 60.`,
    );
  }
  return period;
}

function timeRange(start: Date | undefined, end: Date | undefined): { start: number; end: number } {
  if (!start || !end) throw cwError('MissingParameter', 'The parameters StartTime and EndTime are required.');
  const s = new Date(start).getTime();
  const e = new Date(end).getTime();
  if (!(s < e))
    throw cwError(
      'InvalidParameterValue',
      'The parameter StartTime must be less than the parameter EndTime.',
    );
  return { start: s, end: e };
}

function getMetricData(ctx: CallContext, input: GetMetricDataCommandInput): Out<GetMetricDataCommandOutput> {
  const { world } = ctx;
  const { start, end } = timeRange(input.StartTime, input.EndTime);
  if (input.NextToken) throw cwError('InvalidNextToken', 'The service returned an invalid token.');
  const queries = input.MetricDataQueries ?? [];
  if (queries.length === 0 || queries.length > 500) {
    throw cwError(
      'InvalidParameterValue',
      'The collection MetricDataQueries must not be empty and may hold up to 500 queries.',
    );
  }
  const ids = new Set<string>();
  const results: MetricDataResult[] = [];
  queries.forEach((q, i) => {
    const where = `MetricDataQueries.member.${i + 1}`;
    const id = q.Id ?? '';
    if (!/^[a-z][a-zA-Z0-9_]*$/.test(id)) {
      throw cwError(
        'ValidationError',
        `The value ${id} for parameter ${where}.Id is invalid. Ids must start with a lowercase letter and contain only letters, numbers and underscores.`,
      );
    }
    if (ids.has(id))
      throw cwError('ValidationError', `The value ${id} for parameter ${where}.Id is not unique.`);
    ids.add(id);
    if (q.Expression !== undefined)
      throw unsupported('CloudWatch', 'GetMetricData', 'metric math expressions');
    const ms = q.MetricStat;
    if (!ms?.Metric?.Namespace || !ms.Metric.MetricName) {
      throw cwError(
        'InvalidParameterCombination',
        `Exactly one of ${where}.MetricStat and ${where}.Expression must be set.`,
      );
    }
    const period = checkPeriod(ms.Period, `${where}.MetricStat.Period`);
    const stat = ms.Stat ?? '';
    if (!isSupportedStat(stat)) {
      throw cwError(
        'InvalidParameterValue',
        `The value ${stat} for parameter ${where}.MetricStat.Stat is not supported.`,
      );
    }
    if (q.ReturnData === false) return;
    const series = findSeries(
      world,
      ms.Metric.Namespace,
      ms.Metric.MetricName,
      normalizeDimensions(ms.Metric.Dimensions),
    );
    const usable = series && (!ms.Unit || ms.Unit === series.unit);
    let points = usable ? aggregate(series.points, start, end, period, stat) : [];
    if (input.ScanBy !== 'TimestampAscending') points = points.reverse();
    results.push({
      Id: id,
      Label: q.Label ?? ms.Metric.MetricName,
      Timestamps: points.map((p) => new Date(p.t)),
      Values: points.map((p) => p.v),
      StatusCode: 'Complete',
      Messages: [],
    });
  });
  return { MetricDataResults: results, Messages: [] };
}

function getMetricStatistics(
  ctx: CallContext,
  input: GetMetricStatisticsCommandInput,
): Out<GetMetricStatisticsCommandOutput> {
  const { world } = ctx;
  if (!input.Namespace || !input.MetricName)
    throw cwError('MissingParameter', 'The parameters Namespace and MetricName are required.');
  const { start, end } = timeRange(input.StartTime, input.EndTime);
  const period = checkPeriod(input.Period, 'Period');
  const stats = input.Statistics ?? [];
  const extended = input.ExtendedStatistics ?? [];
  if (stats.length === 0 && extended.length === 0) {
    throw cwError(
      'InvalidParameterCombination',
      'Must specify either Statistics or ExtendedStatistics, but not both.',
    );
  }
  if (stats.length > 0 && extended.length > 0) {
    throw cwError(
      'InvalidParameterCombination',
      'Must specify either Statistics or ExtendedStatistics, but not both.',
    );
  }
  for (const s of [...stats, ...extended]) {
    if (!isSupportedStat(s))
      throw cwError('InvalidParameterValue', `The value ${s} for parameter Statistics is not supported.`);
  }
  const requested = Math.ceil((end - start) / (period * 1000));
  if (requested > 1440) {
    throw cwError(
      'InvalidParameterCombination',
      `You have requested up to ${requested} datapoints, which exceeds the limit of 1440. You may reduce the datapoints requested by increasing Period, or decreasing the time range.`,
    );
  }
  const series = findSeries(world, input.Namespace, input.MetricName, normalizeDimensions(input.Dimensions));
  const usable = series && (!input.Unit || input.Unit === series.unit);
  const datapoints: Datapoint[] = usable
    ? buckets(series.points, start, end, period * 1000).map((b) => {
        const d: Datapoint = { Timestamp: new Date(b.t), Unit: series.unit as Datapoint['Unit'] };
        for (const s of stats) (d as Record<string, unknown>)[s] = statistic(s, b.values);
        if (extended.length > 0)
          d.ExtendedStatistics = Object.fromEntries(extended.map((s) => [s, statistic(s, b.values)]));
        return d;
      })
    : [];
  return { Label: input.MetricName, Datapoints: datapoints };
}

function putMetricData(ctx: CallContext, input: PutMetricDataCommandInput): Out<object> {
  const { world, now } = ctx;
  if (!input.Namespace) throw cwError('MissingParameter', 'The parameter Namespace is required.');
  if (input.Namespace.startsWith('AWS/')) {
    throw cwError('InvalidParameterValue', 'The value AWS/ for parameter Namespace is invalid.');
  }
  for (const d of input.MetricData ?? []) {
    if (!d.MetricName)
      throw cwError('MissingParameter', 'The parameter MetricData.member.N.MetricName is required.');
    if (d.StatisticValues) throw unsupported('CloudWatch', 'PutMetricData', 'StatisticValues');
    const t = d.Timestamp ? new Date(d.Timestamp).getTime() : now;
    const points: MetricPoint[] = [];
    if (d.Value !== undefined) points.push({ t, v: d.Value });
    (d.Values ?? []).forEach((v, i) => {
      const count = d.Counts?.[i] ?? 1;
      // Several samples at one timestamp: spread by a millisecond each so none replaces another.
      for (let c = 0; c < count; c++) points.push({ t: t + points.length, v });
    });
    appendPoints(world, input.Namespace, d.MetricName, normalizeDimensions(d.Dimensions), d.Unit, points);
  }
  return {};
}

function listMetrics(ctx: CallContext, input: ListMetricsCommandInput): Out<ListMetricsCommandOutput> {
  let series = [...ctx.world.metrics];
  if (input.Namespace) series = series.filter((s) => s.namespace === input.Namespace);
  if (input.MetricName) series = series.filter((s) => s.metricName === input.MetricName);
  for (const f of input.Dimensions ?? []) {
    series = series.filter((s) =>
      s.dimensions.some((d) => d.Name === f.Name && (f.Value === undefined || d.Value === f.Value)),
    );
  }
  const { page, next } = paginate(series, input.NextToken, 500, () =>
    cwError('InvalidNextToken', 'The service returned an invalid token.'),
  );
  return {
    Metrics: page.map((s) => ({
      Namespace: s.namespace,
      MetricName: s.metricName,
      Dimensions: s.dimensions.map((d) => ({ ...d })),
    })),
    NextToken: next,
  };
}

// ── Alarms ───────────────────────────────────────────────────────────────────────────────────

/** Alarm periods CloudWatch accepts: 10, 20 and 30 s (high resolution) and multiples of 60. */
function checkAlarmPeriod(period: number | undefined): number {
  if (period === undefined || !Number.isInteger(period) || period < 1)
    throw cwError('ValidationError', 'The parameter Period must be a positive integer.');
  if (![10, 20, 30].includes(period) && period % 60 !== 0)
    throw cwError('ValidationError', 'Period must be 10, 20, 30 or a multiple of 60.');
  return period;
}

function oneOf<T extends string>(value: string | undefined, allowed: readonly T[], name: string): T {
  if (value === undefined || !(allowed as readonly string[]).includes(value)) {
    throw cwError(
      'ValidationError',
      `1 validation error detected: Value '${value ?? 'null'}' at '${name}' failed to satisfy constraint: Member must satisfy enum value set: [${allowed.join(', ')}]`,
    );
  }
  return value as T;
}

function actionList(list: string[] | undefined, name: string): string[] {
  const actions = list ?? [];
  if (actions.length > 5)
    throw cwError('ValidationError', `The collection ${name} must not have more than 5 members.`);
  for (const a of actions) {
    if (!a.startsWith('arn:')) throw cwError('ValidationError', `Invalid arn syntax: ${a}`);
  }
  return [...actions];
}

/** A PutMetricAlarm input as an alarm's configuration (metric math and percentiles are not emulated). */
export function alarmSpecFrom(input: PutMetricAlarmCommandInput): AlarmSpec {
  const name = input.AlarmName ?? '';
  if (name.length < 1 || name.length > 255)
    throw cwError('ValidationError', 'The parameter AlarmName must be between 1 and 255 characters.');
  if (input.Metrics !== undefined) throw unsupported('CloudWatch', 'PutMetricAlarm', 'metric math alarms');
  if (input.ExtendedStatistic !== undefined)
    throw unsupported('CloudWatch', 'PutMetricAlarm', 'percentile (ExtendedStatistic) alarms');
  if (!input.Namespace || !input.MetricName)
    throw cwError('ValidationError', 'The parameters Namespace and MetricName are required.');
  const statistic = oneOf<AlarmStatistic>(input.Statistic, ALARM_STATISTICS, 'statistic');
  const period = checkAlarmPeriod(input.Period);
  const evaluationPeriods = input.EvaluationPeriods;
  if (evaluationPeriods === undefined || !Number.isInteger(evaluationPeriods) || evaluationPeriods < 1)
    throw cwError('ValidationError', 'The parameter EvaluationPeriods must be a positive integer.');
  if (period * evaluationPeriods > 86_400)
    throw cwError(
      'ValidationError',
      'The evaluation period (Period multiplied by EvaluationPeriods) cannot exceed one day.',
    );
  const m = input.DatapointsToAlarm;
  if (m !== undefined && (!Number.isInteger(m) || m < 1 || m > evaluationPeriods))
    throw cwError('ValidationError', 'DatapointsToAlarm must be between 1 and EvaluationPeriods.');
  if (input.Threshold === undefined || !Number.isFinite(input.Threshold))
    throw cwError('ValidationError', 'The parameter Threshold is required.');
  const comparisonOperator = oneOf<AlarmComparisonOperator>(
    input.ComparisonOperator,
    COMPARISON_OPERATORS,
    'comparisonOperator',
  );
  const treatMissingData = oneOf<TreatMissingData>(
    input.TreatMissingData ?? 'missing',
    TREAT_MISSING_DATA,
    'treatMissingData',
  );
  return {
    name,
    ...(input.AlarmDescription !== undefined ? { description: input.AlarmDescription } : {}),
    namespace: input.Namespace,
    metricName: input.MetricName,
    dimensions: normalizeDimensions(input.Dimensions),
    statistic,
    ...(input.Unit !== undefined ? { unit: input.Unit } : {}),
    period,
    evaluationPeriods,
    ...(m !== undefined ? { datapointsToAlarm: m } : {}),
    threshold: input.Threshold,
    comparisonOperator,
    treatMissingData,
    actionsEnabled: input.ActionsEnabled ?? true,
    alarmActions: actionList(input.AlarmActions, 'AlarmActions'),
    okActions: actionList(input.OKActions, 'OKActions'),
    insufficientDataActions: actionList(input.InsufficientDataActions, 'InsufficientDataActions'),
  };
}

function putMetricAlarm(ctx: CallContext, input: PutMetricAlarmCommandInput): Out<object> {
  putAlarm(ctx.world, alarmSpecFrom(input), ctx.now);
  return {};
}

function deleteAlarms(ctx: CallContext, input: DeleteAlarmsInput): Out<object> {
  const alarms = ctx.world.alarms ?? {};
  const names = input.AlarmNames ?? [];
  const missing = names.filter((n) => !alarms[n]);
  if (missing.length > 0)
    throw cwError('ResourceNotFound', `The named resource does not exist: ${missing.join(', ')}`, 404);
  for (const n of names) delete alarms[n];
  return {};
}

function describeAlarms(
  ctx: CallContext,
  input: DescribeAlarmsCommandInput,
): Out<DescribeAlarmsCommandOutput> {
  if (input.AlarmNames?.length && input.AlarmNamePrefix !== undefined)
    throw cwError(
      'InvalidParameterCombination',
      'AlarmNames and AlarmNamePrefix cannot be specified together.',
    );
  const max = input.MaxRecords ?? 50;
  if (!Number.isInteger(max) || max < 1 || max > 100)
    throw cwError('InvalidParameterValue', 'The parameter MaxRecords must be between 1 and 100.');
  const types = input.AlarmTypes ?? ['MetricAlarm'];
  let alarms = types.includes('MetricAlarm')
    ? Object.values(ctx.world.alarms ?? {}).sort((a, b) => a.name.localeCompare(b.name))
    : [];
  if (input.AlarmNames?.length) alarms = alarms.filter((a) => input.AlarmNames?.includes(a.name));
  const prefix = input.AlarmNamePrefix;
  if (prefix !== undefined) alarms = alarms.filter((a) => a.name.startsWith(prefix));
  if (input.StateValue) alarms = alarms.filter((a) => a.state.value === input.StateValue);
  const actionPrefix = input.ActionPrefix;
  if (actionPrefix !== undefined)
    alarms = alarms.filter((a) =>
      [...a.alarmActions, ...a.okActions, ...a.insufficientDataActions].some((x) =>
        x.startsWith(actionPrefix),
      ),
    );
  const { page, next } = paginate(alarms, input.NextToken, max, () =>
    cwError('InvalidNextToken', 'The service returned an invalid token.'),
  );
  return { MetricAlarms: page.map(describeAlarm), CompositeAlarms: [], NextToken: next };
}

/** The datapoints an alarm evaluates at `now`: its statistic per period of its evaluation range. */
export function alarmDatapoints(world: World, name: string, now: number): { t: number; v: number }[] {
  const alarm = world.alarms?.[name];
  if (!alarm) return [];
  const series = findSeries(world, alarm.namespace, alarm.metricName, alarm.dimensions);
  if (!series || (alarm.unit && alarm.unit !== series.unit)) return [];
  const { start, end } = evaluationRange(alarm, now);
  return aggregate(series.points, start, end, alarm.period, alarm.statistic);
}

/**
 * Evaluates one alarm on the world's metrics (the data GetMetricData answers with) and records a
 * change of state; returns the transition, or undefined when the state stays (or there is no alarm).
 */
export function evaluateAlarmInWorld(world: World, name: string, now: number): AlarmTransition | undefined {
  const alarm = world.alarms?.[name];
  if (!alarm) return undefined;
  const evaluation = evaluateAlarm(alarm, alarmDatapoints(world, name, now), alarm.state.value, now);
  return applyEvaluation(world, alarm, evaluation, now);
}

/** The state of every alarm (for tests and the console). */
export function alarmStates(world: World): Record<string, AlarmStateValue> {
  return Object.fromEntries(Object.values(world.alarms ?? {}).map((a) => [a.name, a.state.value]));
}

export const cloudWatchHandlers: HandlerTable = {
  GetMetricData: getMetricData,
  GetMetricStatistics: getMetricStatistics,
  PutMetricData: putMetricData,
  ListMetrics: listMetrics,
  PutMetricAlarm: putMetricAlarm,
  DeleteAlarms: deleteAlarms,
  DescribeAlarms: describeAlarms,
};
