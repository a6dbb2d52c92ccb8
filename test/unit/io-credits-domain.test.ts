import { describe, expect, it } from 'vitest';
import {
  applicableCredits,
  balanceForecast,
  defaultStoragePrices,
  formatDuration,
  formatElapsed,
  formatSince,
  gp2BaselineIops,
  hasBurstableEbs,
  hasCpuCredits,
  type InstanceStorage,
  investigateIoCredits,
  lastHitZero,
  monthlyStorageCost,
  observedIops,
  type Point,
  percentile,
  provisionedIopsFor,
  recommendStorage,
  seriesPeriodMs,
  smallestGp2Covering,
  storagePricesSchema,
  storageProfile,
  timeToEmpty,
  timeToFull,
  totalIops,
} from '../../src/domain/io-credits.js';
import { ioCreditsReportText } from '../../src/slack/blocks/io-credits.js';
import { prng as seeded } from '../helpers/prng.js';

const H = 3_600_000;
const NOW = Date.UTC(2026, 10, 22, 12, 0, 0);

/** A series every `stepMin` minutes over the last `hours`, value from hours relative to NOW (≤ 0). */
function series(f: (h: number) => number, hours = 24, stepMin = 5): Point[] {
  const out: Point[] = [];
  for (let t = NOW - hours * H; t <= NOW; t += stepMin * 60_000) out.push({ t, v: f((t - NOW) / H) });
  return out;
}

const gp2_100: InstanceStorage = {
  id: 'orders-db',
  engine: 'mysql',
  instanceClass: 'db.m5.large',
  storageType: 'gp2',
  allocatedGiB: 100,
};

describe('storageProfile: gp2 (RDS "General Purpose SSD storage")', () => {
  it('gives 3 IOPS per GiB: 100 GiB → 300 IOPS, bursting to 3,000 from a 5.4-million-credit bucket', () => {
    const p = storageProfile(gp2_100);
    expect(p.baselineIops).toBe(300);
    expect(p.burstIops).toBe(3_000);
    expect(p.bucketCredits).toBe(5_400_000);
    expect(p.volumes).toBe(1);
    expect(p.burstMatters).toBe(true);
  });

  it('floors the baseline at 100 IOPS: 33 GiB → 100, 20 GiB → 100', () => {
    expect(storageProfile({ ...gp2_100, allocatedGiB: 33 }).baselineIops).toBe(100);
    expect(storageProfile({ ...gp2_100, allocatedGiB: 20 }).baselineIops).toBe(100);
    expect(storageProfile({ ...gp2_100, allocatedGiB: 34 }).baselineIops).toBe(102);
  });

  it('caps one volume at 16,000 IOPS (SQL Server, never striped): 6,000 GiB → 16,000', () => {
    const p = storageProfile({ ...gp2_100, engine: 'sqlserver-se', allocatedGiB: 6_000 });
    expect(p.volumes).toBe(1);
    expect(p.baselineIops).toBe(16_000);
    expect(p.burstMatters).toBe(false);
    expect(p.bucketCredits).toBeUndefined();
  });

  it('stripes MySQL from 400 GiB over 4 volumes: 6,000 GiB → 4 × 4,500 = 18,000 IOPS, no burst', () => {
    const p = storageProfile({ ...gp2_100, allocatedGiB: 6_000 });
    expect(p.volumes).toBe(4);
    expect(p.baselineIops).toBe(18_000);
    expect(p.burstMatters).toBe(false);
    expect(gp2BaselineIops('mysql', 30_000)).toBe(64_000);
  });

  it('at 400 GiB striped: baseline unchanged (1,200), burst and bucket four times one volume', () => {
    const p = storageProfile({ ...gp2_100, allocatedGiB: 400 });
    expect(p.volumes).toBe(4);
    expect(p.baselineIops).toBe(1_200);
    expect(p.burstIops).toBe(12_000);
    expect(p.bucketCredits).toBe(21_600_000);
    expect(storageProfile({ ...gp2_100, allocatedGiB: 399 }).volumes).toBe(1);
    // Oracle stripes from 200 GiB.
    expect(storageProfile({ ...gp2_100, engine: 'oracle-ee', allocatedGiB: 200 }).volumes).toBe(4);
  });

  it('says burst does not matter once the baseline reaches the ceiling: 1,000 GiB on one volume', () => {
    const p = storageProfile({ ...gp2_100, engine: 'sqlserver-ex', allocatedGiB: 1_000 });
    expect(p.baselineIops).toBe(3_000);
    expect(p.burstMatters).toBe(false);
  });
});

describe('storageProfile: gp3, io1, others', () => {
  it('gp3 under 400 GiB: 3,000 IOPS / 125 MiB/s; from 400 GiB: 12,000 / 500; provisioned above that', () => {
    const small = storageProfile({ ...gp2_100, storageType: 'gp3', iops: 3000, throughputMiBps: 125 });
    expect([small.baselineIops, small.throughputMiBps, small.burstMatters]).toEqual([3_000, 125, false]);
    const big = storageProfile({ ...gp2_100, storageType: 'gp3', allocatedGiB: 400 });
    expect([big.baselineIops, big.throughputMiBps]).toEqual([12_000, 500]);
    const provisioned = storageProfile({ ...gp2_100, storageType: 'gp3', allocatedGiB: 500, iops: 20_000 });
    expect(provisioned.baselineIops).toBe(20_000);
    const sqlserver = storageProfile({
      ...gp2_100,
      engine: 'sqlserver-se',
      storageType: 'gp3',
      allocatedGiB: 1_000,
    });
    expect(sqlserver.baselineIops).toBe(3_000);
  });

  it('io1/io2: the provisioned IOPS; aurora: no model', () => {
    expect(storageProfile({ ...gp2_100, storageType: 'io1', iops: 5_000 }).baselineIops).toBe(5_000);
    expect(storageProfile({ ...gp2_100, storageType: 'io2', iops: 8_000 }).baselineIops).toBe(8_000);
    const aurora = storageProfile({ ...gp2_100, storageType: 'aurora' });
    expect(aurora.storageType).toBe('other');
    expect(aurora.baselineIops).toBeUndefined();
  });
});

describe('burst arithmetic (RDS "I/O credits and burst performance")', () => {
  it('a full bucket at 3,000 IOPS on 100 GiB lasts 5,400,000 / (3,000 − 300) = 2,000 s', () => {
    expect(timeToEmpty(100, 5_400_000, 3_000 - 300)).toBe(2_000);
  });

  it('matches the documented table: 250 GiB lasts 2,400 s, 500 GiB 3,600 s at 3,000 IOPS', () => {
    expect(timeToEmpty(100, 5_400_000, 3_000 - gp2BaselineIops('mysql', 250))).toBe(2_400);
    expect(timeToEmpty(100, 5_400_000, 3_000 - gp2BaselineIops('sqlserver-se', 500))).toBe(3_600);
    // MySQL stripes 500 GiB over 4 volumes: 21.6 million credits at 12,000 − 1,500 IOPS.
    const striped = storageProfile({ ...gp2_100, allocatedGiB: 500 });
    const seconds = timeToEmpty(100, striped.bucketCredits as number, (striped.burstIops as number) - 1_500);
    expect(seconds).toBeCloseTo(21_600_000 / 10_500);
  });

  it('refills an empty 100 GiB bucket at idle in 5,400,000 / 300 = 18,000 s; half-full at 200 IOPS in 27,000 s', () => {
    expect(timeToFull(0, 5_400_000, 300)).toBe(18_000);
    expect(timeToFull(50, 5_400_000, 300 - 200)).toBe(27_000);
    expect(timeToFull(100, 5_400_000, 300)).toBe(0);
    expect(timeToFull(50, 5_400_000, -5)).toBeUndefined();
  });

  it('time to empty from a partial balance: 40% at a 200 credits/s drain → 10,800 s', () => {
    expect(timeToEmpty(40, 5_400_000, 200)).toBe(10_800);
    expect(timeToEmpty(40, 5_400_000, 0)).toBeUndefined();
  });
});

describe('observed IOPS', () => {
  it('percentiles interpolate between ranks', () => {
    const values = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(values, 50)).toBeCloseTo(50.5);
    expect(percentile(values, 95)).toBeCloseTo(95.05);
    expect(percentile(values, 100)).toBe(100);
    expect(percentile([7], 95)).toBe(7);
    expect(percentile([], 95)).toBeNaN();
    expect(percentile([30, 10, 20], 50)).toBe(20);
  });

  it('adds ReadIOPS and WriteIOPS aligned by timestamp, dropping half-reported periods', () => {
    const read = [
      { t: 3, v: 30 },
      { t: 1, v: 10 },
      { t: 2, v: 20 },
    ];
    const write = [
      { t: 1, v: 1 },
      { t: 3, v: 3 },
    ];
    expect(totalIops(read, write)).toEqual([
      { t: 1, v: 11 },
      { t: 3, v: 33 },
    ]);
    expect(totalIops(read, [])).toHaveLength(3);
    expect(totalIops(undefined, write)).toEqual(write);
  });

  it('p50/p95/max over the window and the mean of the last hour', () => {
    // 24 h at 5-min steps = 289 points: 200 IOPS except the last 2 hours (24 points) at 800.
    const o = observedIops(series((h) => (h > -2 ? 800 : 200)));
    expect(o?.points).toBe(289);
    expect(o?.p50).toBe(200);
    expect(o?.max).toBe(800);
    expect(o?.recent).toBe(800);
    expect(o?.p95).toBe(800); // rank 0.95 × 288 = 273.6 falls among the top 24
    expect(o?.mean).toBeCloseTo((265 * 200 + 24 * 800) / 289);
    // 12 points at 800 (the last hour) sit above the 95th rank: p95 stays 200.
    expect(observedIops(series((h) => (h > -1 ? 800 : 200)))?.p95).toBe(200);
    expect(observedIops([])).toBeUndefined();
  });
});

describe('balance series', () => {
  it('finds when the balance last ran out and when it recovered', () => {
    const s = series((h) => (h > -5 && h <= -3 ? 0 : 50));
    const zero = lastHitZero(s);
    expect(zero?.at).toBe(NOW - 5 * H + 5 * 60_000);
    expect(zero?.recoveredAt).toBe(NOW - 3 * H + 5 * 60_000);
    expect(lastHitZero(series(() => 50))).toBeUndefined();
    const still = lastHitZero(series((h) => (h >= -2 ? 0 : 10)));
    expect(still).toEqual({ at: NOW - 2 * H });
  });

  it('forecasts any balance by its recent linear trend: 42% falling 6%/h reaches zero in 7 h', () => {
    const f = balanceForecast(series((h) => 42 - 6 * h, 3));
    expect(f?.current).toBeCloseTo(42);
    expect(f?.slopePerHour).toBeCloseTo(-6);
    expect(((f?.zeroAt as number) - NOW) / H).toBeCloseTo(7);
    expect(f?.empty).toBe(false);
    const rising = balanceForecast(series((h) => 50 + 2 * h, 3));
    expect(rising?.zeroAt).toBeUndefined();
  });
});

describe('instance-level credits', () => {
  it('knows which classes have CPU credits and burstable EBS bandwidth', () => {
    expect(hasCpuCredits('db.t3.medium')).toBe(true);
    expect(hasCpuCredits('db.t4g.large')).toBe(true);
    expect(hasCpuCredits('db.m5.large')).toBe(false);
    expect(hasBurstableEbs('db.t3.micro')).toBe(true);
    expect(hasBurstableEbs('db.r5.2xlarge')).toBe(true);
    expect(hasBurstableEbs('db.r5.4xlarge')).toBe(false);
    expect(hasBurstableEbs('db.m6i.4xlarge')).toBe(true);
    expect(hasBurstableEbs('db.r6g.8xlarge')).toBe(false);
    expect(applicableCredits({ ...gp2_100, instanceClass: 'db.t3.medium' })).toEqual([
      'BurstBalance',
      'EBSIOBalance%',
      'EBSByteBalance%',
      'CPUCreditBalance',
    ]);
    expect(applicableCredits({ ...gp2_100, storageType: 'gp3', instanceClass: 'db.r5.8xlarge' })).toEqual([]);
  });
});

describe('investigateIoCredits: the three stories', () => {
  it('exhausted: "throttled: credits exhausted since 09:00 UTC, 3 h ago; held to the 300-IOPS baseline …"', () => {
    const r = investigateIoCredits({
      instance: gp2_100,
      series: {
        // Drained from 100% at 26%/h until 3 h ago, empty since; IOPS fall to the baseline.
        BurstBalance: series((h) => (h < -3 ? Math.min(100, Math.max(0, 26 * (-3 - h))) : 0)),
        ReadIOPS: series((h) => (h < -3 ? 600 : 260)),
        WriteIOPS: series((h) => (h < -3 ? 90 : 40)),
      },
      now: NOW,
    });
    expect(r.severity).toBe('critical');
    expect(r.verdict).toBe(
      'throttled: credits exhausted since 09:00 UTC, 3 h ago; held to the 300-IOPS baseline (last hour 300 IOPS, 100% of it); observed p95 690 IOPS',
    );
    expect(r.forecast?.direction).toBe('empty');
    expect(r.forecast?.lastHitZero?.at).toBe(NOW - 3 * H);
    expect(r.targetIops).toBe(828);
    const gp2 = r.recommendations.find((x) => x.kind === 'gp2-size');
    expect(gp2?.allocatedGiB).toBe(276);
    expect(gp2?.baselineIops).toBe(828);
    expect(gp2?.monthlyCostUsd).toBeCloseTo(276 * 0.115);
    expect(gp2?.monthlyCostDeltaUsd).toBeCloseTo(176 * 0.115);
    const gp3 = r.recommendations.find((x) => x.kind === 'gp3');
    expect(gp3?.allocatedGiB).toBe(100);
    expect(gp3?.baselineIops).toBe(3_000);
    expect(gp3?.monthlyCostDeltaUsd).toBeCloseTo(0);
    const io1 = r.recommendations.find((x) => x.storageType === 'io1');
    expect([io1?.provisionedIops, io1?.allocatedGiB]).toEqual([1_000, 100]);
    expect(io1?.monthlyCostUsd).toBeCloseTo(100 * 0.125 + 1_000 * 0.1);
    expect(r.facts.join('\n')).toMatch(/p95 690 IOPS \+ 20% headroom = 828 IOPS, cheapest first/);
    // Cheapest first: gp3 at the same size costs what gp2 costs now; io2 and io1 cost the same, io2 first.
    expect(r.recommendations.map((x) => x.storageType)).toEqual(['gp3', 'gp2', 'io2', 'io1']);
  });

  it('draining: 40% at 500 IOPS on a 300 baseline drains 200 credits/s: "falling ~13%/h: empty in about 3 h"', () => {
    const r = investigateIoCredits({
      instance: gp2_100,
      series: {
        BurstBalance: series((h) => 40 - (40 / 3) * h, 3),
        TotalIOPS: series(() => 500, 3),
      },
      now: NOW,
    });
    expect(r.severity).toBe('warning');
    expect(r.forecast?.basis).toBe('iops');
    expect(r.forecast?.netCreditsPerSecond).toBe(200);
    expect(r.forecast?.percentPerHour).toBeCloseTo(-13.333);
    expect(r.forecast?.timeToEmptySeconds).toBe(10_800);
    expect(r.forecast?.emptyAt).toBe(NOW + 3 * H);
    expect(r.verdict).toBe('credits at 40% and falling ~13%/h: empty in about 3 h');
    // Sized for the last hour's 500 IOPS + 20% = 600 IOPS: gp3 at 100 GiB is no dearer than now.
    expect(r.recommendations.map((x) => x.storageType)).toEqual(['gp3', 'gp2', 'io2', 'io1']);
    expect(r.recommendations.find((x) => x.kind === 'gp2-size')?.allocatedGiB).toBe(200);
  });

  it('draining with no IOPS data falls back to the BurstBalance trend: 42% at −6%/h → about 7 h', () => {
    const r = investigateIoCredits({
      instance: gp2_100,
      series: { BurstBalance: series((h) => 42 - 6 * h, 3) },
      now: NOW,
    });
    expect(r.forecast?.basis).toBe('trend');
    expect(r.forecast?.timeToEmptySeconds).toBeCloseTo(7 * 3600, -1);
    expect(r.verdict).toBe('credits at 42% and falling ~6%/h: empty in about 7 h');
    expect(r.recommendations).toEqual([]); // nothing observed to size for
  });

  it('refilling after running out in the window under the same load: a warning, with when and for how long', () => {
    const r = investigateIoCredits({
      instance: gp2_100,
      series: {
        BurstBalance: series((h) => (h < -6 ? 0 : Math.min(100, 2 * (h + 6))), 12),
        TotalIOPS: series((h) => (h < -6 ? 300 : 100), 12),
      },
      now: NOW,
    });
    expect(r.severity).toBe('warning');
    expect(r.forecast?.direction).toBe('refilling');
    // 200 credits/s into the 88% missing of 5.4 million: 0.88 × 27,000 s ≈ 6.6 h.
    expect(r.forecast?.timeToFullSeconds).toBeCloseTo(0.88 * 27_000, -1);
    expect(r.verdict).toMatch(
      /^credits ran out in this window \(from 00:00 UTC, 12 h ago, for 6 h 35 min\); credits at 12% and refilling ~13%\/h: full in about 7 h; baseline 300 IOPS/,
    );
    // While empty it was pinned at its 300 baseline: p95 300 + 20% = 360 is above it, so it still advises.
    expect(r.recommendations.find((x) => x.kind === 'gp2-size')?.allocatedGiB).toBe(120);
  });

  it('gp3 covered: "no burst credits on gp3: baseline 3,000 IOPS covers observed p95 420"', () => {
    const r = investigateIoCredits({
      instance: { ...gp2_100, storageType: 'gp3', iops: 3_000, throughputMiBps: 125 },
      // One point in ten at 420, the rest at 300: p95 420.
      series: { TotalIOPS: series(() => 300).map((p, i) => (i % 10 === 0 ? { ...p, v: 420 } : p)) },
      now: NOW,
    });
    expect(r.severity).toBe('ok');
    expect(r.verdict).toBe('no burst credits on gp3: baseline 3,000 IOPS covers observed p95 420');
    expect(r.forecast).toBeUndefined();
    expect(r.recommendations).toEqual([]);
    expect(r.credits.map((c) => c.kind)).toEqual(['EBSIOBalance%', 'EBSByteBalance%']);
  });

  it('gp3 saturated under 400 GiB: grow to 400 GiB for 12,000 included, or provision io1/io2 to the target', () => {
    const r = investigateIoCredits({
      instance: { ...gp2_100, storageType: 'gp3', allocatedGiB: 200 },
      series: { TotalIOPS: series(() => 2_950) },
      now: NOW,
    });
    expect(r.severity).toBe('warning');
    expect(r.verdict).toBe(
      'no burst credits on gp3: baseline 3,000 IOPS; observed p95 2,950 IOPS is 98% of it: storage IOPS are the limit',
    );
    const gp3 = r.recommendations.find((x) => x.kind === 'gp3');
    expect([gp3?.allocatedGiB, gp3?.baselineIops, gp3?.provisionedIops]).toEqual([400, 12_000, undefined]);
    expect(gp3?.monthlyCostDeltaUsd).toBeCloseTo(200 * 0.115);
    const gp2 = r.recommendations.find((x) => x.kind === 'gp2-size');
    expect(gp2?.allocatedGiB).toBe(1_180); // 2,950 × 1.2 = 3,540 IOPS
    const io1 = r.recommendations.find((x) => x.storageType === 'io1');
    expect(io1?.provisionedIops).toBe(3_540);
  });

  it('io1: the provisioned IOPS are the story', () => {
    const r = investigateIoCredits({
      instance: { ...gp2_100, storageType: 'io1', iops: 5_000 },
      series: { TotalIOPS: series(() => 1_200) },
      now: NOW,
    });
    expect(r.verdict).toBe('no burst credits on io1: 5,000 provisioned IOPS cover observed p95 1,200');
    expect(r.currentMonthlyCostUsd).toBeCloseTo(100 * 0.125 + 5_000 * 0.1);
  });

  it('adds an exhausted instance credit to the verdict', () => {
    const r = investigateIoCredits({
      instance: { ...gp2_100, storageType: 'gp3', instanceClass: 'db.t3.medium' },
      series: {
        TotalIOPS: series(() => 400),
        'EBSIOBalance%': series((h) => Math.max(0, -2 * (h + 2))),
        CPUCreditBalance: series((h) => 576 + 10 * h),
      },
      now: NOW,
    });
    expect(r.severity).toBe('critical');
    expect(r.verdict).toBe(
      'no burst credits on gp3: baseline 3,000 IOPS covers observed p95 400; instance EBS I/O credits (EBSIOBalance%): exhausted since 09:45 UTC, 2 h 15 min ago — EBS bandwidth is held to the instance class baseline',
    );
    const cpu = r.credits.find((c) => c.kind === 'CPUCreditBalance');
    expect(cpu?.summary).toBe('CPU credits (CPUCreditBalance): 576 credits, rising');
  });
});

describe('prices and recommendations', () => {
  it('defaults to the documented list prices and accepts partial overrides', () => {
    expect(defaultStoragePrices).toMatchObject({
      gp2PerGiBMonth: 0.115,
      gp3PerGiBMonth: 0.115,
      gp3PerIopsMonth: 0.02,
      gp3PerMiBpsMonth: 0.08,
      io1PerGiBMonth: 0.125,
      io1PerIopsMonth: 0.1,
    });
    expect(storagePricesSchema.parse({ gp2PerGiBMonth: 0.2 }).gp2PerGiBMonth).toBe(0.2);
    expect(storagePricesSchema.safeParse({ gp2PerGiBMonth: -1 }).success).toBe(false);
    const r = investigateIoCredits({
      instance: gp2_100,
      series: {},
      now: NOW,
      prices: { gp2PerGiBMonth: 0.2 },
    });
    expect(r.currentMonthlyCostUsd).toBeCloseTo(20);
  });

  it('prices gp3 above its included IOPS and throughput, and doubles Multi-AZ', () => {
    const gp3 = {
      engine: 'mysql',
      storageType: 'gp3',
      allocatedGiB: 500,
      iops: 15_000,
      throughputMiBps: 600,
    };
    expect(monthlyStorageCost(gp3)).toBeCloseTo(500 * 0.115 + 3_000 * 0.02 + 100 * 0.08);
    expect(monthlyStorageCost({ ...gp3, multiAz: true })).toBeCloseTo(
      2 * (500 * 0.115 + 3_000 * 0.02 + 100 * 0.08),
    );
    expect(monthlyStorageCost({ engine: 'mysql', storageType: 'aurora', allocatedGiB: 10 })).toBeUndefined();
  });

  it('sizes gp2 to the smallest allocation that covers the target, never shrinking', () => {
    expect(smallestGp2Covering('mysql', 828, 100)).toBe(276);
    expect(smallestGp2Covering('mysql', 100, 100)).toBe(100);
    expect(smallestGp2Covering('mysql', 50, 5)).toBe(20);
    expect(smallestGp2Covering('mysql', 70_000, 100)).toBeUndefined();
    expect(smallestGp2Covering('sqlserver-se', 20_000, 100)).toBeUndefined();
  });

  it('gp3 beyond 12,000 IOPS provisions the difference', () => {
    const recs = recommendStorage({ ...gp2_100, allocatedGiB: 500 }, 15_000);
    const gp3 = recs.find((x) => x.kind === 'gp3');
    expect([gp3?.allocatedGiB, gp3?.provisionedIops]).toEqual([500, 15_000]);
    expect(gp3?.monthlyCostUsd).toBeCloseTo(500 * 0.115 + 3_000 * 0.02);
    const gp2 = recs.find((x) => x.kind === 'gp2-size');
    expect(gp2?.allocatedGiB).toBe(5_000);
  });
});

describe('formatDuration', () => {
  it('rounds for people', () => {
    expect(formatDuration(45_000)).toBe('45 s');
    expect(formatDuration(12 * 60_000)).toBe('12 min');
    expect(formatDuration(7 * H)).toBe('7 h');
    expect(formatDuration(72 * H)).toBe('3 days');
  });
});

// ---------------------------------------------------------------------------------------------
// Series shaped like real CloudWatch output (issue 16): noise, gaps, values just under thresholds
// ---------------------------------------------------------------------------------------------

/**
 * A GetMetricData series: one point per period at period-aligned timestamps (CloudWatch stamps each
 * datapoint with the start of its period), `noise` as a fraction of the value, a share of points `missing`
 * (periods where the metric published nothing), never negative.
 */
function cloudwatch(
  f: (h: number) => number,
  o: { rnd: () => number; hours?: number; periodMin?: number; noise?: number; missing?: number },
): Point[] {
  const out: Point[] = [];
  const step = (o.periodMin ?? 5) * 60_000;
  for (let t = NOW - (o.hours ?? 24) * H; t <= NOW; t += step) {
    if (o.rnd() < (o.missing ?? 0)) continue;
    const v = f((t - NOW) / H);
    out.push({ t, v: Math.max(0, v * (1 + (o.noise ?? 0) * (2 * o.rnd() - 1))) });
  }
  return out;
}

/** 200 GiB gp2: a 600-IOPS baseline, 3,000-IOPS burst, 5.4-million-credit bucket. */
const gp2_200: InstanceStorage = { ...gp2_100, id: 'ledger-db', allocatedGiB: 200 };

/**
 * Bursting at ~900 IOPS drains the 200 GiB bucket at 300 credits/s (20 %/h); empty since 09:30 UTC, and
 * since then BurstBalance reads 0 or a hair above (what a throttled volume reports), and the last hour's
 * IOPS average `lastHour` (read + write).
 */
function throttled(
  lastHour: number,
  o: { seed?: number; noise?: number; missing?: number; flat?: number } = {},
) {
  const rnd = seeded(o.seed ?? 16);
  const flat = o.flat ?? 0;
  const emptyFrom = -2.5;
  const iops = (h: number) => (h < emptyFrom ? 900 : h < -1 ? 600 : lastHour);
  return investigateIoCredits({
    instance: gp2_200,
    series: {
      BurstBalance: cloudwatch(
        (h) => (h < emptyFrom ? Math.min(100, 20 * (emptyFrom - h)) : flat + (rnd() < 0.3 ? 0.04 : 0)),
        { rnd, missing: o.missing ?? 0 },
      ),
      ReadIOPS: cloudwatch((h) => iops(h) * 0.85, { rnd, noise: o.noise ?? 0 }),
      WriteIOPS: cloudwatch((h) => iops(h) * 0.15, { rnd, noise: o.noise ?? 0 }),
    },
    now: NOW,
    timezone: 'Europe/Paris',
  });
}

describe('throttling is decided from the balance and IOPS near the baseline, not equality (issue 16 #1)', () => {
  for (const lastHour of [599.9, 594, 585]) {
    it(`BurstBalance flat at 0 for 2.5 h and ${lastHour} IOPS on a 600 baseline: critical, throttled`, () => {
      const r = throttled(lastHour);
      expect(r.forecast?.direction).toBe('empty');
      expect(r.forecast?.throttled).toBe(true);
      expect(r.severity).toBe('critical');
      expect(r.verdict).toMatch(
        new RegExp(
          `^throttled: credits exhausted since 09:30 UTC / 10:30 Europe/Paris, 2 h 30 min ago; held to the 600-IOPS baseline \\(last hour ${lastHour} IOPS, ${lastHour === 599.9 ? '99.9' : Math.round(lastHour / 6)}% of it\\)`,
        ),
      );
      expect(r.verdict).not.toMatch(/holding steady|refilling|full in/);
      // …and what to change agrees: sized above the baseline the volume is held to.
      expect(r.recommendations.length).toBeGreaterThan(0);
      expect(r.targetIops).toBeGreaterThanOrEqual(720);
      for (const x of r.recommendations)
        expect(x.baselineIops).toBeGreaterThanOrEqual(r.targetIops as number);
    });
  }

  it('the same with ±3 % noise on the IOPS and one BurstBalance point in ten missing', () => {
    const r = throttled(592, { noise: 0.03, missing: 0.1, seed: 99 });
    expect(r.observed?.recent).toBeGreaterThan(570);
    expect(r.observed?.recent).toBeLessThan(600);
    expect([r.severity, r.forecast?.throttled]).toEqual(['critical', true]);
  });

  it('at 0.9 % the balance counts as empty; at 1.1 % with IOPS at the baseline it warns of no headroom', () => {
    expect(throttled(594, { flat: 0.9 }).severity).toBe('critical');
    const r = throttled(594, { flat: 1.1 });
    expect(r.forecast?.direction).toBe('steady');
    expect(r.severity).toBe('warning');
    expect(r.verdict).toMatch(
      /^credits at 1% with the last hour at 594 IOPS on the 600-IOPS baseline: no burst headroom left/,
    );
    expect(r.recommendations.length).toBeGreaterThan(0);
  });

  it('IOPS just under 90 % of the baseline (539 on 600) while the balance sits at 0: a warning, not "throttled"', () => {
    const r = throttled(539);
    expect(r.forecast?.direction).toBe('empty');
    expect(r.forecast?.throttled).toBe(false);
    expect(r.severity).toBe('warning');
    expect(r.verdict).not.toMatch(/throttled|holding steady/);
    expect(r.verdict).toMatch(
      /^credits exhausted since 09:30 UTC \/ 10:30 Europe\/Paris, 2 h 30 min ago; last hour 539 IOPS, 90% of the 600-IOPS baseline: under it, so the balance should start refilling/,
    );
    expect(throttled(541).severity).toBe('critical');
  });

  it('one empty point: empty if demand is at or above the baseline, refilling if it has dropped well below', () => {
    const justRanOut = (iops: number) =>
      investigateIoCredits({
        instance: gp2_200,
        series: {
          // 20 %/h down to 0.4 % at the last point only.
          BurstBalance: series((h) => Math.max(0.4, -20 * h), 3),
          TotalIOPS: series(() => iops, 3),
        },
        now: NOW,
      });
    const busy = justRanOut(900);
    expect([busy.forecast?.direction, busy.severity]).toEqual(['empty', 'critical']);
    const quiet = justRanOut(200);
    expect(quiet.forecast?.direction).toBe('refilling');
    expect(quiet.verdict).not.toMatch(/throttled|exhausted/);
  });
});

describe('times are precise to the data (issue 16 #2)', () => {
  it('says "since HH:MM UTC / HH:MM in the configured zone, 2 h 35 min ago", not "3 h ago"', () => {
    const rnd = seeded(3);
    const r = investigateIoCredits({
      instance: gp2_200,
      series: {
        // Empty from 09:25 UTC: 2 h 35 min before NOW (12:00 UTC).
        BurstBalance: cloudwatch((h) => (h < -155 / 60 ? 50 : 0), { rnd, missing: 0.05 }),
        TotalIOPS: cloudwatch(() => 600, { rnd, noise: 0.01 }),
      },
      now: NOW,
      timezone: 'America/New_York',
    });
    expect(r.verdict).toMatch(/since 09:25 UTC \/ 04:25 America\/New_York, 2 h 35 min ago/);
    expect(r.verdict).not.toMatch(/3 h ago/);
  });

  it('rounds to the period, and names the day when it is not today', () => {
    const at = NOW - (2 * 60 + 35) * 60_000 - 40_000; // 2 h 35 min 40 s before
    expect(formatSince(at, NOW, { periodMs: 60_000 })).toBe('since 09:24 UTC, 2 h 36 min ago');
    expect(formatSince(NOW - 155 * 60_000, NOW, { periodMs: 300_000, timezone: 'Europe/Paris' })).toBe(
      'since 09:25 UTC / 10:25 Europe/Paris, 2 h 35 min ago',
    );
    // A 1-hour period says no more than whole hours.
    expect(formatSince(NOW - 155 * 60_000, NOW, { periodMs: 3_600_000 })).toBe('since 09:25 UTC, 3 h ago');
    // 21 Nov 23:40 UTC is already 22 Nov in Paris, today there.
    expect(
      formatSince(NOW - (12 * 60 + 20) * 60_000, NOW, { periodMs: 300_000, timezone: 'Europe/Paris' }),
    ).toBe('since 21 Nov 23:40 UTC / 00:40 Europe/Paris, 12 h 20 min ago');
    expect(formatElapsed(45_000)).toBe('45 s');
    expect(formatElapsed(35 * 60_000)).toBe('35 min');
    expect(formatElapsed(2 * H)).toBe('2 h');
    expect(formatElapsed(76 * H + 20 * 60_000)).toBe('3 days 4 h');
  });

  it('says when an instance credit ran out the same way, in UTC and the configured zone', () => {
    const rnd = seeded(11);
    const r = investigateIoCredits({
      instance: { ...gp2_200, storageType: 'gp3', instanceClass: 'db.t3.medium' },
      series: {
        TotalIOPS: cloudwatch(() => 400, { rnd, noise: 0.05 }),
        // Out from 08:00 to 09:00 UTC, then back to 80 %, a few points missing.
        'EBSIOBalance%': cloudwatch((h) => (h >= -4 && h < -3 ? 0 : 80), { rnd, missing: 0.05 }),
      },
      now: NOW,
      timezone: 'Europe/Paris',
    });
    const ebs = r.credits.find((c) => c.kind === 'EBSIOBalance%');
    expect(ebs?.summary).toMatch(
      /^instance EBS I\/O credits \(EBSIOBalance%\): 8\d% \(ran out at 08:00 UTC \/ 09:00 Europe\/Paris, 4 h ago\)$/,
    );
  });

  it('takes the period from the series, gaps and all', () => {
    const rnd = seeded(5);
    expect(seriesPeriodMs(cloudwatch(() => 1, { rnd, missing: 0.2 }))).toBe(300_000);
    expect(seriesPeriodMs(cloudwatch(() => 1, { rnd, periodMin: 1, hours: 2, missing: 0.3 }))).toBe(60_000);
    expect(seriesPeriodMs([{ t: 0, v: 1 }])).toBeUndefined();
  });
});

describe('severity, verdict and recommendations never contradict (issue 16 #1, a property over generated series)', () => {
  const SIZES = [20, 50, 100, 200, 334, 399, 500, 900];
  const LEVELS = [0.2, 0.5, 0.85, 0.89, 0.9, 0.95, 0.99, 0.999, 1, 1.05, 1.5, 3, 6];
  const ZONES = ['UTC', 'Europe/Paris', 'America/New_York', 'Asia/Kolkata'];
  type Shape = 'full' | 'draining' | 'refilling' | 'flat-empty' | 'flat-low' | 'ran-out' | 'walk';
  const SHAPES: Shape[] = ['full', 'draining', 'refilling', 'flat-empty', 'flat-low', 'ran-out', 'walk'];

  function scenario(seed: number) {
    const rnd = seeded(seed);
    const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)] as T;
    const instance: InstanceStorage = { ...gp2_100, allocatedGiB: pick(SIZES) };
    const baseline = gp2BaselineIops('mysql', instance.allocatedGiB);
    const level = pick(LEVELS) * baseline;
    const shape = pick(SHAPES);
    const hours = pick([3, 12, 24]);
    const missing = pick([0, 0, 0.05, 0.15]);
    const noise = pick([0, 0.01, 0.03, 0.08]);
    const low = pick([0, 0.02, 0.4, 0.9, 1.1, 3]);
    let walk = 20 + rnd() * 60;
    const balance = (h: number): number => {
      switch (shape) {
        case 'full':
          return 100;
        case 'draining':
          return Math.max(0, 30 - 8 * h * -1);
        case 'refilling':
          return Math.min(100, 60 + 6 * h);
        case 'flat-empty':
          return h < -hours / 2 ? 50 : low;
        case 'flat-low':
          return low + 2;
        case 'ran-out':
          return h < -hours * 0.7 ? 0 : Math.min(100, 10 * (h + hours * 0.7));
        case 'walk':
          walk = Math.min(100, Math.max(0, walk + (rnd() - 0.5) * 6));
          return walk;
      }
    };
    const timezone = pick(ZONES);
    const input = {
      instance,
      series: {
        BurstBalance: cloudwatch(balance, { rnd, hours, missing }),
        ReadIOPS: cloudwatch(() => level * 0.8, { rnd, hours, noise, missing }),
        WriteIOPS: cloudwatch(() => level * 0.2, { rnd, hours, noise, missing }),
      },
      now: NOW,
      timezone,
    };
    return { input, baseline, shape };
  }

  it('holds for 400 generated gp2 reports, of every shape, throttled and healthy', () => {
    const shapes = new Set<string>();
    const severities = new Set<string>();
    for (let seed = 1; seed <= 400; seed++) {
      const { input, baseline, shape } = scenario(seed);
      const r = investigateIoCredits(input);
      shapes.add(shape);
      severities.add(r.severity);
      const why = `seed ${seed}: ${r.severity} "${r.verdict}" (${r.recommendations.length} recommendations)`;
      // What the report says agrees with itself.
      if (r.severity === 'ok') {
        expect(r.recommendations, why).toEqual([]);
        expect(r.verdict, why).not.toMatch(/throttled|exhausted|ran out|no burst headroom/);
      }
      if (r.recommendations.length > 0) expect(['warning', 'critical'], why).toContain(r.severity);
      if (r.severity === 'critical') expect(r.recommendations.length, why).toBeGreaterThan(0);
      if (/throttled/.test(r.verdict)) {
        expect(r.severity, why).toBe('critical');
        expect(r.verdict, why).not.toMatch(/holding steady|refilling|full in about|credits full/);
      }
      if (r.forecast?.direction === 'empty') expect(r.severity, why).not.toBe('ok');
      for (const x of r.recommendations)
        expect(x.baselineIops, why).toBeGreaterThanOrEqual(r.targetIops ?? 0);
      // …and with the series, read the documented way: a gp2 volume whose balance is at or near 0 for more
      // than a period while its IOPS are at the baseline is being held to it.
      const bb = [...input.series.BurstBalance].sort((a, b) => a.t - b.t);
      const [prev, last] = bb.slice(-2);
      const total = totalIops(input.series.ReadIOPS, input.series.WriteIOPS);
      const lastT = total[total.length - 1]?.t ?? NOW;
      const hour = total.filter((p) => p.t > lastT - H).map((p) => p.v);
      const recent = hour.reduce((a, b) => a + b, 0) / hour.length;
      if (prev && last && prev.v <= 1 && last.v <= 1 && recent >= 0.9 * baseline) {
        expect(r.severity, why).toBe('critical');
        expect(r.verdict, why).toMatch(/^throttled: credits exhausted since /);
      }
      if (last && last.v >= 50 && recent <= 0.5 * baseline) {
        expect(r.severity, why).toBe('ok');
        expect(r.verdict, why).not.toMatch(/throttled/);
      }
    }
    expect(shapes.size).toBe(SHAPES.length);
    expect([...severities].sort()).toEqual(['critical', 'ok', 'warning']);
  });
});

describe('provisioned IOPS sized to the target within the allowed IOPS:GiB range, cheapest first (issue 16 #5)', () => {
  it('1,038 IOPS is 1,038 provisioned IOPS on io1 and io2, not the next 1,000', () => {
    const recs = recommendStorage(gp2_100, 1_038);
    const io1 = recs.find((x) => x.storageType === 'io1');
    const io2 = recs.find((x) => x.storageType === 'io2');
    expect([io1?.provisionedIops, io1?.allocatedGiB]).toEqual([1_038, 100]);
    expect([io2?.provisionedIops, io2?.allocatedGiB]).toEqual([1_038, 100]);
    // us-east-1 list prices (https://aws.amazon.com/rds/mysql/pricing/): $0.125/GiB-month + $0.10/IOPS-month.
    expect(io1?.monthlyCostUsd).toBeCloseTo(100 * 0.125 + 1_038 * 0.1);
    expect(io1?.detail).toContain('$116.30/month at $0.125/GiB-month + $0.10/IOPS-month');
    // gp3 at 100 GiB includes 3,000 IOPS for the gp2 price; growing gp2 to 346 GiB costs more; io2 then io1.
    expect(recs.map((x) => x.storageType)).toEqual(['gp3', 'gp2', 'io2', 'io1']);
    expect(recs.map((x) => x.monthlyCostUsd)).toEqual(
      [...recs.map((x) => x.monthlyCostUsd)].sort((a, b) => a - b),
    );
  });

  it('grows the storage only as far as the ratio needs: io1 50 IOPS/GiB, io2 1,000 IOPS/GiB', () => {
    // 6,000 IOPS: io1 needs 120 GiB; io2 fits on its 100 GiB minimum.
    expect(provisionedIopsFor('io1', 6_000, 100)).toEqual({ iops: 6_000, allocatedGiB: 120 });
    expect(provisionedIopsFor('io2', 6_000, 100)).toEqual({ iops: 6_000, allocatedGiB: 100 });
    expect(provisionedIopsFor('io1', 6_001, 100)).toEqual({ iops: 6_001, allocatedGiB: 121 });
    // At least 1,000 IOPS and 100 GiB; at least 0.5 IOPS per GiB on a large volume.
    expect(provisionedIopsFor('io1', 300, 20)).toEqual({ iops: 1_000, allocatedGiB: 100 });
    expect(provisionedIopsFor('io2', 900, 3_000)).toEqual({ iops: 1_500, allocatedGiB: 3_000 });
    expect(provisionedIopsFor('io2', 300_000, 100)).toBeUndefined();
  });

  it('gp3 provisions exactly the target above the included IOPS, within 500 IOPS/GiB', () => {
    const striped = recommendStorage({ ...gp2_100, allocatedGiB: 500 }, 13_038).find((x) => x.kind === 'gp3');
    expect([striped?.allocatedGiB, striped?.provisionedIops]).toEqual([500, 13_038]);
    // SQL Server is not striped: 12,000 IOPS at 20 GiB needs 24 GiB at 500 IOPS/GiB.
    const sql = recommendStorage({ ...gp2_100, engine: 'sqlserver-ex', allocatedGiB: 20 }, 12_000).find(
      (x) => x.kind === 'gp3',
    );
    expect([sql?.allocatedGiB, sql?.provisionedIops]).toEqual([24, 12_000]);
  });

  it('puts io1 first when configured prices make it the cheaper, and says the prices are configured', () => {
    const prices = { ...defaultStoragePrices, io2PerIopsMonth: 0.12 };
    const recs = recommendStorage({ ...gp2_100, allocatedGiB: 500 }, 20_000, prices);
    const order = recs.map((x) => x.storageType);
    expect(order.indexOf('io1')).toBeLessThan(order.indexOf('io2'));
    const r = throttled(594);
    expect(r.facts.join('\n')).toContain(
      'prices are us-east-1 RDS for MySQL list prices per AZ (https://aws.amazon.com/rds/mysql/pricing/',
    );
  });
});

describe('queue depth and latency against their usual level (issue 16 #7)', () => {
  function withLoad(o: {
    queue: (h: number) => number;
    read: (h: number) => number;
    write: (h: number) => number;
  }) {
    const rnd = seeded(7);
    const iops = (h: number) => (h < -2.5 ? 900 : 594);
    return investigateIoCredits({
      instance: gp2_200,
      series: {
        BurstBalance: cloudwatch((h) => (h < -2.5 ? Math.min(100, 20 * (-2.5 - h)) : 0), { rnd }),
        TotalIOPS: cloudwatch(iops, { rnd, noise: 0.02 }),
        DiskQueueDepth: cloudwatch(o.queue, { rnd, noise: 0.2, missing: 0.05 }),
        ReadLatency: cloudwatch(o.read, { rnd, noise: 0.2, missing: 0.05 }),
        WriteLatency: cloudwatch(o.write, { rnd, noise: 0.2, missing: 0.05 }),
      },
      now: NOW,
    });
  }

  it('calls out DiskQueueDepth and read latency that rose when the credits ran out; write latency stayed usual', () => {
    const r = withLoad({
      queue: (h) => (h < -2.5 ? 1.5 : 28),
      read: (h) => (h < -2.5 ? 0.0011 : 0.038),
      write: () => 0.0024,
    });
    expect(r.severity).toBe('critical');
    const queue = r.signals.find((x) => x.metric === 'DiskQueueDepth');
    expect(queue?.usual).toBeGreaterThan(1.2);
    expect(queue?.usual).toBeLessThan(1.8);
    expect([queue?.risen, queue?.withThrottling]).toEqual([true, true]);
    expect(r.impact).toMatch(
      /^Since the credits ran out, DiskQueueDepth \d+ in the last hour against a usual 1\.\d \(\d+×\); read latency \d+ ms in the last hour against a usual 1\.\d ms \(\d+×\): queries are waiting on storage\.$/,
    );
    expect(r.impact).not.toMatch(/write latency/);
    expect(r.facts.join('\n')).toMatch(/write latency 2\.\d ms in the last hour, near its usual 2\.\d ms/);
  });

  it('just under twice the usual level is not "risen"; without throttling a rise is a fact, not a call-out', () => {
    const r = withLoad({ queue: (h) => (h < -2.5 ? 2 : 3.8), read: () => 0.001, write: () => 0.001 });
    expect(r.signals.find((x) => x.metric === 'DiskQueueDepth')?.risen).toBe(false);
    expect(r.impact).toBeUndefined();
    const calm = investigateIoCredits({
      instance: gp2_200,
      series: {
        BurstBalance: series(() => 100),
        TotalIOPS: series(() => 200),
        DiskQueueDepth: series((h) => (h > -1 ? 9 : 0.5)),
      },
      now: NOW,
    });
    expect(calm.severity).toBe('ok');
    expect(calm.impact).toBeUndefined();
    expect(calm.facts.join('\n')).toMatch(
      /DiskQueueDepth 9\.0 in the last hour against a usual 0\.5 \(18×\)/,
    );
  });
});

describe('the report text says each credit once (issue 16 #6)', () => {
  it('EBSIOBalance% and EBSByteBalance% appear once each, whether in the verdict or the forecast', () => {
    const rnd = seeded(6);
    const cw = (f: (h: number) => number) => cloudwatch(f, { rnd, noise: 0.004, missing: 0.1 });
    const report = (ebsIo: (h: number) => number) =>
      ioCreditsReportText(
        investigateIoCredits({
          instance: { ...gp2_200, instanceClass: 'db.t3.medium' },
          series: {
            BurstBalance: cw(() => 99.6),
            TotalIOPS: cw(() => 200),
            'EBSIOBalance%': cw(ebsIo),
            'EBSByteBalance%': cw(() => 99.5),
            CPUCreditBalance: cw(() => 500),
          },
          now: NOW,
          timezone: 'Europe/Paris',
        }),
        undefined,
        [],
        24,
      );
    for (const text of [report(() => 97), report((h) => Math.max(0, -2 * (h + 2)))]) {
      expect(text.split('EBSIOBalance%').length - 1, text).toBe(1);
      expect(text.split('EBSByteBalance%').length - 1, text).toBe(1);
      expect(text.split('CPUCreditBalance').length - 1, text).toBe(1);
    }
  });
});
