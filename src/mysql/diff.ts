/**
 * Row-level diff of two tables by key: streams both sides in the server's key order, one bounded window at a time
 * (a page of the first side, and the second side's rows up to that page's last key), so memory stays bounded and
 * key order is always the server's own (collations included).
 */
import type { RowDataPacket } from 'mysql2/promise';
import { UserError } from '../errors.js';
import { encodeKeyValue, type KeyValue, rangeWhere } from './copy.js';
import { assertIdent, columnList, qualified } from './identifiers.js';
import { getColumns, getKey } from './table.js';
import { rowHashSql, type TableRef } from './verify.js';

/** A count and the first few keys. */
export interface DiffBucket {
  count: number;
  /** Up to `samples` keys (values in key-column order; binary values as `{ hex }`). */
  samples: KeyValue[][];
}

export interface DiffResult {
  key: string[];
  /** Rows only in the restored table: deleted since. */
  onlyInRestored: DiffBucket;
  /** Rows only in the live table: inserted since. */
  onlyInLive: DiffBucket;
  /** Rows in both whose content differs: updated since. */
  changed: DiffBucket;
  /** Rows identical on both sides. */
  same: number;
}

export interface DiffOptions {
  /** Key columns (default: the restored table's primary/unique key; a table without one cannot be diffed). */
  pk?: string[];
  /** Columns compared (default: the restored table's columns). */
  columns?: string[];
  /** Rows per page on each side (default 1000). */
  batchRows?: number;
  /** Sample keys kept per bucket (default 5). */
  samples?: number;
}

interface KeyedRow {
  key: KeyValue[];
  hash: string;
}

function bucket(): DiffBucket {
  return { count: 0, samples: [] };
}

/** Diffs `restored` against `live` by key. @throws UserError when there is no usable key */
export async function diffTables(
  restored: TableRef,
  live: TableRef,
  options: DiffOptions = {},
): Promise<DiffResult> {
  for (const t of [restored, live]) {
    assertIdent(t.schema, 'schema');
    assertIdent(t.table, 'table');
  }
  for (const c of [...(options.pk ?? []), ...(options.columns ?? [])]) assertIdent(c, 'column');
  const cols = await getColumns(restored.conn, restored.schema, restored.table);
  const key = options.pk ?? (await getKey(restored.conn, restored.schema, restored.table, cols)).columns;
  if (key.length === 0) {
    throw new UserError(
      `table ${restored.schema}.${restored.table} has no primary or unique NOT NULL key to diff by`,
    );
  }
  for (const k of key) assertIdent(k, 'column');
  const columns = options.columns ?? cols.map((c) => c.name);
  const n = Math.max(1, Math.floor(options.batchRows ?? 1000));
  const maxSamples = Math.max(0, Math.floor(options.samples ?? 5));
  const hash = rowHashSql(columns);
  const keyList = columnList(key);

  const page = async (
    t: TableRef,
    lower: KeyValue[] | null,
    upper: KeyValue[] | null,
  ): Promise<KeyedRow[]> => {
    const where = rangeWhere(key, { lower, upper }, null);
    const [rows] = await t.conn.query<RowDataPacket[]>({
      sql: `SELECT ${keyList}, ${hash} FROM ${qualified(t.schema, t.table)} WHERE ${where.sql} ORDER BY ${keyList} LIMIT ${n}`,
      values: where.values,
      rowsAsArray: true,
    });
    return (rows as unknown as unknown[][]).map((r) => ({
      key: r.slice(0, key.length).map(encodeKeyValue),
      hash: String(r[key.length]),
    }));
  };
  const result: DiffResult = {
    key: [...key],
    onlyInRestored: bucket(),
    onlyInLive: bucket(),
    changed: bucket(),
    same: 0,
  };
  const add = (b: DiffBucket, k: KeyValue[]): void => {
    b.count += 1;
    if (b.samples.length < maxSamples) b.samples.push(k);
  };

  let prev: KeyValue[] | null = null;
  for (;;) {
    const left = await page(restored, prev, null);
    const upper = left.length > 0 ? (left[left.length - 1] as KeyedRow).key : null;
    const pending = new Map<string, KeyedRow>();
    for (const r of left) pending.set(JSON.stringify(r.key), r);
    // The live side's rows in (prev, upper] (everything after prev once the restored side is exhausted).
    let liveAfter = prev;
    for (;;) {
      const right = await page(live, liveAfter, upper);
      for (const r of right) {
        const id = JSON.stringify(r.key);
        const match = pending.get(id);
        if (!match) add(result.onlyInLive, r.key);
        else {
          pending.delete(id);
          if (match.hash === r.hash) result.same += 1;
          else add(result.changed, r.key);
        }
      }
      if (right.length < n) break;
      liveAfter = (right[right.length - 1] as KeyedRow).key;
    }
    // Keys are compared by value in key order, so leftovers are in key order too.
    for (const r of left) if (pending.has(JSON.stringify(r.key))) add(result.onlyInRestored, r.key);
    if (left.length === 0) break;
    prev = upper;
  }
  return result;
}
