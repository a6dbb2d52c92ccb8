import { describe, expect, it } from 'vitest';
import { type CopyMeasurements, chooseCopyPlan, vcpusOfInstanceClass } from '../../src/domain/copy-plan.js';

const MB = 1024 * 1024;
const wide: CopyMeasurements = {
  targetCores: 2,
  sourceCores: 4,
  secondaryIndexes: 3,
  deferredIndexes: 2,
  avgRowBytes: 310,
  approximateRows: 1_000_000,
  splittable: true,
};

describe('chooseCopyPlan', () => {
  it('runs one range per core of the smaller server, in ~MB transactions, and says why', () => {
    const plan = chooseCopyPlan(wide);
    expect(plan.ranges).toBe(2);
    expect(plan.batchBytes).toBe(256 * 1024);
    expect(plan.batchRows).toBe(Math.floor((256 * 1024) / 310));
    // One unique key maintained during the load: 8 MB shrunk by a quarter.
    expect(plan.commitBytes).toBeGreaterThan(6 * MB);
    expect(plan.commitBytes).toBeLessThanOrEqual(6.4 * MB);
    expect(plan.reason).toBe(
      'copying in 2 ranges of ~6 MB transactions (2 cores, 3 indexes, 2 built after the load, 310-byte rows)',
    );
  });

  it('keeps batches within the memory bound however many cores there are', () => {
    const plan = chooseCopyPlan(
      { ...wide, targetCores: 64, sourceCores: 64, approximateRows: 100_000_000 },
      16 * MB,
    );
    expect(plan.ranges).toBe(8);
    expect(plan.ranges * 4 * plan.batchBytes).toBeLessThanOrEqual(16 * MB);
    expect(plan.batchRows * 310).toBeLessThanOrEqual(plan.batchBytes);
  });

  it('gives a small table one range (a range’s fixed costs would dominate), and a key it cannot split one too', () => {
    const small = chooseCopyPlan({ ...wide, approximateRows: 10_000 });
    expect(small.ranges).toBe(1);
    expect(small.reason).toContain('~3 MB table');
    // 100k rows of 228 bytes (22 MB): two ranges on two cores measured faster than one, and four than two.
    const hundredK = chooseCopyPlan({ ...wide, approximateRows: 100_000, avgRowBytes: 228 });
    expect(hundredK.ranges).toBe(4);
    expect(hundredK.reason).toContain(
      '(2 cores, 3 indexes, 2 built after the load, 228-byte rows, 2 per core for a ~22 MB table)',
    );
    // Between one range per 4 MB and two per core: as many as the size allows.
    expect(chooseCopyPlan({ ...wide, approximateRows: 40_000, avgRowBytes: 310 }).ranges).toBe(2);
    // Past 64 MB, one per core.
    expect(chooseCopyPlan({ ...wide, approximateRows: 300_000, avgRowBytes: 228 }).ranges).toBe(2);
    const unsplittable = chooseCopyPlan({ ...wide, splittable: false });
    expect(unsplittable.ranges).toBe(1);
    expect(unsplittable.reason).toContain('a key that cannot be split');
  });

  it('makes transactions smaller when indexes are maintained row by row, never below a batch', () => {
    const deferred = chooseCopyPlan({ ...wide, secondaryIndexes: 4, deferredIndexes: 4 });
    const maintained = chooseCopyPlan({ ...wide, secondaryIndexes: 4, deferredIndexes: 0 });
    expect(deferred.commitBytes).toBeGreaterThan(maintained.commitBytes * 1.9);
    const huge = chooseCopyPlan({ ...wide, avgRowBytes: 4 * MB });
    expect(huge.commitRows).toBeGreaterThanOrEqual(huge.batchRows);
  });

  it("takes the sampled rows' width where the statistics' is smaller (stale), and keeps the statistics' otherwise", () => {
    // 120k rows of ~98 bytes (12 MB), the statistics taken at 20k rows: AVG_ROW_LENGTH 30 (3.6 MB).
    const stale = {
      ...wide,
      secondaryIndexes: 0,
      deferredIndexes: 0,
      approximateRows: 120_000,
      avgRowBytes: 30,
    };
    expect(chooseCopyPlan(stale).ranges).toBe(1);
    const sampled = chooseCopyPlan({ ...stale, sampledRowBytes: 98 });
    expect(sampled.ranges).toBe(2);
    expect(sampled.batchRows).toBe(Math.floor((256 * 1024) / 98));
    expect(sampled.batchRows * 98).toBeLessThanOrEqual(sampled.batchBytes);
    expect(sampled.commitBytes).toBeLessThanOrEqual(8 * MB);
    expect(sampled.reason).toContain('98-byte rows');
    // The statistics' width (on-disk bytes) stands when the sample is narrower.
    expect(chooseCopyPlan({ ...wide, sampledRowBytes: 250 }).batchRows).toBe(chooseCopyPlan(wide).batchRows);
    // A sample alone is a measurement too, not an assumption.
    expect(chooseCopyPlan({ ...wide, avgRowBytes: 0, sampledRowBytes: 120 }).reason).toContain(
      ' 120-byte rows)',
    );
  });

  it('assumes 2 cores and 200-byte rows when the servers do not say, and says it assumed them', () => {
    const plan = chooseCopyPlan({ ...wide, targetCores: undefined, sourceCores: undefined, avgRowBytes: 0 });
    expect(plan.ranges).toBe(2);
    expect(plan.reason).toContain('cores unknown, assumed 2');
    expect(plan.reason).toContain('200-byte rows assumed');
  });
});

describe('vcpusOfInstanceClass', () => {
  it('reads the size of an RDS instance class', () => {
    expect(vcpusOfInstanceClass('db.r6g.large')).toBe(2);
    expect(vcpusOfInstanceClass('db.m5.xlarge')).toBe(4);
    expect(vcpusOfInstanceClass('db.r6i.4xlarge')).toBe(16);
    expect(vcpusOfInstanceClass('db.t3.micro')).toBe(2);
    expect(vcpusOfInstanceClass('db.serverless')).toBeUndefined();
    expect(vcpusOfInstanceClass(undefined)).toBeUndefined();
  });
});
