/**
 * `/lb disable` against a group whose MinSize would stop the standby: the sizes it needs, worked
 * out before anything changes, and what a retried or repeated disable sees once MinSize is lowered.
 */
import { describe, expect, it } from 'vitest';
import {
  isValidationError,
  LB_MIN_SIZE_TAG,
  minSizeNote,
  recordedMinSize,
  type StandbySizing,
  standbySizing,
} from '../../src/domain/lb.js';

function sized(group: { min: number; desired: number; tags?: Record<string, string> }, count: number) {
  const s = standbySizing({ tags: {}, ...group }, count);
  if (typeof s === 'string') throw new Error(`unexpected: ${s}`);
  return s;
}

describe('standbySizing', () => {
  it('lowers MinSize just enough for all in-service instances to enter standby (EnterStandby keeps desired ≥ MinSize)', () => {
    const s = sized({ min: 2, desired: 3 }, 3);
    expect(s).toEqual({ originalMin: 2, currentMin: 2, min: 0, recorded: false });
    expect(minSizeNote(s)).toBe('MinSize 2 → 0 while in standby; restored on enable');
  });

  it('lowers it for one instance when desired equals MinSize, and not at all when there is room', () => {
    const one = sized({ min: 3, desired: 3 }, 1);
    expect(one.min).toBe(2);
    expect(minSizeNote(one)).toBe('MinSize 3 → 2 while in standby; restored on enable');
    const room = sized({ min: 1, desired: 3 }, 1);
    expect(room).toEqual({ originalMin: 1, currentMin: 1, min: 1, recorded: false });
    expect(minSizeNote(room)).toBeUndefined();
    expect(minSizeNote(sized({ min: 0, desired: 3 }, 3))).toBeUndefined();
  });

  it('keeps the recorded original when MinSize is already lowered: a retried disable neither loses it nor lowers twice', () => {
    // The state a disable killed after lowering MinSize (tag written first, then MinSize 2 → 0) leaves.
    const retried = sized({ min: 0, desired: 3, tags: { [LB_MIN_SIZE_TAG]: '2' } }, 3);
    expect(retried).toEqual({ originalMin: 2, currentMin: 0, min: 0, recorded: true });
    // Nothing more to lower (min === currentMin), and the note still names the original.
    expect(retried.min < retried.currentMin).toBe(false);
    expect(minSizeNote(retried)).toBe('MinSize 2 → 0 while in standby; restored on enable');
  });

  it('a second disable of more instances lowers further but keeps the first original', () => {
    // First disable of one instance: 3 → 2, recorded 3; desired now 2.
    const second = sized({ min: 2, desired: 2, tags: { [LB_MIN_SIZE_TAG]: '3' } }, 2);
    expect(second).toEqual({ originalMin: 3, currentMin: 2, min: 0, recorded: true });
    expect(minSizeNote(second)).toBe('MinSize 3 → 0 while in standby; restored on enable');
  });

  it('refuses up front when the desired capacity is below the instances to move', () => {
    const s = standbySizing({ min: 0, desired: 1, tags: {} }, 3);
    expect(s).toMatch(/desired capacity is 1, fewer than the 3 in-service instance/);
  });

  it('is plain JSON, so it survives a job checkpoint', () => {
    const s: StandbySizing = sized({ min: 2, desired: 3 }, 3);
    expect(JSON.parse(JSON.stringify(s))).toEqual(s);
  });
});

describe('recordedMinSize', () => {
  it('reads the original MinSize recorded on the group, ignoring anything malformed', () => {
    expect(recordedMinSize({ [LB_MIN_SIZE_TAG]: '2' })).toBe(2);
    expect(recordedMinSize({ [LB_MIN_SIZE_TAG]: '0' })).toBe(0);
    expect(recordedMinSize({})).toBeUndefined();
    expect(recordedMinSize({ [LB_MIN_SIZE_TAG]: 'two' })).toBeUndefined();
    expect(recordedMinSize({ [LB_MIN_SIZE_TAG]: '-1' })).toBeUndefined();
  });
});

describe('isValidationError', () => {
  it('recognises Auto Scaling refusing a request as invalid', () => {
    const refused = Object.assign(new Error('AutoScalingGroup g has min-size=2 …'), {
      name: 'ValidationError',
    });
    expect(isValidationError(refused)).toBe(true);
    expect(isValidationError(Object.assign(new Error('Rate exceeded'), { name: 'Throttling' }))).toBe(false);
    expect(isValidationError('ValidationError')).toBe(false);
  });
});
