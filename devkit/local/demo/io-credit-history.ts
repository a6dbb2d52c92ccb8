/**
 * The demo's CloudWatch story for `orders-db` (pure): a gp2 volume of 100 GiB whose I/O credits
 * drain. Until the drain starts, reads and writes stay under the volume's baseline and the bucket
 * is full; from then on a scan-heavy workload reads well above the baseline and the balance falls
 * along the real gp2 arithmetic, until it is empty and I/O is held at the baseline — a little under it
 * in CloudWatch's averages, as a throttled volume reads — while the disk queue and latencies climb.
 *
 * gp2: baseline 3 IOPS per GiB (at least 100), a bucket of 5.4 million I/O credits
 * (https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/CHAP_Storage.html#Concepts.Storage.GeneralSSD).
 */
import type { MetricSeriesInput } from '../../sandbox/index.js';

/** gp2's bucket size, in I/O credits. */
export const GP2_BUCKET_CREDITS = 5_400_000;

/** The volume size of the demo instance, GiB. */
export const DEMO_STORAGE_GIB = 100;

/** Baseline IOPS of a gp2 volume of `gib` GiB: 3 per GiB, at least 100. */
export function gp2BaselineIops(gib: number): number {
  return Math.max(100, 3 * gib);
}

/** Read and write IOPS before the drain (quiet) and during it (the scans). */
const QUIET = { read: 170, write: 55 };
const DRAINING = { read: 430, write: 80 };

/** One moment of the story. */
export interface IoCreditPoint {
  /** Percent of the bucket left (0–100). */
  burstBalance: number;
  readIops: number;
  writeIops: number;
  /** Outstanding I/Os (`DiskQueueDepth`). */
  diskQueueDepth: number;
  /** Seconds per I/O (`ReadLatency`, `WriteLatency`), as CloudWatch reports them. */
  readLatency: number;
  writeLatency: number;
}

/** A small, smooth wobble so the chart does not look ruled (deterministic in `t`). */
function wobble(t: number, periodMs: number, amplitude: number): number {
  return amplitude * Math.sin((2 * Math.PI * t) / periodMs);
}

/** The values at `t` (epoch ms) when the drain started at `drainStartedAt`. */
export function ioCreditPointAt(t: number, drainStartedAt: number): IoCreditPoint {
  const baseline = gp2BaselineIops(DEMO_STORAGE_GIB);
  if (t < drainStartedAt) {
    return {
      burstBalance: 100,
      readIops: Math.round(QUIET.read + wobble(t, 47 * 60_000, 25)),
      writeIops: Math.round(QUIET.write + wobble(t, 31 * 60_000, 8)),
      diskQueueDepth: round(0.4 + wobble(t, 13 * 60_000, 0.1), 2),
      readLatency: round(0.0009 + wobble(t, 19 * 60_000, 0.0001), 5),
      writeLatency: round(0.0014 + wobble(t, 29 * 60_000, 0.0002), 5),
    };
  }
  const demand = DRAINING.read + DRAINING.write;
  const netPerSecond = demand - baseline;
  const left = GP2_BUCKET_CREDITS - (netPerSecond * (t - drainStartedAt)) / 1000;
  if (left > 0) {
    return {
      burstBalance: Math.round((left / GP2_BUCKET_CREDITS) * 1000) / 10,
      readIops: Math.round(DRAINING.read + wobble(t, 23 * 60_000, 15)),
      writeIops: Math.round(DRAINING.write + wobble(t, 17 * 60_000, 5)),
      diskQueueDepth: round(0.9 + wobble(t, 13 * 60_000, 0.2), 2),
      readLatency: round(0.0012 + wobble(t, 19 * 60_000, 0.0002), 5),
      writeLatency: round(0.0016 + wobble(t, 29 * 60_000, 0.0002), 5),
    };
  }
  // Empty: the volume delivers its baseline only, shared in the same proportion; the 5-minute averages
  // read a little under it (idle moments within a period), and the demand above it queues.
  const delivered = baseline * 0.985 + wobble(t, 11 * 60_000, 3);
  return {
    burstBalance: 0,
    readIops: round((delivered * DRAINING.read) / demand, 1),
    writeIops: round((delivered * DRAINING.write) / demand, 1),
    diskQueueDepth: round(18 + wobble(t, 13 * 60_000, 2), 2),
    readLatency: round(0.024 + wobble(t, 19 * 60_000, 0.003), 5),
    writeLatency: round(0.031 + wobble(t, 29 * 60_000, 0.003), 5),
  };
}

function round(v: number, digits: number): number {
  return Math.round(v * 10 ** digits) / 10 ** digits;
}

/** Options for {@link ioCreditHistory}. */
export interface IoCreditHistoryOptions {
  /** The DB instance identifier (the series' `DBInstanceIdentifier` dimension). */
  dbInstanceId: string;
  /** First and last moment, epoch ms. Points fall on multiples of `everyMs`, so a re-seed replaces them. */
  from: number;
  to: number;
  drainStartedAt: number;
  /** Default 5 minutes (RDS's basic monitoring granularity is 1 minute; 5 keeps the world small). */
  everyMs?: number;
}

/** `BurstBalance`, `ReadIOPS`, `WriteIOPS`, `DiskQueueDepth`, `ReadLatency` and `WriteLatency` of the story. */
export function ioCreditHistory(options: IoCreditHistoryOptions): MetricSeriesInput[] {
  const every = options.everyMs ?? 5 * 60_000;
  const burst: Array<{ t: number; v: number }> = [];
  const read: Array<{ t: number; v: number }> = [];
  const write: Array<{ t: number; v: number }> = [];
  const queue: Array<{ t: number; v: number }> = [];
  const readLatency: Array<{ t: number; v: number }> = [];
  const writeLatency: Array<{ t: number; v: number }> = [];
  for (let t = Math.ceil(options.from / every) * every; t <= options.to; t += every) {
    const p = ioCreditPointAt(t, options.drainStartedAt);
    burst.push({ t, v: p.burstBalance });
    read.push({ t, v: p.readIops });
    write.push({ t, v: p.writeIops });
    queue.push({ t, v: p.diskQueueDepth });
    readLatency.push({ t, v: p.readLatency });
    writeLatency.push({ t, v: p.writeLatency });
  }
  const series = (metricName: string, unit: string, points: Array<{ t: number; v: number }>) => ({
    namespace: 'AWS/RDS',
    metricName,
    dimensions: { DBInstanceIdentifier: options.dbInstanceId },
    unit,
    points,
  });
  return [
    series('BurstBalance', 'Percent', burst),
    series('ReadIOPS', 'Count/Second', read),
    series('WriteIOPS', 'Count/Second', write),
    series('DiskQueueDepth', 'Count', queue),
    series('ReadLatency', 'Seconds', readLatency),
    series('WriteLatency', 'Seconds', writeLatency),
  ];
}
