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
