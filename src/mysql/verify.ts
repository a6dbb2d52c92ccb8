/**
 * Table checksums: a row count and an order-independent content hash per key range, computed by the server with
 * the same SQL on both sides, so equal content gives equal checksums whatever the physical order.
 */
import type { RowDataPacket } from 'mysql2/promise';
import { definitionDifferences } from '../domain/table-definition.js';
import type { MysqlConnection } from './connection.js';
import { type KeyValue, rangeWhere, splitIntegerRange } from './copy.js';
import { assertIdent, qualified, quoteIdent } from './identifiers.js';
import { getColumns, getKey, showCreateTable } from './table.js';

/** A key range `(lower, upper]`; `null` is unbounded. */
export interface KeyRange {
  lower: KeyValue[] | null;
  upper: KeyValue[] | null;
}

/** One range's figures. */
export interface RangeChecksum extends KeyRange {
  count: number;
  /** Two sums of 64-bit halves of each row's MD5, as decimal strings. */
  sum: string;
}

export interface TableChecksum {
  count: number;
  ranges: RangeChecksum[];
  /** Key columns the ranges are over (empty: one range, the whole table). */
  key: string[];
  /** Columns hashed, in order. */
  columns: string[];
}

export interface ChecksumOptions {
  /** Key columns (default: the table's primary/unique key). */
  pk?: string[];
  /** Explicit ranges (to compute identical chunks on two servers), or how many to split a single integer key into (default 16). */
  ranges?: KeyRange[] | number;
  /** Columns to hash (default: all, generated included). */
  columns?: string[];
}

/**
 * The per-row expression: each column as `LENGTH:bytes` (binary, so no collation mixing) or `N` for NULL, joined by
 * commas — unambiguous — then MD5. Pure.
 */
export function rowHashSql(columns: readonly string[]): string {
  const parts = columns.map((c) => {
    const q = quoteIdent(c, 'column');
    return `COALESCE(CONCAT(LENGTH(${q}), ':', CAST(${q} AS BINARY)), 'N')`;
  });
  return `MD5(CONCAT_WS(',', ${parts.join(', ')}))`;
}

/** `SUM` of both 64-bit halves of the row hash: order-independent, and duplicates do not cancel out (unlike XOR). */
function sumSql(columns: readonly string[]): string {
  const h = rowHashSql(columns);
  return `CONCAT(COALESCE(SUM(CAST(CONV(SUBSTRING(${h}, 1, 16), 16, 10) AS UNSIGNED)), 0), '/', COALESCE(SUM(CAST(CONV(SUBSTRING(${h}, 17, 16), 16, 10) AS UNSIGNED)), 0))`;
}

/** Splits a single integer key of `schema.table` into `n` ranges from its MIN/MAX. */
export async function planRanges(
  conn: MysqlConnection,
  schema: string,
  table: string,
  key: readonly string[],
  n: number,
): Promise<KeyRange[]> {
  if (key.length !== 1 || n <= 1) return [{ lower: null, upper: null }];
  const k = quoteIdent(key[0] as string, 'column');
  const [rows] = await conn.query<RowDataPacket[]>(
    `SELECT MIN(${k}) AS lo, MAX(${k}) AS hi FROM ${qualified(schema, table)}`,
  );
  const lo = rows[0]?.lo;
  const hi = rows[0]?.hi;
  if (lo === null || lo === undefined) return [{ lower: null, upper: null }];
  let min: bigint;
  let max: bigint;
  try {
    min = BigInt(String(lo));
    max = BigInt(String(hi));
  } catch {
    return [{ lower: null, upper: null }];
  }
  return splitIntegerRange(min, max, n).map((r) => ({
    lower: r.lower === null ? null : [r.lower],
    upper: r.upper === null ? null : [r.upper],
  }));
}

/** Row count and chunked checksum of `schema.table`. */
export async function tableChecksum(
  conn: MysqlConnection,
  schema: string,
  table: string,
  options: ChecksumOptions = {},
): Promise<TableChecksum> {
  assertIdent(schema, 'schema');
  assertIdent(table, 'table');
  for (const c of [...(options.pk ?? []), ...(options.columns ?? [])]) assertIdent(c, 'column');
  const allColumns = await getColumns(conn, schema, table);
  const columns = options.columns ?? allColumns.map((c) => c.name);
  for (const c of columns) assertIdent(c, 'column');
  const key = options.pk ?? (await getKey(conn, schema, table, allColumns)).columns;
  for (const c of key) assertIdent(c, 'column');
  let ranges: KeyRange[];
  if (Array.isArray(options.ranges))
    ranges = key.length === 0 ? [{ lower: null, upper: null }] : options.ranges;
  else {
    const isInt = key.length === 1 && /int$/.test(allColumns.find((c) => c.name === key[0])?.dataType ?? '');
    ranges = isInt
      ? await planRanges(conn, schema, table, key, options.ranges ?? 16)
      : [{ lower: null, upper: null }];
  }
  const sum = sumSql(columns);
  const out: RangeChecksum[] = [];
  for (const range of ranges) {
    const where = key.length === 0 ? { sql: '1=1', values: [] } : rangeWhere(key, range, null);
    const [rows] = await conn.query<RowDataPacket[]>(
      `SELECT COUNT(*) AS n, ${sum} AS s FROM ${qualified(schema, table)} WHERE ${where.sql}`,
      where.values,
    );
    out.push({ ...range, count: Number(rows[0]?.n ?? 0), sum: String(rows[0]?.s ?? '') });
  }
  return { count: out.reduce((n, r) => n + r.count, 0), ranges: out, key: [...key], columns: [...columns] };
}

export interface CompareResult {
  equal: boolean;
  count: [number, number];
  /** Ranges whose count or checksum differ. */
  mismatchedRanges: KeyRange[];
}

export interface CompareOptions {
  pk?: string[];
  /** Ranges to split into (planned on side `a`; default 16). */
  ranges?: number;
  columns?: string[];
}

/** One side of a comparison. */
export interface TableRef {
  conn: MysqlConnection;
  schema: string;
  table: string;
}

/** Checksums both tables over the same ranges (planned on `a`, both sides computed concurrently) and compares. */
export async function compareTables(
  a: TableRef,
  b: TableRef,
  options: CompareOptions = {},
): Promise<CompareResult> {
  for (const t of [a, b]) {
    assertIdent(t.schema, 'schema');
    assertIdent(t.table, 'table');
  }
  for (const c of [...(options.pk ?? []), ...(options.columns ?? [])]) assertIdent(c, 'column');
  const cols = await getColumns(a.conn, a.schema, a.table);
  const key = options.pk ?? (await getKey(a.conn, a.schema, a.table, cols)).columns;
  const columns = options.columns ?? cols.map((c) => c.name);
  const isInt = key.length === 1 && /int$/.test(cols.find((c) => c.name === key[0])?.dataType ?? '');
  const ranges = isInt
    ? await planRanges(a.conn, a.schema, a.table, key, options.ranges ?? 16)
    : [{ lower: null, upper: null }];
  const [ca, cb] = await Promise.all([
    tableChecksum(a.conn, a.schema, a.table, { pk: key, ranges, columns }),
    tableChecksum(b.conn, b.schema, b.table, { pk: key, ranges, columns }),
  ]);
  const mismatchedRanges: KeyRange[] = [];
  ca.ranges.forEach((r, i) => {
    const other = cb.ranges[i];
    if (!other || other.count !== r.count || other.sum !== r.sum)
      mismatchedRanges.push({ lower: r.lower, upper: r.upper });
  });
  return {
    equal: mismatchedRanges.length === 0 && ca.count === cb.count,
    count: [ca.count, cb.count],
    mismatchedRanges,
  };
}

/**
 * How `b`'s definition differs from `a`'s (`SHOW CREATE TABLE` of both, modulo the name, the AUTO_INCREMENT counter,
 * the comment, foreign keys and key order: see {@link definitionDifferences}); empty when they are the same.
 */
export async function compareDefinitions(a: TableRef, b: TableRef): Promise<string[]> {
  const [da, db] = await Promise.all([
    showCreateTable(a.conn, a.schema, a.table),
    showCreateTable(b.conn, b.schema, b.table),
  ]);
  return definitionDifferences(da, db);
}
