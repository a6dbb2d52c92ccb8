/**
 * `rds.restore-table`: one table back as it was at a moment. Restores a temporary instance from
 * that moment, copies the table beside the live one, verifies the copy, shows what differs, merges
 * or swaps on request, and always deletes the temporary instance. Each step is a checkpoint.
 */
import { type Job, WaitingError } from 'bullmq';
import type { AwsClients } from '../src/aws/clients.js';
import { connectionOptions } from '../src/aws/database-credentials.js';
import { deleteDbInstance, describeDbInstance, restoreToPointInTime } from '../src/aws/rds.js';
import type { RdsRestoreTable } from '../src/commands/index.js';
import { resolveDatabase } from '../src/domain/database.js';
import {
  beforeRestoreTableName,
  restoredTableName,
  restoreOutcome,
  restoreWindowProblem,
  temporaryInstanceId,
} from '../src/domain/restore.js';
import { jobWaits, waitUntil } from '../src/domain/wait.js';
import { ErrorCode, UserError } from '../src/errors.js';
import {
  type ConnectionOptions,
  type CopyCheckpoint,
  compareTables,
  copyTable,
  diffTables,
  getColumns,
  getKey,
  type MysqlConnection,
  openConnection,
  qualified,
  quoteIdent,
  tableExists,
} from '../src/mysql/index.js';
import type { JobDataOf, JobResult } from '../src/queue/contract.js';
import type { JobContext } from '../src/queue/worker.js';
import type { EnvJobDeps } from './deps.js';

const ENGINES = new Set(['mysql', 'mariadb']);

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

/** Runs `rds.restore-table`. */
export async function rdsRestoreJob(
  job: Job<JobDataOf<'rds.restore-table'>>,
  ctx: JobContext,
  deps: EnvJobDeps,
): Promise<JobResult> {
  const command = job.data.command;
  const { reporter } = ctx;
  const at = new Date(command.at);
  const db = resolveDatabase(deps.config, command.dbInstance);
  const clients: AwsClients = deps.aws.clients(db.placement, job.data.request.userId);
  const wait = jobWaits(deps.config.waits, () => ctx.betweenSteps());
  const tempId = temporaryInstanceId(command.table, String(job.id));
  let returningToQueue = false;

  try {
    await reporter.step('Check the instance, the time and the table');
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
    const live = await connectionOptions(db, clients, source);
    await withConnection(live, async (conn) => {
      const liveExists = await tableExists(conn, command.schema, command.table);
      if (!liveExists && command.mode !== 'side-table') {
        throw new UserError(
          `There is no table \`${command.schema}.${command.table}\` in the live database to ${command.mode === 'replace' ? 'replace' : 'merge into'}; use --mode side-table.`,
        );
      }
      if (!ctx.checkpoints.copy && (await tableExists(conn, command.schema, names.restored))) {
        throw new UserError(
          `\`${command.schema}.${names.restored}\` already exists; Capstan never overwrites a table. Rename or drop it first.`,
          ErrorCode.Conflict,
        );
      }
      // The old table's name is taken (an earlier replace within the same minute): the swap could not happen.
      if (
        command.mode === 'replace' &&
        !ctx.checkpoints.copy &&
        (await tableExists(conn, command.schema, names.before))
      ) {
        throw new UserError(
          `\`${command.schema}.${names.before}\` already exists; Capstan never overwrites a table. Rename or drop it first.`,
          ErrorCode.Conflict,
        );
      }
    });
    reporter.progress(
      `${source.engine} ${source.instanceClass}, restorable until ${source.latestRestorableTime?.toISOString()}`,
    );
    await ctx.betweenSteps();

    await reporter.step('Restore a temporary instance');
    if (!(await describeDbInstance(clients.rds, tempId))) {
      await restoreToPointInTime(clients.rds, {
        source,
        target: tempId,
        at,
        ...(db.config.restoreInstanceClass ? { instanceClass: db.config.restoreInstanceClass } : {}),
        tags: { 'capstan:temporary': 'true', 'capstan:job': String(job.id), 'capstan:source': source.id },
      });
    }
    const started = Date.now();
    const temp = await waitUntil(
      async () => {
        const t = await describeDbInstance(clients.rds, tempId);
        reporter.progress(
          `${tempId}: ${t?.status ?? 'not visible yet'}, ${Math.round((Date.now() - started) / 1000)} s`,
        );
        return t?.status === 'available' ? t : undefined;
      },
      { what: `${tempId} to be available`, ...wait },
    );
    await ctx.betweenSteps();

    await reporter.step(`Copy the table into ${command.schema}.${names.restored}`);
    const tempOptions = await connectionOptions(db, clients, temp, command.schema);
    const copy = await copyTable({
      source: tempOptions,
      target: live,
      schema: command.schema,
      table: command.table,
      targetTable: names.restored,
      ...(ctx.checkpoints.copy ? { checkpoint: ctx.checkpoints.copy as CopyCheckpoint } : {}),
      onProgress: async (p) => {
        reporter.progress(
          `${p.rowsCopied} of ~${p.approximateRows} rows (${p.rangesDone}/${p.rangesTotal} ranges)`,
        );
        await ctx.checkpoint('copy', p.checkpoint);
      },
      signal: ctx.signal,
    });
    await ctx.checkpoint('copy', copy.checkpoint);
    await ctx.betweenSteps();

    const counts: { copied: number; merged?: number } = { copied: copy.rowsCopied };
    await withConnection(live, async (liveConn) =>
      withConnection(tempOptions, async (tempConn) => {
        // Resumed after the swap (a worker died between the RENAME and its checkpoint, or after it):
        // the verified copy is the live table now, and the restored name is gone.
        if (
          command.mode === 'replace' &&
          (ctx.checkpoints.replaced || (await swapDone(liveConn, command, names)))
        ) {
          await ctx.remember('replaced', () => true);
          return;
        }
        await reporter.step('Verify the copy');
        const check = await compareTables(
          { conn: tempConn, schema: command.schema, table: command.table },
          { conn: liveConn, schema: command.schema, table: names.restored },
        );
        if (!check.equal) {
          throw new UserError(
            `The copy does not match the restored instance (${check.count[0]} vs ${check.count[1]} rows, ${check.mismatchedRanges.length} range(s) differ). The live table was not touched; \`${command.schema}.${names.restored}\` holds the unverified copy.`,
          );
        }
        counts.copied = check.count[1];
        reporter.progress(`${check.count[1]} rows, checksums equal`);
        await ctx.betweenSteps();

        if (!(await tableExists(liveConn, command.schema, command.table))) return;
        const key = await getKey(
          liveConn,
          command.schema,
          names.restored,
          await getColumns(liveConn, command.schema, names.restored),
        );
        if (key.columns.length === 0) {
          reporter.info(
            'The table has no primary or unique key, so rows cannot be matched to show what differs.',
          );
          return;
        }
        await reporter.step('Compare with the live table');
        const diff = await diffTables(
          { conn: liveConn, schema: command.schema, table: names.restored },
          { conn: liveConn, schema: command.schema, table: command.table },
        );
        const sample = (keys: unknown[][]) =>
          keys.length > 0
            ? ` (e.g. ${keys.map((k) => JSON.stringify(k.length === 1 ? k[0] : k)).join(', ')})`
            : '';
        reporter.info(
          `${diff.onlyInRestored.count} row(s) deleted since${sample(diff.onlyInRestored.samples)}`,
        );
        reporter.info(`${diff.onlyInLive.count} row(s) inserted since${sample(diff.onlyInLive.samples)}`);
        reporter.info(`${diff.changed.count} row(s) changed since${sample(diff.changed.samples)}`);
        await ctx.betweenSteps();

        if (command.mode === 'merge-missing') {
          await reporter.step('Put back the rows missing from the live table');
          counts.merged = await ctx.remember('merged', () =>
            mergeMissing(liveConn, command, names.restored, key.columns),
          );
        } else if (command.mode === 'replace') {
          await reporter.step('Swap the restored table in');
          await ctx.remember('replaced', () => swapIn(liveConn, command, names));
        }
      }),
    );
    return { outcome: 'done', summary: restoreOutcome(command, names, counts) };
  } catch (error) {
    returningToQueue = error instanceof WaitingError;
    throw error;
  } finally {
    // Always: on success, failure or cancel (not when the job only goes back to the queue to resume).
    if (!returningToQueue) await deleteTemporary(clients, tempId, ctx, wait);
  }
}

/** Inserts exactly the restored rows whose key is missing from the live table, in one transaction. */
async function mergeMissing(
  conn: MysqlConnection,
  command: RdsRestoreTable,
  restored: string,
  key: string[],
): Promise<number> {
  const columns = (await getColumns(conn, command.schema, command.table))
    .filter((c) => !c.generated)
    .map((c) => quoteIdent(c.name));
  const match = key.map((k) => `l.${quoteIdent(k)} <=> r.${quoteIdent(k)}`).join(' AND ');
  await conn.beginTransaction();
  try {
    const [result] = await conn.query(
      `INSERT INTO ${qualified(command.schema, command.table)} (${columns.join(', ')}) ` +
        `SELECT ${columns.map((c) => `r.${c}`).join(', ')} FROM ${qualified(command.schema, restored)} r ` +
        `WHERE NOT EXISTS (SELECT 1 FROM ${qualified(command.schema, command.table)} l WHERE ${match})`,
    );
    await conn.commit();
    return (result as { affectedRows?: number }).affectedRows ?? 0;
  } catch (error) {
    await conn.rollback().catch(() => undefined);
    throw error;
  }
}

/** Whether this job's swap has happened: the old table is kept under `before` and the restored name is free. */
async function swapDone(
  conn: MysqlConnection,
  command: RdsRestoreTable,
  names: { restored: string; before: string },
): Promise<boolean> {
  return (
    (await tableExists(conn, command.schema, names.before)) &&
    !(await tableExists(conn, command.schema, names.restored))
  );
}

/** `RENAME TABLE live → before, restored → live` in one atomic statement; nothing is dropped. */
async function swapIn(
  conn: MysqlConnection,
  command: RdsRestoreTable,
  names: { restored: string; before: string },
): Promise<true> {
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

async function deleteTemporary(
  clients: AwsClients,
  tempId: string,
  ctx: JobContext,
  wait: ReturnType<typeof jobWaits>,
): Promise<void> {
  const existing = await describeDbInstance(clients.rds, tempId).catch(() => undefined);
  if (!existing) return;
  await ctx.reporter.step(`Delete the temporary instance ${tempId}`);
  if (existing.status !== 'deleting') await deleteDbInstance(clients.rds, tempId);
  await waitUntil(async () => ((await describeDbInstance(clients.rds, tempId)) ? undefined : true), {
    what: `${tempId} to be deleted`,
    ...wait,
    between: async () => {},
  });
}
