/**
 * What the database's own statement counters say about I/O, as data (pure): the report's shape, and the
 * reading of SQL text that turns a statement into a hypothesis — a tokenizer just good enough to check a
 * sample and find its tables, its WHERE and ORDER BY columns, the index that would serve them, and which
 * statements are the workload rather than one-offs. Reading the counters is `src/mysql/statements.ts`'s.
 */

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

/** `text` cut to `max` characters, ending in `…` when cut. */
export function shortenText(text: string, max: number): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length <= max ? flat : `${flat.slice(0, Math.max(1, max - 1)).trimEnd()}…`;
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
