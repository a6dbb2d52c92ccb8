/**
 * Which statements burn the IO, against a real mariadbd with performance_schema on: a workload of ordinary indexed
 * lookups and inserts plus one frequent query that scans `orders` for want of an index on `customer_email`. The
 * report must name that statement, its table and the missing index first; the slow query log of the same workload,
 * read by pt-query-digest (Debian's percona-toolkit, installed by scripts/bootstrap.mjs and .ci/run), must agree.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { investigateIoCredits } from '../../src/domain/io-credits.js';
import {
  explainableSelect,
  type IoStatementsReport,
  tableReferences,
  whereColumns,
} from '../../src/domain/statements.js';
import { type MysqlConnection, openConnection, readIoStatements } from '../../src/mysql/index.js';
import { ioCreditsReportText } from '../../src/slack/blocks/io-credits.js';
import { freePort, type MariaDbService, startMariaDb } from '../helpers/services.js';

const DB = 'capstan_io_test';
const ORDERS = 30_000;
const CUSTOMERS = 2_000;
const PRODUCTS = 500;
const SCANS = 200;
const SCAN_SQL = 'SELECT id, total, created_at FROM orders WHERE customer_email = ?';

let svc: MariaDbService;
let admin: MysqlConnection;
let slowDir: string;

const opts = (database?: string) => ({
  host: '127.0.0.1',
  port: svc.port,
  user: svc.user,
  password: svc.password,
  ...(database ? { database } : {}),
});

/** Words of a statement, lower-cased, without quotes, literals or punctuation: comparable across normalisers. */
function words(text: string): string[] {
  return text
    .toLowerCase()
    .replace(/`/g, '')
    .replace(/'(?:[^'\\]|\\.)*'/g, '?')
    .match(/[a-z_][a-z0-9_$]*/g) as string[];
}

/**
 * The workload: per round, indexed point lookups on customers/products/orders, an insert into events, and one
 * `orders` lookup by the unindexed customer_email (a full scan each time). A few UPDATEs through the same unindexed
 * column give the report a non-SELECT among the worst statements (never to be EXPLAINed or run by it).
 */
async function runWorkload(): Promise<void> {
  // New connections: long_query_time is read into each session when it connects.
  const conns = await Promise.all([openConnection(opts(DB)), openConnection(opts(DB))]);
  const ids = await Promise.all(
    conns.map(async (c) => (await c.query<RowDataPacket[]>('SELECT CONNECTION_ID() AS id'))[0][0]?.id),
  );
  try {
    // The two sessions take turns rather than run at once: performance_schema may drop a count when two threads
    // create the same new digest row at the same moment, and the assertions below count exactly.
    for (const [lane, c] of conns.entries()) {
      for (let round = lane; round < SCANS; round += conns.length) {
        for (let k = 0; k < 3; k++) {
          const id = ((round * 7 + k * 131) % CUSTOMERS) + 1;
          await c.query('SELECT id, name FROM customers WHERE id = ?', [id]);
          await c.query('SELECT id FROM customers WHERE email = ?', [`c${id}@example.com`]);
          await c.query('SELECT sku, price FROM products WHERE id = ?', [((round + k) % PRODUCTS) + 1]);
        }
        await c.query('SELECT id, total FROM orders WHERE id = ?', [((round * 97) % ORDERS) + 1]);
        await c.query('SELECT COUNT(*) FROM orders WHERE customer_id = ?', [(round % CUSTOMERS) + 1]);
        await c.query('INSERT INTO events (customer_id, kind) VALUES (?, ?)', [
          (round % CUSTOMERS) + 1,
          'view',
        ]);
        await c.query(SCAN_SQL, [`c${(round * 13) % CUSTOMERS}@example.com`]);
        if (round % 50 === 49) {
          await c.query('UPDATE orders SET total = total WHERE customer_email = ?', [
            `c${round}@example.com`,
          ]);
        }
      }
    }
  } finally {
    await Promise.all(conns.map((c) => c.end()));
  }
  await threadsGone(ids);
}

/**
 * The server writes a statement's slow-log entry and performance_schema counts after the client has its result:
 * wait until the workload's threads are gone, so every statement is counted before anyone reads or logs stop.
 */
async function threadsGone(ids: unknown[]): Promise<void> {
  for (let waited = 0; ; waited += 20) {
    const [rows] = await admin.query<RowDataPacket[]>(
      'SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE ID IN (?)',
      [ids],
    );
    if (Number(rows[0]?.n) === 0) break;
    if (waited > 10_000) throw new Error(`workload connections ${ids.join(', ')} still open after 10 s`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Starts performance_schema's counts from zero and turns on the consumers that keep statement samples. */
async function resetPerformanceSchema(): Promise<void> {
  await admin.query(
    "UPDATE performance_schema.setup_consumers SET ENABLED = 'YES' WHERE NAME IN ('events_statements_current', 'events_statements_history_long')",
  );
  await admin.query('TRUNCATE performance_schema.events_statements_summary_by_digest');
  await admin.query('TRUNCATE performance_schema.events_statements_history_long');
  await admin.query('TRUNCATE performance_schema.table_io_waits_summary_by_table');
}

/** Runs pt-query-digest and resolves with its stdout. */
function ptQueryDigest(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      'pt-query-digest',
      args,
      { maxBuffer: 64 * 1024 * 1024, timeout: 120_000 },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`pt-query-digest ${args.join(' ')} failed: ${error.message}\n${stderr}`));
        else resolve(stdout);
      },
    );
  });
}

function onPath(program: string): Promise<boolean> {
  return new Promise((resolve) => {
    execFile('sh', ['-c', `command -v ${program}`], (error) => resolve(!error));
  });
}

beforeAll(async () => {
  svc = await startMariaDb({ port: await freePort(), name: 'io-statements' });
  admin = await openConnection(opts());
  await admin.query(`DROP DATABASE IF EXISTS ${DB}`);
  await admin.query(`CREATE DATABASE ${DB}`);
  await admin.query(`CREATE TABLE ${DB}.customers (
    id INT NOT NULL PRIMARY KEY, email VARCHAR(100) NOT NULL, name VARCHAR(100) NOT NULL, UNIQUE KEY (email))`);
  await admin.query(`CREATE TABLE ${DB}.products (
    id INT NOT NULL PRIMARY KEY, sku VARCHAR(40) NOT NULL, price DECIMAL(10,2) NOT NULL, UNIQUE KEY (sku))`);
  await admin.query(`CREATE TABLE ${DB}.events (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY, customer_id INT NOT NULL, kind VARCHAR(20) NOT NULL,
    KEY (customer_id))`);
  // customer_email has no index: the query by it scans the table.
  await admin.query(`CREATE TABLE ${DB}.orders (
    id INT NOT NULL PRIMARY KEY, customer_id INT NOT NULL, customer_email VARCHAR(100) NOT NULL,
    total DECIMAL(10,2) NOT NULL, created_at DATETIME NOT NULL, note VARCHAR(200) NOT NULL, KEY (customer_id))`);
  const batch = async (table: string, columns: string, count: number, row: (i: number) => unknown[]) => {
    for (let start = 1; start <= count; start += 2000) {
      const rows: unknown[][] = [];
      for (let i = start; i < start + 2000 && i <= count; i++) rows.push(row(i));
      await admin.query(`INSERT INTO ${DB}.${table} (${columns}) VALUES ?`, [rows]);
    }
  };
  await batch('customers', 'id, email, name', CUSTOMERS, (i) => [i, `c${i}@example.com`, `Customer ${i}`]);
  await batch('products', 'id, sku, price', PRODUCTS, (i) => [i, `SKU-${i}`, (i % 90) + 0.99]);
  await batch('orders', 'id, customer_id, customer_email, total, created_at, note', ORDERS, (i) => {
    const c = (i % CUSTOMERS) + 1;
    return [i, c, `c${c}@example.com`, (i % 500) + 0.5, '2026-01-01 00:00:00', 'x'.repeat(100)];
  });
  await admin.query(`ANALYZE TABLE ${DB}.customers, ${DB}.products, ${DB}.events, ${DB}.orders`);
  slowDir = mkdtempSync(join(tmpdir(), 'capstan-slowlog-'));
}, 120_000);

afterAll(async () => {
  try {
    await admin?.query('SET GLOBAL slow_query_log = 0');
  } catch {
    // the server may already be gone
  }
  await admin?.end();
  await svc?.stop({ purge: true });
  if (slowDir) rmSync(slowDir, { recursive: true, force: true });
});

describe('readIoStatements against mariadbd with performance_schema on', () => {
  let report: IoStatementsReport;

  beforeAll(async () => {
    await resetPerformanceSchema();
    await runWorkload();
    const reader = await openConnection(opts());
    try {
      report = await readIoStatements(reader, { limit: 5 });
    } finally {
      await reader.end();
    }
  }, 120_000);

  it('names the unindexed orders query first by rows examined, with its share', () => {
    expect(report.performanceSchema).toBe('on');
    expect(report.consumers.statementsDigest).toBe(true);
    const top = report.topByRowsExamined[0];
    expect(top, JSON.stringify(report.topByRowsExamined, null, 2)).toBeDefined();
    if (!top) return;
    expect(top.digestText).toContain('customer_email');
    expect(top.digestText).toMatch(/orders/);
    expect(top.digestText.toUpperCase()).toMatch(/^SELECT/);
    expect(top.schema).toBe(DB);
    expect(top.count).toBe(SCANS);
    expect(top.noIndexUsed).toBeGreaterThan(0);
    expect(top.fullScans).toBeGreaterThan(0);
    expect(top.rowsExaminedPerCall).toBeGreaterThanOrEqual(ORDERS);
    expect(top.rowsSentPerCall).toBeGreaterThan(0);
    expect(top.sharePct).toBeGreaterThan(80);
    expect(top.totalLatencyMs).toBeGreaterThan(0);
    expect(report.totalRowsExamined).toBeGreaterThanOrEqual(top.rowsExamined);
    // The indexed lookups examine a row or so each.
    const lookups = report.topByRowsExamined.filter((s) => /customers|products/.test(s.digestText));
    for (const s of lookups) expect(s.rowsExaminedPerCall).toBeLessThanOrEqual(2);
  });

  it('lists it first among the full scans too, and keeps monitoring reads out', () => {
    const first = report.topByFullScans[0];
    expect(first?.digestText).toContain('customer_email');
    expect(first?.noIndexUsed).toBe(SCANS);
    for (const s of [...report.topByRowsExamined, ...report.topByFullScans]) {
      expect(s.digestText).not.toMatch(/performance_schema|information_schema/);
    }
  });

  it('puts orders first among the tables with the most I/O', () => {
    const [first] = report.tables;
    expect(first).toMatchObject({ schema: DB, table: 'orders' });
    expect(first?.fetches).toBeGreaterThanOrEqual(SCANS * ORDERS);
    expect(first?.sharePct).toBeGreaterThan(80);
    expect(report.tables.some((t) => t.table === 'events' && t.inserts > 0)).toBe(true);
    expect(report.tables.every((t) => !['mysql', 'performance_schema', 'sys'].includes(t.schema))).toBe(true);
  });

  it('EXPLAINs the sample from events_statements_history_long: type ALL on orders, no key', () => {
    const explain = report.explains.find((e) => e.digest === report.topByRowsExamined[0]?.digest);
    expect(explain, JSON.stringify(report.explains, null, 2)).toBeDefined();
    expect(explain?.status).toBe('explained');
    expect(explain?.sampleSource).toBe('events_statements_history_long');
    expect(explain?.sample).toMatch(/customer_email = 'c\d+@example\.com'/);
    expect(explain?.fullScanTables).toEqual(['orders']);
    const row = explain?.rows.find((r) => r.table === 'orders');
    expect(row).toMatchObject({ type: 'ALL', fullScan: true, key: null, possibleKeys: [] });
    expect(row?.rows).toBeGreaterThan(ORDERS / 2);
  });

  it('never EXPLAINs or runs a sample that is not a SELECT', async () => {
    const update = report.explains.find((e) => e.digestText.toUpperCase().startsWith('UPDATE'));
    // Second by rows examined, so among the three worst: its sample is there, and refused.
    expect(update, JSON.stringify(report.explains, null, 2)).toBeDefined();
    expect(update?.sample).toMatch(/^UPDATE orders SET total = total WHERE customer_email = /);
    expect(update?.status).toBe('skipped');
    expect(update?.reason).toMatch(/only SELECT/);
    expect(update?.rows).toEqual([]);
    // The report ran nothing of the workload's: the UPDATE's execution count is still the workload's own.
    const [rows] = await admin.query<RowDataPacket[]>(
      `SELECT COUNT_STAR AS n FROM performance_schema.events_statements_summary_by_digest
        WHERE SCHEMA_NAME = ? AND DIGEST_TEXT LIKE 'UPDATE%customer_email%'`,
      [DB],
    );
    expect(Number(rows[0]?.n)).toBe(SCANS / 50);
  });

  it('names the cause: the statement, the table orders, and an index on customer_email as a hypothesis', () => {
    const { cause } = report;
    expect(cause, JSON.stringify(report, null, 2)).not.toBeNull();
    if (!cause) return;
    expect(cause.statement.digestText).toContain('customer_email');
    expect(cause.scans).toBe(true);
    expect(cause.dominant).toBe(true);
    expect(cause.schema).toBe(DB);
    expect(cause.table).toBe('orders');
    expect(cause.tableFrom).toBe('explain');
    expect(cause.whereColumns).toEqual(['customer_email']);
    expect(cause.unindexedColumns).toEqual(['customer_email']);
    expect(cause.hypothesis).toMatch(/^Hypothesis: /);
    expect(cause.hypothesis).toContain('orders(customer_email)');
    expect(cause.summary).toMatch(/ran 200 times/);
    expect(cause.summary).toContain('full scan (type ALL) of orders');
  });

  it('without samples (history consumers off) still names the table and index from the digest text', async () => {
    await admin.query(
      "UPDATE performance_schema.setup_consumers SET ENABLED = 'NO' WHERE NAME IN ('events_statements_current', 'events_statements_history', 'events_statements_history_long')",
    );
    await admin.query('TRUNCATE performance_schema.events_statements_history_long');
    const reader = await openConnection(opts());
    let bare: IoStatementsReport;
    try {
      bare = await readIoStatements(reader, { limit: 5 });
    } finally {
      await reader.end();
    }
    expect(bare.consumers).toMatchObject({ statementsCurrent: false, statementsHistoryLong: false });
    expect(bare.notes.join('\n')).toMatch(/events_statements_history_long/);
    expect(bare.explains.length).toBeGreaterThan(0);
    for (const e of bare.explains) {
      expect(e.status).toBe('skipped');
      expect(e.reason).toMatch(/consumers .* are off/);
    }
    expect(bare.topByRowsExamined[0]?.digestText).toContain('customer_email');
    expect(bare.cause).toMatchObject({
      table: 'orders',
      tableFrom: 'statement-text',
      unindexedColumns: ['customer_email'],
    });
    expect(bare.cause?.hypothesis).toContain('orders(customer_email)');
  });
});

describe('the slow query log of the same workload through pt-query-digest', () => {
  it('agrees with performance_schema on the top statement by rows examined', async () => {
    if (!(await onPath('pt-query-digest'))) {
      throw new Error(
        'pt-query-digest is not on PATH: install percona-toolkit (apt-get install percona-toolkit; ' +
          'scripts/bootstrap.mjs does it when run as root, .ci/run always)',
      );
    }
    const logFile = join(slowDir, 'slow.log');
    await resetPerformanceSchema();
    // Before the workload's connections open: each session copies long_query_time when it connects.
    await admin.query('SET GLOBAL slow_query_log = 0');
    await admin.query("SET GLOBAL log_output = 'FILE', slow_query_log_file = ?, long_query_time = 0", [
      logFile,
    ]);
    await admin.query('SET GLOBAL slow_query_log = 1');
    try {
      await runWorkload();
    } finally {
      await admin.query('SET GLOBAL slow_query_log = 0');
    }
    const reader = await openConnection(opts());
    let report: IoStatementsReport;
    try {
      report = await readIoStatements(reader, { limit: 5, explainLimit: 0 });
    } finally {
      await reader.end();
    }
    expect(readFileSync(logFile, 'utf8')).toMatch(/Rows_examined: \d+/);

    const out = await ptQueryDigest([
      '--limit',
      '5',
      '--order-by',
      'Rows_examined:sum',
      '--output',
      'json',
      '--no-version-check',
      logFile,
    ]);
    const digest = JSON.parse(out.slice(out.indexOf('{'))) as {
      classes: Array<{
        fingerprint: string;
        query_count: number;
        metrics: { Rows_examined?: { sum?: string | number } };
      }>;
    };
    const ptTop = digest.classes[0];
    const psTop = report.topByRowsExamined[0];
    expect(ptTop, out.slice(0, 2000)).toBeDefined();
    expect(psTop).toBeDefined();
    if (!ptTop || !psTop) return;
    expect(ptTop.fingerprint).toMatch(/orders/);
    expect(ptTop.fingerprint).toMatch(/customer_email/);
    expect(psTop.digestText).toMatch(/orders/);
    expect(psTop.digestText).toMatch(/customer_email/);
    // The same statement in both normal forms: the same words, in the same order.
    expect(words(ptTop.fingerprint)).toEqual(words(psTop.digestText));
    expect(words(psTop.digestText)).toEqual(words(SCAN_SQL));
    expect(ptTop.query_count).toBe(SCANS);
    expect(psTop.count).toBe(SCANS);
    // Both count the server's rows examined.
    expect(Number(ptTop.metrics.Rows_examined?.sum)).toBe(psTop.rowsExamined);
  }, 120_000);
});

describe('readIoStatements with performance_schema off', () => {
  it('says so, says how to turn it on, and returns empty lists without throwing', async () => {
    const queries: string[] = [];
    const fake = {
      query: async (sql: string) => {
        queries.push(sql);
        return [[{ Variable_name: 'performance_schema', Value: 'OFF' }], []];
      },
    } as unknown as MysqlConnection;
    const report = await readIoStatements(fake);
    expect(report.performanceSchema).toBe('off');
    expect(report.howToEnable).toMatch(/performance_schema = 1 in the DB parameter group/);
    expect(report.howToEnable).toMatch(/reboot/);
    expect(report.howToEnable).toMatch(/my\.cnf/);
    expect(report.howToEnable).toMatch(/events_statements_history_long/);
    expect(report).toMatchObject({
      topByRowsExamined: [],
      topByFullScans: [],
      tables: [],
      explains: [],
      cause: null,
    });
    expect(queries).toHaveLength(1);
  });
});

describe('reading sample SQL (pure)', () => {
  it('EXPLAINs only one complete SELECT', () => {
    expect(explainableSelect("SELECT id FROM orders WHERE customer_email = 'a@b'")).toEqual({
      ok: true,
      sql: "SELECT id FROM orders WHERE customer_email = 'a@b'",
    });
    expect(explainableSelect('  select 1;  ')).toEqual({ ok: true, sql: 'select 1' });
    const no = (sql: string, reason: RegExp) => {
      const v = explainableSelect(sql);
      expect(v.ok, sql).toBe(false);
      if (!v.ok) expect(v.reason).toMatch(reason);
    };
    no(`SELECT id FROM orders WHERE note = '${'x'.repeat(1010)}...`, /truncated/);
    no(`SELECT id FROM orders WHERE note IN (${"'abcdef', ".repeat(120)}'z')`, /truncated/);
    no('UPDATE orders SET total = 0', /only SELECT/);
    no('DELETE FROM orders', /only SELECT/);
    no('WITH x AS (SELECT 1) SELECT * FROM x', /only SELECT/);
    no('SELECT 1; DROP TABLE orders', /more than one statement/);
    no('SELECT 1 /*!50000 ; DROP TABLE orders */', /executable comment/);
    no('SELECT id FROM orders WHERE id = ?', /placeholders/);
    no("SELECT * FROM orders INTO OUTFILE '/tmp/x'", /INTO/);
    no('SELECT * FROM orders WHERE id = 1 FOR UPDATE', /locks/);
    no('SELECT * FROM orders WHERE id = 1 LOCK IN SHARE MODE', /locks/);
    no("SELECT 'unterminated", /quote/);
    // Quoted text is data: a `;` or `?` inside a literal is fine.
    expect(explainableSelect("SELECT id FROM orders WHERE note = 'a;b?c'").ok).toBe(true);
  });

  it('finds tables (with aliases) and WHERE columns in samples and digest texts', () => {
    expect(
      tableReferences('SELECT o.id FROM shop.orders AS o JOIN customers c ON c.id = o.customer_id'),
    ).toEqual([
      { schema: 'shop', table: 'orders', alias: 'o' },
      { schema: null, table: 'customers', alias: 'c' },
    ]);
    expect(tableReferences('SELECT ID FROM `orders` WHERE `customer_email` = ?')).toEqual([
      { schema: null, table: 'orders', alias: null },
    ]);
    expect(
      whereColumns('SELECT ID FROM `orders` WHERE `customer_email` = ? AND `total` > ? ORDER BY `id`'),
    ).toEqual([
      { qualifier: null, column: 'customer_email', equality: true },
      { qualifier: null, column: 'total', equality: false },
    ]);
    expect(
      whereColumns(
        "SELECT 1 FROM orders o WHERE o.status IN ('a') AND note IS NOT NULL AND (x LIKE 'b%') LIMIT 1",
      ),
    ).toEqual([
      { qualifier: 'o', column: 'status', equality: true },
      { qualifier: null, column: 'note', equality: false },
      { qualifier: null, column: 'x', equality: false },
    ]);
  });
});

describe('a latest-reading lookup sorted by time, beside one-off statements (issue 16 #3, #4)', () => {
  it('suggests (device_key, channel_uuid, recorded_at), and lists only recurring statements next, in words', async () => {
    await admin.query(`CREATE TABLE ${DB}.readings (
      id INT NOT NULL PRIMARY KEY, device_key VARCHAR(40) NOT NULL, channel_uuid CHAR(36) NOT NULL,
      recorded_at DATETIME NOT NULL, value DOUBLE NOT NULL)`);
    await admin.query(`INSERT INTO ${DB}.readings SELECT seq, CONCAT('dev-', seq MOD 50), CONCAT('ch-', seq MOD 7),
      '2026-11-01' + INTERVAL seq MINUTE, seq / 3 FROM ${DB}.seq_1_to_5000`);
    await resetPerformanceSchema();
    const c = await openConnection(opts(DB));
    const [[who]] = await c.query<RowDataPacket[]>('SELECT CONNECTION_ID() AS id');
    try {
      for (let i = 0; i < 40; i++) {
        await c.query(
          'SELECT recorded_at, value FROM readings WHERE device_key = ? AND channel_uuid = ? ORDER BY recorded_at DESC LIMIT 1',
          [`dev-${i % 50}`, `ch-${i % 7}`],
        );
      }
      for (let i = 0; i < 5; i++)
        await c.query('SELECT MAX(value) FROM readings WHERE channel_uuid = ?', [`ch-${i}`]);
      // One-offs that examine every row: a schema change with a copy, a bulk load, an ad-hoc count.
      await c.query('CREATE TABLE readings_copy AS SELECT * FROM readings');
      await c.query('INSERT INTO readings_copy SELECT * FROM readings');
      await c.query('SELECT COUNT(*) FROM readings WHERE value > ?', [10]);
    } finally {
      await c.end();
    }
    await threadsGone([who?.id]);
    const reader = await openConnection(opts());
    let db: IoStatementsReport;
    try {
      db = await readIoStatements(reader, { limit: 10 });
    } finally {
      await reader.end();
    }
    expect(db.cause?.table, JSON.stringify(db.topByRowsExamined, null, 2)).toBe('readings');
    expect(db.cause?.statement.count).toBe(40);
    expect(db.cause?.hypothesis).toContain('an index on readings(device_key, channel_uuid, recorded_at)');
    // The one-offs are there in the digests, each run once…
    const once = db.topByRowsExamined.filter((s) => /readings_copy|COUNT/i.test(s.digestText));
    expect(once.map((s) => s.count)).toEqual([1, 1, 1]);
    // …never EXPLAINed (the three EXPLAIN slots go to the workload)…
    for (const e of db.explains) expect(e.digestText).not.toMatch(/readings_copy|COUNT/i);
    expect(db.explains.some((e) => /MAX/i.test(e.digestText))).toBe(true);
    // …and left out of the list the report shows.
    const report = investigateIoCredits({
      instance: {
        id: 'telemetry-db',
        engine: 'mariadb',
        instanceClass: 'db.m5.large',
        storageType: 'gp2',
        allocatedGiB: 200,
      },
      series: {},
      now: Date.now(),
    });
    const text = ioCreditsReportText(report, db, [], 24);
    const next = text.slice(text.indexOf('Next by rows examined:'), text.indexOf('Busiest tables'));
    expect(next, text).toMatch(/`SELECT MAX \( value \) FROM readings WHERE channel_uuid = \?` — 5 runs/i);
    expect(next).not.toMatch(/readings_copy|COUNT|CREATE|INSERT/);
    expect(text).not.toMatch(/\b1 runs\b/);
  }, 60_000);
});
