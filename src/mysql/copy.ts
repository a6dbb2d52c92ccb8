/**
 * Copying one table between servers: same definition, rows streamed in key order by keyset pagination, the key
 * space of a single-integer key split into ranges copied in parallel, batched multi-row INSERTs, never the whole
 * table in memory, resumable from a plain-JSON checkpoint without duplicating rows.
 */
import { Readable } from 'node:stream';
import type { Connection as CoreConnection } from 'mysql2';
import type { ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import { CancelledError, ErrorCode, UserError } from '../errors.js';
import { type ConnectionOptions, exactTypeCast, type MysqlConnection, openConnection } from './connection.js';
import { and, columnList, type Fragment, keyPredicate, qualified, quoteIdent } from './identifiers.js';
import { type ColumnInfo, describeTable, rewriteCreateTable, type TableKey, tableExists } from './table.js';

/** A key value as stored in a checkpoint: JSON-safe (binary values as hex). */
export type KeyValue = string | number | null | { hex: string };

/** One key range's progress. Bounds are exclusive below, inclusive above; `null` means unbounded. */
export interface RangeCheckpoint {
  index: number;
  lower: KeyValue[] | null;
  upper: KeyValue[] | null;
  /** The last key copied in this range (null: nothing yet). */
  last: KeyValue[] | null;
  /** Rows copied in this range so far. */
  rows: number;
  done: boolean;
}

/**
 * Rows per page and batch when the caller does not say (what a restore job uses). 1,000 copies faster but
 * peaks above 200 MB RSS on a 1,000,000-row table (`npm run bench -- restore --batch 1000`); 500 stays under.
 */
export const DEFAULT_BATCH_ROWS = 500;

/** Everything a retried job needs to resume a copy; plain JSON (store it in the job's data). */
export interface CopyCheckpoint {
  version: 1;
  source: { schema: string; table: string };
  target: { schema: string; table: string };
  /** Key columns rows are ordered by; empty for a table without a usable key (copied in one pass). */
  key: string[];
  /** The target table was created by this copy (so resuming may write to it). */
  created: boolean;
  ranges: RangeCheckpoint[];
  rowsCopied: number;
  done: boolean;
}

/** A server to copy from or to: an open connection (used alone, ranges run one after another) or options. */
export type ConnectionSource = MysqlConnection | ConnectionOptions;

/** Progress after each batch. */
export interface CopyProgress {
  rowsCopied: number;
  /** The source's row estimate (information_schema), for a percentage. */
  approximateRows: number;
  rangesDone: number;
  rangesTotal: number;
  /** A copy of the checkpoint as of this batch (safe to persist). */
  checkpoint: CopyCheckpoint;
}

export interface CopyOptions {
  source: ConnectionSource;
  target: ConnectionSource;
  /** Source schema (also the target schema unless `targetSchema` is given). */
  schema: string;
  table: string;
  targetSchema?: string;
  targetTable: string;
  /** Key ranges copied in parallel (single integer key only; default 4). */
  ranges?: number;
  /** Rows per SELECT page and INSERT (default {@link DEFAULT_BATCH_ROWS}). */
  batchRows?: number;
  /** Soft cap on one batch's bytes; pages shrink when rows are large (default 4 MiB). */
  maxBatchBytes?: number;
  /** Resume from this checkpoint (as returned or reported earlier). */
  checkpoint?: CopyCheckpoint;
  onProgress?: (progress: CopyProgress) => void | Promise<void>;
  signal?: AbortSignal;
  /** Test hook: stop (as if killed) after this many batches in total. */
  maxBatches?: number;
  /**
   * How batches are written: `load-data` streams each batch as `LOAD DATA LOCAL INFILE` (raw bytes, no per-value
   * parsing in JS or SQL), `insert` uses multi-row INSERTs; `auto` (default) uses `load-data` when every column type
   * is one it handles and falls back to `insert` if the server refuses local infile.
   */
  method?: 'auto' | 'insert' | 'load-data';
}

export interface CopyResult {
  rowsCopied: number;
  checkpoint: CopyCheckpoint;
  key: TableKey;
  durationMs: number;
  /** How rows were written. */
  method: 'insert' | 'load-data';
}

/** The copy stopped early (aborted, or the `maxBatches` hook); `checkpoint` resumes it. */
export class CopyInterruptedError extends CancelledError {
  readonly checkpoint: CopyCheckpoint;
  constructor(message: string, checkpoint: CopyCheckpoint) {
    super(message);
    this.checkpoint = checkpoint;
  }
}

/** Encodes a value read from MySQL for a checkpoint. */
export function encodeKeyValue(value: unknown): KeyValue {
  if (value === null || value === undefined) return null;
  if (Buffer.isBuffer(value)) return { hex: value.toString('hex') };
  if (typeof value === 'number' || typeof value === 'string') return value;
  if (typeof value === 'bigint') return value.toString();
  return String(value);
}

/** Decodes a checkpoint value into a query placeholder value. */
export function decodeKeyValue(value: KeyValue): string | number | null | Buffer {
  if (value !== null && typeof value === 'object') return Buffer.from(value.hex, 'hex');
  return value;
}

/**
 * Splits `[min, max]` of an integer key into up to `n` ranges: `(lower, upper]` with `null` for unbounded ends, so
 * rows outside the sampled min/max still land in the first or last range. Pure.
 */
export function splitIntegerRange(
  min: bigint,
  max: bigint,
  n: number,
): Array<{ lower: string | null; upper: string | null }> {
  const count = Math.max(1, Math.floor(n));
  const span = max - min + 1n;
  const bounds: bigint[] = [];
  for (let i = 1; i < count; i++) {
    const b = min - 1n + (span * BigInt(i)) / BigInt(count);
    if (b >= min && b < max && (bounds.length === 0 || b > (bounds.at(-1) as bigint))) bounds.push(b);
  }
  const out: Array<{ lower: string | null; upper: string | null }> = [];
  let lower: string | null = null;
  for (const b of bounds) {
    out.push({ lower, upper: b.toString() });
    lower = b.toString();
  }
  out.push({ lower, upper: null });
  return out;
}

/** WHERE fragment for `(lower, upper]` and `> after` on the key. */
export function rangeWhere(
  key: readonly string[],
  range: { lower: KeyValue[] | null; upper: KeyValue[] | null },
  after: KeyValue[] | null,
): Fragment {
  const parts: Fragment[] = [];
  const from = after ?? range.lower;
  if (from) parts.push(keyPredicate(key, '>', from.map(decodeKeyValue)));
  if (range.upper) parts.push(keyPredicate(key, '<=', range.upper.map(decodeKeyValue)));
  return and(parts);
}

/** Rough size of a row in bytes (for batch sizing). */
function rowBytes(row: readonly unknown[]): number {
  let n = 8;
  for (const v of row) {
    if (typeof v === 'string') n += v.length + 3;
    else if (Buffer.isBuffer(v)) n += v.length * 2 + 3;
    else n += 8;
  }
  return n;
}

/** Integer and fixed-point types: their text form is plain digits, sign and point. */
const NUMERIC_TYPES = ['tinyint', 'smallint', 'mediumint', 'int', 'integer', 'bigint', 'decimal', 'numeric'];

const LOAD_DATA_TYPES = new Set([
  ...NUMERIC_TYPES,
  'char',
  'varchar',
  'tinytext',
  'text',
  'mediumtext',
  'longtext',
  'json',
  'enum',
  'set',
  'binary',
  'varbinary',
  'tinyblob',
  'blob',
  'mediumblob',
  'longblob',
  'date',
  'datetime',
  'timestamp',
  'time',
  'year',
]);

/**
 * True when a column's text-protocol bytes load back exactly through LOAD DATA (FLOAT/DOUBLE, BIT, spatial and other
 * types use INSERT instead). Pure.
 */
export function loadDataSafe(column: ColumnInfo): boolean {
  return LOAD_DATA_TYPES.has(column.dataType);
}

/**
 * `LOAD DATA LOCAL INFILE` for {@link tsvBatch} output: the file is read as binary into user variables, then each
 * character column is reinterpreted as utf8mb4 (the connection's result charset) and converted to its own charset,
 * while binary, numeric and temporal columns take the bytes as they are. Pure.
 */
export function loadDataSql(target: string, columns: readonly ColumnInfo[]): string {
  const format = "FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n'";
  // Without binary or JSON columns the file can simply be read as utf8mb4 (cheaper for the server: no SET clause).
  if (columns.every((c) => c.charset !== 'binary' && c.dataType !== 'json')) {
    return `LOAD DATA LOCAL INFILE 'capstan-batch.tsv' INTO TABLE ${target} CHARACTER SET utf8mb4 ${format} (${columnList(columns.map((c) => c.name))})`;
  }
  const vars = columns.map((_, i) => `@c${i}`);
  const sets = columns.map((c, i) => {
    const v = `@c${i}`;
    const text = (c.charset !== null && c.charset !== 'binary') || c.dataType === 'json';
    const value = text ? `CONVERT(${v} USING utf8mb4)` : v;
    return `${quoteIdent(c.name, 'column')} = ${value}`;
  });
  return `LOAD DATA LOCAL INFILE 'capstan-batch.tsv' INTO TABLE ${target} CHARACTER SET binary ${format} (${vars.join(', ')}) SET ${sets.join(', ')}`;
}

/** Types whose text form is digits, signs, `.`, `-`, `:` and spaces only. */
const PLAIN_TYPES = new Set([...NUMERIC_TYPES, 'date', 'datetime', 'timestamp', 'time', 'year']);

const TAB = Buffer.from('\t');
const NL = Buffer.from('\n');
const NULL_FIELD = Buffer.from('\\N');

/** Escapes one field for LOAD DATA (`\\`, tab, newline, NUL). */
function escapeField(v: Buffer): Buffer {
  if (v.indexOf(0x5c) === -1 && v.indexOf(0x09) === -1 && v.indexOf(0x0a) === -1 && v.indexOf(0x00) === -1)
    return v;
  const out = Buffer.allocUnsafe(v.length * 2);
  let o = 0;
  for (let i = 0; i < v.length; i++) {
    const b = v[i] as number;
    if (b === 0x5c || b === 0x09 || b === 0x0a) {
      out[o++] = 0x5c;
      out[o++] = b;
    } else if (b === 0x00) {
      out[o++] = 0x5c;
      out[o++] = 0x30; // \0
    } else out[o++] = b;
  }
  return out.subarray(0, o);
}

/** One batch of raw rows (the first `n` fields of each) as LOAD DATA text; NULL as `\\N`. Pure. */
export function tsvBatch(
  rows: ReadonlyArray<ReadonlyArray<Buffer | null>>,
  n: number,
  plain?: readonly boolean[],
): Buffer {
  const parts: Buffer[] = [];
  for (const row of rows) {
    for (let i = 0; i < n; i++) {
      if (i > 0) parts.push(TAB);
      const v = row[i];
      // `plain[i]`: the column's text can hold no tab, newline, backslash or NUL (numbers, dates): no scan needed.
      parts.push(v === null || v === undefined ? NULL_FIELD : plain?.[i] ? v : escapeField(v));
    }
    parts.push(NL);
  }
  return Buffer.concat(parts);
}

function isConnection(source: ConnectionSource): source is MysqlConnection {
  return typeof (source as MysqlConnection).query === 'function';
}

function cloneCheckpoint(c: CopyCheckpoint): CopyCheckpoint {
  return JSON.parse(JSON.stringify(c)) as CopyCheckpoint;
}

/**
 * Copies `schema.table` from `source` into `targetSchema.targetTable` on `target`. Creates the target table with the
 * source's definition (foreign keys left out) and fails with a Conflict {@link UserError} if it already exists —
 * unless resuming from a checkpoint that created it. Generated columns are not inserted (the server computes them).
 *
 * Resuming is exact for keyed tables: each range restarts after the highest key present in the target within that
 * range (each batch is one atomic INSERT), whatever the checkpoint says. A table without a usable key is copied in
 * one streaming pass; resuming one empties the target table (which this copy created) and copies again.
 *
 * @throws CopyInterruptedError (with the checkpoint) when aborted or stopped by `maxBatches`
 */
export async function copyTable(options: CopyOptions): Promise<CopyResult> {
  const started = Date.now();
  const { schema, table, targetTable } = options;
  const targetSchema = options.targetSchema ?? schema;
  const srcName = qualified(schema, table);
  const dstName = qualified(targetSchema, targetTable);
  const batchRows = Math.max(1, Math.floor(options.batchRows ?? DEFAULT_BATCH_ROWS));
  const maxBatchBytes = options.maxBatchBytes ?? 4 * 1024 * 1024;
  const wantedRanges = Math.max(1, Math.floor(options.ranges ?? 4));

  const opened: MysqlConnection[] = [];
  /** Connections without a connection-wide typeCast (see ConnectionOptions.rawReads). */
  const raw = new WeakSet<MysqlConnection>();
  let failed = false;
  const open = async (source: ConnectionSource): Promise<MysqlConnection> => {
    if (isConnection(source)) return source;
    const conn = await openConnection({ ...source, rawReads: true });
    opened.push(conn);
    raw.add(conn);
    return conn;
  };
  /** Opens several at once; waits for all (so every opened one is closed below) before failing. */
  const openAll = async (sources: ConnectionSource[]): Promise<MysqlConnection[]> => {
    const settled = await Promise.allSettled(sources.map(open));
    const failure = settled.find((r) => r.status === 'rejected');
    if (failure) throw failure.reason;
    return settled.map((r) => (r as PromiseFulfilledResult<MysqlConnection>).value);
  };
  try {
    const [src, dst] = (await openAll([options.source, options.target])) as [
      MysqlConnection,
      MysqlConnection,
    ];
    const info = await describeTable(src, schema, table);
    const key = info.key;
    const insertCols = info.columns.filter((c) => !c.generated);
    if (insertCols.length === 0) throw new UserError(`table ${schema}.${table} has no insertable columns`);
    const selectCols: ColumnInfo[] = [...insertCols];
    for (const k of key.columns) {
      if (!selectCols.some((c) => c.name === k)) {
        const col = info.columns.find((c) => c.name === k);
        if (col) selectCols.push(col);
      }
    }
    const keyIdx = key.columns.map((k) => selectCols.findIndex((c) => c.name === k));

    // Checkpoint: validate a given one, or plan a new one.
    let cp: CopyCheckpoint;
    if (options.checkpoint) {
      cp = cloneCheckpoint(options.checkpoint);
      const same =
        cp.version === 1 &&
        cp.source.schema === schema &&
        cp.source.table === table &&
        cp.target.schema === targetSchema &&
        cp.target.table === targetTable &&
        cp.key.join(',') === key.columns.join(',');
      if (!same)
        throw new UserError('the checkpoint belongs to a different copy (source, target or key differ)');
    } else {
      cp = {
        version: 1,
        source: { schema, table },
        target: { schema: targetSchema, table: targetTable },
        key: [...key.columns],
        created: false,
        ranges: [],
        rowsCopied: 0,
        done: false,
      };
    }
    if (cp.done)
      return {
        rowsCopied: cp.rowsCopied,
        checkpoint: cp,
        key,
        durationMs: Date.now() - started,
        method: 'insert',
      };

    if (!cp.created) {
      if (await tableExists(dst, targetSchema, targetTable)) {
        throw new UserError(
          `table ${targetSchema}.${targetTable} already exists: Capstan never overwrites a table`,
          ErrorCode.Conflict,
        );
      }
      try {
        await dst.query(rewriteCreateTable(info.createStatement, targetSchema, targetTable));
      } catch (error) {
        if ((error as { code?: string }).code === 'ER_TABLE_EXISTS_ERROR') {
          throw new UserError(
            `table ${targetSchema}.${targetTable} already exists: Capstan never overwrites a table`,
            ErrorCode.Conflict,
          );
        }
        throw error;
      }
      cp.created = true;
    } else if (!(await tableExists(dst, targetSchema, targetTable))) {
      throw new UserError(
        `cannot resume: table ${targetSchema}.${targetTable} no longer exists`,
        ErrorCode.NotFound,
      );
    }

    if (cp.ranges.length === 0) {
      if (key.integer && wantedRanges > 1 && !isConnection(options.source)) {
        const k = quoteIdent(key.columns[0] as string, 'column');
        const [rows] = await src.query<RowDataPacket[]>(
          `SELECT MIN(${k}) AS lo, MAX(${k}) AS hi FROM ${srcName}`,
        );
        const lo = rows[0]?.lo;
        const hi = rows[0]?.hi;
        const split =
          lo === null || lo === undefined
            ? [{ lower: null, upper: null }]
            : splitIntegerRange(BigInt(String(lo)), BigInt(String(hi)), wantedRanges);
        cp.ranges = split.map((r, index) => ({
          index,
          lower: r.lower === null ? null : [r.lower],
          upper: r.upper === null ? null : [r.upper],
          last: null,
          rows: 0,
          done: false,
        }));
      } else {
        cp.ranges = [{ index: 0, lower: null, upper: null, last: null, rows: 0, done: false }];
      }
    }

    // Persist-worthy as soon as the table exists: a retry must know it created it (or it would refuse to overwrite).
    if (options.onProgress) {
      cp.rowsCopied = cp.ranges.reduce((n, r) => n + r.rows, 0);
      await options.onProgress({
        rowsCopied: cp.rowsCopied,
        approximateRows: info.approximateRows,
        rangesDone: cp.ranges.filter((r) => r.done).length,
        rangesTotal: cp.ranges.length,
        checkpoint: cloneCheckpoint(cp),
      });
    }

    // Shared stop state.
    let batches = 0;
    let stopReason: string | undefined;
    const shouldStop = (): boolean => {
      if (stopReason) return true;
      if (options.signal?.aborted) stopReason = 'copy aborted';
      else if (options.maxBatches !== undefined && batches >= options.maxBatches)
        stopReason = `stopped after ${batches} batches (test hook)`;
      return stopReason !== undefined;
    };
    const report = async (): Promise<void> => {
      cp.rowsCopied = cp.ranges.reduce((n, r) => n + r.rows, 0);
      await options.onProgress?.({
        rowsCopied: cp.rowsCopied,
        approximateRows: info.approximateRows,
        rangesDone: cp.ranges.filter((r) => r.done).length,
        rangesTotal: cp.ranges.length,
        checkpoint: cloneCheckpoint(cp),
      });
    };

    const insertSql = `INSERT INTO ${dstName} (${columnList(insertCols.map((c) => c.name))}) VALUES ?`;
    const loadSql = loadDataSql(dstName, insertCols);
    const plainCols = insertCols.map((c) => c.charset === null && PLAIN_TYPES.has(c.dataType));
    let method: 'insert' | 'load-data' =
      options.method === 'insert' || (options.method !== 'load-data' && !insertCols.every(loadDataSafe))
        ? 'insert'
        : 'load-data';
    // Raw mode (load-data): every field arrives as the server's bytes; keys are decoded from them.
    const rawCast = (field: { buffer(): Buffer | null }) => field.buffer();
    const readKey = (row: unknown[]): KeyValue[] =>
      keyIdx.map((i) => {
        const v = row[i];
        if (method === 'insert' || !Buffer.isBuffer(v)) return encodeKeyValue(v);
        const col = selectCols[i] as ColumnInfo;
        if (col.charset === 'binary') return encodeKeyValue(v);
        return v.toString(col.charset === null ? 'latin1' : 'utf8');
      });
    if (method === 'load-data' && options.method !== 'load-data') {
      // Probe: an empty LOAD DATA LOCAL loads nothing, and tells whether the server allows local infile.
      try {
        await dst.query<ResultSetHeader>({
          sql: loadSql,
          infileStreamFactory: () => Readable.from([]),
        });
      } catch (error) {
        const code = (error as { errno?: number }).errno;
        // 1148 ER_NOT_ALLOWED_COMMAND, 3948 local infile off (MySQL 8), 4166 capability disabled (MariaDB).
        if (code !== 1148 && code !== 3948 && code !== 4166) throw error;
        method = 'insert';
      }
    }
    /** Per-query read options: raw bytes for load-data (natively when the connection allows), exact values otherwise. */
    const readOptions = (
      conn: MysqlConnection,
    ): { typeCast: false | typeof rawCast | typeof exactTypeCast } =>
      method === 'load-data' ? { typeCast: raw.has(conn) ? false : rawCast } : { typeCast: exactTypeCast };
    const insert = async (conn: MysqlConnection, rows: unknown[][]): Promise<void> => {
      if (method === 'load-data') {
        const data = tsvBatch(rows as Array<Array<Buffer | null>>, insertCols.length, plainCols);
        await conn.query<ResultSetHeader>({ sql: loadSql, infileStreamFactory: () => Readable.from([data]) });
        return;
      }
      const values =
        selectCols.length === insertCols.length ? rows : rows.map((r) => r.slice(0, insertCols.length));
      await conn.query<ResultSetHeader>({ sql: insertSql, values: [values] });
    };

    if (key.columns.length === 0) {
      await copyWithoutKey();
    } else {
      const pending = cp.ranges.filter((r) => !r.done);
      const parallel =
        isConnection(options.source) || isConnection(options.target)
          ? 1
          : Math.min(pending.length, wantedRanges);
      // The other ranges' connections, opened at once rather than one handshake after another.
      const more = await openAll(
        Array.from({ length: parallel - 1 }, () => [options.source, options.target]).flat(),
      );
      const workers: Array<{ src: MysqlConnection; dst: MysqlConnection }> = [{ src, dst }];
      for (let i = 0; i + 1 < more.length; i += 2)
        workers.push({ src: more[i] as MysqlConnection, dst: more[i + 1] as MysqlConnection });
      const queue = [...pending];
      await Promise.all(
        workers.map(async (w) => {
          for (let r = queue.shift(); r; r = queue.shift()) {
            if (shouldStop()) return;
            await copyRange(w.src, w.dst, r);
          }
        }),
      );
    }

    if (shouldStop() && !cp.ranges.every((r) => r.done)) {
      cp.rowsCopied = cp.ranges.reduce((n, r) => n + r.rows, 0);
      throw new CopyInterruptedError(
        `copy of ${schema}.${table} interrupted: ${stopReason}`,
        cloneCheckpoint(cp),
      );
    }
    cp.done = true;
    await report();
    return {
      rowsCopied: cp.rowsCopied,
      checkpoint: cloneCheckpoint(cp),
      key,
      durationMs: Date.now() - started,
      method,
    };

    async function copyRange(s: MysqlConnection, d: MysqlConnection, range: RangeCheckpoint): Promise<void> {
      const order = key.columns.map((c) => quoteIdent(c, 'column'));
      // Resume after what the target really holds in this range (each INSERT is atomic).
      {
        const where = rangeWhere(key.columns, range, null);
        const [rows] = await d.query<RowDataPacket[]>({
          sql: `SELECT ${order.join(', ')} FROM ${dstName} WHERE ${where.sql} ORDER BY ${order.map((o) => `${o} DESC`).join(', ')} LIMIT 1`,
          values: where.values,
          rowsAsArray: true,
        });
        const top = rows[0] as unknown as unknown[] | undefined;
        range.last = top ? top.map(encodeKeyValue) : null;
      }
      let limit = batchRows;
      const fetch = async (after: KeyValue[] | null): Promise<unknown[][]> => {
        const where = rangeWhere(key.columns, range, after);
        const [rows] = await s.query<RowDataPacket[]>({
          sql: `SELECT ${columnList(selectCols.map((c) => c.name))} FROM ${srcName} WHERE ${where.sql} ORDER BY ${order.join(', ')} LIMIT ${limit}`,
          values: where.values,
          rowsAsArray: true,
          ...readOptions(s),
        });
        return rows as unknown as unknown[][];
      };
      let next: Promise<unknown[][]> | null = fetch(range.last);
      try {
        while (next) {
          const rows: unknown[][] = await next;
          next = null;
          if (rows.length === 0) break;
          const last = rows[rows.length - 1] as unknown[];
          const lastKey = readKey(last);
          const full = rows.length >= limit;
          let bytes = 0;
          for (const r of rows) bytes += rowBytes(r);
          if (bytes > maxBatchBytes) limit = Math.max(1, Math.floor((limit * maxBatchBytes) / bytes));
          else if (limit < batchRows) limit = Math.min(batchRows, limit * 2);
          // Read the next page while this one is written.
          if (full && !shouldStop()) next = fetch(lastKey);
          await insert(d, rows);
          range.last = lastKey;
          range.rows += rows.length;
          batches += 1;
          if (!full) break;
          await report();
          if (shouldStop()) {
            await next?.catch(() => []);
            return;
          }
          if (!next) next = fetch(lastKey);
        }
      } catch (error) {
        await next?.catch(() => []);
        throw error;
      }
      range.done = true;
      await report();
    }

    async function copyWithoutKey(): Promise<void> {
      const range = cp.ranges[0] as RangeCheckpoint;
      // Resuming: whatever an earlier attempt wrote (recorded or not) goes; the copy starts again.
      if (options.checkpoint?.created) await dst.query(`TRUNCATE TABLE ${dstName}`);
      range.rows = 0;
      range.last = null;
      const stream = (src as unknown as { connection: CoreConnection }).connection
        .query({
          sql: `SELECT ${columnList(selectCols.map((c) => c.name))} FROM ${srcName}`,
          rowsAsArray: true,
          ...readOptions(src),
        })
        .stream({ highWaterMark: batchRows });
      let batch: unknown[][] = [];
      let bytes = 0;
      const flush = async (): Promise<void> => {
        if (batch.length === 0) return;
        await insert(dst, batch);
        range.rows += batch.length;
        batches += 1;
        batch = [];
        bytes = 0;
        await report();
      };
      try {
        for await (const row of stream as AsyncIterable<unknown[]>) {
          batch.push(row);
          bytes += rowBytes(row);
          if (batch.length >= batchRows || bytes >= maxBatchBytes) {
            await flush();
            if (shouldStop()) {
              range.last = null;
              return;
            }
          }
        }
        await flush();
      } finally {
        stream.destroy();
      }
      range.done = true;
      await report();
    }
  } catch (error) {
    failed = true;
    throw error;
  } finally {
    // After an interruption a result may still be streaming: destroy rather than wait for it.
    await Promise.all(opened.map((c) => (failed ? c.destroy() : c.end().catch(() => c.destroy()))));
  }
}
