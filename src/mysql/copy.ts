/**
 * Copying one table between servers: same definition (its non-unique secondary keys built after the load); the key space of a single-integer key split into ranges copied
 * in parallel; each range streamed in key order (one query, paused while the writer catches up) and written in
 * batches, several to a transaction (one LOAD DATA LOCAL statement a transaction, fed batch by batch, or one
 * multi-row INSERT a batch); never the whole table in memory;
 * resumable from a plain-JSON checkpoint without duplicating rows (a range restarts after the highest key the
 * target holds).
 */
import { once } from 'node:events';
import { PassThrough, Readable, type Writable } from 'node:stream';
import type { Connection as CoreConnection } from 'mysql2';
import type { ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import { type CopyPlan, chooseCopyPlan } from '../domain/copy-plan.js';
import { addKeysSql, type DeferredKey, deferSecondaryKeys } from '../domain/table-definition.js';
import { CancelledError, ErrorCode, UserError } from '../errors.js';
import { type ConnectionOptions, exactTypeCast, type MysqlConnection, openConnection } from './connection.js';
import { and, columnList, type Fragment, keyPredicate, qualified, quoteIdent } from './identifiers.js';
import {
  type ColumnInfo,
  describeTable,
  getIndexes,
  rewriteCreateTable,
  sampledRowBytes,
  type TableKey,
  tableComment,
  tableExists,
  tableSize,
  withTableComment,
} from './table.js';

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
  /**
   * The non-unique secondary keys the target was created without (by name), and whether the ALTER that adds them
   * has been seen to finish. Absent in checkpoints of copies that created the table with every key. A resumed copy
   * reads the target's indexes rather than trusting `built`: an ALTER cut short by a crash either happened or not.
   */
  indexes?: { deferred: string[]; built: boolean };
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
  /** `indexing`: every row is in and the deferred keys are being built (see {@link CopyProgress.indexing}). */
  phase: 'copying' | 'indexing';
  /**
   * While indexing: the keys being built, for how long so far, and how far the server says it is where it says so
   * (MariaDB's PROCESSLIST.PROGRESS, when above 0: its InnoDB in-place index builds may report 0 throughout).
   */
  indexing?: { names: string[]; seconds?: number; percent?: number };
  /** How the copy was cut up, and why. */
  plan: CopyPlan;
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
  /**
   * Key ranges copied in parallel (single integer key only). Unset, this and the three sizes below are chosen from
   * what the copy measures (cores, indexes, row width: {@link chooseCopyPlan}); set, they override the choice.
   */
  ranges?: number;
  /** Rows per batch written (one INSERT, or one part of the transaction's LOAD DATA file). */
  batchRows?: number;
  /**
   * Rows per transaction on the target: batches are committed together once this many rows are written (at most one
   * batch when smaller than `batchRows`). Progress and the checkpoint only ever count committed rows.
   */
  commitRows?: number;
  /** Soft cap on one batch's bytes: a batch ends early when its rows are large. */
  maxBatchBytes?: number;
  /**
   * CPUs of the target server when it does not report them itself (MySQL does not; MariaDB does): e.g. from the RDS
   * instance class (`vcpusOfInstanceClass` in src/domain/copy-plan.ts).
   */
  targetCores?: number;
  /** Resume from this checkpoint (as returned or reported earlier). */
  checkpoint?: CopyCheckpoint;
  onProgress?: (progress: CopyProgress) => void | Promise<void>;
  signal?: AbortSignal;
  /** The created table's comment (its maker's mark, so a resumed copy can tell the table is its own). */
  comment?: string;
  /**
   * Resuming without a checkpoint that records the table's creation (the copy was stopped between
   * creating it and checkpointing): a target that already exists is taken over when this says its
   * comment is this copy's mark, and refused as someone else's otherwise.
   */
  adoptIf?: (comment: string) => boolean;
  /** Called right after the target table is created, before anything records it. */
  onCreated?: () => Promise<void>;
  /**
   * Create the target without its non-unique secondary keys and add them in one ALTER after the load (default true;
   * see {@link deferSecondaryKeys} for which keys stay).
   */
  deferKeys?: boolean;
  /** Test hook: stop (as if killed) after this many batches in total. */
  maxBatches?: number;
  /**
   * How batches are written: `load-data` streams a transaction's batches as one `LOAD DATA LOCAL INFILE` (raw bytes,
   * no per-value parsing in JS or SQL), `insert` uses multi-row INSERTs; `auto` (default) uses `load-data` when every column type
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
  /** How the copy was cut up, and why. */
  plan: CopyPlan;
  /**
   * The keys added after the load by this run (empty when none were deferred, or an earlier attempt built them), and
   * how: `inplace` (sorted index builds), `copy` (the server could not build them in place), or null.
   */
  indexes: { built: string[]; algorithm: 'inplace' | 'copy' | null; ms: number };
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

const TAB = 0x09;
const NL = 0x0a;
const BACKSLASH = 0x5c;

/** True when a field holds a byte LOAD DATA needs escaped (`\\`, tab, newline, NUL). */
function needsEscape(v: Buffer): boolean {
  return v.indexOf(BACKSLASH) !== -1 || v.indexOf(TAB) !== -1 || v.indexOf(NL) !== -1 || v.indexOf(0) !== -1;
}

/** Writes `v` escaped for LOAD DATA into `out` at `o`; returns the new offset. */
function writeEscaped(v: Buffer, out: Buffer, o: number): number {
  for (let i = 0; i < v.length; i++) {
    const b = v[i] as number;
    if (b === BACKSLASH || b === TAB || b === NL) {
      out[o++] = BACKSLASH;
      out[o++] = b;
    } else if (b === 0x00) {
      out[o++] = BACKSLASH;
      out[o++] = 0x30; // \0
    } else out[o++] = b;
  }
  return o;
}

/**
 * Appends rows (raw field bytes) as LOAD DATA text to one growing buffer: `\\N` for NULL, tabs between fields,
 * a newline after each row. `plain[i]` marks columns whose text can hold no tab, newline, backslash or NUL (numbers,
 * dates), which are copied without a scan.
 */
export class TsvWriter {
  private buf: Buffer;
  private length = 0;
  constructor(
    private readonly n: number,
    private readonly plain?: readonly boolean[],
    capacity = 64 * 1024,
  ) {
    this.buf = Buffer.allocUnsafe(capacity);
  }

  /** Bytes written since the last {@link take}. */
  get bytes(): number {
    return this.length;
  }

  add(row: ReadonlyArray<Buffer | null>): void {
    const { n, plain } = this;
    let worst = n;
    for (let i = 0; i < n; i++) {
      const v = row[i];
      worst += v === null || v === undefined ? 2 : plain?.[i] ? v.length : v.length * 2;
    }
    if (this.length + worst > this.buf.length) {
      const grown = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.length + worst));
      this.buf.copy(grown, 0, 0, this.length);
      this.buf = grown;
    }
    const out = this.buf;
    let o = this.length;
    for (let i = 0; i < n; i++) {
      if (i > 0) out[o++] = TAB;
      const v = row[i];
      if (v === null || v === undefined) {
        out[o++] = BACKSLASH;
        out[o++] = 0x4e; // N
      } else if (!plain?.[i] && needsEscape(v)) o = writeEscaped(v, out, o);
      else {
        out.set(v, o);
        o += v.length;
      }
    }
    out[o++] = NL;
    this.length = o;
  }

  /** The text written so far; the writer starts again empty, in a buffer sized like this one. */
  take(): Buffer {
    const text = this.buf.subarray(0, this.length);
    this.buf = Buffer.allocUnsafe(Math.max(64 * 1024, Math.ceil(this.length * 1.25)));
    this.length = 0;
    return text;
  }
}

/** One batch of raw rows (the first `n` fields of each) as LOAD DATA text (see {@link TsvWriter}). Pure. */
export function tsvBatch(
  rows: ReadonlyArray<ReadonlyArray<Buffer | null>>,
  n: number,
  plain?: readonly boolean[],
): Buffer {
  const writer = new TsvWriter(n, plain, 1024);
  for (const row of rows) writer.add(row);
  return writer.take();
}

/** A batch of rows read from the source, ready to write: LOAD DATA text or row values for an INSERT. */
interface Batch {
  count: number;
  /** The last row (for its key). */
  last: unknown[];
  text?: Buffer;
  rows?: unknown[][];
}

/**
 * Reads one query's rows as batches of at most `maxRows` rows / about `maxBytes` bytes, while the caller writes the
 * previous ones: at most two finished batches wait; beyond that the connection is paused (the server then waits on
 * its socket), so memory stays a few batches whatever the table's size. Rows become LOAD DATA text as they arrive
 * when `writer` is given (no row objects outlive their packet), else they are kept as values.
 *
 * Stopping early (`return()`, e.g. a `break` or a throw in a `for await`): the rest of the result is read and dropped
 * when `drainOnStop` (a connection lent by the caller must be left usable), else left for the caller to destroy the
 * connection.
 */
async function* batchesOf(
  conn: CoreConnection,
  query: { sql: string; values?: unknown[]; typeCast: unknown },
  opts: { maxRows: number; maxBytes: number; writer?: TsvWriter; drainOnStop: boolean },
): AsyncGenerator<Batch> {
  const { maxRows, maxBytes, writer } = opts;
  const ready: Batch[] = [];
  let rows: unknown[][] = [];
  let count = 0;
  let bytes = 0;
  let last: unknown[] | undefined;
  let ended = false;
  let failure: unknown;
  let paused = false;
  /** Stopped early: rows still arriving are dropped. */
  let stopped = false;
  let wake: (() => void) | undefined;
  const notify = (): void => {
    wake?.();
    wake = undefined;
  };
  const seal = (): void => {
    if (stopped || count === 0 || !last) return;
    ready.push(writer ? { count, last, text: writer.take() } : { count, last, rows });
    rows = [];
    count = 0;
    bytes = 0;
    if (ready.length >= 2 && !paused) {
      paused = true;
      conn.pause();
    }
    notify();
  };
  const q = conn.query({ ...query, rowsAsArray: true } as Parameters<CoreConnection['query']>[0]);
  q.on('result', (row: unknown) => {
    if (stopped) return;
    const r = row as unknown[];
    if (writer) {
      writer.add(r as Array<Buffer | null>);
      bytes = writer.bytes;
    } else {
      rows.push(r);
      bytes += rowBytes(r);
    }
    last = r;
    count += 1;
    if (count >= maxRows || bytes >= maxBytes) seal();
  });
  q.on('error', (error: unknown) => {
    failure = error;
    ended = true;
    notify();
  });
  q.on('end', () => {
    seal();
    ended = true;
    notify();
  });
  let complete = false;
  try {
    for (;;) {
      if (failure) throw failure;
      const next = ready.shift();
      if (next) {
        if (paused && ready.length < 2) {
          paused = false;
          conn.resume();
        }
        yield next;
        continue;
      }
      if (ended) break;
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
    }
    complete = true;
  } finally {
    stopped = true;
    ready.length = 0;
    if (!complete && !ended && opts.drainOnStop) {
      // Read the rest and drop it: the connection is usable again once the result ends.
      const done = new Promise<void>((resolve) => {
        q.on('end', resolve);
        q.on('error', () => resolve());
      });
      if (paused) conn.resume();
      await done;
    }
  }
}

/** One LOAD DATA statement whose file is written batch by batch: see {@link loadStream}. */
interface LoadStream {
  /** Sends a batch's text; returns once at most this batch waits in the process (the server reads the rest). */
  add(text: Buffer): Promise<void>;
  /** Ends the file; resolves to the rows the statement loaded. */
  end(): Promise<number>;
}

/**
 * Starts `LOAD DATA LOCAL` (`sql`) on `conn` with a file that is written while the server reads it: the rows of one
 * transaction go in one statement, so the server parses without a statement round trip (and its table open and bulk
 * insert set-up) between batches. mysql2 writes the file's chunks to the socket as they come, so each `add` waits
 * until the socket has handed its bytes to the kernel: memory stays one batch a range, as with one statement a batch.
 */
function loadStream(conn: MysqlConnection, sql: string): LoadStream {
  const file = new PassThrough();
  const socket = (conn as unknown as { connection: { stream: Writable } }).connection.stream;
  const done = conn.query<ResultSetHeader>({ sql, infileStreamFactory: () => file });
  let failure: unknown;
  const settled = done.then(
    () => undefined,
    (error: unknown) => {
      failure = error;
    },
  );
  const drained = async (stream: Writable): Promise<void> => {
    if (stream.writableNeedDrain) await Promise.race([once(stream, 'drain'), settled]);
  };
  return {
    async add(text) {
      if (failure) throw failure;
      file.write(text);
      await drained(file);
      await drained(socket);
      if (failure) throw failure;
    },
    async end() {
      // After a failure the statement is over: ending the file now would send its end-of-file packet as a command.
      if (failure) throw failure;
      file.end();
      const [header] = await done;
      return header.affectedRows;
    },
  };
}

/**
 * The server's CPUs, where it says: MariaDB sizes `thread_pool_size` to them at startup (on Unix), so its value counts
 * them unless someone set it. Undefined elsewhere (MySQL has no such variable; a job can pass the instance class's).
 */
async function serverCores(conn: MysqlConnection): Promise<number | undefined> {
  try {
    const [rows] = await conn.query<RowDataPacket[]>(
      "SELECT GLOBAL_VALUE AS v, GLOBAL_VALUE_ORIGIN AS o FROM information_schema.SYSTEM_VARIABLES WHERE VARIABLE_NAME = 'THREAD_POOL_SIZE'",
    );
    const row = rows[0];
    const n = Number(row?.v);
    return row && ['COMPILE-TIME', 'AUTO'].includes(String(row.o)) && Number.isInteger(n) && n > 0
      ? n
      : undefined;
  } catch {
    return undefined;
  }
}

/** The caller's explicit sizes over the measured plan (the reason says so). */
function overridePlan(plan: CopyPlan, options: CopyOptions): CopyPlan {
  const given: string[] = [];
  const out = { ...plan };
  if (options.ranges !== undefined) {
    out.ranges = Math.max(1, Math.floor(options.ranges));
    given.push(`ranges=${out.ranges}`);
  }
  if (options.batchRows !== undefined) {
    out.batchRows = Math.max(1, Math.floor(options.batchRows));
    given.push(`batch=${out.batchRows} rows`);
  }
  if (options.maxBatchBytes !== undefined) {
    out.batchBytes = options.maxBatchBytes;
    given.push(`batch=${out.batchBytes} bytes`);
  }
  if (options.commitRows !== undefined) {
    out.commitRows = Math.floor(options.commitRows);
    given.push(`commit=${out.commitRows} rows`);
  }
  out.commitRows = Math.max(out.batchRows, out.commitRows);
  if (given.length > 0) out.reason = `copying with ${given.join(', ')} as asked (measured: ${plan.reason})`;
  return out;
}

function isConnection(source: ConnectionSource): source is MysqlConnection {
  return typeof (source as MysqlConnection).query === 'function';
}

function cloneCheckpoint(c: CopyCheckpoint): CopyCheckpoint {
  return JSON.parse(JSON.stringify(c)) as CopyCheckpoint;
}

/**
 * Copies `schema.table` from `source` into `targetSchema.targetTable` on `target`. Creates the target table with the
 * source's definition (foreign keys left out; non-unique secondary keys left out until every row is in, then added in
 * one ALTER: see {@link deferSecondaryKeys}) and fails with a Conflict {@link UserError} if it already exists —
 * unless resuming from a checkpoint that created it. Generated columns are not inserted (the server computes them).
 * Unless the caller says, the number of ranges and the batch and transaction sizes are chosen from what the copy
 * measures ({@link chooseCopyPlan}).
 *
 * Resuming is exact for keyed tables: each range restarts after the highest key present in the target within that
 * range (rows are committed in whole batches), whatever the checkpoint says. A table without a usable key is copied in
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
    const keysPlan = deferSecondaryKeys(info.createStatement);
    const insertCols = info.columns.filter((c) => !c.generated);
    const [srcCores, dstCores, size, sampled, sourceIndexes] = await Promise.all([
      serverCores(src),
      serverCores(dst),
      tableSize(src, schema, table),
      sampledRowBytes(
        src,
        schema,
        table,
        insertCols.map((c) => c.name),
      ),
      getIndexes(src, schema, table),
    ]);
    const plan = overridePlan(
      chooseCopyPlan({
        targetCores: dstCores ?? options.targetCores,
        sourceCores: srcCores,
        secondaryIndexes: sourceIndexes.filter((i) => i.name !== 'PRIMARY').length,
        deferredIndexes: options.deferKeys === false ? 0 : keysPlan.deferred.length,
        avgRowBytes: size.avgRowBytes,
        sampledRowBytes: sampled,
        approximateRows: info.approximateRows,
        splittable: key.integer,
      }),
      options,
    );
    const { batchRows, commitRows } = plan;
    const maxBatchBytes = plan.batchBytes;
    const wantedRanges = plan.ranges;
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
        plan,
        indexes: { built: [], algorithm: null, ms: 0 },
      };

    let adopted = false;
    if (!cp.created) {
      const existing = await tableComment(dst, targetSchema, targetTable);
      adopted = existing !== undefined;
      if (existing !== undefined && !options.adoptIf?.(existing)) {
        throw new UserError(
          `table ${targetSchema}.${targetTable} already exists: Capstan never overwrites a table`,
          ErrorCode.Conflict,
        );
      }
      try {
        if (existing === undefined) {
          const deferring = options.deferKeys !== false && keysPlan.deferred.length > 0;
          const create = rewriteCreateTable(
            deferring ? keysPlan.create : info.createStatement,
            targetSchema,
            targetTable,
          );
          if (deferring) cp.indexes = { deferred: keysPlan.deferred.map((k) => k.name), built: false };
          await dst.query(options.comment === undefined ? create : withTableComment(create, options.comment));
          await options.onCreated?.();
        }
        // else: made by this copy before it was stopped; the ranges below resume after what it holds.
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

    /** Reports progress (and the checkpoint); `indexing` once every row is in and the keys are being built. */
    const report = async (indexing?: CopyProgress['indexing']): Promise<void> => {
      cp.rowsCopied = cp.ranges.reduce((n, r) => n + r.rows, 0);
      await options.onProgress?.({
        rowsCopied: cp.rowsCopied,
        approximateRows: info.approximateRows,
        rangesDone: cp.ranges.filter((r) => r.done).length,
        rangesTotal: cp.ranges.length,
        phase: indexing ? 'indexing' : 'copying',
        plan,
        ...(indexing ? { indexing } : {}),
        checkpoint: cloneCheckpoint(cp),
      });
    };
    // Persist-worthy as soon as the table exists: a retry must know it created it (or it would refuse to overwrite).
    await report();

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
    /** One INSERT of a batch's rows (LOAD DATA batches go to the transaction's {@link loadStream}). */
    const write = async (conn: MysqlConnection, batch: Batch): Promise<void> => {
      const rows = batch.rows ?? [];
      const values =
        selectCols.length === insertCols.length ? rows : rows.map((r) => r.slice(0, insertCols.length));
      await conn.query<ResultSetHeader>({ sql: insertSql, values: [values] });
    };

    const pending = cp.ranges.filter((r) => !r.done);
    const parallel =
      key.columns.length === 0 || isConnection(options.source) || isConnection(options.target)
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

    if (shouldStop() && !cp.ranges.every((r) => r.done)) {
      cp.rowsCopied = cp.ranges.reduce((n, r) => n + r.rows, 0);
      throw new CopyInterruptedError(
        `copy of ${schema}.${table} interrupted: ${stopReason}`,
        cloneCheckpoint(cp),
      );
    }
    const indexes = await addDeferredKeys();
    cp.done = true;
    await report();
    return {
      rowsCopied: cp.rowsCopied,
      checkpoint: cloneCheckpoint(cp),
      key,
      durationMs: Date.now() - started,
      method,
      plan,
      indexes,
    };

    /**
     * Adds the secondary keys the target lacks (all of them in one ALTER), once every row is in. What is missing is
     * read from the target itself, so a copy resumed after a crash mid-ALTER (which either happened or did not), or
     * one that adopted a table, builds exactly what is not there.
     */
    async function addDeferredKeys(): Promise<CopyResult['indexes']> {
      const begun = Date.now();
      const present = async (): Promise<Set<string>> =>
        new Set((await getIndexes(dst, targetSchema, targetTable)).map((i) => i.name));
      const missing = (have: Set<string>): DeferredKey[] =>
        keysPlan.deferred.filter((k) => !have.has(k.name));
      let todo = missing(await present());
      let algorithm: 'inplace' | 'copy' | null = null;
      let built: string[] = [];
      if (todo.length > 0) {
        if (shouldStop()) {
          throw new CopyInterruptedError(
            `copy of ${schema}.${table} interrupted before building its keys: ${stopReason}`,
            cloneCheckpoint(cp),
          );
        }
        // Another ALTER may add some of them meanwhile (an earlier attempt's, still running on the server when its
        // worker died, or someone's by hand): what is still missing is read again, and built, a few times at most.
        for (let attempt = 1; todo.length > 0; attempt++) {
          if (attempt > 3)
            throw new Error(`keys ${todo.map((k) => k.name).join(', ')} are still missing after the ALTER`);
          const names = todo.map((k) => k.name);
          await report({ names });
          const watch = watchAlter(names);
          try {
            algorithm = await alterAddKeys(todo);
            built = [...built, ...names];
          } catch (error) {
            // 1061 ER_DUP_KEYNAME: one of them was added after this copy looked.
            if ((error as { errno?: number }).errno !== 1061) throw error;
          } finally {
            await watch.stop();
          }
          todo = missing(await present());
        }
      }
      if (cp.indexes) cp.indexes.built = true;
      return {
        built,
        algorithm,
        ms: Date.now() - begun,
      };
    }

    /** One ALTER, in place (index builds by sorting) where the server allows it, else as the server can. */
    async function alterAddKeys(keys: DeferredKey[]): Promise<'inplace' | 'copy'> {
      try {
        await dst.query(addKeysSql(dstName, keys, true));
        return 'inplace';
      } catch (error) {
        // 1845/1846 ER_ALTER_OPERATION_NOT_SUPPORTED(_REASON): this server cannot add these keys in place.
        const errno = (error as { errno?: number }).errno;
        if (errno !== 1845 && errno !== 1846) throw error;
        await dst.query(addKeysSql(dstName, keys, false));
        return 'copy';
      }
    }

    /**
     * While the ALTER runs, reports every second how long it has run and how far the server says it is (MariaDB's
     * PROCESSLIST.PROGRESS when above 0; other servers report nothing). Needs a connection of its own: only when the
     * copy opens its own.
     */
    function watchAlter(names: string[]): { stop(): Promise<void> } {
      if (isConnection(options.target) || !options.onProgress) return { stop: async () => {} };
      const target = options.target;
      let running = true;
      const since = Date.now();
      let timer: NodeJS.Timeout | undefined;
      let wake: (() => void) | undefined;
      const loop = (async () => {
        const [[idRow]] = (await dst.query('SELECT CONNECTION_ID() AS id')) as unknown as [[{ id: number }]];
        const probe = await openConnection(target);
        try {
          while (running) {
            await new Promise<void>((resolve) => {
              wake = resolve;
              timer = setTimeout(resolve, 1_000);
            });
            if (!running) break;
            const percent = await probe
              .query('SELECT PROGRESS AS p FROM information_schema.PROCESSLIST WHERE ID = ?', [idRow.id])
              .then(([rows]) => Number((rows as Array<{ p: unknown }>)[0]?.p))
              // MySQL has no PROGRESS column: the step shows how long it has run.
              .catch(() => 0);
            if (!running) break;
            const seconds = Math.round((Date.now() - since) / 1000);
            await report({ names, seconds, ...(percent > 0 ? { percent } : {}) });
          }
        } finally {
          await probe.end().catch(() => probe.destroy());
        }
      })().catch(() => {});
      return {
        async stop() {
          running = false;
          if (timer) clearTimeout(timer);
          wake?.();
          await loop;
        },
      };
    }

    /**
     * Copies one key range (or, for a table without a usable key, the whole table) in key order, streamed: batches
     * of rows are written while the next are read, several batches to a transaction.
     */
    async function copyRange(s: MysqlConnection, d: MysqlConnection, range: RangeCheckpoint): Promise<void> {
      const order = key.columns.map((c) => quoteIdent(c, 'column'));
      let where: Fragment | undefined;
      if (order.length > 0) {
        // Resume after what the target really holds in this range (only whole transactions are ever there).
        const held = rangeWhere(key.columns, range, null);
        const [rows] = await d.query<RowDataPacket[]>({
          sql: `SELECT ${order.join(', ')} FROM ${dstName} WHERE ${held.sql} ORDER BY ${order.map((o) => `${o} DESC`).join(', ')} LIMIT 1`,
          values: held.values,
          rowsAsArray: true,
        });
        const top = rows[0] as unknown as unknown[] | undefined;
        range.last = top ? top.map(encodeKeyValue) : null;
        where = rangeWhere(key.columns, range, range.last);
      } else {
        // No key to resume after: whatever an earlier attempt wrote (recorded or not) goes; the copy starts again.
        if (options.checkpoint?.created || adopted) await d.query(`TRUNCATE TABLE ${dstName}`);
        range.rows = 0;
        range.last = null;
      }
      // The server gives up on a client that reads nothing for net_write_timeout (default 60 s): while the target is
      // slow (locks, a busy live database) the stream can stay paused longer than that.
      await s.query('SET SESSION net_write_timeout = 3600');
      const select =
        `SELECT ${columnList(selectCols.map((c) => c.name))} FROM ${srcName}` +
        (where ? ` WHERE ${where.sql} ORDER BY ${order.join(', ')}` : '');
      const incoming = batchesOf(
        (s as unknown as { connection: CoreConnection }).connection,
        { sql: select, ...(where ? { values: where.values } : {}), ...readOptions(s) },
        {
          maxRows: batchRows,
          maxBytes: maxBatchBytes,
          ...(method === 'load-data' ? { writer: new TsvWriter(insertCols.length, plainCols) } : {}),
          // A connection lent by the caller must stay usable; ours are destroyed when the copy stops.
          drainOnStop: !raw.has(s),
        },
      );
      // Batches written in the open transaction, not yet counted in the checkpoint (LOAD DATA: all in one statement).
      let open: { rows: number; last: KeyValue[] | null; load?: LoadStream } | null = null;
      const commit = async (): Promise<void> => {
        if (!open) return;
        if (open.load) {
          const loaded = await open.load.end();
          if (loaded !== open.rows)
            throw new Error(`LOAD DATA loaded ${loaded} rows of ${open.rows} into ${dstName}`);
        }
        await d.query('COMMIT');
        range.last = open.last;
        range.rows += open.rows;
        open = null;
        await report();
      };
      try {
        for await (const batch of incoming) {
          if (!open) {
            await d.query('START TRANSACTION');
            open = { rows: 0, last: null, ...(batch.text ? { load: loadStream(d, loadSql) } : {}) };
          }
          if (open.load && batch.text) await open.load.add(batch.text);
          else await write(d, batch);
          open.rows += batch.count;
          open.last = order.length > 0 ? readKey(batch.last) : null;
          batches += 1;
          const stopping = shouldStop();
          if (open.rows >= commitRows || stopping) await commit();
          if (stopping) return;
        }
        await commit();
      } catch (error) {
        // The open transaction's batches were never counted; undo them (a connection of our own is destroyed
        // anyway, one the caller lent us must not be left mid-transaction).
        if (open) {
          // A statement still reading its file ends with the whole batches it has, then is undone.
          await open.load?.end().catch(() => {});
          await d.query('ROLLBACK').catch(() => {});
        }
        throw error;
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
