/**
 * Point-in-time table restore (pure parts): what the temporary instance and the restored table are
 * called, whether a moment can be restored to, and what to tell people.
 */
import type { RdsRestoreTable } from '../commands/index.js';

function stamp(at: Date): string {
  return at.toISOString().slice(0, 16).replace(/[-:T]/g, '');
}

/** `<table>__restored_<YYYYMMDDHHMM>` (UTC, of the moment restored to), at most 64 characters. */
export function restoredTableName(table: string, at: Date): string {
  const suffix = `__restored_${stamp(at)}`;
  return `${table.slice(0, 64 - suffix.length)}${suffix}`;
}

/** `<table>__before_restore_<YYYYMMDDHHMM>` (UTC, of when the swap happens), at most 64 characters. */
export function beforeRestoreTableName(table: string, now: Date): string {
  const suffix = `__before_restore_${stamp(now)}`;
  return `${table.slice(0, 64 - suffix.length)}${suffix}`;
}

/**
 * `capstan-restore-<table>-<short job id>`, as a valid DB instance identifier: letters, digits and
 * single hyphens, starting with a letter, at most 63 characters
 * (https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_RestoreDBInstanceToPointInTime.html).
 */
export function temporaryInstanceId(table: string, jobId: string): string {
  const slug =
    table
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '') || 'table';
  const short = jobId
    .replace(/[^a-z0-9]/gi, '')
    .slice(-6)
    .toLowerCase();
  const head = `capstan-restore-${slug}`.slice(0, 63 - short.length - 1).replace(/-+$/, '');
  return `${head}-${short}`;
}

/**
 * The mark Capstan puts on what a restore job creates (the side table's comment, the temporary
 * instance's `capstan:job` tag value is the job id itself), so a resumed attempt adopts its own and
 * nothing else.
 */
export function jobMark(jobId: string): string {
  return `capstan:job=${jobId}`;
}

/** Whether a table comment carries `jobId`'s mark. */
export function carriesJobMark(comment: string, jobId: string): boolean {
  return comment.split(/\s+/).includes(jobMark(jobId));
}

/** Why `at` cannot be restored to, or undefined when it can. */
export function restoreWindowProblem(
  at: Date,
  earliest: Date | undefined,
  latest: Date | undefined,
): string | undefined {
  if (!earliest || !latest) return 'the instance has no restorable window (are automated backups on?)';
  if (at < earliest || at > latest) {
    return `${at.toISOString()} is outside the restorable window of this instance: ${earliest.toISOString()} to ${latest.toISOString()}`;
  }
  return undefined;
}

/** How each mode ends, for the final message (including how to undo it). */
export function restoreOutcome(
  command: RdsRestoreTable,
  names: { restored: string; before?: string },
  counts: { copied: number; merged?: number },
): string {
  const live = `\`${command.schema}.${command.table}\``;
  const restored = `\`${command.schema}.${names.restored}\``;
  switch (command.mode) {
    case 'side-table':
      return `Restored ${live} as it was at ${command.at}: ${counts.copied} rows in ${restored}. The live table is untouched.`;
    case 'merge-missing':
      return `Restored ${live} as it was at ${command.at} into ${restored} (${counts.copied} rows) and put back ${counts.merged ?? 0} row(s) missing from the live table. To undo: delete those rows (their keys are in ${restored}).`;
    case 'replace':
      return `Replaced ${live} with its state at ${command.at} (${counts.copied} rows). The previous table is kept as \`${command.schema}.${names.before}\`. To undo: \`RENAME TABLE ${command.schema}.${command.table} TO ${command.schema}.${names.restored}, ${command.schema}.${names.before} TO ${command.schema}.${command.table}\``;
  }
}
