/**
 * `rds.restore-table`: one table back as it was at a moment. Checks first what would make it fail
 * half-way (the user's privileges on the live server, the table, the key a merge needs, names
 * taken), then restores a temporary instance from that moment, copies the table beside the live
 * one, verifies the copy, shows what differs, merges or swaps on request, verifies the result
 * against the live database, and always deletes the temporary instance once the job is over.
 *
 * Each step is a checkpoint, and each step that creates something records its intent first and
 * marks what it made as this job's own (the temporary instance's `capstan:job` tag, the side
 * table's comment), so a resumed attempt adopts what it finds with its own mark — and refuses
 * anything else of the same name. A job creates at most one temporary instance, ever.
 */
import { type Job, WaitingError } from 'bullmq';
import type { AwsClients } from '../src/aws/clients.js';
import { connectionOptions } from '../src/aws/database-credentials.js';
import {
  type DbInstance,
  deleteDbInstance,
  describeDbInstance,
  restoreToPointInTime,
} from '../src/aws/rds.js';
import type { RdsRestoreTable } from '../src/commands/index.js';
import { vcpusOfInstanceClass } from '../src/domain/copy-plan.js';
import { resolveDatabase } from '../src/domain/database.js';
import {
  beforeRestoreTableName,
  carriesJobMark,
  jobMark,
  restoredTableName,
  restoreOutcome,
  restoreWindowProblem,
  temporaryInstanceId,
} from '../src/domain/restore.js';
import { jobWaits, waitUntil } from '../src/domain/wait.js';
import { CancelledError, ErrorCode, UserError } from '../src/errors.js';
import {
  type ConnectionOptions,
  type CopyCheckpoint,
  type CopyProgress,
  compareDefinitions,
  compareTables,
  copyTable,
  currentGrants,
  diffTables,
  getColumns,
  getKey,
  type MysqlConnection,
  missingPrivileges,
  type NeededPrivilege,
  openConnection,
  qualified,
  quoteIdent,
  type RangeChecksum,
  recurringProblem,
  type TableRef,
  tableChecksum,
  tableComment,
  tableExists,
} from '../src/mysql/index.js';
import type { JobDataOf, JobFacts, JobResult } from '../src/queue/contract.js';
import type { JobContext } from '../src/queue/worker.js';
import type { EnvJobDeps } from './deps.js';

const ENGINES = new Set(['mysql', 'mariadb']);

/** The temporary instance as checkpointed: its name before it is asked for, then that it was made. */
interface TemporaryCheckpoint {
  id: string;
  state: 'creating' | 'created';
}

/** The verified copy's checksum, kept to check the live table against after the swap. */
interface VerifiedCopy {
  count: number;
  key: string[];
  columns: string[];
  ranges: RangeChecksum[];
}

/** What a merge did, checked before it was committed. */
interface MergeResult {
  before: number;
  missing: number;
  inserted: number;
  after: number;
}

type Names = { restored: string; before: string };

async function withConnection<T>(
  options: ConnectionOptions,
  use: (conn: MysqlConnection) => Promise<T>,
): Promise<T> {
  const conn = await openConnection(options);
  try {
    return await use(conn);
  } finally {
    await conn.end().catch(() => undefined);
  }
}

/**
 * Where the restored rows are, as a step's output: the side table (side-table, merge-missing), or
 * the live table a replace swapped them into.
 */
function restoreFacts(command: RdsRestoreTable, names: unknown): JobFacts {
  const restored = (names as { restored?: string } | undefined)?.restored;
  if (command.mode === 'replace') return { restoredTable: `${command.schema}.${command.table}` };
  return restored ? { restoredTable: `${command.schema}.${restored}` } : {};
}

/**
 * The copy step's progress line: how the copy was cut up and why, then rows and ranges while copying, and the keys
 * being built once every row is in.
 */
function copyProgressText(p: CopyProgress): string {
  if (p.phase === 'indexing' && p.indexing) {
    const n = p.indexing.names.length;
    const seconds = p.indexing.seconds === undefined ? '' : `, ${p.indexing.seconds} s`;
    const percent = p.indexing.percent === undefined ? '' : `, ${Math.round(p.indexing.percent)}%`;
    return `${p.rowsCopied} rows in; building ${n} ${n === 1 ? 'index' : 'indexes'} (${p.indexing.names.join(', ')})${seconds}${percent}`;
  }
  return `${p.plan.reason}: ${p.rowsCopied} of ~${p.approximateRows} rows (${p.rangesDone}/${p.rangesTotal} ranges done)`;
}

/** Runs `rds.restore-table`. */
export async function rdsRestoreJob(
  job: Job<JobDataOf<'rds.restore-table'>>,
  ctx: JobContext,
  deps: EnvJobDeps,
): Promise<JobResult> {
  const command = job.data.command;
  const { reporter } = ctx;
  const at = new Date(command.at);
  const jobId = String(job.id);
  const db = resolveDatabase(deps.config, command.dbInstance);
  const clients: AwsClients = deps.aws.clients(db.placement, job.data.request.userId);
  const wait = jobWaits(deps.config.waits, () => ctx.betweenSteps());
  const tempId = temporaryInstanceId(command.table, jobId);
  const live = `\`${command.schema}.${command.table}\``;
  let keepTemporary = false;

  try {
    // An earlier attempt did the restore and checked it, then died while deleting the temporary
    // instance: only that is left (the finally below), and the answer it checked.
    const checked = ctx.checkpoints.summary as string | undefined;
    if (checked !== undefined) {
      reporter.info(
        'the restore was done and checked by an earlier attempt; its temporary instance is removed now',
      );
      return { outcome: 'done', summary: checked, facts: restoreFacts(command, ctx.checkpoints.names) };
    }
    await reporter.step('Check the instance, the time, the table and what Capstan may do there');
    const source = await describeDbInstance(clients.rds, command.dbInstance);
    if (!source)
      throw new UserError(`There is no DB instance \`${command.dbInstance}\`.`, ErrorCode.NotFound);
    if (!ENGINES.has(source.engine)) {
      throw new UserError(
        `\`${command.dbInstance}\` runs ${source.engine || 'an unknown engine'}; table restores are for MySQL.`,
      );
    }
    const windowProblem = restoreWindowProblem(at, source.createdAt, source.latestRestorableTime);
    if (windowProblem) throw new UserError(`Cannot restore to that moment: ${windowProblem}.`);
    const names = await ctx.remember('names', () => ({
      restored: restoredTableName(command.table, at),
      before: beforeRestoreTableName(command.table, new Date()),
    }));
    const liveOptions = await connectionOptions(db, clients, source);
    const liveExists = await withConnection(liveOptions, (conn) =>
      preflight(conn, command, names, ctx, jobId, liveOptions.user),
    );
    if (!liveExists) {
      reporter.info(
        `${live} does not exist in the live database now; the side table will be made from the table as it was at ${command.at}, if it existed then.`,
      );
    }
    reporter.progress(
      `${source.engine} ${source.instanceClass}, restorable until ${source.latestRestorableTime?.toISOString()}`,
    );
    await ctx.betweenSteps();

    await reporter.step('Restore a temporary instance');
    const temp = await temporaryInstance(clients, source, tempId, at, db.config.restoreInstanceClass, ctx, {
      jobId,
      wait,
    });
    await ctx.betweenSteps();

    await reporter.step(`Copy the table into ${command.schema}.${names.restored}`);
    const tempOptions = await connectionOptions(db, clients, temp, command.schema);
    if (!ctx.checkpoints.copy) {
      const there = await withConnection(tempOptions, (conn) =>
        tableExists(conn, command.schema, command.table),
      );
      if (!there)
        throw new UserError(
          `${live} did not exist at ${command.at} either (it is not on the instance restored to that moment); nothing was copied.`,
          ErrorCode.NotFound,
        );
    }
    const copy = await copyTable({
      source: tempOptions,
      target: liveOptions,
      schema: command.schema,
      table: command.table,
      targetTable: names.restored,
      comment: `${jobMark(jobId)} restored ${command.schema}.${command.table} as at ${command.at}`,
      adoptIf: (comment) => carriesJobMark(comment, jobId),
      // MySQL does not report its cores (MariaDB does): the live instance's class tells them.
      ...(vcpusOfInstanceClass(source.instanceClass)
        ? { targetCores: vcpusOfInstanceClass(source.instanceClass) }
        : {}),
      onCreated: () => ctx.created('side-table'),
      ...(ctx.checkpoints.copy ? { checkpoint: ctx.checkpoints.copy as CopyCheckpoint } : {}),
      onProgress: async (p) => {
        reporter.progress(copyProgressText(p));
        await ctx.checkpoint('copy', p.checkpoint);
      },
      signal: ctx.signal,
    });
    await ctx.checkpoint('copy', copy.checkpoint);
    await ctx.betweenSteps();

    // Kept once checked: an attempt killed while deleting the temporary instance must not need it again.
    const summary = await ctx.remember('summary', () =>
      withConnection(liveOptions, async (liveConn) =>
        withConnection(tempOptions, async (tempConn) => {
          // Resumed after the swap (a worker died between the RENAME and its checkpoint, or after it):
          // the verified copy is the live table now, and the restored name is gone.
          const swapped =
            command.mode === 'replace' &&
            (ctx.checkpoints.replaced === true || (await swapDone(liveConn, command, names)));
          let verified = ctx.checkpoints.verified as VerifiedCopy | undefined;
          if (!swapped || !verified) {
            await reporter.step('Verify the copy');
            const copied = await verifyCopy(
              { conn: tempConn, schema: command.schema, table: command.table },
              { conn: liveConn, schema: command.schema, table: names.restored },
            );
            const sum = await tableChecksum(liveConn, command.schema, names.restored);
            verified = await ctx.remember('verified', () => ({
              count: sum.count,
              key: sum.key,
              columns: sum.columns,
              ranges: sum.ranges,
            }));
            reporter.progress(`definition the same, ${copied} rows, checksums equal`);
            await ctx.betweenSteps();
          }
          const counts: { copied: number; merged?: number } = { copied: verified.count };
          if (command.mode === 'side-table' && !(await tableExists(liveConn, command.schema, command.table)))
            return restoreOutcome(command, names, counts);

          if (!swapped) await showDifferences(liveConn, command, names.restored, ctx);

          if (command.mode === 'merge-missing') {
            await reporter.step('Put back the rows missing from the live table');
            const key = (
              await getKey(
                liveConn,
                command.schema,
                names.restored,
                await getColumns(liveConn, command.schema, names.restored),
              )
            ).columns;
            if (key.length === 0) {
              throw new UserError(
                `The table as it was at ${command.at} has no primary or unique key, so the rows missing now cannot be told apart; nothing was put back. The verified copy is \`${command.schema}.${names.restored}\`.`,
              );
            }
            const merge = await ctx.remember('merged', () =>
              mergeMissing(liveConn, command, names.restored, key),
            );
            await reporter.step('Check the live table');
            const still = await missingCount(liveConn, command, names.restored, key);
            if (still > 0) {
              throw new UserError(
                `After putting back ${merge.inserted} row(s), ${still} row(s) of \`${command.schema}.${names.restored}\` are still missing from ${live} (deleted again since?). The verified copy is kept as \`${command.schema}.${names.restored}\`.`,
              );
            }
            reporter.progress(
              `${merge.before} + ${merge.inserted} = ${merge.after} rows; every restored row is there`,
            );
            counts.merged = merge.inserted;
          } else if (command.mode === 'replace') {
            if (!swapped) {
              await reporter.step('Swap the restored table in');
              await ctx.remember('replaced', () => swapIn(liveConn, command, names));
            }
            await ctx.remember('replaced', () => true);
            // The table carried this job's mark while it was the side table; it gets its own comment back.
            const comment = (await tableComment(tempConn, command.schema, command.table)) ?? '';
            await liveConn.query(`ALTER TABLE ${qualified(command.schema, command.table)} COMMENT = ?`, [
              comment,
            ]);
            await reporter.step('Check the live table');
            await confirmSwap(liveConn, command, names, verified);
            reporter.progress(`${verified.count} rows, checksums equal to the verified copy; old table kept`);
          }
          return restoreOutcome(command, names, counts);
        }),
      ),
    );
    return { outcome: 'done', summary, facts: restoreFacts(command, names) };
  } catch (error) {
    const problem = recurringProblem(error);
    const settled = problem
      ? new UserError(
          `Capstan cannot work on ${live} as the database user it connects as: ${problem}. Nothing will be retried; grant the access (or ask for a table it can reach) and run the restore again.`,
          ErrorCode.Forbidden,
        )
      : error;
    // A retry (or a resume on another worker) carries on with the same temporary instance.
    keepTemporary =
      settled instanceof WaitingError ||
      (!(settled instanceof UserError) &&
        !(settled instanceof CancelledError) &&
        job.attemptsMade + 1 < (job.opts.attempts ?? 1));
    throw settled;
  } finally {
    if (!keepTemporary) await deleteTemporary(clients, tempId, jobId, ctx, wait);
  }
}

/**
 * The verify step: the copy's definition (`SHOW CREATE TABLE`, modulo what legitimately differs) and its data (count
 * and per-range checksums) equal the table's on the restored instance. Returns the rows copied; throws a
 * {@link UserError} naming every difference otherwise (the live table is not touched by then).
 */
export async function verifyCopy(source: TableRef, copy: TableRef): Promise<number> {
  const kept = `The live table was not touched; \`${copy.schema}.${copy.table}\` holds the unverified copy.`;
  const differences = await compareDefinitions(source, copy);
  if (differences.length > 0) {
    throw new UserError(
      `The copy's definition does not match the table on the restored instance: ${differences.join('; ')}. ${kept}`,
    );
  }
  const check = await compareTables(source, copy);
  if (!check.equal) {
    throw new UserError(
      `The copy does not match the restored instance (${check.count[0]} vs ${check.count[1]} rows, ${check.mismatchedRanges.length} range(s) differ). ${kept}`,
    );
  }
  return check.count[1];
}

/**
 * What is checked before anything is created; throws a {@link UserError} for whatever would make
 * the restore fail later. Returns whether the live table exists.
 */
async function preflight(
  conn: MysqlConnection,
  command: RdsRestoreTable,
  names: Names,
  ctx: JobContext,
  jobId: string,
  user: string,
): Promise<boolean> {
  const { schema, table, mode } = command;
  const live = `\`${schema}.${table}\``;
  const [schemas] = await conn.query('SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?', [
    schema,
  ]);
  const grants = await currentGrants(conn);
  const liveExists = await tableExists(conn, schema, table);
  const needed: NeededPrivilege[] = [
    ...(liveExists ? [{ privilege: 'SELECT', table }] : []),
    { privilege: 'CREATE' },
    { privilege: 'INSERT' },
    { privilege: 'SELECT' },
    ...(mode === 'merge-missing' ? [{ privilege: 'INSERT', table }] : []),
    ...(mode === 'replace'
      ? [
          { privilege: 'ALTER', table },
          { privilege: 'DROP', table },
          { privilege: 'ALTER' },
          { privilege: 'DROP' },
        ]
      : []),
  ];
  const missing = missingPrivileges(grants, schema, needed);
  if (missing.length > 0 && !grants.roles) {
    const list = missing
      .map((m) => `${m.privilege} on ${m.table ? `\`${schema}.${m.table}\`` : `\`${schema}.*\``}`)
      .join(', ');
    throw new UserError(
      `The database user Capstan connects as (\`${user}\`) may not restore ${live} in ${mode} mode: it lacks ${list}. Nothing was created and nothing will be retried; grant ${missing.length === 1 ? 'it' : 'them'} and run the restore again.`,
      ErrorCode.Forbidden,
    );
  }
  if (missing.length > 0) {
    ctx.reporter.info(
      `The grants of \`${user}\` come partly from roles, so not every privilege could be confirmed beforehand (${missing.map((m) => m.privilege).join(', ')}).`,
    );
  }
  if ((schemas as unknown[]).length === 0) {
    throw new UserError(
      `There is no schema \`${schema}\` on the live server (or \`${user}\` cannot see it); Capstan creates no schemas. Nothing was created.`,
      ErrorCode.NotFound,
    );
  }
  if (liveExists) {
    // A probe with the real statement shape: the server says at once if SELECT is refused.
    await conn.query(`SELECT 1 FROM ${qualified(schema, table)} LIMIT 0`);
  } else if (mode !== 'side-table') {
    throw new UserError(
      `There is no table ${live} in the live database to ${mode === 'replace' ? 'replace' : 'merge into'}; use --mode side-table to get it back as it was at ${command.at} beside the live tables.`,
    );
  }
  if (mode === 'merge-missing') {
    const key = await getKey(conn, schema, table, await getColumns(conn, schema, table));
    if (key.columns.length === 0) {
      throw new UserError(
        `${live} has no primary or unique key, so Capstan cannot tell which of its rows are missing (identical rows are indistinguishable); nothing was done. Use --mode side-table to get the table as it was at ${command.at} beside the live one, or --mode replace to swap it in.`,
      );
    }
  }
  if (!ctx.checkpoints.copy) {
    const comment = await tableComment(conn, schema, names.restored);
    if (comment !== undefined && !carriesJobMark(comment, jobId)) {
      throw new UserError(
        `\`${schema}.${names.restored}\` already exists; Capstan never overwrites a table. Rename or drop it first.`,
        ErrorCode.Conflict,
      );
    }
  }
  // The old table's name is taken (an earlier replace within the same minute): the swap could not happen.
  if (mode === 'replace' && !ctx.checkpoints.copy && (await tableExists(conn, schema, names.before))) {
    throw new UserError(
      `\`${schema}.${names.before}\` already exists; Capstan never overwrites a table. Rename or drop it first.`,
      ErrorCode.Conflict,
    );
  }
  return liveExists;
}

/**
 * The job's one temporary instance: adopted when it exists with this job's tag, refused when it
 * exists without it, asked for when the job never got as far, and never asked for twice.
 */
async function temporaryInstance(
  clients: AwsClients,
  source: DbInstance,
  tempId: string,
  at: Date,
  instanceClass: string | undefined,
  ctx: JobContext,
  { jobId, wait }: { jobId: string; wait: ReturnType<typeof jobWaits> },
): Promise<DbInstance> {
  const { reporter } = ctx;
  const recorded = ctx.checkpoints.temporary as TemporaryCheckpoint | undefined;
  const existing = await describeDbInstance(clients.rds, tempId);
  if (existing && existing.tags['capstan:job'] !== jobId) {
    throw new UserError(
      `A DB instance named \`${tempId}\` exists and is not this job's (its capstan:job tag is ${existing.tags['capstan:job'] ? `\`${existing.tags['capstan:job']}\`` : 'missing'}); Capstan leaves it alone. Nothing was created.`,
      ErrorCode.Conflict,
    );
  }
  if (existing) {
    if (recorded?.state !== 'created') reporter.info(`adopted ${tempId}, made by an interrupted attempt`);
  } else if (recorded?.state === 'created') {
    throw new UserError(
      `The temporary instance \`${tempId}\` this job made is gone, and a job makes at most one; nothing more was created. Run the restore again.`,
    );
  } else {
    // The intent first: an attempt killed after the call below finds the instance by this name and tag.
    await ctx.checkpoint('temporary', { id: tempId, state: 'creating' } satisfies TemporaryCheckpoint);
    await restoreToPointInTime(clients.rds, {
      source,
      target: tempId,
      at,
      ...(instanceClass ? { instanceClass } : {}),
      tags: { 'capstan:temporary': 'true', 'capstan:job': jobId, 'capstan:source': source.id },
    });
    await ctx.created('temporary-instance');
  }
  if (recorded?.state !== 'created')
    await ctx.checkpoint('temporary', { id: tempId, state: 'created' } satisfies TemporaryCheckpoint);
  const started = Date.now();
  return waitUntil(
    async () => {
      const t = await describeDbInstance(clients.rds, tempId);
      reporter.progress(
        `${tempId}: ${t?.status ?? 'not visible yet'}, ${Math.round((Date.now() - started) / 1000)} s`,
      );
      return t?.status === 'available' ? t : undefined;
    },
    { what: `${tempId} to be available`, ...wait },
  );
}

/** Shows how the verified copy and the live table differ (by key; counts only for a key-less table). */
async function showDifferences(
  conn: MysqlConnection,
  command: RdsRestoreTable,
  restored: string,
  ctx: JobContext,
): Promise<void> {
  const { reporter } = ctx;
  const key = await getKey(conn, command.schema, restored, await getColumns(conn, command.schema, restored));
  if (key.columns.length === 0) {
    const [rows] = await conn.query(`SELECT COUNT(*) AS n FROM ${qualified(command.schema, command.table)}`);
    const now = Number((rows as Array<{ n: unknown }>)[0]?.n ?? 0);
    reporter.info(
      `The table has no primary or unique key, so rows cannot be matched to show what differs (the live table has ${now} rows now).`,
    );
    return;
  }
  await reporter.step('Compare with the live table');
  const diff = await diffTables(
    { conn, schema: command.schema, table: restored },
    { conn, schema: command.schema, table: command.table },
  );
  const sample = (keys: unknown[][]) =>
    keys.length > 0 ? ` (e.g. ${keys.map((k) => JSON.stringify(k.length === 1 ? k[0] : k)).join(', ')})` : '';
  reporter.info(`${diff.onlyInRestored.count} row(s) deleted since${sample(diff.onlyInRestored.samples)}`);
  reporter.info(`${diff.onlyInLive.count} row(s) inserted since${sample(diff.onlyInLive.samples)}`);
  reporter.info(`${diff.changed.count} row(s) changed since${sample(diff.changed.samples)}`);
  await ctx.betweenSteps();
}

function keyMatch(key: string[]): string {
  return key.map((k) => `l.${quoteIdent(k)} <=> r.${quoteIdent(k)}`).join(' AND ');
}

/** Restored rows whose key the live table does not have. */
async function missingCount(
  conn: MysqlConnection,
  command: RdsRestoreTable,
  restored: string,
  key: string[],
): Promise<number> {
  const [rows] = await conn.query(
    `SELECT COUNT(*) AS n FROM ${qualified(command.schema, restored)} r WHERE NOT EXISTS (SELECT 1 FROM ${qualified(command.schema, command.table)} l WHERE ${keyMatch(key)})`,
  );
  return Number((rows as Array<{ n: unknown }>)[0]?.n ?? 0);
}

/**
 * Inserts exactly the restored rows whose key is missing from the live table, in one transaction
 * that is committed only if it adds up: inserted = missing, and the live count = before + inserted.
 */
async function mergeMissing(
  conn: MysqlConnection,
  command: RdsRestoreTable,
  restored: string,
  key: string[],
): Promise<MergeResult> {
  const table = qualified(command.schema, command.table);
  const columns = (await getColumns(conn, command.schema, command.table))
    .filter((c) => !c.generated)
    .map((c) => quoteIdent(c.name));
  const count = async () => {
    const [rows] = await conn.query(`SELECT COUNT(*) AS n FROM ${table}`);
    return Number((rows as Array<{ n: unknown }>)[0]?.n ?? 0);
  };
  await conn.beginTransaction();
  try {
    const before = await count();
    const missing = await missingCount(conn, command, restored, key);
    const [result] = await conn.query(
      `INSERT INTO ${table} (${columns.join(', ')}) ` +
        `SELECT ${columns.map((c) => `r.${c}`).join(', ')} FROM ${qualified(command.schema, restored)} r ` +
        `WHERE NOT EXISTS (SELECT 1 FROM ${table} l WHERE ${keyMatch(key)})`,
    );
    const inserted = (result as { affectedRows?: number }).affectedRows ?? 0;
    const after = await count();
    if (inserted !== missing || after !== before + inserted) {
      await conn.rollback();
      throw new UserError(
        `Putting back the missing rows did not add up (${missing} missing, ${inserted} inserted, ${before} → ${after} rows), so it was rolled back; the live table is as it was. The verified copy is \`${command.schema}.${restored}\`.`,
      );
    }
    await conn.commit();
    return { before, missing, inserted, after };
  } catch (error) {
    await conn.rollback().catch(() => undefined);
    throw error;
  }
}

/** Whether this job's swap has happened: the old table is kept under `before` and the restored name is free. */
async function swapDone(conn: MysqlConnection, command: RdsRestoreTable, names: Names): Promise<boolean> {
  return (
    (await tableExists(conn, command.schema, names.before)) &&
    !(await tableExists(conn, command.schema, names.restored))
  );
}

/** `RENAME TABLE live → before, restored → live` in one atomic statement; nothing is dropped. */
async function swapIn(conn: MysqlConnection, command: RdsRestoreTable, names: Names): Promise<true> {
  if (await tableExists(conn, command.schema, names.before)) {
    // Swapped by an earlier attempt of this job: the restored table has become the live one.
    if (!(await tableExists(conn, command.schema, names.restored))) return true;
    throw new UserError(
      `\`${command.schema}.${names.before}\` already exists, so the restored table could not be swapped in; it is kept as \`${command.schema}.${names.restored}\`. Rename or drop the old one and run the restore again.`,
      ErrorCode.Conflict,
    );
  }
  await conn.query(
    `RENAME TABLE ${qualified(command.schema, command.table)} TO ${qualified(command.schema, names.before)}, ` +
      `${qualified(command.schema, names.restored)} TO ${qualified(command.schema, command.table)}`,
  );
  return true;
}

/**
 * The replace's post-condition, read from the live database: the live table's count and checksums
 * equal the verified copy's, and the old table is kept under its `before` name.
 */
async function confirmSwap(
  conn: MysqlConnection,
  command: RdsRestoreTable,
  names: Names,
  verified: VerifiedCopy,
): Promise<void> {
  const live = `\`${command.schema}.${command.table}\``;
  const kept = await tableExists(conn, command.schema, names.before);
  const now = await tableChecksum(conn, command.schema, command.table, {
    pk: verified.key,
    columns: verified.columns,
    ranges: verified.ranges.map((r) => ({ lower: r.lower, upper: r.upper })),
  });
  const same =
    now.count === verified.count &&
    now.ranges.length === verified.ranges.length &&
    now.ranges.every((r, i) => r.count === verified.ranges[i]?.count && r.sum === verified.ranges[i]?.sum);
  if (same && kept) return;
  const restoredLeft = await tableExists(conn, command.schema, names.restored);
  throw new UserError(
    [
      `The swap could not be confirmed: ${live} ${same ? 'matches the verified copy' : `does not match the verified copy (${now.count} rows now, ${verified.count} verified)`}`,
      kept
        ? `the old table is kept as \`${command.schema}.${names.before}\``
        : `there is no \`${command.schema}.${names.before}\``,
      restoredLeft ? `the restored copy is still \`${command.schema}.${names.restored}\`` : '',
    ]
      .filter(Boolean)
      .join('; ')
      .concat('. Check the tables before relying on them.'),
  );
}

/** Deletes the job's temporary instance (only one carrying this job's tag). */
async function deleteTemporary(
  clients: AwsClients,
  tempId: string,
  jobId: string,
  ctx: JobContext,
  wait: ReturnType<typeof jobWaits>,
): Promise<void> {
  const existing = await describeDbInstance(clients.rds, tempId).catch(() => undefined);
  if (!existing || existing.tags['capstan:job'] !== jobId) return;
  await ctx.reporter.step(`Delete the temporary instance ${tempId}`);
  if (existing.status !== 'deleting') await deleteDbInstance(clients.rds, tempId);
  await waitUntil(async () => ((await describeDbInstance(clients.rds, tempId)) ? undefined : true), {
    what: `${tempId} to be deleted`,
    ...wait,
    between: async () => {},
  });
}
