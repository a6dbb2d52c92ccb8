/** Load balancer operations on an environment's Auto Scaling group (pure parts). */

/**
 * Processes `/lb disable` suspends so nothing replaces, rebalances or adds instances behind its back
 * (https://docs.aws.amazon.com/autoscaling/ec2/userguide/as-suspend-resume-processes.html).
 */
export const LB_SUSPENDED_PROCESSES = [
  'ReplaceUnhealthy',
  'AZRebalance',
  'AlarmNotification',
  'ScheduledActions',
] as const;

/** The processes this disable suspends: the ones not already suspended before it. */
export function processesToSuspend(alreadySuspended: readonly string[]): string[] {
  return LB_SUSPENDED_PROCESSES.filter((p) => !alreadySuspended.includes(p));
}

/** The value of the tag recording who put an instance in standby, when and why. */
export function standbyNote(user: string, at: Date, reason: string | undefined): string {
  // Auto Scaling tag values hold at most 256 characters.
  return `${user}|${at.toISOString()}|${(reason ?? '').replace(/\|/g, '/')}`.slice(0, 256);
}

/** Fills `{ip}` in a blueprint's health URL. */
export function healthUrlFor(template: string, ip: string): string {
  return template.replace('{ip}', ip);
}

/**
 * On the group: the MinSize it had before `/lb disable` lowered it, so `/lb enable` restores it.
 * Written before MinSize is lowered and never overwritten while present, so a killed or retried
 * disable, or a second disable of more instances, neither loses the original nor records a lowered one.
 */
export const LB_MIN_SIZE_TAG = 'capstan:lb-min-size';

/** The sizes a standby needs, worked out before anything changes (plain JSON: a job checkpoint). */
export interface StandbySizing {
  /** The group's MinSize before any `/lb disable` lowered it (recorded on the group, else its MinSize now). */
  originalMin: number;
  /** The group's MinSize before this disable. */
  currentMin: number;
  /** The MinSize while the instances are in standby: ≤ `currentMin`, lower only when it must be. */
  min: number;
  /** Whether the original MinSize was already recorded on the group before this disable. */
  recorded: boolean;
}

/** The MinSize an earlier `/lb disable` recorded on the group, if it lowered it. */
export function recordedMinSize(tags: Readonly<Record<string, string>>): number | undefined {
  const value = tags[LB_MIN_SIZE_TAG];
  if (value === undefined || !/^\d+$/.test(value)) return undefined;
  return Number(value);
}

/**
 * What MinSize must be for `count` in-service instances to enter Standby with the desired capacity
 * decremented: AWS refuses EnterStandby (ValidationError) when the desired capacity after it would be
 * below MinSize (https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_EnterStandby.html), so
 * MinSize goes down to desired − count for the duration, and no further. A string when the standby
 * cannot be done at all, saying why.
 */
export function standbySizing(
  group: { min: number; desired: number; tags: Readonly<Record<string, string>> },
  count: number,
): StandbySizing | string {
  const after = group.desired - count;
  if (after < 0) {
    return `its desired capacity is ${group.desired}, fewer than the ${count} in-service instance(s) to put in Standby (is a scaling activity under way?)`;
  }
  const recorded = recordedMinSize(group.tags);
  return {
    originalMin: recorded ?? group.min,
    currentMin: group.min,
    min: Math.min(group.min, after),
    recorded: recorded !== undefined,
  };
}

/** Whether this standby lowers MinSize (or keeps it lowered by an earlier one): what to tell people. */
export function minSizeNote(sizing: StandbySizing): string | undefined {
  if (sizing.min >= sizing.originalMin) return undefined;
  return `MinSize ${sizing.originalMin} → ${sizing.min} while in standby; restored on enable`;
}

/** Whether an AWS error is Auto Scaling refusing the request as invalid (retrying will not help). */
export function isValidationError(error: unknown): error is Error {
  return error instanceof Error && error.name === 'ValidationError';
}
