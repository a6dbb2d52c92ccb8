/** CloudWatch, thinly: GetMetricData in batches, series out. */
import {
  type CloudWatchClient,
  type MetricDataQuery,
  paginateGetMetricData,
} from '@aws-sdk/client-cloudwatch';

/** One metric to read. */
export interface MetricQuery {
  /** Names the series in the answer (any string: the request gets its own valid ids). */
  key: string;
  namespace: string;
  metricName: string;
  dimensions: Record<string, string>;
  /** `Average`, `Minimum`, `Maximum`, `Sum`, `SampleCount` or `pNN`. */
  stat: string;
  /** Seconds per datapoint: 1, 5, 10, 30 or a multiple of 60. */
  periodSeconds: number;
}

/** A metric's datapoints, oldest first. */
export type MetricSeries = Array<{ t: number; v: number }>;

/** GetMetricData takes at most 500 queries per request (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_GetMetricData.html). */
const MAX_QUERIES = 500;

/** Reads each query's datapoints between `start` and `end`; a metric without data gets an empty series. */
export async function getMetricSeries(
  client: CloudWatchClient,
  queries: readonly MetricQuery[],
  range: { start: Date; end: Date },
): Promise<Map<string, MetricSeries>> {
  const out = new Map<string, MetricSeries>(queries.map((q) => [q.key, []]));
  for (let offset = 0; offset < queries.length; offset += MAX_QUERIES) {
    const batch = queries.slice(offset, offset + MAX_QUERIES);
    const byId = new Map(batch.map((q, i) => [`m${offset + i}`, q.key]));
    const metricQueries: MetricDataQuery[] = batch.map((q, i) => ({
      Id: `m${offset + i}`,
      MetricStat: {
        Metric: {
          Namespace: q.namespace,
          MetricName: q.metricName,
          Dimensions: Object.entries(q.dimensions).map(([Name, Value]) => ({ Name, Value })),
        },
        Period: q.periodSeconds,
        Stat: q.stat,
      },
      ReturnData: true,
    }));
    for await (const page of paginateGetMetricData(
      { client },
      {
        MetricDataQueries: metricQueries,
        StartTime: range.start,
        EndTime: range.end,
        ScanBy: 'TimestampAscending',
      },
    )) {
      for (const result of page.MetricDataResults ?? []) {
        const key = byId.get(result.Id ?? '');
        if (key === undefined) continue;
        const series = out.get(key) ?? [];
        const times = result.Timestamps ?? [];
        (result.Values ?? []).forEach((v, i) => {
          const t = times[i];
          if (t) series.push({ t: new Date(t).getTime(), v });
        });
        out.set(key, series);
      }
    }
  }
  for (const series of out.values()) series.sort((a, b) => a.t - b.t);
  return out;
}

/** The newest datapoint's value, if any. */
export function latestValue(series: MetricSeries | undefined): number | undefined {
  return series && series.length > 0 ? series[series.length - 1]?.v : undefined;
}
