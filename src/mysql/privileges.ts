/**
 * What the connected user may do, read from `SHOW GRANTS` (the grants of the current user, as the
 * server applies them: https://dev.mysql.com/doc/refman/8.0/en/show-grants.html,
 * https://mariadb.com/kb/en/show-grants/), so a job can refuse before it creates anything rather
 * than fail half-way. Reading the grants is pure; asking the server is one query.
 */
import type { RowDataPacket } from 'mysql2/promise';
import type { MysqlConnection } from './connection.js';

/** A privilege a job needs, on a table or on a whole schema. */
export interface NeededPrivilege {
  privilege: string;
  /** The table it is needed on; absent: on the whole schema (tables not made yet). */
  table?: string;
}

/** One `GRANT … ON … TO …` line, read. */
export interface GrantLine {
  /** Upper-case privilege names; `ALL` for `ALL [PRIVILEGES]`. Column-level grants are left out. */
  privileges: string[];
  /** `*` for every schema, else the schema name or LIKE pattern (`_` and `%` are wildcards). */
  schema: string;
  /** `*` for every table of the schema. */
  table: string;
}

/** What {@link readGrants} found. */
export interface Grants {
  lines: GrantLine[];
  /** Roles granted (MySQL 8, MariaDB): their privileges may not all be listed, so a gap is not proof. */
  roles: boolean;
}

/** Splits at commas outside parentheses. */
function splitTop(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of text) {
    if (ch === '(') depth += 1;
    if (ch === ')') depth -= 1;
    if (ch === ',' && depth === 0) {
      parts.push(current.trim());
      current = '';
    } else current += ch;
  }
  if (current.trim()) parts.push(current.trim());
  return parts;
}

/** An identifier of a grant's object: `*`, `` `name` `` (doubled backticks inside) or a bare name. */
function unquote(part: string): string {
  const p = part.trim();
  if (p.startsWith('`') && p.endsWith('`')) return p.slice(1, -1).replace(/``/g, '`');
  return p;
}

/** Splits `` `db`.`table` `` at the dot outside backticks. */
function splitObject(object: string): [string, string] | undefined {
  let inQuote = false;
  for (let i = 0; i < object.length; i++) {
    const ch = object[i];
    if (ch === '`') inQuote = !inQuote;
    if (ch === '.' && !inQuote) return [unquote(object.slice(0, i)), unquote(object.slice(i + 1))];
  }
  return undefined;
}

/** Reads the lines `SHOW GRANTS` returns (pure). */
export function readGrants(lines: readonly string[]): Grants {
  const out: GrantLine[] = [];
  let roles = false;
  for (const line of lines) {
    const m =
      /^GRANT (.+?) ON (?:TABLE |FUNCTION |PROCEDURE |PACKAGE (?:BODY )?)?((?:`(?:[^`]|``)*`|[^\s.`]+|\*)\.(?:`(?:[^`]|``)*`|[^\s`]+|\*)) TO /i.exec(
        line,
      );
    if (!m) {
      // `GRANT role1, role2 TO user`: a role grant (no ON).
      if (/^GRANT /i.test(line) && !/ ON /i.test(line)) roles = true;
      continue;
    }
    const object = splitObject(m[2] ?? '');
    if (!object) continue;
    const privileges = splitTop(m[1] ?? '')
      .filter((p) => !p.includes('('))
      .map((p) => p.toUpperCase().replace(/\s+/g, ' '))
      .map((p) => (p === 'ALL PRIVILEGES' ? 'ALL' : p));
    out.push({ privileges, schema: object[0], table: object[1] });
  }
  return { lines: out, roles };
}

/** Whether the schema part of a grant (a LIKE pattern at schema level) covers `schema`. */
function schemaMatches(pattern: string, schema: string, tableLevel: boolean): boolean {
  if (pattern === '*') return true;
  // Table-level grants name one schema exactly; schema-level ones may use `_` and `%` wildcards.
  if (tableLevel) return pattern === schema;
  let re = '^';
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i] as string;
    if (ch === '\\' && i + 1 < pattern.length) {
      re += (pattern[i + 1] as string).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      i += 1;
    } else if (ch === '%') re += '.*';
    else if (ch === '_') re += '.';
    else re += ch.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`${re}$`, 's').test(schema);
}

/** The needed privileges `grants` do not give on `schema` (pure). */
export function missingPrivileges(
  grants: Grants,
  schema: string,
  needed: readonly NeededPrivilege[],
): NeededPrivilege[] {
  return needed.filter(
    (need) =>
      !grants.lines.some((g) => {
        const tableLevel = g.table !== '*';
        if (!schemaMatches(g.schema, schema, tableLevel)) return false;
        if (tableLevel && g.table !== need.table) return false;
        return g.privileges.includes('ALL') || g.privileges.includes(need.privilege);
      }),
  );
}

/** The current user's grants, as the server reports them. */
export async function currentGrants(conn: MysqlConnection): Promise<Grants> {
  const [rows] = await conn.query<RowDataPacket[]>({ sql: 'SHOW GRANTS', rowsAsArray: true });
  return readGrants((rows as unknown as unknown[][]).map((r) => String(r[0] ?? '')));
}
