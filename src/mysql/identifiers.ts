/**
 * SQL identifiers and key predicates. Every identifier Capstan puts into SQL goes through {@link quoteIdent}, which
 * refuses anything outside `^[A-Za-z0-9_$]{1,64}$` before a query is ever built; values always travel as `?`
 * placeholders.
 */
import { ErrorCode, UserError } from '../errors.js';

const IDENT = /^[A-Za-z0-9_$]{1,64}$/;

/** True when `name` is an identifier Capstan accepts (letters, digits, `_`, `$`; 1–64 characters). */
export function isValidIdent(name: unknown): name is string {
  return typeof name === 'string' && IDENT.test(name);
}

/** Throws a {@link UserError} unless `name` is a valid identifier; `what` names it in the message. */
export function assertIdent(name: unknown, what = 'identifier'): string {
  if (!isValidIdent(name)) {
    const shown = typeof name === 'string' ? JSON.stringify(name.slice(0, 80)) : typeof name;
    throw new UserError(
      `invalid ${what} ${shown}: only letters, digits, _ and $ (1 to 64 characters) are allowed`,
      ErrorCode.UsageError,
    );
  }
  return name;
}

/** Validates and backtick-quotes one identifier. */
export function quoteIdent(name: string, what?: string): string {
  return `\`${assertIdent(name, what)}\``;
}

/** `\`schema\`.\`table\`` after validating both. */
export function qualified(schema: string, table: string): string {
  return `${quoteIdent(schema, 'schema')}.${quoteIdent(table, 'table')}`;
}

/** Comma-separated quoted column list. */
export function columnList(columns: readonly string[]): string {
  return columns.map((c) => quoteIdent(c, 'column')).join(', ');
}

/** A SQL fragment and its placeholder values. */
export interface Fragment {
  sql: string;
  values: unknown[];
}

/**
 * The row comparison `(k1, k2, …) > (v1, v2, …)` (or `<=`), expanded into ORs of equalities so every server's
 * range optimiser uses the index: `k1 > ? OR (k1 = ? AND k2 > ?) …`.
 */
export function keyPredicate(
  columns: readonly string[],
  op: '>' | '<=',
  values: readonly unknown[],
): Fragment {
  if (columns.length === 0 || columns.length !== values.length) {
    throw new Error(`key predicate needs one value per key column (${columns.length} vs ${values.length})`);
  }
  const quoted = columns.map((c) => quoteIdent(c, 'column'));
  const parts: string[] = [];
  const out: unknown[] = [];
  for (let i = 0; i < quoted.length; i++) {
    const last = i === quoted.length - 1;
    const terms: string[] = [];
    for (let j = 0; j < i; j++) {
      terms.push(`${quoted[j]} = ?`);
      out.push(values[j]);
    }
    const cmp = op === '>' ? '>' : last ? '<=' : '<';
    terms.push(`${quoted[i]} ${cmp} ?`);
    out.push(values[i]);
    parts.push(terms.length === 1 ? (terms[0] as string) : `(${terms.join(' AND ')})`);
  }
  return { sql: parts.length === 1 ? (parts[0] as string) : `(${parts.join(' OR ')})`, values: out };
}

/** Joins fragments with AND (an empty list is `1=1`). */
export function and(fragments: readonly Fragment[]): Fragment {
  if (fragments.length === 0) return { sql: '1=1', values: [] };
  return {
    sql: fragments.map((f) => `(${f.sql})`).join(' AND '),
    values: fragments.flatMap((f) => f.values),
  };
}
