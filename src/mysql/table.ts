/**
 * Reading a table's shape: its definition, columns, key and row counts.
 */
import type { RowDataPacket } from 'mysql2/promise';
import { ErrorCode, UserError } from '../errors.js';
import type { MysqlConnection } from './connection.js';
import { assertIdent, qualified, quoteIdent } from './identifiers.js';

/** One column, from information_schema.COLUMNS. */
export interface ColumnInfo {
  name: string;
  /** Full column type, e.g. `varchar(100)`, `decimal(12,4)`, `bigint(20) unsigned`. */
  type: string;
  /** Base data type, lower case, e.g. `varchar`, `bigint`. */
  dataType: string;
  nullable: boolean;
  /** True for VIRTUAL/STORED (PERSISTENT) generated columns: never inserted, computed by the server. */
  generated: boolean;
  /** COLUMN_KEY: `PRI`, `UNI`, `MUL` or ``. */
  key: string;
  /** CHARACTER_SET_NAME: null for numeric and temporal columns, `binary` for BINARY/VARBINARY/BLOB. */
  charset: string | null;
}

/** The key rows are identified and ordered by. */
export interface TableKey {
  /** `primary`, a `unique` NOT NULL key, or `none`. */
  kind: 'primary' | 'unique' | 'none';
  /** Index name (`PRIMARY` for the primary key), undefined for `none`. */
  name?: string;
  /** Key columns in index order (empty for `none`). */
  columns: string[];
  /** True when the key is one integer column (its key space can be split into ranges). */
  integer: boolean;
}

/** Everything {@link describeTable} reads. */
export interface TableInfo {
  schema: string;
  table: string;
  createStatement: string;
  columns: ColumnInfo[];
  key: TableKey;
  approximateRows: number;
}

const INTEGER_TYPES = new Set(['tinyint', 'smallint', 'mediumint', 'int', 'integer', 'bigint']);

/** True for the integer data types whose key space {@link TableKey.integer} can split. */
export function isIntegerType(dataType: string): boolean {
  return INTEGER_TYPES.has(dataType.toLowerCase());
}

/** True when information_schema's EXTRA marks a generated column (not MySQL 8's `DEFAULT_GENERATED`). */
export function isGeneratedExtra(extra: string): boolean {
  return /\b(VIRTUAL|STORED|PERSISTENT) GENERATED\b/i.test(extra);
}

/** The table's `SHOW CREATE TABLE` statement. @throws UserError (NotFound) when it does not exist */
export async function showCreateTable(conn: MysqlConnection, schema: string, table: string): Promise<string> {
  const sql = `SHOW CREATE TABLE ${qualified(schema, table)}`;
  try {
    const [rows] = await conn.query<RowDataPacket[]>({ sql, rowsAsArray: true });
    const row = rows[0] as unknown as unknown[] | undefined;
    if (!row || typeof row[1] !== 'string') throw new Error('no definition returned');
    return row[1];
  } catch (error) {
    if ((error as { code?: string }).code === 'ER_NO_SUCH_TABLE') {
      throw new UserError(`table ${schema}.${table} does not exist`, ErrorCode.NotFound);
    }
    throw error;
  }
}

/** The table's columns in ordinal order (empty when the table does not exist). */
export async function getColumns(
  conn: MysqlConnection,
  schema: string,
  table: string,
): Promise<ColumnInfo[]> {
  assertIdent(schema, 'schema');
  assertIdent(table, 'table');
  const [rows] = await conn.query<RowDataPacket[]>(
    `SELECT COLUMN_NAME AS name, COLUMN_TYPE AS type, DATA_TYPE AS dataType, IS_NULLABLE AS nullable,
            EXTRA AS extra, COLUMN_KEY AS colKey, CHARACTER_SET_NAME AS charset
       FROM information_schema.COLUMNS
      WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?
      ORDER BY ORDINAL_POSITION`,
    [schema, table],
  );
  return rows.map((r) => ({
    name: String(r.name),
    type: String(r.type),
    dataType: String(r.dataType).toLowerCase(),
    nullable: r.nullable === 'YES',
    generated: isGeneratedExtra(String(r.extra ?? '')),
    key: String(r.colKey ?? ''),
    charset: r.charset === null || r.charset === undefined ? null : String(r.charset),
  }));
}

/** An index as read from information_schema.STATISTICS. */
export interface IndexInfo {
  name: string;
  unique: boolean;
  columns: string[];
}

/**
 * Chooses the key: the primary key, else the first unique index whose columns are all NOT NULL and not generated
 * (by name, for stability), else none. Pure.
 */
export function chooseKey(indexes: readonly IndexInfo[], columns: readonly ColumnInfo[]): TableKey {
  const byName = new Map(columns.map((c) => [c.name, c]));
  const integer = (cols: string[]): boolean =>
    cols.length === 1 && isIntegerType(byName.get(cols[0] as string)?.dataType ?? '');
  const primary = indexes.find((i) => i.name === 'PRIMARY');
  if (primary)
    return {
      kind: 'primary',
      name: 'PRIMARY',
      columns: [...primary.columns],
      integer: integer(primary.columns),
    };
  const candidates = indexes
    .filter((i) => i.unique)
    .filter((i) =>
      i.columns.every((c) => byName.get(c)?.nullable === false && byName.get(c)?.generated === false),
    )
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const unique = candidates[0];
  if (unique)
    return {
      kind: 'unique',
      name: unique.name,
      columns: [...unique.columns],
      integer: integer(unique.columns),
    };
  return { kind: 'none', columns: [], integer: false };
}

/** The table's indexes. */
export async function getIndexes(conn: MysqlConnection, schema: string, table: string): Promise<IndexInfo[]> {
  assertIdent(schema, 'schema');
  assertIdent(table, 'table');
  const [rows] = await conn.query<RowDataPacket[]>(
    `SELECT INDEX_NAME AS name, NON_UNIQUE AS nonUnique, COLUMN_NAME AS col, SEQ_IN_INDEX AS seq
       FROM information_schema.STATISTICS
      WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?
      ORDER BY INDEX_NAME, SEQ_IN_INDEX`,
    [schema, table],
  );
  const indexes = new Map<string, IndexInfo>();
  for (const r of rows) {
    const name = String(r.name);
    let index = indexes.get(name);
    if (!index) {
      index = { name, unique: Number(r.nonUnique) === 0, columns: [] };
      indexes.set(name, index);
    }
    // Expression indexes (MySQL 8 functional key parts) have no column name: such an index cannot be a key here.
    if (r.col === null) index.unique = false;
    else index.columns.push(String(r.col));
  }
  return [...indexes.values()];
}

/** The key rows are identified by (see {@link chooseKey}). */
export async function getKey(
  conn: MysqlConnection,
  schema: string,
  table: string,
  columns?: ColumnInfo[],
): Promise<TableKey> {
  const cols = columns ?? (await getColumns(conn, schema, table));
  return chooseKey(await getIndexes(conn, schema, table), cols);
}

/** The server's estimate (information_schema.TABLES.TABLE_ROWS; cheap, may be off by a lot for InnoDB). */
export async function approximateRowCount(
  conn: MysqlConnection,
  schema: string,
  table: string,
): Promise<number> {
  assertIdent(schema, 'schema');
  assertIdent(table, 'table');
  const [rows] = await conn.query<RowDataPacket[]>(
    'SELECT TABLE_ROWS AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?',
    [schema, table],
  );
  return Number(rows[0]?.n ?? 0);
}

/** The server's size statistics of a table (information_schema.TABLES; estimates for InnoDB, 0 when unknown). */
export async function tableSize(
  conn: MysqlConnection,
  schema: string,
  table: string,
): Promise<{ avgRowBytes: number; dataBytes: number; indexBytes: number }> {
  assertIdent(schema, 'schema');
  assertIdent(table, 'table');
  const [rows] = await conn.query<RowDataPacket[]>(
    'SELECT AVG_ROW_LENGTH AS avg, DATA_LENGTH AS data, INDEX_LENGTH AS idx FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?',
    [schema, table],
  );
  const r = rows[0];
  return {
    avgRowBytes: Number(r?.avg ?? 0),
    dataBytes: Number(r?.data ?? 0),
    indexBytes: Number(r?.idx ?? 0),
  };
}

/** Rows {@link sampledRowBytes} reads: enough for a mean, few enough to cost a millisecond or two. */
const ROW_SAMPLE = 100;

/**
 * The mean width, in bytes, of the first rows of a table's `columns` as the server sends them as text (what a copy
 * holds in memory and sends): `LENGTH` of each value, NULL counted as 0, over {@link ROW_SAMPLE} rows. 0 for an empty
 * table, or when the server refuses the query. Unlike AVG_ROW_LENGTH it does not rest on the statistics: see
 * `sampledRowBytes` in src/domain/copy-plan.ts.
 */
export async function sampledRowBytes(
  conn: MysqlConnection,
  schema: string,
  table: string,
  columns: string[],
): Promise<number> {
  if (columns.length === 0) return 0;
  const cols = columns.map((c) => quoteIdent(c, 'column'));
  const width = cols.map((c) => `IFNULL(LENGTH(${c}), 0)`).join(' + ');
  const sql = `SELECT AVG(${width}) AS w FROM (SELECT ${cols.join(', ')} FROM ${qualified(schema, table)} LIMIT ${ROW_SAMPLE}) AS sampled`;
  try {
    const [rows] = await conn.query<RowDataPacket[]>(sql);
    const w = Number(rows[0]?.w ?? 0);
    return Number.isFinite(w) ? w : 0;
  } catch {
    // A measurement the plan can do without (it falls back on the statistics): a server that refuses it does not
    // stop the copy; a connection that failed fails the copy's next query.
    return 0;
  }
}

/** `SELECT COUNT(*)` (a full index scan). */
export async function exactRowCount(conn: MysqlConnection, schema: string, table: string): Promise<number> {
  const [rows] = await conn.query<RowDataPacket[]>(`SELECT COUNT(*) AS n FROM ${qualified(schema, table)}`);
  return Number(rows[0]?.n ?? 0);
}

/** True when the table (or view) exists. */
export async function tableExists(conn: MysqlConnection, schema: string, table: string): Promise<boolean> {
  assertIdent(schema, 'schema');
  assertIdent(table, 'table');
  const [rows] = await conn.query<RowDataPacket[]>(
    'SELECT 1 AS x FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?',
    [schema, table],
  );
  return rows.length > 0;
}

/** The table's comment (`TABLE_COMMENT`), or undefined when the table does not exist. */
export async function tableComment(
  conn: MysqlConnection,
  schema: string,
  table: string,
): Promise<string | undefined> {
  assertIdent(schema, 'schema');
  assertIdent(table, 'table');
  const [rows] = await conn.query<RowDataPacket[]>(
    'SELECT TABLE_COMMENT AS c FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?',
    [schema, table],
  );
  return rows.length > 0 ? String(rows[0]?.c ?? '') : undefined;
}

/**
 * `createStatement` with its table comment replaced by `comment` (pure): the options line (the one
 * that closes the column list) loses any `COMMENT='…'` and ends with the new one.
 */
export function withTableComment(createStatement: string, comment: string): string {
  const lines = createStatement.split('\n');
  const close = lines.findIndex((l) => /^\)/.test(l));
  if (close < 0) throw new Error('unexpected SHOW CREATE TABLE output');
  const quoted = `'${comment.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
  lines[close] =
    `${(lines[close] as string).replace(/\s+COMMENT='(?:[^'\\]|''|\\.)*'/, '')} COMMENT=${quoted}`;
  return lines.join('\n');
}

/** Definition, columns, key and approximate row count in one go. @throws UserError when the table does not exist */
export async function describeTable(
  conn: MysqlConnection,
  schema: string,
  table: string,
): Promise<TableInfo> {
  const createStatement = await showCreateTable(conn, schema, table);
  const columns = await getColumns(conn, schema, table);
  const key = await getKey(conn, schema, table, columns);
  const approximateRows = await approximateRowCount(conn, schema, table);
  return { schema, table, createStatement, columns, key, approximateRows };
}

/**
 * Rewrites a `SHOW CREATE TABLE` statement to create `schema`.`newTable`: the name is replaced and FOREIGN KEY
 * constraints are dropped (their names are unique per schema, and a side copy must not be tied to other tables).
 * Pure.
 */
export function rewriteCreateTable(createStatement: string, schema: string, newTable: string): string {
  const header = /^CREATE TABLE `(?:[^`]|``)+`/;
  if (!header.test(createStatement)) throw new Error('unexpected SHOW CREATE TABLE output');
  let out = createStatement.replace(header, `CREATE TABLE ${qualified(schema, newTable)}`);
  const lines = out.split('\n').filter((l) => !/^\s*(CONSTRAINT `(?:[^`]|``)+` )?FOREIGN KEY\b/.test(l));
  // The line before the closing `)` must not end with a comma.
  for (let i = 0; i < lines.length; i++) {
    if (/^\)/.test(lines[i] as string) && i > 0) lines[i - 1] = (lines[i - 1] as string).replace(/,\s*$/, '');
  }
  out = lines.join('\n');
  return out;
}
