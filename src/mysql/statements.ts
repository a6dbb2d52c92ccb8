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
import {
  type DigestStatement,
  type ExplainRow,
  explainableSelect,
  type IoCause,
  type IoStatementsOptions,
  type IoStatementsReport,
  indexColumnsFor,
  isRecurringStatement,
  type OrderColumn,
  orderByColumns,
  pickCauseStatement,
  type SampleSource,
  type StatementConsumers,
  type StatementExplain,
  shortenText,
  type TableIo,
  type TableReference,
  tableReferences,
  type WhereColumn,
  whereColumns,
} from '../domain/statements.js';
import { type MysqlConnection, wrapMysqlError } from './connection.js';
import { isValidIdent, quoteIdent } from './identifiers.js';

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
