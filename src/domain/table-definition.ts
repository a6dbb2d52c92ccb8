/**
 * Reading `SHOW CREATE TABLE` output (pure): which secondary keys a copy may build after loading the rows, the
 * `ALTER TABLE` that builds them, and how two definitions differ once what legitimately differs is set aside.
 *
 * The server prints one column, key or constraint per line between the header line and the line that starts with
 * `)` (the table options, then any partitioning, follow it); this reads that layout and nothing looser.
 */

/** A secondary key left out of the created table and added after the load. */
export interface DeferredKey {
  /** The index name, as the server prints it (unquoted). */
  name: string;
  /** Its definition line as `SHOW CREATE TABLE` prints it, without the trailing comma: `KEY \`ab\` (\`a\`,\`b\`)`. */
  definition: string;
}

/** A create statement split into what is created first and the keys added after the load. */
export interface DeferredKeysPlan {
  /** The statement without the deferred keys. */
  create: string;
  deferred: DeferredKey[];
}

const IDENT = '`((?:[^`]|``)+)`';
const unquote = (s: string): string => s.replace(/``/g, '`');

interface Parsed {
  header: string;
  body: string[];
  /** The closing line (`) ENGINE=…`) and anything after it (partitioning). */
  tail: string[];
}

function parse(createStatement: string): Parsed {
  const lines = createStatement.split('\n');
  const close = lines.findIndex((l, i) => i > 0 && /^\)/.test(l));
  if (!/^CREATE TABLE /.test(lines[0] ?? '') || close < 0)
    throw new Error('unexpected SHOW CREATE TABLE output');
  return {
    header: lines[0] as string,
    body: lines.slice(1, close).map((l) => l.trim().replace(/,$/, '')),
    tail: lines.slice(close),
  };
}

function join(parsed: Parsed): string {
  return [parsed.header, parsed.body.map((l) => `  ${l}`).join(',\n'), ...parsed.tail].join('\n');
}

/** The first column of a key line (`KEY \`k\` (\`a\`(10),\`b\`)` → `a`); undefined for an expression part. */
function firstKeyColumn(line: string): string | undefined {
  const m = new RegExp(`^[A-Z ]*KEY (?:${IDENT} )?\\(${IDENT}`).exec(line);
  return m?.[2] === undefined ? undefined : unquote(m[2]);
}

/**
 * Splits off the non-unique secondary keys (`KEY …`), which InnoDB builds far faster by sorting once all rows are in
 * than row by row during the load. Kept in the created table:
 * - the primary key and UNIQUE keys: they define which rows may exist (a duplicate must fail the load, not the ALTER);
 * - FULLTEXT keys: InnoDB adds at most one per `ALTER TABLE` in place, and the first one rebuilds the whole table
 *   (it adds the hidden FTS_DOC_ID column), which costs more than maintaining it during the load;
 * - SPATIAL keys: built in place only with `LOCK=SHARED`, and rare enough not to be worth a second path;
 * - a key whose first column is the AUTO_INCREMENT column when no primary or unique key starts with it: the server
 *   refuses a table whose AUTO_INCREMENT column leads no key.
 * Pure.
 */
export function deferSecondaryKeys(createStatement: string): DeferredKeysPlan {
  const parsed = parse(createStatement);
  const autoIncrement = parsed.body
    .map((l) => new RegExp(`^${IDENT} .*\\bAUTO_INCREMENT\\b`).exec(l)?.[1])
    .find((c) => c !== undefined);
  const autoColumn = autoIncrement === undefined ? undefined : unquote(autoIncrement);
  const ledByAuto = parsed.body.some(
    (l) => /^(PRIMARY|UNIQUE) KEY /.test(l) && autoColumn !== undefined && firstKeyColumn(l) === autoColumn,
  );
  const deferred: DeferredKey[] = [];
  const body: string[] = [];
  let autoKeyKept = ledByAuto;
  for (const line of parsed.body) {
    const m = new RegExp(`^KEY ${IDENT} \\(`).exec(line);
    if (m?.[1] !== undefined) {
      if (!autoKeyKept && autoColumn !== undefined && firstKeyColumn(line) === autoColumn) {
        autoKeyKept = true;
        body.push(line);
        continue;
      }
      deferred.push({ name: unquote(m[1]), definition: line });
    } else body.push(line);
  }
  return { create: deferred.length === 0 ? createStatement : join({ ...parsed, body }), deferred };
}

/**
 * `ALTER TABLE <target> ADD KEY …, ADD KEY …[, ALGORITHM=INPLACE]`: every key in one statement, so InnoDB reads the
 * rows once and sorts each index. `target` is the already quoted table name. Pure.
 */
export function addKeysSql(target: string, keys: readonly DeferredKey[], inPlace: boolean): string {
  if (keys.length === 0) throw new Error('no keys to add');
  const adds = keys.map((k) => `ADD ${k.definition}`).join(', ');
  return `ALTER TABLE ${target} ${adds}${inPlace ? ', ALGORITHM=INPLACE' : ''}`;
}

/** The parts of a definition that are compared, keyed by what they are. */
interface Normalized {
  columns: Map<string, string>;
  columnOrder: string[];
  keys: Map<string, string>;
  constraints: Set<string>;
  options: string;
}

/**
 * Sets aside what legitimately differs between a table and its copy: the name; the AUTO_INCREMENT counter (the copy's
 * is where its own inserts left it); the table comment (the copy carries the job's mark); foreign keys (a copy is tied
 * to no other table); the order of the keys (the server lists keys added after the load by its own rules); integer
 * display widths and the `utf8mb3` spelling of `utf8`, which servers of different versions print differently.
 */
function normalize(createStatement: string): Normalized {
  const parsed = parse(createStatement);
  const canon = (s: string): string =>
    s.replace(/\b(tinyint|smallint|mediumint|int|bigint)\(\d+\)/g, '$1').replace(/\butf8mb3/g, 'utf8');
  const out: Normalized = {
    columns: new Map(),
    columnOrder: [],
    keys: new Map(),
    constraints: new Set(),
    options: '',
  };
  for (const raw of parsed.body) {
    const line = canon(raw);
    const column = new RegExp(`^${IDENT} `).exec(line);
    const key = new RegExp(`^(?:(?:PRIMARY|UNIQUE|FULLTEXT|SPATIAL) )?KEY (?:${IDENT} )?\\(`).exec(line);
    if (/^(CONSTRAINT `(?:[^`]|``)+` )?FOREIGN KEY\b/.test(line)) continue;
    if (column?.[1] !== undefined) {
      const name = unquote(column[1]);
      out.columns.set(name, line);
      out.columnOrder.push(name);
    } else if (key) out.keys.set(key[1] === undefined ? 'PRIMARY' : unquote(key[1]), line);
    else out.constraints.add(line);
  }
  out.options = canon(parsed.tail.join('\n'))
    .replace(/\s+AUTO_INCREMENT=\d+/, '')
    .replace(/\s+COMMENT='(?:[^'\\]|''|\\.)*'/, '');
  return out;
}

/**
 * How the copy's definition differs from the source's, one sentence per difference (empty: the same, modulo what
 * legitimately differs — see {@link normalize}). Pure.
 */
export function definitionDifferences(source: string, copy: string): string[] {
  const a = normalize(source);
  const b = normalize(copy);
  const out: string[] = [];
  // Shown without backticks (the message is read in Slack, where they would open and close code spans).
  const shown = (def: string): string => def.replace(/^`(?:[^`]|``)+` /, '').replace(/`/g, '');
  const compare = (what: string, x: Map<string, string>, y: Map<string, string>): void => {
    for (const [name, def] of x) {
      const other = y.get(name);
      if (other === undefined) out.push(`${what} \`${name}\` is missing from the copy`);
      else if (other !== def)
        out.push(`${what} \`${name}\` is "${shown(other)}" in the copy, "${shown(def)}" in the source`);
    }
    for (const name of y.keys()) if (!x.has(name)) out.push(`the copy has an extra ${what} \`${name}\``);
  };
  compare('column', a.columns, b.columns);
  const shared = a.columnOrder.filter((c) => b.columns.has(c));
  if (out.length === 0 && shared.join(',') !== b.columnOrder.filter((c) => a.columns.has(c)).join(','))
    out.push('the columns are in a different order');
  compare('key', a.keys, b.keys);
  for (const c of a.constraints)
    if (!b.constraints.has(c)) out.push(`"${shown(c)}" is missing from the copy`);
  for (const c of b.constraints) if (!a.constraints.has(c)) out.push(`the copy has an extra "${shown(c)}"`);
  const options = (o: string): string => shown(o.replace(/^\)\s*/, ''));
  if (a.options !== b.options)
    out.push(
      `the table options are "${options(b.options)}" in the copy, "${options(a.options)}" in the source`,
    );
  return out;
}
