/**
 * Which statements burn the IO, as the database itself counts it: `performance_schema`'s statement digests (rows
 * examined, executions without an index, full scans), the tables with the most I/O, `EXPLAIN` of the worst statements
 * where a sample of their SQL is kept, and a hypothesis for the cause (the statement, its table, the unindexed
 * columns it filters on).
 *
 * Works on MySQL 8 (RDS) and MariaDB 10.11 alike: optional columns are detected through information_schema, never by
 * version string. Everything the server returns (digest texts, samples, schema and table names) is data: the only
 * server-provided text that ever becomes SQL is a sample `SELECT` handed to `EXPLAIN`, after checks, inside a
 * read-only transaction with a statement time limit.
 *
 * Reads only (plus that guarded EXPLAIN). Use a connection of its own: EXPLAIN runs in a transaction (which commits
 * whatever the connection had open) after a `USE` of the statement's schema, and the session's default database is
 * put back afterwards only when it had one.
 *
 * @see https://dev.mysql.com/doc/refman/8.0/en/performance-schema-statement-summary-tables.html
 * @see https://mariadb.com/kb/en/performance-schema-events_statements_summary_by_digest-table/
 */
import type { RowDataPacket } from 'mysql2/promise';
import { type MysqlConnection, wrapMysqlError } from './connection.js';
import { isValidIdent, quoteIdent } from './identifiers.js';

/** Options for {@link readIoStatements}. */
export interface IoStatementsOptions {
  /** How many statements per list and tables to return (default 5). */
  limit?: number;
  /** How many of the worst statements to EXPLAIN (default 3, at most 3; 0 turns EXPLAIN off). */
  explainLimit?: number;
  /** Longest digest text or sample returned, in characters; longer ones end in `…` (default 400). */
  textLength?: number;
  /** Time limit for each EXPLAIN, in ms (default 5000). */
  explainTimeoutMs?: number;
}

/** One statement digest (a statement shape with its literals replaced by `?`), summed since the last reset. */
export interface DigestStatement {
  /** Default schema the statement ran in (`null`: none selected). */
  schema: string | null;
  /** The digest hash (hex). */
  digest: string;
  /** The normalised text, shortened to `textLength` (ends in `…` when shortened; `...` is the server's own cut). */
  digestText: string;
  /** Executions (`COUNT_STAR`). */
  count: number;
  /** Rows examined, all executions (`SUM_ROWS_EXAMINED`). */
  rowsExamined: number;
  /** Rows examined per execution. */
  rowsExaminedPerCall: number;
  /** Rows sent per execution (`SUM_ROWS_SENT / COUNT_STAR`). */
  rowsSentPerCall: number;
  /** Executions that used no index for some table (`SUM_NO_INDEX_USED`). */
  noIndexUsed: number;
  /** Executions where the optimiser found no good index (`SUM_NO_GOOD_INDEX_USED`). */
  noGoodIndexUsed: number;
  /** Executions with a full scan of the first table (`SUM_SELECT_SCAN`). */
  fullScans: number;
  /** Total latency in ms (`SUM_TIMER_WAIT`, picoseconds). */
  totalLatencyMs: number;
  /** This digest's rows examined as a percentage of every digest's (0–100). */
  sharePct: number;
}

/** One table's I/O from `table_io_waits_summary_by_table` (row operations through the storage engine). */
export interface TableIo {
  schema: string;
  table: string;
  /** All row operations (`COUNT_STAR`). */
  operations: number;
  /** Total wait in ms (`SUM_TIMER_WAIT`). */
  latencyMs: number;
  fetches: number;
  inserts: number;
  updates: number;
  deletes: number;
  /** This table's operations as a percentage of all user tables' (0–100). */
  sharePct: number;
}

/** Where a sample of a digest's SQL came from. */
export type SampleSource =
  | 'query_sample_text'
  | 'events_statements_history_long'
  | 'events_statements_history';

/** One row of EXPLAIN output, the columns both servers share. */
export interface ExplainRow {
  id: number | null;
  selectType: string | null;
  /** The table as the statement names it (its alias when it has one). */
  table: string | null;
  /** Access type: `ALL` is a full table scan, `index` a full index scan, `ref`/`eq_ref`/`range`/`const` lookups. */
  type: string | null;
  possibleKeys: string[];
  key: string | null;
  /** The optimiser's estimate of rows examined for this table. */
  rows: number | null;
  extra: string | null;
  /** `type = ALL`: every row of the table is read. */
  fullScan: boolean;
}

/** EXPLAIN of one of the worst statements, or why there is none. */
export interface StatementExplain {
  digest: string;
  schema: string | null;
  digestText: string;
  /** `explained`; `skipped` (no usable sample: see `reason`); `failed` (the server refused: see `reason`). */
  status: 'explained' | 'skipped' | 'failed';
  reason?: string;
  /** The sample explained (shortened to `textLength`), when there was one. */
  sample?: string;
  sampleSource?: SampleSource;
  rows: ExplainRow[];
  /** Tables (as named in the statement) read by a full scan. */
  fullScanTables: string[];
}

/** The statement that most likely burns the IO, and a hypothesis for the fix. */
export interface IoCause {
  statement: DigestStatement;
  /** More than half of all rows examined. */
  dominant: boolean;
  /** It ran without an index or with full scans at least once. */
  scans: boolean;
  /** Schema of the table below. */
  schema: string | null;
  /** The table it reads (by EXPLAIN's full-scan row, else the first table after FROM in its text). */
  table: string | null;
  tableFrom: 'explain' | 'statement-text' | null;
  /** Columns of that table compared in its WHERE clause (from the sample when there is one, else the digest). */
  whereColumns: string[];
  /** Those of them no index of the table starts with (empty when unknown). */
  unindexedColumns: string[];
  /** The index to try, stated as a hypothesis to check; `null` when there is nothing to suggest. */
  hypothesis: string | null;
  /** One sentence: the statement, how often, how many rows per call, its share, the scan. */
  summary: string;
}

/** The consumers that decide what performance_schema records. */
export interface StatementConsumers {
  /** `statements_digest`: the digest summary itself. */
  statementsDigest: boolean;
  /** `events_statements_current`: needed (on MariaDB and MySQL 5.7) for the history tables to fill. */
  statementsCurrent: boolean;
  /** `events_statements_history`: the last few statements per thread. */
  statementsHistory: boolean;
  /** `events_statements_history_long`: the last N statements server-wide (samples on MariaDB). */
  statementsHistoryLong: boolean;
}

/** What the database says about which statements burn the IO. */
export interface IoStatementsReport {
  performanceSchema: 'on' | 'off';
  /** When performance_schema or a consumer it needs is off: how to turn it on. */
  howToEnable?: string;
  consumers: StatementConsumers;
  /** Rows examined by every digest since the last reset (the denominator of each `sharePct`). */
  totalRowsExamined: number;
  /** Digests by rows examined, most first. */
  topByRowsExamined: DigestStatement[];
  /** Digests that ran without an index or with full scans, most such executions first. */
  topByFullScans: DigestStatement[];
  /** User tables by row operations, most first. */
  tables: TableIo[];
  /** EXPLAIN of the worst statements (up to `explainLimit`). */
  explains: StatementExplain[];
  cause: IoCause | null;
  /** Things the reader should know (missing samples, consumers off, sections that could not be read). */
  notes: string[];
}

/** How to turn performance_schema on, for the report when it is off. */
export const HOW_TO_ENABLE_PERFORMANCE_SCHEMA =
  'performance_schema is off. On RDS: set the parameter performance_schema = 1 in the DB parameter group ' +
  'attached to the instance, then reboot it (the parameter is static). Self-managed MySQL/MariaDB: put ' +
  'performance_schema = ON under [mysqld] in my.cnf and restart. For sample statements (EXPLAIN) also turn on ' +
  'the consumers events_statements_current and events_statements_history_long: ' +
  "UPDATE performance_schema.setup_consumers SET ENABLED = 'YES' WHERE NAME IN " +
  "('events_statements_current', 'events_statements_history_long') (lasts until restart), or " +
  'performance-schema-consumer-events-statements-current = ON and ' +
  'performance-schema-consumer-events-statements-history-long = ON in my.cnf.';

const HOW_TO_ENABLE_DIGESTS =
  "the statements_digest consumer is off: UPDATE performance_schema.setup_consumers SET ENABLED = 'YES' " +
  "WHERE NAME = 'statements_digest' (or performance-schema-consumer-statements-digest = ON in my.cnf).";

const HOW_TO_ENABLE_SAMPLES =
  'no statement samples are recorded, so no EXPLAIN: turn on the consumers events_statements_current and ' +
  "events_statements_history_long (UPDATE performance_schema.setup_consumers SET ENABLED = 'YES' WHERE NAME IN " +
  "('events_statements_current', 'events_statements_history_long'), until restart; or " +
  'performance-schema-consumer-events-statements-history-long = ON in my.cnf / the DB parameter group).';

const SYSTEM_SCHEMAS = ['mysql', 'performance_schema', 'information_schema', 'sys'] as const;

// Monitoring reads (this module's own included) are not what burns the IO; they stay in the total but out of the lists.
const NOT_MONITORING = `DIGEST_TEXT NOT LIKE 'SHOW %'
  AND DIGEST_TEXT NOT LIKE '%performance\\_schema%' AND DIGEST_TEXT NOT LIKE '%information\\_schema%'`;

type Row = RowDataPacket & Record<string, unknown>;

/** A server number (BIGINT and DECIMAL arrive as strings) as a JS number; `null`/garbage → 0. */
function num(value: unknown): number {
  const n = typeof value === 'number' ? value : Number(value ?? 0);
  return Number.isFinite(n) ? n : 0;
}

function str(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  return Buffer.isBuffer(value) ? value.toString('utf8') : String(value);
}

/** Picoseconds (performance_schema timers) to milliseconds, to 0.001 ms. */
function psToMs(ps: unknown): number {
  return Math.round(num(ps) / 1e6) / 1e3;
}

function pct(part: number, total: number): number {
  return total > 0 ? Math.round((part / total) * 10_000) / 100 : 0;
}

/** `text` cut to `max` characters, ending in `…` when cut. */
export function shortenText(text: string, max: number): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length <= max ? flat : `${flat.slice(0, Math.max(1, max - 1)).trimEnd()}…`;
}

async function select(conn: MysqlConnection, sql: string, values: unknown[] = []): Promise<Row[]> {
  const [rows] = await conn.query<Row[]>(sql, values);
  return rows;
}

/**
 * Reads what the database says about which statements burn the IO. When performance_schema is off the report says
 * so (with {@link HOW_TO_ENABLE_PERFORMANCE_SCHEMA}) and its lists are empty; it does not throw.
 *
 * @throws MysqlError when the digest summary cannot be read (e.g. the user lacks SELECT on performance_schema);
 *   the secondary sections (tables, samples, EXPLAIN) degrade to a note instead.
 */
export async function readIoStatements(
  conn: MysqlConnection,
  options: IoStatementsOptions = {},
): Promise<IoStatementsReport> {
  const limit = Math.max(1, Math.floor(options.limit ?? 5));
  const explainLimit = Math.min(3, Math.max(0, Math.floor(options.explainLimit ?? 3)));
  const textLength = Math.max(40, Math.floor(options.textLength ?? 400));
  const explainTimeoutMs = Math.max(100, Math.floor(options.explainTimeoutMs ?? 5000));
  const notes: string[] = [];
  const consumers: StatementConsumers = {
    statementsDigest: false,
    statementsCurrent: false,
    statementsHistory: false,
    statementsHistoryLong: false,
  };
  const empty = (howToEnable?: string): IoStatementsReport => ({
    performanceSchema: 'off',
    ...(howToEnable ? { howToEnable } : {}),
    consumers,
    totalRowsExamined: 0,
    topByRowsExamined: [],
    topByFullScans: [],
    tables: [],
    explains: [],
    cause: null,
    notes,
  });

  let psOn: boolean;
  try {
    const vars = await select(conn, "SHOW GLOBAL VARIABLES WHERE Variable_name = 'performance_schema'");
    const value = String(vars[0]?.Value ?? vars[0]?.VALUE ?? '').toUpperCase();
    psOn = value === 'ON' || value === '1';
  } catch (error) {
    throw wrapMysqlError(error, 'cannot read the performance_schema setting', []);
  }
  if (!psOn) return empty(HOW_TO_ENABLE_PERFORMANCE_SCHEMA);

  try {
    for (const r of await select(
      conn,
      'SELECT NAME AS name, ENABLED AS enabled FROM performance_schema.setup_consumers',
    )) {
      const on = String(r.enabled).toUpperCase() === 'YES';
      if (r.name === 'statements_digest') consumers.statementsDigest = on;
      else if (r.name === 'events_statements_current') consumers.statementsCurrent = on;
      else if (r.name === 'events_statements_history') consumers.statementsHistory = on;
      else if (r.name === 'events_statements_history_long') consumers.statementsHistoryLong = on;
    }
  } catch (error) {
    // A user without SELECT on the setup tables may still read the summaries: carry on, assuming digests are kept.
    consumers.statementsDigest = true;
    notes.push(
      `consumers not read: ${wrapMysqlError(error, 'performance_schema.setup_consumers', []).message}`,
    );
  }

  const digestColumns = await tableColumns(conn, 'events_statements_summary_by_digest');
  const hasSampleColumn = digestColumns.has('QUERY_SAMPLE_TEXT');
  let sqlTextLimit = 1024;
  try {
    const v = await select(
      conn,
      "SHOW GLOBAL VARIABLES WHERE Variable_name = 'performance_schema_max_sql_text_length'",
    );
    if (v[0]) sqlTextLimit = num(v[0].Value ?? v[0].VALUE) || sqlTextLimit;
  } catch {
    // keep the documented default
  }

  const report: IoStatementsReport = {
    performanceSchema: 'on',
    consumers,
    totalRowsExamined: 0,
    topByRowsExamined: [],
    topByFullScans: [],
    tables: [],
    explains: [],
    cause: null,
    notes,
  };
  if (!consumers.statementsDigest) {
    report.howToEnable = HOW_TO_ENABLE_DIGESTS;
    notes.push(HOW_TO_ENABLE_DIGESTS);
  }

  // The digest lists. Only fixed column names are ever put into this SQL; the sample column is one of them.
  const columns = `SCHEMA_NAME AS schema_name, DIGEST AS digest, DIGEST_TEXT AS digest_text,
    COUNT_STAR AS count_star, SUM_TIMER_WAIT AS sum_timer_wait, SUM_ROWS_SENT AS rows_sent,
    SUM_ROWS_EXAMINED AS rows_examined, SUM_SELECT_SCAN AS select_scan, SUM_NO_INDEX_USED AS no_index_used,
    SUM_NO_GOOD_INDEX_USED AS no_good_index_used${hasSampleColumn ? ', QUERY_SAMPLE_TEXT AS sample_text' : ''}`;
  const samples = new Map<string, string>();
  let byRows: Row[];
  let byScans: Row[];
  try {
    const total = await select(
      conn,
      'SELECT SUM(SUM_ROWS_EXAMINED) AS total FROM performance_schema.events_statements_summary_by_digest',
    );
    report.totalRowsExamined = num(total[0]?.total);
    byRows = await select(
      conn,
      `SELECT ${columns} FROM performance_schema.events_statements_summary_by_digest
        WHERE DIGEST IS NOT NULL AND SUM_ROWS_EXAMINED > 0 AND ${NOT_MONITORING}
        ORDER BY SUM_ROWS_EXAMINED DESC, SUM_TIMER_WAIT DESC LIMIT ?`,
      [limit],
    );
    byScans = await select(
      conn,
      `SELECT ${columns} FROM performance_schema.events_statements_summary_by_digest
        WHERE DIGEST IS NOT NULL AND (SUM_NO_INDEX_USED > 0 OR SUM_SELECT_SCAN > 0) AND ${NOT_MONITORING}
        ORDER BY SUM_NO_INDEX_USED DESC, SUM_SELECT_SCAN DESC, SUM_ROWS_EXAMINED DESC LIMIT ?`,
      [limit],
    );
  } catch (error) {
    throw wrapMysqlError(error, 'cannot read performance_schema.events_statements_summary_by_digest', []);
  }
  const toStatement = (r: Row): DigestStatement => {
    const count = num(r.count_star);
    const rowsExamined = num(r.rows_examined);
    const digest = str(r.digest) ?? '';
    const sample = str(r.sample_text);
    if (sample) samples.set(sampleKey(str(r.schema_name), digest), sample);
    return {
      schema: str(r.schema_name),
      digest,
      digestText: shortenText(str(r.digest_text) ?? '', textLength),
      count,
      rowsExamined,
      rowsExaminedPerCall: count > 0 ? Math.round(rowsExamined / count) : 0,
      rowsSentPerCall: count > 0 ? Math.round((num(r.rows_sent) / count) * 100) / 100 : 0,
      noIndexUsed: num(r.no_index_used),
      noGoodIndexUsed: num(r.no_good_index_used),
      fullScans: num(r.select_scan),
      totalLatencyMs: psToMs(r.sum_timer_wait),
      sharePct: pct(rowsExamined, report.totalRowsExamined),
    };
  };
  report.topByRowsExamined = byRows.map(toStatement);
  report.topByFullScans = byScans.map(toStatement);
  // The full digest texts (not shortened) are what the table and WHERE parsing below read.
  const fullTexts = new Map<string, string>();
  for (const r of [...byRows, ...byScans]) {
    fullTexts.set(sampleKey(str(r.schema_name), str(r.digest) ?? ''), str(r.digest_text) ?? '');
  }

  report.tables = await readTableIo(conn, limit, notes);

  // EXPLAIN the worst statements: the top by rows examined first, then the worst scanners (one-offs never: they
  // are not the workload, and could take the slots of statements that are).
  const worst: DigestStatement[] = [];
  const recurring = (list: DigestStatement[]) => list.filter(isRecurringStatement).slice(0, 3);
  for (const s of [...recurring(report.topByRowsExamined), ...recurring(report.topByFullScans)]) {
    if (worst.length >= explainLimit) break;
    if (!worst.some((w) => w.digest === s.digest && w.schema === s.schema)) worst.push(s);
  }
  const fullSamples = new Map<string, { text: string; source: SampleSource }>();
  if (worst.length > 0) {
    const noHistory = !consumers.statementsHistoryLong && !consumers.statementsHistory;
    if (!hasSampleColumn && (noHistory || !consumers.statementsCurrent)) notes.push(HOW_TO_ENABLE_SAMPLES);
    const limits = await explainLimits(conn);
    const noSample =
      hasSampleColumn || (consumers.statementsCurrent && !noHistory)
        ? 'no sample of this statement is recorded (it may have left the history tables)'
        : 'no sample of this statement is recorded: the consumers events_statements_current and ' +
          'events_statements_history_long are off';
    for (const s of worst) {
      const key = sampleKey(s.schema, s.digest);
      let sample: { text: string; source: SampleSource } | null = null;
      const fromSummary = samples.get(key);
      if (fromSummary && fromSummary.trim() !== '')
        sample = { text: fromSummary, source: 'query_sample_text' };
      if (!sample) sample = await historySample(conn, s, consumers, notes);
      if (sample) fullSamples.set(key, sample);
      report.explains.push(
        await explainSample(conn, s, sample, {
          sqlTextLimit,
          textLength,
          explainTimeoutMs,
          limits,
          noSample,
        }),
      );
    }
  }

  report.cause = await findCause(conn, report, fullTexts, fullSamples, notes);
  return report;
}

function sampleKey(schema: string | null, digest: string): string {
  return `${schema ?? ''}\u0000${digest}`;
}

/** Upper-cased column names of a performance_schema table, via information_schema. */
async function tableColumns(conn: MysqlConnection, table: string): Promise<Set<string>> {
  try {
    const rows = await select(
      conn,
      `SELECT COLUMN_NAME AS name FROM information_schema.COLUMNS
        WHERE TABLE_SCHEMA = 'performance_schema' AND TABLE_NAME = ?`,
      [table],
    );
    return new Set(rows.map((r) => String(r.name).toUpperCase()));
  } catch {
    return new Set();
  }
}

async function readTableIo(conn: MysqlConnection, limit: number, notes: string[]): Promise<TableIo[]> {
  const systemList = SYSTEM_SCHEMAS.map(() => '?').join(', ');
  try {
    const total = await select(
      conn,
      `SELECT SUM(COUNT_STAR) AS total FROM performance_schema.table_io_waits_summary_by_table
        WHERE OBJECT_TYPE = 'TABLE' AND OBJECT_SCHEMA NOT IN (${systemList})`,
      [...SYSTEM_SCHEMAS],
    );
    const totalOps = num(total[0]?.total);
    const rows = await select(
      conn,
      `SELECT OBJECT_SCHEMA AS s, OBJECT_NAME AS t, COUNT_STAR AS ops, SUM_TIMER_WAIT AS wait,
          COUNT_FETCH AS f, COUNT_INSERT AS i, COUNT_UPDATE AS u, COUNT_DELETE AS d
        FROM performance_schema.table_io_waits_summary_by_table
        WHERE OBJECT_TYPE = 'TABLE' AND OBJECT_SCHEMA NOT IN (${systemList}) AND COUNT_STAR > 0
        ORDER BY COUNT_STAR DESC, SUM_TIMER_WAIT DESC LIMIT ?`,
      [...SYSTEM_SCHEMAS, limit],
    );
    return rows.map((r) => ({
      schema: str(r.s) ?? '',
      table: str(r.t) ?? '',
      operations: num(r.ops),
      latencyMs: psToMs(r.wait),
      fetches: num(r.f),
      inserts: num(r.i),
      updates: num(r.u),
      deletes: num(r.d),
      sharePct: pct(num(r.ops), totalOps),
    }));
  } catch (error) {
    notes.push(`table I/O not read: ${wrapMysqlError(error, 'table_io_waits_summary_by_table', []).message}`);
    return [];
  }
}

/** A sample of the digest from the statement history tables (MariaDB, or MySQL when the summary kept none). */
async function historySample(
  conn: MysqlConnection,
  s: DigestStatement,
  consumers: StatementConsumers,
  notes: string[],
): Promise<{ text: string; source: SampleSource } | null> {
  const tables: Array<[SampleSource, boolean]> = [
    ['events_statements_history_long', consumers.statementsHistoryLong],
    ['events_statements_history', consumers.statementsHistory],
  ];
  for (const [table, enabled] of tables) {
    // Even a consumer off now may have left rows from before; reading costs little.
    try {
      const rows = await select(
        conn,
        // `table` is one of the two constants above, never server data.
        `SELECT SQL_TEXT AS sql_text FROM performance_schema.${table}
          WHERE DIGEST = ? AND CURRENT_SCHEMA <=> ? AND SQL_TEXT IS NOT NULL
          ORDER BY ROWS_EXAMINED DESC LIMIT 1`,
        [s.digest, s.schema],
      );
      const text = str(rows[0]?.sql_text);
      if (text && text.trim() !== '') return { text, source: table };
    } catch (error) {
      if (enabled) notes.push(`${table} not read: ${wrapMysqlError(error, table, []).message}`);
    }
  }
  return null;
}

/** Which statement time limit the server has: MariaDB's `max_statement_time` or MySQL's `max_execution_time`. */
interface ExplainLimits {
  maxStatementTime: boolean;
  maxExecutionTime: boolean;
}

async function explainLimits(conn: MysqlConnection): Promise<ExplainLimits> {
  try {
    const rows = await select(
      conn,
      "SHOW SESSION VARIABLES WHERE Variable_name IN ('max_statement_time', 'max_execution_time')",
    );
    const names = new Set(rows.map((r) => String(r.Variable_name ?? r.VARIABLE_NAME)));
    return {
      maxStatementTime: names.has('max_statement_time'),
      maxExecutionTime: names.has('max_execution_time'),
    };
  } catch {
    return { maxStatementTime: false, maxExecutionTime: false };
  }
}

/** Runs EXPLAIN of a sample SELECT when it is safe to, else says why not. */
async function explainSample(
  conn: MysqlConnection,
  s: DigestStatement,
  sample: { text: string; source: SampleSource } | null,
  o: {
    sqlTextLimit: number;
    textLength: number;
    explainTimeoutMs: number;
    limits: ExplainLimits;
    noSample: string;
  },
): Promise<StatementExplain> {
  const base = { digest: s.digest, schema: s.schema, digestText: s.digestText, rows: [], fullScanTables: [] };
  if (!sample) return { ...base, status: 'skipped', reason: o.noSample };
  const shown = { sample: shortenText(sample.text, o.textLength), sampleSource: sample.source };
  const verdict = explainableSelect(sample.text, o.sqlTextLimit);
  if (!verdict.ok) return { ...base, ...shown, status: 'skipped', reason: verdict.reason };
  if (s.schema !== null && !isValidIdent(s.schema)) {
    return { ...base, ...shown, status: 'skipped', reason: 'its schema name is not one Capstan quotes' };
  }
  if (!o.limits.maxStatementTime && !o.limits.maxExecutionTime) {
    return {
      ...base,
      ...shown,
      status: 'skipped',
      reason: 'the server has no statement time limit to bound EXPLAIN',
    };
  }
  let previousDb: string | null = null;
  let previousMaxExecution: number | null = null;
  let inTransaction = false;
  try {
    const db = await select(conn, 'SELECT DATABASE() AS db');
    previousDb = str(db[0]?.db);
    if (s.schema !== null) await conn.query(`USE ${quoteIdent(s.schema, 'schema')}`);
    let explainSql = `EXPLAIN ${verdict.sql}`;
    if (o.limits.maxStatementTime) {
      // MariaDB: seconds, for this one statement.
      explainSql = `SET STATEMENT max_statement_time = ${o.explainTimeoutMs / 1000} FOR ${explainSql}`;
    } else {
      const cur = await select(conn, 'SELECT @@SESSION.max_execution_time AS v');
      previousMaxExecution = num(cur[0]?.v);
      await conn.query('SET SESSION max_execution_time = ?', [o.explainTimeoutMs]);
    }
    await conn.query('START TRANSACTION READ ONLY');
    inTransaction = true;
    // The one place server-provided text becomes SQL: a checked, complete, single SELECT (see explainableSelect).
    const rows = await select(conn, explainSql);
    const explainRows = rows.map(toExplainRow);
    return {
      ...base,
      ...shown,
      status: 'explained',
      rows: explainRows,
      fullScanTables: explainRows.filter((r) => r.fullScan && r.table !== null).map((r) => r.table as string),
    };
  } catch (error) {
    return {
      ...base,
      ...shown,
      status: 'failed',
      reason: wrapMysqlError(error, 'EXPLAIN failed', []).message,
    };
  } finally {
    try {
      if (inTransaction) await conn.query('ROLLBACK');
      if (previousMaxExecution !== null) {
        await conn.query('SET SESSION max_execution_time = ?', [previousMaxExecution]);
      }
      if (previousDb !== null && previousDb !== s.schema) {
        await conn.query(`USE ${quoteIdent(previousDb, 'schema')}`);
      }
    } catch {
      // Restoring the session is best effort; the report is already made.
    }
  }
}

function toExplainRow(r: Row): ExplainRow {
  const type = str(r.type);
  const keys = str(r.possible_keys);
  const rows = r.rows === null || r.rows === undefined ? null : num(r.rows);
  return {
    id: r.id === null || r.id === undefined ? null : num(r.id),
    selectType: str(r.select_type),
    table: str(r.table),
    type,
    possibleKeys: keys ? keys.split(',').map((k) => k.trim()) : [],
    key: str(r.key),
    rows,
    extra: str(r.Extra ?? r.extra),
    fullScan: type?.toUpperCase() === 'ALL',
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Reading SQL text (pure): just enough of a tokenizer to check a sample and find its tables and WHERE columns.
// ---------------------------------------------------------------------------------------------------------------

/** A token of SQL text: a word (keyword or bare identifier), a quoted identifier, a literal, or punctuation. */
export interface SqlToken {
  kind: 'word' | 'ident' | 'string' | 'number' | 'punct';
  /** Words upper-cased (for keyword checks); quoted identifiers unquoted; punctuation as is. */
  value: string;
  /** As written (quoted identifiers unquoted): the spelling to use for names. */
  text: string;
}

/** Tokens of `sql`, comments dropped; `executableComment` when it has `/*!…*\/` or `/*M!…*\/` (run by the server). */
export function tokenizeSql(sql: string): {
  tokens: SqlToken[];
  executableComment: boolean;
  unterminated: boolean;
} {
  const tokens: SqlToken[] = [];
  let executableComment = false;
  let unterminated = false;
  let i = 0;
  const n = sql.length;
  while (i < n) {
    const c = sql[i] as string;
    const next = sql[i + 1];
    if (/\s/.test(c)) {
      i++;
    } else if (c === '/' && next === '*') {
      if (sql[i + 2] === '!' || (sql[i + 2] === 'M' && sql[i + 3] === '!')) executableComment = true;
      const end = sql.indexOf('*/', i + 2);
      if (end < 0) {
        unterminated = true;
        break;
      }
      i = end + 2;
    } else if (c === '#' || (c === '-' && next === '-' && (i + 2 >= n || /\s/.test(sql[i + 2] as string)))) {
      const end = sql.indexOf('\n', i);
      i = end < 0 ? n : end + 1;
    } else if (c === "'" || c === '"' || c === '`') {
      let j = i + 1;
      let value = '';
      let closed = false;
      while (j < n) {
        const d = sql[j] as string;
        if (d === '\\' && c !== '`') {
          value += sql[j + 1] ?? '';
          j += 2;
        } else if (d === c) {
          if (sql[j + 1] === c) {
            value += c;
            j += 2;
          } else {
            closed = true;
            j++;
            break;
          }
        } else {
          value += d;
          j++;
        }
      }
      if (!closed) unterminated = true;
      tokens.push(c === '`' ? { kind: 'ident', value, text: value } : { kind: 'string', value, text: value });
      i = j;
    } else if (/[0-9]/.test(c) || (c === '.' && next !== undefined && /[0-9]/.test(next))) {
      const m = /^(?:0x[0-9a-f]+|[0-9]*\.?[0-9]+(?:e[+-]?[0-9]+)?)/i.exec(sql.slice(i)) as RegExpExecArray;
      tokens.push({ kind: 'number', value: m[0], text: m[0] });
      i += Math.max(1, m[0].length);
    } else if (/[A-Za-z_$@\u0080-\uffff]/.test(c)) {
      const m = /^[A-Za-z0-9_$@\u0080-\uffff]+/.exec(sql.slice(i)) as RegExpExecArray;
      tokens.push({ kind: 'word', value: m[0].toUpperCase(), text: m[0] });
      i += m[0].length;
    } else {
      const three = sql.slice(i, i + 3);
      const two = sql.slice(i, i + 2);
      const op = three === '<=>' ? three : ['<=', '>=', '<>', '!=', ':=', '||', '&&'].includes(two) ? two : c;
      tokens.push({ kind: 'punct', value: op, text: op });
      i += op.length;
    }
  }
  return { tokens, executableComment, unterminated };
}

/**
 * Whether a sample may be EXPLAINed: one complete SELECT — not cut by performance_schema (its texts stop at
 * `performance_schema_max_sql_text_length` bytes, 1024 by default, ending in `...`), no placeholders (a prepared
 * statement's text), no executable comment, no second statement, no INTO / locking clause.
 *
 * @returns the SQL to put after `EXPLAIN` (the sample without a trailing `;`), or why not
 */
export function explainableSelect(
  sample: string,
  sqlTextLimit = 1024,
): { ok: true; sql: string } | { ok: false; reason: string } {
  let sql = sample.trim();
  if (sql.endsWith('...') || Buffer.byteLength(sample, 'utf8') >= sqlTextLimit - 3) {
    return {
      ok: false,
      reason: `the sample was truncated by performance_schema (${sqlTextLimit} bytes kept)`,
    };
  }
  if (sql.endsWith(';')) sql = sql.slice(0, -1).trimEnd();
  const { tokens, executableComment, unterminated } = tokenizeSql(sql);
  if (unterminated) return { ok: false, reason: 'the sample ends inside a quote or comment' };
  if (executableComment) return { ok: false, reason: 'the sample has an executable comment' };
  if (tokens[0]?.kind !== 'word' || tokens[0].value !== 'SELECT') {
    return { ok: false, reason: 'only SELECT statements are explained' };
  }
  for (let k = 0; k < tokens.length; k++) {
    const t = tokens[k] as SqlToken;
    const after = tokens[k + 1];
    if (t.kind === 'punct' && t.value === ';')
      return { ok: false, reason: 'the sample holds more than one statement' };
    if (t.kind === 'punct' && t.value === '?')
      return { ok: false, reason: 'the sample has placeholders (prepared)' };
    if (t.kind !== 'word') continue;
    if (t.value === 'INTO') return { ok: false, reason: 'the sample writes (SELECT … INTO)' };
    if (
      t.value === 'FOR' &&
      after?.kind === 'word' &&
      (after.value === 'UPDATE' || after.value === 'SHARE')
    ) {
      return { ok: false, reason: 'the sample takes locks (FOR UPDATE/SHARE)' };
    }
    if (t.value === 'LOCK' && after?.kind === 'word' && after.value === 'IN') {
      return { ok: false, reason: 'the sample takes locks (LOCK IN SHARE MODE)' };
    }
  }
  return { ok: true, sql };
}

/** A table a statement reads, as written: optional schema, name, and alias. */
export interface TableReference {
  schema: string | null;
  table: string;
  alias: string | null;
}

const CLAUSE_WORDS = new Set(
  (
    'WHERE JOIN INNER LEFT RIGHT CROSS NATURAL STRAIGHT_JOIN FULL OUTER ON USING GROUP ORDER LIMIT ' +
    'HAVING UNION EXCEPT INTERSECT FOR LOCK WINDOW USE FORCE IGNORE PARTITION INTO PROCEDURE SET ' +
    'VALUES VALUE WITH SELECT FROM AND OR'
  ).split(' '),
);

function isName(t: SqlToken | undefined): t is SqlToken {
  return t !== undefined && (t.kind === 'ident' || (t.kind === 'word' && !CLAUSE_WORDS.has(t.value)));
}

/** A name at `tokens[k]`, optionally qualified (`a.b`): its qualifier, its last part, and the index after it. */
function dottedName(
  tokens: readonly SqlToken[],
  k: number,
): { qualifier: string | null; name: string; next: number } {
  const first = tokens[k] as SqlToken;
  if (tokens[k + 1]?.value === '.' && isName(tokens[k + 2])) {
    return { qualifier: first.text, name: (tokens[k + 2] as SqlToken).text, next: k + 3 };
  }
  return { qualifier: null, name: first.text, next: k + 1 };
}

/** The tables a statement names after FROM, JOIN, UPDATE or INTO, in order (derived tables are left out). */
export function tableReferences(sql: string): TableReference[] {
  const { tokens } = tokenizeSql(sql);
  const refs: TableReference[] = [];
  for (let k = 0; k < tokens.length; k++) {
    const t = tokens[k] as SqlToken;
    if (t.kind !== 'word' || !['FROM', 'JOIN', 'UPDATE', 'INTO', 'STRAIGHT_JOIN'].includes(t.value)) continue;
    // FROM a, b, c: comma joins
    let j = k + 1;
    for (;;) {
      if (!isName(tokens[j])) break;
      const { qualifier: schema, name: table, next } = dottedName(tokens, j);
      j = next;
      let alias: string | null = null;
      if (tokens[j]?.kind === 'word' && tokens[j]?.value === 'AS') j++;
      if (isName(tokens[j])) {
        alias = (tokens[j] as SqlToken).text;
        j++;
      }
      refs.push({ schema, table, alias });
      if (tokens[j]?.value !== ',') break;
      j++;
    }
  }
  return refs;
}

/** A column compared in a WHERE clause, with the table name or alias it is qualified by, if any. */
export interface WhereColumn {
  qualifier: string | null;
  column: string;
  /** Compared for equality (`=`, `<=>`, `IN`, `IS NULL`): such columns lead an index; ranges follow the sort. */
  equality: boolean;
}

const COMPARISONS = new Set(['=', '<=>', '<', '>', '<=', '>=', '<>', '!=']);
const COMPARISON_WORDS = new Set(['LIKE', 'IN', 'BETWEEN', 'IS', 'NOT', 'REGEXP', 'RLIKE']);
const WHERE_END = new Set('GROUP ORDER LIMIT HAVING WINDOW UNION EXCEPT INTERSECT FOR LOCK'.split(' '));
// Words in a WHERE clause that are never column names (comparison keywords and the like).
const NOT_COLUMNS = new Set([
  ...COMPARISON_WORDS,
  ...(
    'NULL TRUE FALSE UNKNOWN EXISTS CASE WHEN THEN ELSE END INTERVAL BINARY COLLATE ESCAPE DIV MOD ' +
    'XOR ANY ALL SOME'
  ).split(' '),
]);

/**
 * The columns compared in the statement's first WHERE clause (`col = …`, `t.col IN (…)`, `col LIKE …`, …), each once,
 * spelled as written (digest texts may upper-case bare names that are also keywords, e.g. `ID`: compare columns
 * case-insensitively).
 */
export function whereColumns(sql: string): WhereColumn[] {
  const { tokens } = tokenizeSql(sql);
  const start = tokens.findIndex((t) => t.kind === 'word' && t.value === 'WHERE');
  if (start < 0) return [];
  const out: WhereColumn[] = [];
  let depth = 0;
  for (let k = start + 1; k < tokens.length; k++) {
    const t = tokens[k] as SqlToken;
    if (t.kind === 'punct' && t.value === '(') depth++;
    else if (t.kind === 'punct' && t.value === ')') {
      if (--depth < 0) break;
    } else if (depth === 0 && t.kind === 'word' && WHERE_END.has(t.value)) break;
    if (!isName(t) || (t.kind === 'word' && NOT_COLUMNS.has(t.value))) continue;
    if (tokens[k - 1]?.value === '.') continue; // the column part of a qualified name, already seen
    let qualifier: string | null = null;
    let column = t.text;
    let next = k + 1;
    if (tokens[next]?.value === '.' && isName(tokens[next + 1])) {
      qualifier = column;
      column = (tokens[next + 1] as SqlToken).text;
      next += 2;
    }
    const op = tokens[next];
    const compared =
      op !== undefined &&
      ((op.kind === 'punct' && COMPARISONS.has(op.value)) ||
        (op.kind === 'word' && COMPARISON_WORDS.has(op.value)));
    if (!compared) continue;
    const equality =
      (op.kind === 'punct' && (op.value === '=' || op.value === '<=>')) ||
      (op.kind === 'word' && (op.value === 'IN' || (op.value === 'IS' && tokens[next + 1]?.value !== 'NOT')));
    const seen = out.find(
      (c) => c.column.toLowerCase() === column.toLowerCase() && c.qualifier === qualifier,
    );
    if (!seen) out.push({ qualifier, column, equality });
    else seen.equality ||= equality;
  }
  return out;
}

/** A column the statement sorts by, as written. */
export interface OrderColumn {
  qualifier: string | null;
  column: string;
  descending: boolean;
}

const ORDER_END = new Set('LIMIT FOR LOCK UNION EXCEPT INTERSECT INTO PROCEDURE WINDOW'.split(' '));

/**
 * The plain columns of the statement's outermost ORDER BY, in order, up to the first item that is not a plain
 * column (an expression, a position, `NULL`): an index can serve the sort only on a leading run of columns.
 */
export function orderByColumns(sql: string): OrderColumn[] {
  const { tokens } = tokenizeSql(sql);
  let depth = 0;
  let start = -1;
  for (let k = 0; k < tokens.length; k++) {
    const t = tokens[k] as SqlToken;
    if (t.value === '(') depth++;
    else if (t.value === ')') depth--;
    else if (depth === 0 && t.kind === 'word' && t.value === 'ORDER' && tokens[k + 1]?.value === 'BY')
      start = k + 2;
  }
  if (start < 0) return [];
  const out: OrderColumn[] = [];
  let k = start;
  while (k < tokens.length) {
    const first = tokens[k];
    if (!isName(first) || (first.kind === 'word' && NOT_COLUMNS.has(first.value))) break;
    const { qualifier, name: column, next: after } = dottedName(tokens, k);
    k = after;
    let descending = false;
    const dir = tokens[k];
    if (dir?.kind === 'word' && (dir.value === 'ASC' || dir.value === 'DESC')) {
      descending = dir.value === 'DESC';
      k++;
    }
    const next = tokens[k];
    const ends =
      next === undefined || next.value === ';' || (next.kind === 'word' && ORDER_END.has(next.value));
    if (!ends && next.value !== ',') break; // an expression such as `a + b` or `f(a)`: not a plain column
    out.push({ qualifier, column, descending });
    if (ends) break;
    k++;
  }
  return out;
}

/**
 * The columns of an index to try for a statement on one table: its equality columns first, then the columns it
 * sorts by (so the index returns rows in order and a LIMIT stops early), then its range columns; each once.
 */
export function indexColumnsFor(where: readonly WhereColumn[], order: readonly OrderColumn[]): string[] {
  const out: string[] = [];
  const add = (c: string) => {
    if (!out.some((x) => x.toLowerCase() === c.toLowerCase())) out.push(c);
  };
  for (const c of where) if (c.equality) add(c.column);
  for (const c of order) add(c.column);
  for (const c of where) if (!c.equality) add(c.column);
  return out;
}

const ONE_OFF_STATEMENT =
  /^\s*(?:CREATE|ALTER|DROP|TRUNCATE|RENAME|OPTIMIZE|ANALYZE|REPAIR|CHECK|GRANT|REVOKE|LOAD\s+(?:DATA|XML)|(?:INSERT|REPLACE)\b[\s\S]*\bSELECT\b)/i;

/** Runs below which a statement is a one-off, not the workload: "a few times". */
export const MIN_RECURRING_RUNS = 3;

/**
 * Whether a digest is part of the workload worth listing: run at least {@link MIN_RECURRING_RUNS} times, and not
 * a schema change (DDL), a maintenance statement or a bulk load (`LOAD DATA`, `INSERT … SELECT`).
 */
export function isRecurringStatement(s: Pick<DigestStatement, 'count' | 'digestText'>): boolean {
  return s.count >= MIN_RECURRING_RUNS && !ONE_OFF_STATEMENT.test(s.digestText);
}

// ---------------------------------------------------------------------------------------------------------------
// The cause
// ---------------------------------------------------------------------------------------------------------------

/**
 * The statement most likely to burn the IO: the one examining the most rows among those that ran without an index
 * or with full scans; failing that, the top one by rows examined when it holds at least half of all rows examined.
 * One-off statements (see {@link isRecurringStatement}) are not the workload and are never the cause.
 */
export function pickCauseStatement(
  report: Pick<IoStatementsReport, 'topByRowsExamined' | 'topByFullScans'>,
): {
  statement: DigestStatement;
  scans: boolean;
} | null {
  const scanning = (s: DigestStatement) => s.noIndexUsed > 0 || s.fullScans > 0 || s.noGoodIndexUsed > 0;
  const candidates = [...report.topByRowsExamined, ...report.topByFullScans]
    .filter((s) => scanning(s) && s.rowsExamined > 0 && isRecurringStatement(s))
    .sort((a, b) => b.rowsExamined - a.rowsExamined);
  const top = report.topByRowsExamined.find(isRecurringStatement);
  const best = candidates[0];
  // A scanner that examines far fewer rows than the top statement is not the cause.
  if (best && (!top || best.rowsExamined * 4 >= top.rowsExamined)) return { statement: best, scans: true };
  if (top && top.sharePct >= 50) return { statement: top, scans: scanning(top) };
  return null;
}

async function findCause(
  conn: MysqlConnection,
  report: IoStatementsReport,
  fullTexts: Map<string, string>,
  fullSamples: Map<string, { text: string; source: SampleSource }>,
  notes: string[],
): Promise<IoCause | null> {
  const picked = pickCauseStatement(report);
  if (!picked) return null;
  const { statement: s, scans } = picked;
  const key = sampleKey(s.schema, s.digest);
  const sample = fullSamples.get(key)?.text;
  const text = sample ?? fullTexts.get(key) ?? s.digestText;
  const refs = tableReferences(text);
  const explain = report.explains.find((e) => e.digest === s.digest && e.schema === s.schema);

  // Which table: EXPLAIN's full-scan row (its alias mapped back), else the first table after FROM.
  let ref: TableReference | undefined;
  let tableFrom: IoCause['tableFrom'] = null;
  const scanned = explain?.fullScanTables[0];
  if (scanned !== undefined) {
    const lower = scanned.toLowerCase();
    ref = refs.find((r) => r.alias?.toLowerCase() === lower) ??
      refs.find((r) => r.table.toLowerCase() === lower) ?? { schema: null, table: scanned, alias: null };
    tableFrom = 'explain';
  } else if (refs[0]) {
    ref = refs[0];
    tableFrom = 'statement-text';
  }
  const schema = ref?.schema ?? s.schema;

  let columnsOfTable: Map<string, string> | null = null; // lower → as the server spells it
  let leading: Set<string> | null = null;
  if (ref && schema !== null) {
    try {
      const cols = await select(
        conn,
        'SELECT COLUMN_NAME AS c FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?',
        [schema, ref.table],
      );
      if (cols.length > 0) {
        columnsOfTable = new Map(cols.map((r) => [String(r.c).toLowerCase(), String(r.c)]));
        // The table name as the server spells it (bare words come out of the tokenizer upper-cased).
        const named = await select(
          conn,
          'SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?',
          [schema, ref.table],
        );
        if (named[0]) ref = { ...ref, table: String(named[0].t) };
        const idx = await select(
          conn,
          `SELECT COLUMN_NAME AS c FROM information_schema.STATISTICS
            WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND SEQ_IN_INDEX = 1`,
          [schema, ref.table],
        );
        leading = new Set(idx.map((r) => String(r.c).toLowerCase()));
      }
    } catch (error) {
      notes.push(
        `indexes of the cause's table not read: ${wrapMysqlError(error, 'information_schema', []).message}`,
      );
    }
  }

  // WHERE columns that belong to that table: qualified by its name or alias, or unqualified and one of its columns.
  const names = new Set([ref?.table.toLowerCase(), ref?.alias?.toLowerCase()].filter((x) => x !== undefined));
  const ofTable = (c: { qualifier: string | null; column: string }): string | null => {
    const lower = c.column.toLowerCase();
    if (c.qualifier !== null && !names.has(c.qualifier.toLowerCase())) return null;
    if (columnsOfTable && !columnsOfTable.has(lower)) return null;
    if (!columnsOfTable && c.qualifier === null && refs.length > 1) return null;
    return columnsOfTable?.get(lower) ?? c.column;
  };
  const where: string[] = [];
  const compared: WhereColumn[] = [];
  for (const c of whereColumns(text)) {
    const spelled = ofTable(c);
    if (spelled === null || where.includes(spelled)) continue;
    where.push(spelled);
    compared.push({ ...c, column: spelled });
  }
  const sorted: OrderColumn[] = [];
  for (const c of orderByColumns(text)) {
    const spelled = ofTable(c);
    if (spelled === null) break; // a sort on another table's column: an index here cannot serve the rest
    sorted.push({ ...c, column: spelled });
  }
  const unindexed = leading ? where.filter((c) => !leading.has(c.toLowerCase())) : [];
  const indexColumns = indexColumnsFor(compared, sorted);

  const tableName = ref ? (schema !== null ? `${schema}.${ref.table}` : ref.table) : null;
  let hypothesis: string | null = null;
  if (ref && scans) {
    if (unindexed.length > 0) {
      hypothesis =
        `Hypothesis: no index of ${tableName} starts with ${unindexed.join(' or ')}, so each call examines ` +
        `~${s.rowsExaminedPerCall.toLocaleString('en-US')} rows; an index on ${ref.table}(${indexColumns.join(', ')}) ` +
        `should turn the scan into a lookup${sorted.length > 0 ? ' that also returns the rows in ORDER BY order (equality columns first, then the sort)' : ''}. ` +
        'Check with EXPLAIN on a copy before adding it.';
    } else if (where.length === 0) {
      hypothesis =
        `Hypothesis: the statement filters ${tableName} on no column an index could serve; it reads the table ` +
        'whole each call. Consider narrowing it (a WHERE on an indexed column, LIMIT, or caching the result).';
    } else if (leading) {
      hypothesis =
        `Hypothesis: ${tableName} has indexes starting with ${where.join(', ')}, yet the statement scans: check ` +
        'for a function or type conversion on the column, low selectivity, or a leading-column mismatch.';
    }
  }
  const scanWords = explain?.fullScanTables.length
    ? `; EXPLAIN: full scan (type ALL) of ${explain.fullScanTables.join(', ')}`
    : scans
      ? `; ${s.noIndexUsed.toLocaleString('en-US')} executions without an index`
      : '';
  const summary =
    `${s.digestText} ran ${s.count.toLocaleString('en-US')} times, examining ` +
    `${s.rowsExaminedPerCall.toLocaleString('en-US')} rows per call for ${s.rowsSentPerCall} sent ` +
    `(${s.sharePct}% of all rows examined)${tableName ? ` on ${tableName}` : ''}${scanWords}.`;
  return {
    statement: s,
    dominant: s.sharePct > 50,
    scans,
    schema,
    table: ref?.table ?? null,
    tableFrom,
    whereColumns: where,
    unindexedColumns: unindexed,
    hypothesis,
    summary,
  };
}
