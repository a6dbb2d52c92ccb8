/**
 * IO-credit investigation (pure parts): what an RDS instance's storage can sustain, how fast its
 * credits drain or refill, when they ran out or will, and what to change — with numbers.
 *
 * No I/O here: the job gathers the instance and its CloudWatch series and hands them to
 * {@link investigateIoCredits}, which returns a structured report the job renders to Slack.
 *
 * Documents behind the numbers:
 * - RDS storage (gp2, gp3, Provisioned IOPS, striping):
 *   https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/CHAP_Storage.html
 * - EBS gp2 burst bucket ("General Purpose SSD volumes"):
 *   https://docs.aws.amazon.com/ebs/latest/userguide/general-purpose.html#EBSVolumeTypes_gp2
 * - RDS CloudWatch metrics (BurstBalance, EBSIOBalance%, EBSByteBalance%, CPUCreditBalance):
 *   https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/rds-metrics.html
 */
import { type StoragePrices, storagePricesSchema } from '../config.js';

// ---------------------------------------------------------------------------------------------
// Documented numbers
// ---------------------------------------------------------------------------------------------

const RDS_STORAGE_DOC = 'https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/CHAP_Storage.html';

/** gp2 earns 3 IOPS of baseline per GiB (RDS "General Purpose SSD storage", EBS "gp2 volumes"). */
export const GP2_IOPS_PER_GIB = 3;
/** gp2 baseline floor per volume: 100 IOPS (33.33 GiB and below). Same documents. */
export const GP2_MIN_IOPS_PER_VOLUME = 100;
/** gp2 baseline ceiling per volume: 16,000 IOPS (5,334 GiB and above). Same documents. */
export const GP2_MAX_IOPS_PER_VOLUME = 16_000;
/** gp2 bursts to 3,000 IOPS per volume while credits last. Same documents. */
export const GP2_BURST_IOPS_PER_VOLUME = 3_000;
/**
 * A gp2 volume's bucket holds 5.4 million I/O credits (its initial and maximum balance): enough for
 * 3,000 IOPS for 30 minutes. Same documents. `BurstBalance` is the percentage of this bucket left.
 */
export const GP2_BUCKET_CREDITS_PER_VOLUME = 5_400_000;
/**
 * RDS stripes storage across 4 EBS volumes from 400 GiB for Db2, MariaDB, MySQL and PostgreSQL and
 * from 200 GiB for Oracle; SQL Server is not striped (RDS "DB instance storage"; the striping is
 * also what the gp3 baseline step at the same sizes reflects). Interpretation, since the page
 * gives aggregate figures rather than a per-volume model: each of the 4 volumes is a gp2 volume of
 * a quarter of the allocation with its own baseline, 3,000-IOPS burst and 5.4-million-credit bucket,
 * so a striped instance's baseline is unchanged (3 IOPS/GiB), its ceiling is 4 × 16,000 = 64,000,
 * its burst ceiling 4 × 3,000 = 12,000 IOPS and its bucket 4 × 5.4 million credits, and BurstBalance
 * is read as the percentage of that combined bucket (I/O spread evenly over the stripes).
 */
export const STRIPED_VOLUMES = 4;

/**
 * gp3 on RDS: below the striping threshold a fixed 3,000 IOPS / 125 MiB/s; at and above it
 * 12,000 IOPS / 500 MiB/s included, provisionable above that; SQL Server always 3,000 / 125
 * (RDS "gp3 storage": https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/CHAP_Storage.html#gp3-storage).
 */
export const GP3_BASELINE = {
  small: { iops: 3_000, throughputMiBps: 125 },
  striped: { iops: 12_000, throughputMiBps: 500 },
} as const;
/** gp3's provisionable IOPS ceiling on a striped RDS instance (RDS "gp3 storage"). */
export const GP3_MAX_IOPS_STRIPED = 64_000;
/** gp3's provisionable IOPS ceiling on SQL Server, which is not striped (RDS "gp3 storage"). */
export const GP3_MAX_IOPS_SQLSERVER = 16_000;

/**
 * Provisioned IOPS (io1) on RDS for MariaDB/MySQL/PostgreSQL: at least 1,000 IOPS, storage from 100 GiB,
 * IOPS between 0.5 and 50 times the GiB allocated (RDS "Provisioned IOPS SSD storage";
 * CreateDBInstance `Iops`: https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_CreateDBInstance.html;
 * EBS io1 50 IOPS per GiB: https://docs.aws.amazon.com/ebs/latest/userguide/provisioned-iops.html).
 */
export const IO1_MIN_IOPS = 1_000;
export const IO1_MIN_GIB = 100;
export const IO1_MAX_IOPS_PER_GIB = 50;
/** The lower end of the allowed IOPS:GiB range on RDS (CreateDBInstance `Iops`, link above): 0.5 IOPS per GiB. */
export const PROVISIONED_MIN_IOPS_PER_GIB = 0.5;
/**
 * io2 Block Express on RDS: from 1,000 IOPS and 100 GiB like io1, at the io1 price, with up to 1,000 IOPS
 * per GiB (EBS "Provisioned IOPS SSD volumes", io2 Block Express "IOPS:GiB ratio of 1,000:1":
 * https://docs.aws.amazon.com/ebs/latest/userguide/provisioned-iops.html; RDS announcement "up to 1,000 IOPS
 * per GiB … at the same price as io1": https://aws.amazon.com/blogs/database/optimize-amazon-rds-performance-with-io2-block-express-storage-for-production-workloads).
 */
export const IO2_MIN_IOPS = 1_000;
export const IO2_MIN_GIB = 100;
export const IO2_MAX_IOPS_PER_GIB = 1_000;
/**
 * gp3: at most 500 provisioned IOPS per GiB (EBS "General Purpose SSD volumes", gp3:
 * https://docs.aws.amazon.com/ebs/latest/userguide/general-purpose.html#gp3-ebs-volume-type). On a striped
 * RDS instance (400 GiB and up) that never binds below the 64,000 ceiling; on SQL Server it can.
 */
export const GP3_MAX_IOPS_PER_GIB = 500;
/** Smallest gp2/gp3 allocation for MariaDB/MySQL/PostgreSQL (CreateDBInstance `AllocatedStorage`). */
export const GENERAL_PURPOSE_MIN_GIB = 20;

/** Headroom the recommendations size for above observed p95: 20 %. */
export const HEADROOM = 0.2;

/** A balance at or below this percentage counts as empty (CloudWatch averages rarely hit 0.0). */
const EMPTY_PERCENT = 0.5;
/**
 * BurstBalance at or below this counts as "at or near 0": 1 % of a 5.4-million-credit bucket is 54,000
 * credits, 20 s of burst at 3,000 IOPS on 100 GiB — nothing a workload can use. A throttled volume's 5-minute
 * averages hover just above 0 (credits earned are spent at once), so equality with 0 is the wrong test.
 */
export const NEAR_EMPTY_PERCENT = 1;
/** A balance under this percentage, neither draining nor refilling at the baseline, leaves no room to burst. */
const LOW_PERCENT = 10;
/**
 * Recent IOPS at or above (1 − this) × baseline count as "at the baseline". A gp2 volume out of credits is
 * held to its baseline (RDS "I/O credits and burst performance"), and CloudWatch's per-period averages of a
 * throttled volume sit a little under it (idle moments inside a period pull the average down), never on it.
 */
export const AT_BASELINE_TOLERANCE = 0.1;
/** Window of the most recent points that "now" is judged on (recent IOPS, balance trend). */
const RECENT_WINDOW_MS = 60 * 60 * 1000;

// ---------------------------------------------------------------------------------------------
// Prices
// ---------------------------------------------------------------------------------------------

/** Storage prices, every field filled (the schema, with its documented defaults, is the config file's `ioCredits.prices`). */
export type { StoragePrices };
export { storagePricesSchema };

/** The documented default prices (see {@link storagePricesSchema}). */
export const defaultStoragePrices: StoragePrices = Object.freeze(storagePricesSchema.parse({}));

// ---------------------------------------------------------------------------------------------
// Input and output shapes
// ---------------------------------------------------------------------------------------------

/** One datapoint: `t` in epoch milliseconds, `v` the value. */
export interface Point {
  t: number;
  v: number;
}

/** What DescribeDBInstances says about the instance. */
export interface InstanceStorage {
  id: string;
  /** As RDS spells it: `mysql`, `mariadb`, `postgres`, `oracle-ee`, `sqlserver-se`, `db2-se`… */
  engine: string;
  /** `db.t3.medium`, `db.r6g.large`… */
  instanceClass: string;
  /** `gp2`, `gp3`, `io1`, `io2`, `standard`, `aurora`… */
  storageType: string;
  allocatedGiB: number;
  /** Provisioned IOPS (io1/io2, gp3 when set). */
  iops?: number;
  /** Provisioned throughput (gp3). */
  throughputMiBps?: number;
  /** Multi-AZ doubles the storage bill. */
  multiAz?: boolean;
}

/** Everything {@link investigateIoCredits} needs. */
export interface IoCreditsInput {
  instance: InstanceStorage;
  /**
   * CloudWatch series by metric name: `BurstBalance`, `ReadIOPS`, `WriteIOPS`, `EBSIOBalance%`,
   * `EBSByteBalance%`, `CPUCreditBalance`. A `TotalIOPS` series, when given, is used instead of
   * adding ReadIOPS and WriteIOPS.
   */
  series: Record<string, readonly Point[]>;
  /** Epoch milliseconds. */
  now: number;
  prices?: Partial<StoragePrices>;
  /** IANA zone times are also given in (the config's `timezone`); UTC is always given. */
  timezone?: string;
  /** Seconds per datapoint as requested; inferred from the series' spacing when absent. */
  periodSeconds?: number;
}

/** What the instance's storage can sustain. */
export interface StorageProfile {
  storageType: 'gp2' | 'gp3' | 'io1' | 'io2' | 'standard' | 'other';
  allocatedGiB: number;
  /** EBS volumes RDS stripes the allocation over (1 or 4). */
  volumes: number;
  /** IOPS sustained indefinitely; undefined when the storage type has no such model here. */
  baselineIops: number | undefined;
  /** gp3's included or provisioned throughput. */
  throughputMiBps: number | undefined;
  /** gp2: IOPS reachable while credits last (all volumes); undefined when burst does not matter. */
  burstIops: number | undefined;
  /** gp2: the bucket's capacity in I/O credits (all volumes); undefined when burst does not matter. */
  bucketCredits: number | undefined;
  /** gp2 whose baseline is below the burst ceiling: the credits can run out. */
  burstMatters: boolean;
  /** One line saying all of the above. */
  summary: string;
}

/** Observed total IOPS over the window. */
export interface ObservedIops {
  p50: number;
  p95: number;
  max: number;
  mean: number;
  /** Mean over the last hour of the series: what "now" looks like. */
  recent: number;
  points: number;
  from: number;
  to: number;
}

/** When a balance last ran out: the start of its latest run of empty points. */
export interface ZeroRun {
  at: number;
  /** First point after the run that is no longer empty; undefined while still empty. */
  recoveredAt?: number;
}

/** A balance series read as a linear trend over its recent points. */
export interface BalanceForecast {
  /** The latest value and when it was taken. */
  current: number;
  at: number;
  /** Least-squares slope over the recent points, in the series' unit per hour. */
  slopePerHour: number;
  /** When the trend reaches zero (only while falling and not yet empty). */
  zeroAt?: number;
  empty: boolean;
  lastHitZero?: ZeroRun;
}

/** The gp2 bucket's forecast: drain or refill from observed IOPS (or the balance trend). */
export interface StorageForecast {
  balancePercent: number;
  at: number;
  direction: 'draining' | 'refilling' | 'steady' | 'empty' | 'full';
  /** Credits per second leaving the bucket; negative while refilling. */
  netCreditsPerSecond: number;
  /** Percentage points of the bucket per hour; negative while draining. */
  percentPerHour: number;
  /** What the rates came from: recent IOPS against the baseline, or the balance series' slope. */
  basis: 'iops' | 'trend';
  recentIops?: number;
  timeToEmptySeconds?: number;
  emptyAt?: number;
  timeToFullSeconds?: number;
  fullAt?: number;
  lastHitZero?: ZeroRun;
  /**
   * Empty and held to the baseline: the balance has been at or near 0 for more than one period, or is there
   * now with recent IOPS within {@link AT_BASELINE_TOLERANCE} of the baseline (or none reported).
   */
  throttled: boolean;
  summary: string;
}

/** Every credit that can run out. */
export type CreditKind = 'BurstBalance' | 'EBSIOBalance%' | 'EBSByteBalance%' | 'CPUCreditBalance';

/** One credit's state. */
export interface CreditStatus {
  kind: CreditKind;
  /** What it is, in words. */
  label: string;
  unit: '%' | 'credits';
  /** Whether it applies to this instance (class, storage type); a series with data is reported either way. */
  applies: boolean;
  /** No data in the window (metric not published for this class, or not fetched). */
  missing: boolean;
  forecast?: BalanceForecast;
  /** Out or nearly out: its summary is part of the verdict (and shown nowhere else). */
  inVerdict: boolean;
  summary: string;
}

/** A metric on-call people read beside the credits, against its usual level. */
export type LoadMetric = 'DiskQueueDepth' | 'ReadLatency' | 'WriteLatency';

/** DiskQueueDepth or a latency: the last hour against the usual level before the trouble began. */
export interface LoadSignal {
  metric: LoadMetric;
  /** Mean over the last hour of the series (seconds for latencies, as CloudWatch reports them). */
  recent: number;
  /** Median before the episode (before the credits ran out, else before the last hour); undefined without enough points. */
  usual?: number;
  /** At least twice the usual level and above a floor that matters (1 queued I/O, 2 ms). */
  risen: boolean;
  /** Risen while the storage is throttled or draining. */
  withThrottling: boolean;
  summary: string;
}

/** One change to consider, with its numbers. */
export interface Recommendation {
  kind: 'gp2-size' | 'gp3' | 'provisioned-iops';
  title: string;
  detail: string;
  storageType: 'gp2' | 'gp3' | 'io1' | 'io2';
  allocatedGiB: number;
  /** IOPS sustained after the change. */
  baselineIops: number;
  /** Provisioned IOPS to ask for (gp3 above the included baseline, io1). */
  provisionedIops?: number;
  throughputMiBps?: number;
  monthlyCostUsd: number;
  monthlyCostDeltaUsd: number;
}

/** The investigation's numbers and words, most important first. */
export interface IoCreditsReport {
  instanceId: string;
  severity: 'critical' | 'warning' | 'ok' | 'unknown';
  verdict: string;
  facts: string[];
  profile: StorageProfile;
  observed?: ObservedIops;
  forecast?: StorageForecast;
  credits: CreditStatus[];
  /** DiskQueueDepth, ReadLatency, WriteLatency against their usual level, when reported. */
  signals: LoadSignal[];
  /** One line on what the throttling does to the database (queue and latency risen with it), when it does. */
  impact?: string;
  /** Cheapest first. */
  recommendations: Recommendation[];
  /** IOPS the recommendations size for: observed p95 plus {@link HEADROOM}. */
  targetIops?: number;
  currentMonthlyCostUsd?: number;
  prices: StoragePrices;
}

// ---------------------------------------------------------------------------------------------
// Storage profile
// ---------------------------------------------------------------------------------------------

type EngineFamily = 'striped-400' | 'oracle' | 'sqlserver' | 'other';

function engineFamily(engine: string): EngineFamily {
  const e = engine.toLowerCase();
  if (e.startsWith('sqlserver')) return 'sqlserver';
  if (e.startsWith('oracle') || e.startsWith('custom-oracle')) return 'oracle';
  if (e.startsWith('mysql') || e.startsWith('mariadb') || e.startsWith('postgres') || e.startsWith('db2')) {
    return 'striped-400';
  }
  return 'other';
}

/** Allocation from which RDS stripes over 4 volumes, or undefined when it never does (SQL Server). */
export function stripingThresholdGiB(engine: string): number | undefined {
  switch (engineFamily(engine)) {
    case 'sqlserver':
      return undefined;
    case 'oracle':
      return 200;
    default:
      // Db2, MariaDB, MySQL, PostgreSQL (and, as an assumption, anything else on EBS).
      return 400;
  }
}

/** EBS volumes RDS puts under an allocation of `allocatedGiB` for `engine`. */
export function stripedVolumes(engine: string, allocatedGiB: number): number {
  const threshold = stripingThresholdGiB(engine);
  return threshold !== undefined && allocatedGiB >= threshold ? STRIPED_VOLUMES : 1;
}

/** gp2 baseline IOPS for an allocation: 3 IOPS/GiB per volume, 100 to 16,000 per volume. */
export function gp2BaselineIops(engine: string, allocatedGiB: number): number {
  const volumes = stripedVolumes(engine, allocatedGiB);
  const perVolume = Math.min(
    GP2_MAX_IOPS_PER_VOLUME,
    Math.max(GP2_MIN_IOPS_PER_VOLUME, (GP2_IOPS_PER_GIB * allocatedGiB) / volumes),
  );
  return Math.round(perVolume * volumes);
}

/** gp3 IOPS and throughput RDS includes for an allocation. */
export function gp3Baseline(engine: string, allocatedGiB: number): { iops: number; throughputMiBps: number } {
  return stripedVolumes(engine, allocatedGiB) > 1 ? GP3_BASELINE.striped : GP3_BASELINE.small;
}

function normaliseStorageType(storageType: string): StorageProfile['storageType'] {
  const s = storageType.toLowerCase();
  return s === 'gp2' || s === 'gp3' || s === 'io1' || s === 'io2' || s === 'standard' ? s : 'other';
}

/** What the instance's storage sustains: baseline, burst, bucket, volumes. */
export function storageProfile(instance: InstanceStorage): StorageProfile {
  const storageType = normaliseStorageType(instance.storageType);
  const allocatedGiB = instance.allocatedGiB;
  const volumes = storageType === 'other' ? 1 : stripedVolumes(instance.engine, allocatedGiB);
  const onVolumes = volumes > 1 ? `striped over ${volumes} volumes` : 'on 1 volume';
  const base = { storageType, allocatedGiB, volumes };
  switch (storageType) {
    case 'gp2': {
      const baselineIops = gp2BaselineIops(instance.engine, allocatedGiB);
      const burstIops = GP2_BURST_IOPS_PER_VOLUME * volumes;
      const burstMatters = baselineIops < burstIops;
      const bucketCredits = GP2_BUCKET_CREDITS_PER_VOLUME * volumes;
      return {
        ...base,
        baselineIops,
        throughputMiBps: undefined,
        burstIops: burstMatters ? burstIops : undefined,
        bucketCredits: burstMatters ? bucketCredits : undefined,
        burstMatters,
        summary: burstMatters
          ? `gp2, ${fmt(allocatedGiB)} GiB ${onVolumes}: baseline ${fmt(baselineIops)} IOPS (3 per GiB), bursts to ${fmt(burstIops)} IOPS while credits last (bucket ${millions(bucketCredits)} I/O credits)`
          : `gp2, ${fmt(allocatedGiB)} GiB ${onVolumes}: baseline ${fmt(baselineIops)} IOPS (3 per GiB), at or above the ${fmt(burstIops)}-IOPS burst ceiling, so no credits to run out`,
      };
    }
    case 'gp3': {
      const included = gp3Baseline(instance.engine, allocatedGiB);
      const baselineIops = Math.max(included.iops, instance.iops ?? 0);
      const throughputMiBps = Math.max(included.throughputMiBps, instance.throughputMiBps ?? 0);
      return {
        ...base,
        baselineIops,
        throughputMiBps,
        burstIops: undefined,
        bucketCredits: undefined,
        burstMatters: false,
        summary: `gp3, ${fmt(allocatedGiB)} GiB ${onVolumes}: ${fmt(baselineIops)} IOPS and ${fmt(throughputMiBps)} MiB/s sustained (${fmt(included.iops)} IOPS / ${fmt(included.throughputMiBps)} MiB/s included at this size), no burst credits`,
      };
    }
    case 'io1':
    case 'io2': {
      const baselineIops = instance.iops;
      return {
        ...base,
        baselineIops,
        throughputMiBps: undefined,
        burstIops: undefined,
        bucketCredits: undefined,
        burstMatters: false,
        summary:
          baselineIops === undefined
            ? `${storageType}, ${fmt(allocatedGiB)} GiB: provisioned IOPS not reported`
            : `${storageType}, ${fmt(allocatedGiB)} GiB ${onVolumes}: ${fmt(baselineIops)} provisioned IOPS, no burst credits`,
      };
    }
    case 'standard':
      return {
        ...base,
        baselineIops: undefined,
        throughputMiBps: undefined,
        burstIops: undefined,
        bucketCredits: undefined,
        burstMatters: false,
        // RDS "Magnetic storage": limited to a maximum of 1,000 IOPS, no sustained figure given.
        summary: `magnetic (standard), ${fmt(allocatedGiB)} GiB: no documented baseline (at most 1,000 IOPS); legacy storage, move it to gp3`,
      };
    default:
      return {
        ...base,
        baselineIops: undefined,
        throughputMiBps: undefined,
        burstIops: undefined,
        bucketCredits: undefined,
        burstMatters: false,
        summary: `storage type \`${instance.storageType}\`: not an EBS storage type this check models`,
      };
  }
}

// ---------------------------------------------------------------------------------------------
// Series arithmetic
// ---------------------------------------------------------------------------------------------

/**
 * The `p`th percentile (0–100) of `values`, interpolating linearly between the two nearest ranks
 * (the usual "type 7" definition); NaN for no values.
 */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (Math.min(100, Math.max(0, p)) / 100) * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  const low = sorted[lo] as number;
  const high = sorted[hi] as number;
  return low + (high - low) * (rank - lo);
}

function sortedByTime(series: readonly Point[] | undefined): Point[] {
  return [...(series ?? [])].filter((p) => Number.isFinite(p.v)).sort((a, b) => a.t - b.t);
}

/**
 * ReadIOPS + WriteIOPS aligned by timestamp. Timestamps present in only one of the two are dropped
 * (a half-reported period would read low), unless one series is empty altogether, when the other is
 * taken alone.
 */
export function totalIops(read: readonly Point[] | undefined, write: readonly Point[] | undefined): Point[] {
  const r = sortedByTime(read);
  const w = sortedByTime(write);
  if (r.length === 0) return w;
  if (w.length === 0) return r;
  const writes = new Map(w.map((p) => [p.t, p.v]));
  const out: Point[] = [];
  for (const p of r) {
    const wv = writes.get(p.t);
    if (wv !== undefined) out.push({ t: p.t, v: p.v + wv });
  }
  return out;
}

/** p50/p95/max/mean of a total-IOPS series, and its mean over the last hour. */
export function observedIops(
  series: readonly Point[],
  recentWindowMs = RECENT_WINDOW_MS,
): ObservedIops | undefined {
  const points = sortedByTime(series);
  if (points.length === 0) return undefined;
  const values = points.map((p) => p.v);
  const to = (points[points.length - 1] as Point).t;
  const recentValues = points.filter((p) => p.t > to - recentWindowMs).map((p) => p.v);
  return {
    p50: percentile(values, 50),
    p95: percentile(values, 95),
    max: Math.max(...values),
    mean: mean(values),
    recent: mean(recentValues),
    points: points.length,
    from: (points[0] as Point).t,
    to,
  };
}

function mean(values: readonly number[]): number {
  return values.length === 0 ? Number.NaN : values.reduce((a, b) => a + b, 0) / values.length;
}

/**
 * Seconds until a bucket of `bucketCredits` holding `balancePercent` is empty at a drain of
 * `drainCreditsPerSecond` (observed − baseline IOPS); undefined when it is not draining.
 * Burst duration = credit balance / (burst IOPS − baseline IOPS) (RDS "I/O credits and burst performance").
 */
export function timeToEmpty(
  balancePercent: number,
  bucketCredits: number,
  drainCreditsPerSecond: number,
): number | undefined {
  if (!(drainCreditsPerSecond > 0)) return undefined;
  return ((Math.max(0, balancePercent) / 100) * bucketCredits) / drainCreditsPerSecond;
}

/**
 * Seconds until the bucket is full again at a refill of `refillCreditsPerSecond` (baseline − observed
 * IOPS: a volume earns credits at its baseline rate and spends them on every I/O); undefined when it is
 * not refilling. The balance never exceeds the bucket.
 */
export function timeToFull(
  balancePercent: number,
  bucketCredits: number,
  refillCreditsPerSecond: number,
): number | undefined {
  if (!(refillCreditsPerSecond > 0)) return undefined;
  return ((100 - Math.min(100, balancePercent)) / 100) * (bucketCredits / refillCreditsPerSecond);
}

/**
 * Credits per second leaving a gp2 bucket at `observedIops`: observed − baseline, with observed capped
 * at the burst ceiling (the volume cannot go faster). Negative while it refills.
 */
export function netDrainRate(observedIopsValue: number, profile: StorageProfile): number | undefined {
  if (!profile.burstMatters || profile.baselineIops === undefined || profile.burstIops === undefined) {
    return undefined;
  }
  return Math.min(observedIopsValue, profile.burstIops) - profile.baselineIops;
}

/** When a balance series last ran out: the start of its latest run of empty points. */
export function lastHitZero(series: readonly Point[], emptyAt = EMPTY_PERCENT): ZeroRun | undefined {
  const points = sortedByTime(series);
  for (let i = points.length - 1; i >= 0; i--) {
    if ((points[i] as Point).v > emptyAt) continue;
    const recoveredAt = points[i + 1]?.t;
    let start = i;
    while (start > 0 && (points[start - 1] as Point).v <= emptyAt) start--;
    const at = (points[start] as Point).t;
    return recoveredAt === undefined ? { at } : { at, recoveredAt };
  }
  return undefined;
}

/** Least-squares slope (per hour) and the points used, over the last `windowMs` (at least 3 points). */
function recentSlopePerHour(points: readonly Point[], windowMs: number): number {
  const to = (points[points.length - 1] as Point).t;
  let used = points.filter((p) => p.t >= to - windowMs);
  if (used.length < 3) used = points.slice(-3);
  if (used.length < 2) return 0;
  const xs = used.map((p) => (p.t - to) / 3_600_000);
  const ys = used.map((p) => p.v);
  const mx = mean(xs);
  const my = mean(ys);
  let num = 0;
  let den = 0;
  for (let i = 0; i < xs.length; i++) {
    const dx = (xs[i] as number) - mx;
    num += dx * ((ys[i] as number) - my);
    den += dx * dx;
  }
  return den === 0 ? 0 : num / den;
}

/**
 * Any balance series (BurstBalance, EBSIOBalance%, EBSByteBalance%, CPUCreditBalance) as a linear trend
 * over its last hour: where it is, how fast it moves, when it reaches zero, when it last did.
 */
export function balanceForecast(
  series: readonly Point[],
  options: { windowMs?: number; emptyAt?: number } = {},
): BalanceForecast | undefined {
  const points = sortedByTime(series);
  const last = points[points.length - 1];
  if (!last) return undefined;
  const emptyAt = options.emptyAt ?? EMPTY_PERCENT;
  const slopePerHour = recentSlopePerHour(points, options.windowMs ?? RECENT_WINDOW_MS);
  const empty = last.v <= emptyAt;
  const forecast: BalanceForecast = { current: last.v, at: last.t, slopePerHour, empty };
  if (!empty && slopePerHour < 0) forecast.zeroAt = last.t + (last.v / -slopePerHour) * 3_600_000;
  const zero = lastHitZero(points, emptyAt);
  if (zero) forecast.lastHitZero = zero;
  return forecast;
}

/** How times are put into words: the zone besides UTC and the data's period. */
export interface TimeWords {
  timezone?: string;
  periodMs?: number;
}

/** Whether `recentIops` counts as at the baseline: within {@link AT_BASELINE_TOLERANCE} of it, or above. */
export function atBaseline(recentIops: number, baselineIops: number): boolean {
  return recentIops >= baselineIops * (1 - AT_BASELINE_TOLERANCE);
}

/**
 * The gp2 bucket's forecast. Rates come from the last hour's observed IOPS against the baseline
 * (drain = observed − baseline credits/s), or from the BurstBalance trend when IOPS are missing.
 *
 * Empty is decided from the balance itself: at or near 0 ({@link NEAR_EMPTY_PERCENT}) for more than one
 * period, or there now while the last hour's IOPS are at the baseline (within {@link AT_BASELINE_TOLERANCE})
 * or above it. A volume that is empty while demand is at its baseline is throttled: the IOPS read a little
 * under the baseline because that is all the volume is allowed, not because the bucket is refilling.
 */
export function burstBalanceForecast(
  profile: StorageProfile,
  burstBalance: readonly Point[],
  observed: ObservedIops | undefined,
  now: number,
  words: TimeWords = {},
): StorageForecast | undefined {
  if (!profile.burstMatters || profile.bucketCredits === undefined || profile.baselineIops === undefined)
    return undefined;
  const points = sortedByTime(burstBalance);
  const trend = balanceForecast(points, { emptyAt: NEAR_EMPTY_PERCENT });
  if (!trend) return undefined;
  const baseline = profile.baselineIops;
  const periodMs = words.periodMs ?? seriesPeriodMs(points) ?? 60_000;
  const bucket = profile.bucketCredits;
  const balancePercent = Math.min(100, Math.max(0, trend.current));
  const fromIops = observed ? netDrainRate(observed.recent, profile) : undefined;
  const basis: StorageForecast['basis'] = fromIops === undefined ? 'trend' : 'iops';
  const netCreditsPerSecond = fromIops ?? (-trend.slopePerHour / 100) * (bucket / 3600);
  const percentPerHour = ((-netCreditsPerSecond * 3600) / bucket) * 100;
  const forecast: StorageForecast = {
    balancePercent,
    at: trend.at,
    direction: 'steady',
    netCreditsPerSecond,
    percentPerHour,
    basis,
    throttled: false,
    summary: '',
  };
  if (observed && basis === 'iops') forecast.recentIops = observed.recent;
  if (trend.lastHitZero) forecast.lastHitZero = trend.lastHitZero;
  const moving = Math.abs(percentPerHour) >= 0.5;
  const pct = `${fmtPct(balancePercent)}`;
  const emptyRun = trend.empty ? trend.lastHitZero : undefined;
  // "More than a period": at least two consecutive near-empty points (their span is a period or more).
  const sustained = emptyRun !== undefined && trend.at - emptyRun.at >= periodMs * 0.9;
  const iopsAtBaseline = observed === undefined ? undefined : atBaseline(observed.recent, baseline);
  if (trend.empty && (sustained || netCreditsPerSecond >= 0 || iopsAtBaseline === true)) {
    forecast.direction = 'empty';
    forecast.throttled = iopsAtBaseline !== false;
    forecast.summary = forecast.throttled
      ? `credits empty: the storage is held to its ${fmt(baseline)}-IOPS baseline until demand drops below it`
      : `credits empty, but the last hour's ${fmt(observed?.recent)} IOPS are under the ${fmt(baseline)}-IOPS baseline: the balance should start refilling; until it does, any burst above the baseline is held back`;
  } else if (netCreditsPerSecond > 0 && moving) {
    const seconds = timeToEmpty(balancePercent, bucket, netCreditsPerSecond) as number;
    forecast.direction = 'draining';
    forecast.timeToEmptySeconds = seconds;
    forecast.emptyAt = trend.at + seconds * 1000;
    forecast.summary = `credits at ${pct} and falling ~${fmtRate(-percentPerHour)}%/h: empty in about ${formatDuration(Math.max(0, forecast.emptyAt - now))}`;
  } else if (netCreditsPerSecond < 0 && moving && balancePercent < 100 - EMPTY_PERCENT) {
    const seconds = timeToFull(balancePercent, bucket, -netCreditsPerSecond) as number;
    forecast.direction = 'refilling';
    forecast.timeToFullSeconds = seconds;
    forecast.fullAt = trend.at + seconds * 1000;
    forecast.summary = `credits at ${pct} and refilling ~${fmtRate(percentPerHour)}%/h: full in about ${formatDuration(Math.max(0, forecast.fullAt - now))}`;
  } else if (balancePercent >= 100 - EMPTY_PERCENT) {
    forecast.direction = 'full';
    forecast.summary = `credits full (${pct})`;
  } else {
    forecast.summary = `credits at ${pct}, holding steady`;
  }
  return forecast;
}

// ---------------------------------------------------------------------------------------------
// Instance-level credits
// ---------------------------------------------------------------------------------------------

interface ParsedClass {
  family: string;
  generation: number;
  size: string;
}

function parseClass(instanceClass: string): ParsedClass | undefined {
  const m = /^db\.([a-z]+)(\d+)([a-z-]*)\.(\w+)$/i.exec(instanceClass.trim());
  if (!m) return undefined;
  return {
    family: (m[1] as string).toLowerCase(),
    generation: Number(m[2]),
    size: (m[4] as string).toLowerCase(),
  };
}

/** db.t2, db.t3, db.t4g: burstable CPU with CPU credits (RDS "DB instance class types"). */
export function hasCpuCredits(instanceClass: string): boolean {
  const c = parseClass(instanceClass);
  return c !== undefined && c.family === 't';
}

/**
 * Whether the class has burstable EBS bandwidth (EBSIOBalance% / EBSByteBalance%). The metrics are
 * published for "smaller instance sizes" (RDS metrics, and EC2 "EBS-optimized instances": sizes whose
 * EBS bandwidth is listed as "up to"). Heuristic: every burstable (t) class; sizes up to 2xlarge;
 * 4xlarge from the 6th generation on. The metric's presence in CloudWatch is what settles it.
 */
export function hasBurstableEbs(instanceClass: string): boolean {
  const c = parseClass(instanceClass);
  if (!c) return false;
  if (c.family === 't') return true;
  if (['micro', 'small', 'medium', 'large', 'xlarge', '2xlarge'].includes(c.size)) return true;
  return c.size === '4xlarge' && c.generation >= 6;
}

/** Which credits can run out for this instance, storage first. */
export function applicableCredits(instance: InstanceStorage): CreditKind[] {
  const kinds: CreditKind[] = [];
  if (storageProfile(instance).burstMatters) kinds.push('BurstBalance');
  if (hasBurstableEbs(instance.instanceClass)) kinds.push('EBSIOBalance%', 'EBSByteBalance%');
  if (hasCpuCredits(instance.instanceClass)) kinds.push('CPUCreditBalance');
  return kinds;
}

const CREDIT_LABELS: Record<CreditKind, string> = {
  BurstBalance: 'storage burst credits (BurstBalance)',
  'EBSIOBalance%': 'instance EBS I/O credits (EBSIOBalance%)',
  'EBSByteBalance%': 'instance EBS throughput credits (EBSByteBalance%)',
  CPUCreditBalance: 'CPU credits (CPUCreditBalance)',
};

function creditStatus(
  kind: CreditKind,
  instance: InstanceStorage,
  applies: boolean,
  series: readonly Point[] | undefined,
  now: number,
  words: TimeWords,
): CreditStatus {
  const unit = kind === 'CPUCreditBalance' ? 'credits' : '%';
  const label = CREDIT_LABELS[kind];
  // CPU credits are a count: "empty" means below one credit.
  const forecast = balanceForecast(series ?? [], { emptyAt: unit === '%' ? EMPTY_PERCENT : 1 });
  if (!forecast) {
    return {
      kind,
      label,
      unit,
      applies,
      missing: true,
      inVerdict: false,
      summary: `${label}: no data in the window`,
    };
  }
  const value = unit === '%' ? `${fmtPct(forecast.current)}` : `${fmt(forecast.current)} credits`;
  let summary: string;
  const periodMs = words.periodMs ?? seriesPeriodMs(series ?? []);
  const when = (at: number) => formatSince(at, now, { ...words, ...(periodMs ? { periodMs } : {}) });
  if (forecast.empty) {
    const since = forecast.lastHitZero ? ` ${when(forecast.lastHitZero.at)}` : '';
    summary = `${label}: exhausted${since}`;
    if (kind === 'CPUCreditBalance') {
      // db.t3/db.t4g run in Unlimited mode on RDS (surplus credits are billed); db.t2 is held to its
      // baseline (RDS "DB instance class types": https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/Concepts.DBInstanceClass.Types.html).
      summary += instance.instanceClass.toLowerCase().startsWith('db.t2.')
        ? ' — the CPU is held to its baseline'
        : ' — Unlimited mode bills the surplus instead of throttling';
    } else if (kind !== 'BurstBalance') {
      summary += ' — EBS bandwidth is held to the instance class baseline';
    }
  } else if (forecast.zeroAt !== undefined) {
    const rate =
      unit === '%' ? `${fmtRate(-forecast.slopePerHour)}%/h` : `${fmt(-forecast.slopePerHour)} credits/h`;
    summary = `${label}: ${value}, falling ~${rate}, empty in about ${formatDuration(Math.max(0, forecast.zeroAt - now))}`;
  } else {
    summary = `${label}: ${value}${forecast.slopePerHour > 0 ? ', rising' : ''}`;
    if (forecast.lastHitZero?.recoveredAt !== undefined) {
      summary += ` (ran out ${when(forecast.lastHitZero.at).replace(/^since /, 'at ')})`;
    }
  }
  return { kind, label, unit, applies, missing: false, forecast, inVerdict: false, summary };
}

// ---------------------------------------------------------------------------------------------
// Costs and recommendations
// ---------------------------------------------------------------------------------------------

/** A storage configuration to price. */
export interface StorageConfig {
  engine: string;
  storageType: string;
  allocatedGiB: number;
  iops?: number;
  throughputMiBps?: number;
  multiAz?: boolean;
}

/** Monthly storage cost in USD, or undefined for a type without prices here. */
export function monthlyStorageCost(
  config: StorageConfig,
  prices: StoragePrices = defaultStoragePrices,
): number | undefined {
  const az = config.multiAz ? 2 : 1;
  const gib = config.allocatedGiB;
  switch (config.storageType.toLowerCase()) {
    case 'gp2':
      return az * gib * prices.gp2PerGiBMonth;
    case 'gp3': {
      const included = gp3Baseline(config.engine, gib);
      const extraIops = Math.max(0, (config.iops ?? included.iops) - included.iops);
      const extraThroughput = Math.max(
        0,
        (config.throughputMiBps ?? included.throughputMiBps) - included.throughputMiBps,
      );
      return (
        az *
        (gib * prices.gp3PerGiBMonth +
          extraIops * prices.gp3PerIopsMonth +
          extraThroughput * prices.gp3PerMiBpsMonth)
      );
    }
    case 'io1':
      return az * (gib * prices.io1PerGiBMonth + (config.iops ?? 0) * prices.io1PerIopsMonth);
    case 'io2':
      return az * (gib * prices.io2PerGiBMonth + (config.iops ?? 0) * prices.io2PerIopsMonth);
    default:
      return undefined;
  }
}

/** Smallest gp2 allocation (never below the current one) whose baseline covers `targetIops`. */
export function smallestGp2Covering(
  engine: string,
  targetIops: number,
  atLeastGiB: number,
): number | undefined {
  const cap =
    stripingThresholdGiB(engine) === undefined
      ? GP2_MAX_IOPS_PER_VOLUME
      : GP2_MAX_IOPS_PER_VOLUME * STRIPED_VOLUMES;
  if (targetIops > cap) return undefined;
  let gib = Math.max(atLeastGiB, GENERAL_PURPOSE_MIN_GIB, Math.ceil(targetIops / GP2_IOPS_PER_GIB));
  while (gp2BaselineIops(engine, gib) < targetIops) gib++;
  return gib;
}

function usd(n: number): string {
  return `$${NUMBER.cents.format(n)}`;
}

/** A unit price: "$0.125", "$0.02", "$0.08". */
function price(n: number): string {
  return `$${NUMBER.unitPrice.format(n)}`;
}

function delta(n: number): string {
  if (Math.abs(n) < 0.005) return 'no change in cost';
  return `${n > 0 ? '+' : '−'}${usd(Math.abs(n))}/month`;
}

/** Changes that would carry `targetIops`, each priced against the current configuration. */
export function recommendStorage(
  instance: InstanceStorage,
  targetIops: number,
  prices: StoragePrices = defaultStoragePrices,
): Recommendation[] {
  const engine = instance.engine;
  const multiAz = instance.multiAz ?? false;
  const current = monthlyStorageCost(instance, prices) ?? 0;
  const profile = storageProfile(instance);
  const out: Recommendation[] = [];

  // 1. A bigger gp2 volume, only when the current one does not already carry the load on baseline.
  const gp2Gib = smallestGp2Covering(engine, targetIops, instance.allocatedGiB);
  if (gp2Gib !== undefined && !(profile.storageType === 'gp2' && gp2Gib <= instance.allocatedGiB)) {
    const baselineIops = gp2BaselineIops(engine, gp2Gib);
    const cost = monthlyStorageCost(
      { engine, storageType: 'gp2', allocatedGiB: gp2Gib, multiAz },
      prices,
    ) as number;
    out.push({
      kind: 'gp2-size',
      title: `Grow gp2 to ${fmt(gp2Gib)} GiB`,
      detail: `baseline ${fmt(baselineIops)} IOPS (3 per GiB) covers ${fmt(targetIops)} IOPS without spending credits; ${usd(cost)}/month at ${price(prices.gp2PerGiBMonth)}/GiB-month, ${delta(cost - current)}. Storage can never be shrunk afterwards.`,
      storageType: 'gp2',
      allocatedGiB: gp2Gib,
      baselineIops,
      monthlyCostUsd: cost,
      monthlyCostDeltaUsd: cost - current,
    });
  }

  // 2. gp3: the included baseline at this size, growing to the striping threshold (where RDS includes
  // 12,000 IOPS and IOPS become provisionable) or provisioning above it when that is not enough.
  const gp3 = gp3For(engine, targetIops, Math.max(instance.allocatedGiB, GENERAL_PURPOSE_MIN_GIB));
  const alreadyGp3 =
    profile.storageType === 'gp3' &&
    gp3.allocatedGiB <= instance.allocatedGiB &&
    gp3.iops <= (profile.baselineIops ?? 0);
  if (gp3.feasible && !alreadyGp3) {
    const throughputMiBps = Math.max(gp3.included.throughputMiBps, instance.throughputMiBps ?? 0);
    const cost = monthlyStorageCost(
      {
        engine,
        storageType: 'gp3',
        allocatedGiB: gp3.allocatedGiB,
        iops: gp3.iops,
        throughputMiBps,
        multiAz,
      },
      prices,
    ) as number;
    const provisioned = gp3.iops > gp3.included.iops;
    const grow =
      gp3.allocatedGiB > instance.allocatedGiB
        ? `grown to ${fmt(gp3.allocatedGiB)} GiB`
        : `at ${fmt(gp3.allocatedGiB)} GiB`;
    const rec: Recommendation = {
      kind: 'gp3',
      title: `Move to gp3 ${grow}${provisioned ? ` with ${fmt(gp3.iops)} IOPS` : ''}`,
      detail: `${provisioned ? `${fmt(gp3.iops)} provisioned IOPS (${fmt(gp3.included.iops)} included)` : `${fmt(gp3.included.iops)} IOPS and ${fmt(gp3.included.throughputMiBps)} MiB/s included`} at that size, no credits to run out; covers ${fmt(targetIops)} IOPS; ${usd(cost)}/month at ${price(prices.gp3PerGiBMonth)}/GiB-month${provisioned ? ` + ${price(prices.gp3PerIopsMonth)}/IOPS-month above the included` : ''}, ${delta(cost - current)}.`,
      storageType: 'gp3',
      allocatedGiB: gp3.allocatedGiB,
      baselineIops: gp3.iops,
      throughputMiBps,
      monthlyCostUsd: cost,
      monthlyCostDeltaUsd: cost - current,
    };
    if (provisioned) rec.provisionedIops = gp3.iops;
    out.push(rec);
  }

  // 3. Provisioned IOPS, io2 and io1, each sized to the target within its allowed IOPS:GiB range.
  const alreadyIo =
    (profile.storageType === 'io1' || profile.storageType === 'io2') &&
    (profile.baselineIops ?? 0) >= targetIops;
  if (!alreadyIo) {
    for (const storageType of ['io2', 'io1'] as const) {
      const sized = provisionedIopsFor(storageType, targetIops, instance.allocatedGiB);
      if (!sized) continue;
      const cost = monthlyStorageCost(
        { engine, storageType, allocatedGiB: sized.allocatedGiB, iops: sized.iops, multiAz },
        prices,
      ) as number;
      const [perGiB, perIops] =
        storageType === 'io1'
          ? [prices.io1PerGiBMonth, prices.io1PerIopsMonth]
          : [prices.io2PerGiBMonth, prices.io2PerIopsMonth];
      out.push({
        kind: 'provisioned-iops',
        title: `Provisioned IOPS: ${storageType} with ${fmt(sized.iops)} IOPS${sized.allocatedGiB > instance.allocatedGiB ? ` on ${fmt(sized.allocatedGiB)} GiB` : ''}`,
        detail: `${fmt(sized.iops)} IOPS sustained whatever the load (${storageType} allows ${fmt(storageType === 'io1' ? IO1_MAX_IOPS_PER_GIB : IO2_MAX_IOPS_PER_GIB)} IOPS per GiB, at least ${fmt(storageType === 'io1' ? IO1_MIN_IOPS : IO2_MIN_IOPS)} IOPS on ${fmt(storageType === 'io1' ? IO1_MIN_GIB : IO2_MIN_GIB)} GiB); ${usd(cost)}/month at ${price(perGiB)}/GiB-month + ${price(perIops)}/IOPS-month, ${delta(cost - current)}.`,
        storageType,
        allocatedGiB: sized.allocatedGiB,
        baselineIops: sized.iops,
        provisionedIops: sized.iops,
        monthlyCostUsd: cost,
        monthlyCostDeltaUsd: cost - current,
      });
    }
  }
  // Cheapest first; at the same cost, the simpler change first (io2 before io1: same price, more durable).
  const order: Record<Recommendation['storageType'], number> = { gp2: 0, gp3: 1, io2: 2, io1: 3 };
  return out.sort(
    (a, b) => a.monthlyCostUsd - b.monthlyCostUsd || order[a.storageType] - order[b.storageType],
  );
}

/** Provisioned IOPS on RDS (io1, io2): at most 256,000 IOPS (RDS "Provisioned IOPS SSD storage", link above). */
export const PROVISIONED_MAX_IOPS = 256_000;

/**
 * io1 or io2 sized to `targetIops` exactly: at least the type's minimum IOPS and storage, storage grown
 * (never shrunk) until the IOPS fit the type's IOPS:GiB ceiling, IOPS raised to 0.5 per GiB when the
 * storage is large; undefined above the RDS ceiling.
 */
export function provisionedIopsFor(
  storageType: 'io1' | 'io2',
  targetIops: number,
  atLeastGiB: number,
): { iops: number; allocatedGiB: number } | undefined {
  const [minIops, minGib, maxPerGib] =
    storageType === 'io1'
      ? [IO1_MIN_IOPS, IO1_MIN_GIB, IO1_MAX_IOPS_PER_GIB]
      : [IO2_MIN_IOPS, IO2_MIN_GIB, IO2_MAX_IOPS_PER_GIB];
  let iops = Math.max(minIops, Math.ceil(targetIops));
  const allocatedGiB = Math.max(atLeastGiB, minGib, Math.ceil(iops / maxPerGib));
  iops = Math.max(iops, Math.ceil(allocatedGiB * PROVISIONED_MIN_IOPS_PER_GIB));
  return iops > PROVISIONED_MAX_IOPS ? undefined : { iops, allocatedGiB };
}

function gp3For(
  engine: string,
  targetIops: number,
  atLeastGiB: number,
): {
  feasible: boolean;
  allocatedGiB: number;
  iops: number;
  included: { iops: number; throughputMiBps: number };
} {
  const threshold = stripingThresholdGiB(engine);
  let allocatedGiB = atLeastGiB;
  let included = gp3Baseline(engine, allocatedGiB);
  if (targetIops <= included.iops) return { feasible: true, allocatedGiB, iops: included.iops, included };
  const iops = Math.ceil(targetIops);
  if (threshold === undefined) {
    // SQL Server: provisionable from 3,000 to 16,000 IOPS, at most 500 per GiB.
    allocatedGiB = Math.max(allocatedGiB, Math.ceil(iops / GP3_MAX_IOPS_PER_GIB));
    return { feasible: iops <= GP3_MAX_IOPS_SQLSERVER, allocatedGiB, iops, included };
  }
  // Below the threshold gp3 IOPS cannot be provisioned on RDS: grow to it (12,000 included).
  allocatedGiB = Math.max(allocatedGiB, threshold, Math.ceil(iops / GP3_MAX_IOPS_PER_GIB));
  included = gp3Baseline(engine, allocatedGiB);
  const sized = Math.max(included.iops, iops);
  return { feasible: sized <= GP3_MAX_IOPS_STRIPED, allocatedGiB, iops: sized, included };
}

// ---------------------------------------------------------------------------------------------
// The investigation
// ---------------------------------------------------------------------------------------------

/**
 * The metrics read beside the credits: what a full queue and slow I/O look like. `DiskQueueDepth` counts
 * outstanding I/Os; `ReadLatency` / `WriteLatency` are seconds per I/O (RDS metrics:
 * https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/rds-metrics.html).
 */
const LOAD_METRICS: readonly { metric: LoadMetric; label: string; floor: number }[] = [
  // An average queue of 1 or more outstanding I/Os, or 2 ms more per I/O, is where people feel it.
  { metric: 'DiskQueueDepth', label: 'DiskQueueDepth', floor: 1 },
  { metric: 'ReadLatency', label: 'read latency', floor: 0.002 },
  { metric: 'WriteLatency', label: 'write latency', floor: 0.002 },
];

/** A latency (seconds, as CloudWatch reports it) or a queue depth, for people. */
function fmtLoad(metric: LoadMetric, v: number): string {
  if (metric === 'DiskQueueDepth') return v < 10 ? v.toFixed(1) : fmt(v);
  const ms = v * 1000;
  return `${ms < 10 ? ms.toFixed(1) : fmt(ms)} ms`;
}

/**
 * DiskQueueDepth and read/write latency: the last hour's mean against the median before `episodeStart`
 * (when the credits ran out, else the start of the last hour). Risen means at least twice the usual level
 * and above a floor that matters; `troubled` (throttled, draining or at the IOPS limit) marks it as rising
 * with the throttling.
 */
export function loadSignals(
  series: Record<string, readonly Point[]>,
  episodeStart: number | undefined,
  troubled: boolean,
): LoadSignal[] {
  const out: LoadSignal[] = [];
  for (const { metric, label, floor } of LOAD_METRICS) {
    const points = sortedByTime(series[metric]);
    const last = points[points.length - 1];
    if (!last) continue;
    const recentFrom = last.t - RECENT_WINDOW_MS;
    const recent = mean(points.filter((p) => p.t > recentFrom).map((p) => p.v));
    const before = points.filter((p) => p.t < Math.min(recentFrom, episodeStart ?? recentFrom));
    const usual =
      before.length >= 3
        ? percentile(
            before.map((p) => p.v),
            50,
          )
        : undefined;
    const risen = usual !== undefined && recent >= 2 * usual && recent - usual >= floor;
    const signal: LoadSignal = {
      metric,
      recent,
      risen,
      withThrottling: risen && troubled,
      summary:
        usual === undefined
          ? `${label} ${fmtLoad(metric, recent)} in the last hour (too little data before it for a usual level)`
          : risen
            ? `${label} ${fmtLoad(metric, recent)} in the last hour against a usual ${fmtLoad(metric, usual)} (${ratio(recent, usual)})`
            : `${label} ${fmtLoad(metric, recent)} in the last hour, near its usual ${fmtLoad(metric, usual)}`,
    };
    if (usual !== undefined) signal.usual = usual;
    out.push(signal);
  }
  return out;
}

function ratio(recent: number, usual: number): string {
  if (usual <= 0) return 'up from nothing';
  const r = recent / usual;
  return `${r < 10 ? r.toFixed(1).replace(/\.0$/, '') : fmt(r)}×`;
}

/** The whole report: verdict, facts, forecast, every credit, recommendations. */
export function investigateIoCredits(input: IoCreditsInput): IoCreditsReport {
  const { instance, now } = input;
  const prices: StoragePrices = { ...defaultStoragePrices, ...stripUndefined(input.prices ?? {}) };
  const profile = storageProfile(instance);
  const iopsSeries = input.series.TotalIOPS ?? totalIops(input.series.ReadIOPS, input.series.WriteIOPS);
  const observed = observedIops(iopsSeries);
  const burstBalance = input.series.BurstBalance ?? [];
  const periodMs =
    input.periodSeconds !== undefined
      ? input.periodSeconds * 1000
      : seriesPeriodMs(burstBalance.length > 1 ? burstBalance : iopsSeries);
  const words: TimeWords = {
    ...(input.timezone ? { timezone: input.timezone } : {}),
    ...(periodMs ? { periodMs } : {}),
  };
  const forecast = burstBalanceForecast(profile, burstBalance, observed, now, words);

  const facts: string[] = [profile.summary];
  if (observed) {
    facts.push(
      `observed total IOPS over ${formatDuration(observed.to - observed.from)}: p50 ${fmt(observed.p50)}, p95 ${fmt(observed.p95)}, max ${fmt(observed.max)}; last hour ${fmt(observed.recent)}`,
    );
  } else {
    facts.push('no ReadIOPS/WriteIOPS data in the window');
  }

  // Credits: storage first, then the instance's.
  const applicable = new Set(applicableCredits(instance));
  const kinds: CreditKind[] = ['BurstBalance', 'EBSIOBalance%', 'EBSByteBalance%', 'CPUCreditBalance'];
  const credits = kinds
    .filter((k) => applicable.has(k) || (input.series[k]?.length ?? 0) > 0)
    .map((k) => creditStatus(k, instance, applicable.has(k), input.series[k], now, words));

  let severity: IoCreditsReport['severity'];
  let verdict: string;
  /** The storage is, or within a day will be, what limits the database: recommendations follow. */
  let storageShort = false;
  /** IOPS the demand is known to reach at least (observed p95, or the baseline it is held to). */
  let demandIops = observed?.p95;
  let demandWords = observed ? `observed p95 ${fmt(observed.p95)} IOPS` : '';
  const p95 = observed ? `observed p95 ${fmt(observed.p95)} IOPS` : 'no IOPS observed';
  const baseline = profile.baselineIops;

  if (profile.storageType === 'gp2' && profile.burstMatters && baseline !== undefined) {
    const zero = forecast?.lastHitZero;
    if (forecast?.direction === 'empty') {
      const since = zero ? ` ${formatSince(zero.at, now, words)}` : '';
      const recent =
        forecast.recentIops !== undefined
          ? ` (last hour ${fmtNear(forecast.recentIops, baseline)} IOPS, ${fmtNear((forecast.recentIops / baseline) * 100, 100)}% of it)`
          : '';
      storageShort = true;
      if (forecast.throttled) {
        severity = 'critical';
        verdict = `throttled: credits exhausted${since}; held to the ${fmt(baseline)}-IOPS baseline${recent}; ${p95}`;
        // Held to the baseline, the volume shows no more than the baseline: demand is at least that.
        if (demandIops === undefined || demandIops < baseline) {
          demandIops = baseline;
          demandWords = `the ${fmt(baseline)}-IOPS baseline it is held to (demand above it does not show while throttled)`;
        }
      } else {
        severity = 'warning';
        verdict = `credits exhausted${since}; last hour ${fmt(forecast.recentIops)} IOPS, ${fmtPct(((forecast.recentIops ?? 0) / baseline) * 100)} of the ${fmt(baseline)}-IOPS baseline: under it, so the balance should start refilling — until it does, every burst above the baseline is held back; ${p95}`;
      }
    } else if (forecast?.direction === 'draining') {
      const soon = (forecast.emptyAt as number) - now <= 24 * 3_600_000;
      severity = soon ? 'warning' : 'ok';
      storageShort = soon;
      verdict = forecast.summary;
      if (soon && forecast.recentIops !== undefined && (demandIops ?? 0) < forecast.recentIops) {
        demandIops = forecast.recentIops;
        demandWords = `the last hour's ${fmt(forecast.recentIops)} IOPS`;
      }
    } else if (forecast) {
      const target = observed ? Math.ceil(observed.p95 * (1 + HEADROOM)) : undefined;
      const recent = forecast.recentIops;
      if (
        forecast.direction === 'steady' &&
        forecast.balancePercent < LOW_PERCENT &&
        recent !== undefined &&
        atBaseline(recent, baseline)
      ) {
        // Not empty yet, but spending what it earns: the next burst empties it.
        severity = 'warning';
        storageShort = true;
        verdict = `credits at ${fmtPct(forecast.balancePercent)} with the last hour at ${fmt(recent)} IOPS on the ${fmt(baseline)}-IOPS baseline: no burst headroom left, the next burst empties them; ${p95}`;
        if (demandIops === undefined || demandIops < baseline) {
          demandIops = baseline;
          demandWords = `the ${fmt(baseline)}-IOPS baseline the load runs at`;
        }
      } else if (zero?.recoveredAt !== undefined && target !== undefined && target > baseline) {
        // Ran out inside the window, and the load that did it is still the load: it will happen again.
        severity = 'warning';
        storageShort = true;
        verdict = `credits ran out in this window (${formatSince(zero.at, now, words).replace(/^since /, 'from ')}, for ${formatElapsed(zero.recoveredAt - zero.at)}); ${forecast.summary}; baseline ${fmt(baseline)} IOPS, ${p95}`;
      } else {
        severity = 'ok';
        verdict = `${forecast.summary}; baseline ${fmt(baseline)} IOPS, ${p95}`;
      }
    } else {
      severity = 'unknown';
      verdict = `no BurstBalance data; baseline ${fmt(baseline)} IOPS, ${p95}`;
    }
    if (
      forecast?.basis === 'iops' &&
      forecast.recentIops !== undefined &&
      (forecast.direction === 'draining' || forecast.direction === 'refilling')
    ) {
      const net = forecast.netCreditsPerSecond;
      facts.push(
        `last hour ${fmt(forecast.recentIops)} IOPS against the ${fmt(baseline)} baseline: ${net >= 0 ? `draining ${fmt(net)}` : `refilling ${fmt(-net)}`} credits/s of a ${millions(profile.bucketCredits as number)}-credit bucket`,
      );
    }
    if (zero?.recoveredAt !== undefined && !verdict.includes('ran out')) {
      facts.push(
        `credits last ran out ${formatSince(zero.at, now, words).replace(/^since /, 'at ')}, for ${formatElapsed(zero.recoveredAt - zero.at)}`,
      );
    }
  } else if (baseline === undefined) {
    severity = 'unknown';
    verdict = `${profile.storageType === 'other' ? `storage type ${instance.storageType}` : profile.storageType}: no IOPS baseline to compare against; ${p95}`;
  } else {
    const what =
      profile.storageType === 'gp2'
        ? `gp2 at ${fmt(profile.allocatedGiB)} GiB has a ${fmt(baseline)}-IOPS baseline above the burst ceiling`
        : profile.storageType === 'gp3'
          ? `no burst credits on gp3: baseline ${fmt(baseline)} IOPS`
          : `no burst credits on ${profile.storageType}: ${fmt(baseline)} provisioned IOPS`;
    if (!observed) {
      severity = 'unknown';
      verdict = `${what}; ${p95}`;
    } else if (observed.p95 <= 0.9 * baseline) {
      severity = 'ok';
      verdict = `${what} ${profile.storageType === 'io1' || profile.storageType === 'io2' ? 'cover' : 'covers'} observed p95 ${fmt(observed.p95)}`;
    } else {
      severity = 'warning';
      storageShort = true;
      verdict = `${what}; observed p95 ${fmt(observed.p95)} IOPS is ${fmt((observed.p95 / baseline) * 100)}% of it: storage IOPS are the limit`;
    }
  }

  // Instance-level credits that are out or about to be join the verdict (and are shown only there).
  for (const c of credits) {
    if (c.kind === 'BurstBalance' || !c.forecast) continue;
    const f = c.forecast;
    if (!(f.empty || (f.zeroAt !== undefined && f.zeroAt - now <= 6 * 3_600_000))) continue;
    c.inVerdict = true;
    verdict += `; ${c.summary}`;
    if (c.kind !== 'CPUCreditBalance' && severity !== 'critical') severity = f.empty ? 'critical' : 'warning';
    if (c.kind === 'CPUCreditBalance' && (severity === 'ok' || severity === 'unknown')) severity = 'warning';
  }
  // Credits with no data that should have some: said once, here (the others are in the forecast).
  for (const c of credits) if (c.missing && c.applies) facts.push(c.summary);

  // Queue depth and latency against their usual level, and whether they rose with the throttling.
  const episodeStart =
    forecast?.direction === 'empty' ? (forecast.lastHitZero?.at ?? forecast.at) : undefined;
  const signals = loadSignals(input.series, episodeStart, storageShort);
  const rising = signals.filter((x) => x.withThrottling);
  let impact: string | undefined;
  if (rising.length > 0) {
    const when =
      forecast?.direction === 'empty'
        ? 'Since the credits ran out'
        : forecast?.direction === 'draining'
          ? 'While the credits drain'
          : 'With the storage at its IOPS limit';
    impact = `${when}, ${rising.map((x) => x.summary).join('; ')}: queries are waiting on storage.`;
  }
  for (const x of signals) if (!x.withThrottling) facts.push(x.summary);

  const report: IoCreditsReport = {
    instanceId: instance.id,
    severity,
    verdict,
    facts,
    profile,
    credits,
    signals,
    recommendations: [],
    prices,
  };
  if (impact) report.impact = impact;
  if (observed) report.observed = observed;
  if (forecast) report.forecast = forecast;
  const currentCost = monthlyStorageCost(instance, prices);
  if (currentCost !== undefined) report.currentMonthlyCostUsd = currentCost;

  if (demandIops !== undefined && storageShort) {
    const targetIops = Math.ceil(demandIops * (1 + HEADROOM));
    report.targetIops = targetIops;
    report.recommendations = recommendStorage(instance, targetIops, prices);
    if (report.recommendations.length > 0) {
      facts.push(
        `recommendations are sized for ${demandWords} + ${fmt(HEADROOM * 100)}% headroom = ${fmt(targetIops)} IOPS, cheapest first; ${pricesWords(prices)}`,
      );
    }
  }
  return report;
}

/** RDS for MySQL list prices in us-east-1, the defaults of `ioCredits.prices`. */
export const RDS_PRICING_DOCUMENT = 'https://aws.amazon.com/rds/mysql/pricing/';

function pricesWords(prices: StoragePrices): string {
  const same = (Object.keys(defaultStoragePrices) as (keyof StoragePrices)[]).every(
    (k) => prices[k] === defaultStoragePrices[k],
  );
  return same
    ? `prices are us-east-1 RDS for MySQL list prices per AZ (${RDS_PRICING_DOCUMENT}; set ioCredits.prices for another region)`
    : 'prices as configured in ioCredits.prices';
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

// ---------------------------------------------------------------------------------------------
// Words
// ---------------------------------------------------------------------------------------------

/** "45 s", "12 min", "7 h", "3 days": rounded for people. */
export function formatDuration(ms: number): string {
  const s = Math.max(0, ms) / 1000;
  if (s < 90) return `${Math.round(s)} s`;
  const min = s / 60;
  if (min < 90) return `${Math.round(min)} min`;
  const h = min / 60;
  if (h < 48) return `${Math.round(h)} h`;
  return `${Math.round(h / 24)} days`;
}

/**
 * A series' period: the median spacing of its points (gaps where CloudWatch had no data do not move a
 * median), or undefined with fewer than two points.
 */
export function seriesPeriodMs(series: readonly Point[]): number | undefined {
  const points = sortedByTime(series);
  const gaps: number[] = [];
  for (let i = 1; i < points.length; i++) {
    const gap = (points[i] as Point).t - (points[i - 1] as Point).t;
    if (gap > 0) gaps.push(gap);
  }
  return gaps.length === 0 ? undefined : percentile(gaps, 50);
}

/** "45 s", "35 min", "2 h 35 min", "3 days 4 h": an elapsed time, exact to the minute (to the hour from 2 days). */
export function formatElapsed(ms: number): string {
  const s = Math.max(0, ms) / 1000;
  if (s < 90) return `${Math.round(s)} s`;
  const totalMin = Math.round(s / 60);
  if (totalMin < 60) return `${totalMin} min`;
  const days = Math.floor(totalMin / 1440);
  if (days >= 2) {
    const h = Math.round((totalMin - days * 1440) / 60);
    return h === 24 ? `${days + 1} days` : h === 0 ? `${days} days` : `${days} days ${h} h`;
  }
  const h = Math.floor(totalMin / 60);
  const min = totalMin - h * 60;
  return min === 0 ? `${h} h` : `${h} h ${min} min`;
}

const clockFormats = new Map<string, { hhmm: Intl.DateTimeFormat; day: Intl.DateTimeFormat }>();

function clock(t: number, timeZone: string, now: number): string {
  let formats = clockFormats.get(timeZone);
  if (!formats) {
    formats = {
      hhmm: new Intl.DateTimeFormat('en-GB', {
        timeZone,
        hour: '2-digit',
        minute: '2-digit',
        hourCycle: 'h23',
      }),
      day: new Intl.DateTimeFormat('en-GB', { timeZone, day: 'numeric', month: 'short' }),
    };
    clockFormats.set(timeZone, formats);
  }
  const { hhmm, day } = formats;
  const date = day.format(t) === day.format(now) ? '' : `${day.format(t)} `;
  return `${date}${hhmm.format(t)}`;
}

/**
 * "since 02:20 UTC / 03:20 Europe/Paris, 2 h 35 min ago": when something began, in UTC and the configured
 * zone (the day too when it is not today there), and how long ago, both precise to the data's period (the
 * elapsed time is rounded to a whole number of periods; a datapoint's timestamp is the start of its period).
 */
export function formatSince(at: number, now: number, words: TimeWords = {}): string {
  const period = Math.max(60_000, words.periodMs ?? 60_000);
  const elapsed = Math.round(Math.max(0, now - at) / period) * period;
  const zone = words.timezone && words.timezone !== 'UTC' ? words.timezone : undefined;
  const local = zone ? ` / ${clock(at, zone, now)} ${zone}` : '';
  return `since ${clock(at, 'UTC', now)} UTC${local}, ${formatElapsed(elapsed)} ago`;
}

// Built once: `toLocaleString` with a locale builds a formatter on every call, which dominated a report's time.
const NUMBER = {
  whole: new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 }),
  tenths: new Intl.NumberFormat('en-US', { maximumFractionDigits: 1 }),
  cents: new Intl.NumberFormat('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 }),
  unitPrice: new Intl.NumberFormat('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 4 }),
};

function fmt(n: number | undefined): string {
  if (n === undefined || !Number.isFinite(n)) return '?';
  return NUMBER.whole.format(Math.round(n));
}

/**
 * `n` rounded for people, except that a value just under `mark` keeps one decimal instead of rounding up
 * onto it: a throttled volume's 599.9 IOPS on a 600 baseline reads "599.9", not "600".
 */
function fmtNear(n: number, mark: number): string {
  if (!(n < mark && Math.round(n) >= mark)) return fmt(n);
  const tenth = Math.round(n * 10) / 10;
  return (tenth < mark ? tenth : Math.floor(n * 10) / 10).toFixed(1);
}

function fmtPct(n: number): string {
  return `${Math.round(n)}%`;
}

function fmtRate(n: number): string {
  return Math.abs(n) < 10 ? n.toFixed(1).replace(/\.0$/, '') : String(Math.round(n));
}

function millions(credits: number): string {
  return `${NUMBER.tenths.format(credits / 1_000_000)} million`;
}

/** The RDS storage page, for a "see" link in rendered reports. */
export const RDS_STORAGE_DOCUMENT = RDS_STORAGE_DOC;
