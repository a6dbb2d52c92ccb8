/**
 * The MySQL data layer against two real mariadbd servers: copy (parallel ranges, composite key, no key), resume
 * after an interruption, checksums, diff, identifier injection and secret-free errors.
 */
import type { RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyCopy } from '../../jobs/rds-restore.js';
import { UserError } from '../../src/errors.js';
import {
  type CopyCheckpoint,
  CopyInterruptedError,
  type CopyProgress,
  compareDefinitions,
  compareTables,
  copyTable,
  diffTables,
  exactRowCount,
  type MysqlConnection,
  openConnection,
  quoteIdent,
  showCreateTable,
  tableChecksum,
} from '../../src/mysql/index.js';
import { freePort, type MariaDbService, startMariaDb } from '../helpers/services.js';

const DB = 'capstan_mysql_test';
const ROWS = 1200;

let srcSvc: MariaDbService;
let dstSvc: MariaDbService;
let src: MysqlConnection;
let dst: MysqlConnection;
const opts = (svc: MariaDbService) => ({
  host: '127.0.0.1',
  port: svc.port,
  user: svc.user,
  password: svc.password,
});

const COLUMNS = `
  n INT NULL,
  name VARCHAR(100) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci NULL,
  body TEXT CHARACTER SET utf8mb4 NULL,
  bin BINARY(4) NULL,
  vb VARBINARY(32) NULL,
  bl BLOB NULL,
  doc JSON NULL,
  at DATETIME(6) NULL,
  amount DECIMAL(30,10) NULL,
  big BIGINT UNSIGNED NULL,
  gen INT AS (n * 2) VIRTUAL,
  gens VARCHAR(120) CHARACTER SET utf8mb4 AS (CONCAT(name, '!')) PERSISTENT`;

/** Deterministic row values (every 7th row mostly NULL). */
function values(i: number): unknown[] {
  if (i % 7 === 0) return [null, null, null, null, null, null, null, null, null, null];
  const bytes = Buffer.from([i & 0xff, 0, (i >> 8) & 0xff, 0x5c]);
  return [
    i - 600,
    `name ${i} 🚀 ünïcødé '"\\ %_`,
    `text ${'x'.repeat(i % 50)} 👩‍👩‍👧 ${i}\n\ttab`,
    bytes,
    Buffer.concat([bytes, Buffer.from([0x27, 0x22, 0x00, 0xff])]),
    Buffer.alloc(i % 300, i & 0xff),
    JSON.stringify({ i, s: `é${i}`, a: [1, 2.5, null], nested: { ok: i % 2 === 0 } }),
    `2024-0${(i % 9) + 1}-1${i % 10} 12:34:56.${String(i * 37)
      .padStart(6, '0')
      .slice(-6)}`,
    `${i % 2 ? '-' : ''}${i % 100}12345678901234567.${String(i).padStart(10, '0')}`,
    (18446744073709551615n - BigInt(i)).toString(),
  ];
}
const DATA_COLS = 'n, name, body, bin, vb, bl, doc, at, amount, big';

async function fill(
  conn: MysqlConnection,
  table: string,
  keyed: 'int' | 'composite' | 'none',
): Promise<void> {
  for (let start = 1; start <= ROWS; start += 200) {
    const rows: unknown[][] = [];
    for (let i = start; i < start + 200 && i <= ROWS; i++) {
      // Scatter integer ids (gaps, negatives) so range splitting is exercised.
      const key = keyed === 'int' ? [i * 13 - 5000] : keyed === 'composite' ? [`k${i % 5}`, i] : [];
      rows.push([...key, ...values(i)]);
      if (keyed === 'none' && i % 100 === 0) rows.push([...values(i)]); // duplicate rows
    }
    const cols =
      keyed === 'int' ? `id, ${DATA_COLS}` : keyed === 'composite' ? `grp, seq, ${DATA_COLS}` : DATA_COLS;
    await conn.query(`INSERT INTO ${DB}.${table} (${cols}) VALUES ?`, [rows]);
  }
}

async function allRows(conn: MysqlConnection, table: string): Promise<unknown[]> {
  const [cols] = await conn.query<RowDataPacket[]>(
    'SELECT COLUMN_NAME AS c FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION',
    [DB, table],
  );
  const list = cols.map((r) => `\`${r.c}\``).join(', ');
  const [rows] = await conn.query({
    sql: `SELECT ${list} FROM ${DB}.${table} ORDER BY ${list}`,
    rowsAsArray: true,
  });
  return rows as unknown[];
}

beforeAll(async () => {
  // One after the other: concurrent first-time initialisations (mariadb-install-db) can collide in /tmp.
  srcSvc = await startMariaDb({ port: await freePort(), name: 'mysqltest-src' });
  dstSvc = await startMariaDb({ port: await freePort(), name: 'mysqltest-dst' });
  src = await openConnection(opts(srcSvc));
  dst = await openConnection(opts(dstSvc));
  for (const c of [src, dst]) {
    await c.query(`DROP DATABASE IF EXISTS ${DB}`);
    await c.query(`CREATE DATABASE ${DB} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
  }
  await src.query(`CREATE TABLE ${DB}.t_int (id BIGINT NOT NULL, ${COLUMNS}, PRIMARY KEY (id), KEY (n))`);
  await src.query(
    `CREATE TABLE ${DB}.t_comp (grp VARCHAR(20) CHARACTER SET utf8mb4 NOT NULL, seq INT NOT NULL, ${COLUMNS}, PRIMARY KEY (grp, seq))`,
  );
  await src.query(`CREATE TABLE ${DB}.t_nokey (${COLUMNS})`);
  await fill(src, 't_int', 'int');
  await fill(src, 't_comp', 'composite');
  await fill(src, 't_nokey', 'none');
}, 120_000);

afterAll(async () => {
  await src?.end();
  await dst?.end();
  await Promise.all([srcSvc?.stop({ purge: true }), dstSvc?.stop({ purge: true })]);
});

describe.each(['load-data', 'insert'] as const)('copyTable (%s)', (method) => {
  const sfx = method === 'insert' ? '_i' : '_l';
  /** Copies t_int between the two servers (connections of the copy's own) into `targetTable`. */
  const copyInt = (targetTable: string, more: Partial<Parameters<typeof copyTable>[0]>) =>
    copyTable({
      method,
      source: opts(srcSvc),
      target: opts(dstSvc),
      schema: DB,
      table: 't_int',
      targetTable,
      ...more,
    });
  it('copies a single-integer-key table in parallel ranges, bit for bit', async () => {
    const progress: number[] = [];
    const result = await copyInt(`t_int_copy${sfx}`, {
      ranges: 4,
      batchRows: 100,
      onProgress: (p) => {
        progress.push(p.rowsCopied);
      },
    });
    expect(result.rowsCopied).toBe(ROWS);
    expect(result.method).toBe(method);
    expect(result.checkpoint.ranges).toHaveLength(4);
    expect(result.checkpoint.done).toBe(true);
    expect(JSON.parse(JSON.stringify(result.checkpoint))).toEqual(result.checkpoint);
    expect(progress.at(-1)).toBe(ROWS);
    expect(await allRows(dst, `t_int_copy${sfx}`)).toEqual(await allRows(src, 't_int'));
    const cmp = await compareTables(
      { conn: src, schema: DB, table: 't_int' },
      { conn: dst, schema: DB, table: `t_int_copy${sfx}` },
    );
    expect(cmp).toEqual({ equal: true, count: [ROWS, ROWS], mismatchedRanges: [] });
    // The definition is the same (generated columns computed by the target).
    const [[a]] = (await src.query({
      sql: `SHOW CREATE TABLE ${DB}.t_int`,
      rowsAsArray: true,
    })) as unknown as [[string[]]];
    const [[b]] = (await dst.query({
      sql: `SHOW CREATE TABLE ${DB}.t_int_copy${sfx}`,
      rowsAsArray: true,
    })) as unknown as [[string[]]];
    expect(b?.[1]?.replace(`t_int_copy${sfx}`, 't_int')).toBe(a?.[1]);
  });

  it('copies a composite-key table and a table without a key', async () => {
    for (const table of ['t_comp', 't_nokey']) {
      const result = await copyTable({
        method,
        source: opts(srcSvc),
        target: opts(dstSvc),
        schema: DB,
        table,
        targetTable: `${table}_copy${sfx}`,
        batchRows: 150,
      });
      expect(result.rowsCopied).toBe(await exactRowCount(src, DB, table));
      expect(await allRows(dst, `${table}_copy${sfx}`)).toEqual(await allRows(src, table));
      const [a, b] = await Promise.all([
        tableChecksum(src, DB, table),
        tableChecksum(dst, DB, `${table}_copy${sfx}`),
      ]);
      expect(b.ranges.map((r) => r.sum)).toEqual(a.ranges.map((r) => r.sum));
      expect(b.count).toBe(a.count);
    }
  });

  it('copies a table without binary columns (latin1 and utf8mb4 text, NULLs) exactly', async () => {
    await src.query(
      `CREATE TABLE IF NOT EXISTS ${DB}.t_text (id INT NOT NULL PRIMARY KEY, l VARCHAR(50) CHARACTER SET latin1 NULL,
         u TEXT CHARACTER SET utf8mb4 NULL, at DATETIME(6) NULL, d DECIMAL(12,3) NULL, e ENUM('a','b c') NULL)`,
    );
    await src.query(`INSERT IGNORE INTO ${DB}.t_text VALUES ?`, [
      Array.from({ length: 300 }, (_, i) =>
        i % 5 === 0
          ? [i, null, null, null, null, null]
          : [
              i,
              `café ñ ${i}\t\\N \\`,
              `🦀 ${i}\n"'\\`,
              '2025-12-31 23:59:59.000001',
              `-${i}.125`,
              i % 2 ? 'a' : 'b c',
            ],
      ),
    ]);
    const result = await copyTable({
      method,
      source: opts(srcSvc),
      target: opts(dstSvc),
      schema: DB,
      table: 't_text',
      targetTable: `t_text${sfx}`,
      batchRows: 64,
    });
    expect(result.method).toBe(method);
    expect(await allRows(dst, `t_text${sfx}`)).toEqual(await allRows(src, 't_text'));
  });

  it('stopped mid-table on connections the caller lent: both stay usable, nothing uncommitted is left', async () => {
    let interrupted: unknown;
    try {
      await copyTable({
        method,
        source: src,
        target: dst,
        schema: DB,
        table: 't_int',
        targetTable: `t_int_lent${sfx}`,
        batchRows: 40,
        commitRows: 1_000,
        maxBatches: 3,
      });
    } catch (error) {
      interrupted = error;
    }
    expect(interrupted).toBeInstanceOf(CopyInterruptedError);
    // The source's streaming query was read to its end (not left paused), so the connection answers again.
    const [[one]] = (await src.query('SELECT 1 AS one')) as unknown as [[{ one: number }]];
    expect(one?.one).toBe(1);
    // The three batches were committed when the copy stopped; no transaction is left open on the target.
    const [[trx]] = (await dst.query('SELECT @@in_transaction AS open')) as unknown as [[{ open: number }]];
    expect(Number(trx?.open)).toBe(0);
    expect(await exactRowCount(dst, DB, `t_int_lent${sfx}`)).toBe(120);
  });

  it(`writes ${method === 'load-data' ? 'one LOAD DATA statement a transaction' : 'one INSERT a batch'}, and commits once a transaction's rows are in`, async () => {
    // The target server's own statement counters (only this file uses that server, one test at a time).
    const counters = async (): Promise<Record<string, number>> => {
      const [rows] = await dst.query<RowDataPacket[]>(
        "SHOW GLOBAL STATUS WHERE Variable_name IN ('Com_load', 'Com_insert', 'Com_commit')",
      );
      return Object.fromEntries(rows.map((r) => [String(r.Variable_name), Number(r.Value)]));
    };
    const before = await counters();
    // 1200 rows in batches of 100; a transaction is committed once 250 rows are written: 3 batches (300 rows).
    const result = await copyInt(`t_int_statements${sfx}`, {
      ranges: 1,
      batchRows: 100,
      commitRows: 250,
      maxBatchBytes: 16 * 2 ** 20,
    });
    const after = await counters();
    const delta = (name: string) => (after[name] ?? Number.NaN) - (before[name] ?? Number.NaN);
    expect(result.rowsCopied).toBe(ROWS);
    expect(delta('Com_commit')).toBe(ROWS / 300);
    expect(delta('Com_load')).toBe(method === 'load-data' ? ROWS / 300 : 0);
    expect(delta('Com_insert')).toBe(method === 'insert' ? ROWS / 100 : 0);
    expect(await allRows(dst, `t_int_statements${sfx}`)).toEqual(await allRows(src, 't_int'));
  });

  it('never overwrites an existing table', async () => {
    await dst.query(`CREATE TABLE ${DB}.occupied${sfx} (id INT PRIMARY KEY)`);
    await expect(
      copyTable({
        method,
        source: src,
        target: dst,
        schema: DB,
        table: 't_int',
        targetTable: `occupied${sfx}`,
      }),
    ).rejects.toThrow(/already exists/);
    expect(await exactRowCount(dst, DB, `occupied${sfx}`)).toBe(0);
  });

  it('marks the table it creates; stopped before recording it, adopts only a table carrying its mark', async () => {
    for (const table of ['t_int', 't_nokey'] as const) {
      const target = `marked_${table}${sfx}`;
      const mark = `capstan:job=j${table}${sfx}`;
      let created = 0;
      // Stopped right after the CREATE, before any checkpoint: the caller kept nothing.
      await expect(
        copyTable({
          method,
          source: src,
          target: dst,
          schema: DB,
          table,
          targetTable: target,
          comment: `${mark} restored`,
          onCreated: async () => {
            created += 1;
            throw new Error('killed right after the create');
          },
        }),
      ).rejects.toThrow(/killed/);
      expect(created).toBe(1);
      const [info] = await dst.query(
        'SELECT TABLE_COMMENT AS c FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?',
        [DB, target],
      );
      expect((info as Array<{ c: string }>)[0]?.c).toBe(`${mark} restored`);
      // Someone else's mark: refused, untouched.
      await expect(
        copyTable({
          method,
          source: src,
          target: dst,
          schema: DB,
          table,
          targetTable: target,
          adoptIf: (c) => c.split(' ').includes('capstan:job=jother'),
        }),
      ).rejects.toThrow(/already exists/);
      // Its own mark: adopted, copied once, exactly.
      const result = await copyTable({
        method,
        source: src,
        target: dst,
        schema: DB,
        table,
        targetTable: target,
        adoptIf: (c) => c.split(' ').includes(mark),
        onCreated: async () => {
          created += 1;
        },
      });
      expect(created).toBe(1);
      expect(result.rowsCopied).toBe(await exactRowCount(src, DB, table));
      const check = await compareTables(
        { conn: src, schema: DB, table },
        { conn: dst, schema: DB, table: target },
      );
      expect(check.equal).toBe(true);
    }
  });

  it('resumes after being killed mid-copy without duplicating rows (even from a stale checkpoint)', async () => {
    const seen: CopyCheckpoint[] = [];
    let interrupted: CopyInterruptedError | undefined;
    try {
      await copyInt(`t_int_resume${sfx}`, {
        ranges: 3,
        batchRows: 50,
        maxBatches: 7,
        onProgress: (p) => {
          seen.push(p.checkpoint);
        },
      });
    } catch (error) {
      interrupted = error as CopyInterruptedError;
    }
    expect(interrupted).toBeInstanceOf(CopyInterruptedError);
    const partial = await exactRowCount(dst, DB, `t_int_resume${sfx}`);
    expect(partial).toBeGreaterThan(0);
    expect(partial).toBeLessThan(ROWS);
    // Resume from an older checkpoint than the last one (as if the last update was lost with the worker).
    const stale = seen[1] as CopyCheckpoint;
    expect(stale.created).toBe(true);
    const result = await copyInt(`t_int_resume${sfx}`, {
      ranges: 3,
      batchRows: 50,
      checkpoint: JSON.parse(JSON.stringify(stale)) as CopyCheckpoint,
    });
    expect(result.checkpoint.done).toBe(true);
    expect(await exactRowCount(dst, DB, `t_int_resume${sfx}`)).toBe(ROWS);
    expect(await allRows(dst, `t_int_resume${sfx}`)).toEqual(await allRows(src, 't_int'));
    const cmp = await compareTables(
      { conn: src, schema: DB, table: 't_int' },
      { conn: dst, schema: DB, table: `t_int_resume${sfx}` },
    );
    expect(cmp.equal).toBe(true);
  });

  it('resumes an aborted copy of a table without a key (starts that table again)', async () => {
    const controller = new AbortController();
    let checkpoint: CopyCheckpoint | undefined;
    await expect(
      copyTable({
        method,
        source: opts(srcSvc),
        target: opts(dstSvc),
        schema: DB,
        table: 't_nokey',
        targetTable: `t_nokey_resume${sfx}`,
        batchRows: 100,
        // Progress comes with each commit: one per batch here, so the abort lands mid-table.
        commitRows: 100,
        signal: controller.signal,
        onProgress: (p) => {
          checkpoint = p.checkpoint;
          if (p.rowsCopied >= 300) controller.abort();
        },
      }),
    ).rejects.toBeInstanceOf(CopyInterruptedError);
    expect(checkpoint?.created).toBe(true);
    const result = await copyTable({
      method,
      source: opts(srcSvc),
      target: opts(dstSvc),
      schema: DB,
      table: 't_nokey',
      targetTable: `t_nokey_resume${sfx}`,
      batchRows: 100,
      checkpoint,
    });
    const total = await exactRowCount(src, DB, 't_nokey');
    expect(result.rowsCopied).toBe(total);
    expect(await allRows(dst, `t_nokey_resume${sfx}`)).toEqual(await allRows(src, 't_nokey'));
  });
});

describe('secondary keys built after the load', () => {
  const WIDE = 't_wide';
  const indexNames = async (table: string): Promise<string[]> => {
    const [rows] = await dst.query<RowDataPacket[]>(
      'SELECT DISTINCT INDEX_NAME AS n FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY n',
      [DB, table],
    );
    return rows.map((r) => String(r.n)).sort();
  };
  const sameDefinition = async (table: string): Promise<void> => {
    const source = await showCreateTable(src, DB, WIDE);
    const copy = await showCreateTable(dst, DB, table);
    // The same statement, but for the name and the copy's AUTO_INCREMENT counter.
    const strip = (d: string) => d.replace(/^CREATE TABLE `[^`]+`/, '').replace(/ AUTO_INCREMENT=\d+/, '');
    expect(strip(copy)).toBe(strip(source));
    expect(
      await compareDefinitions({ conn: src, schema: DB, table: WIDE }, { conn: dst, schema: DB, table }),
    ).toEqual([]);
  };

  const copyWide = (target: string, more: Partial<Parameters<typeof copyTable>[0]> = {}) =>
    copyTable({
      source: opts(srcSvc),
      target: opts(dstSvc),
      schema: DB,
      table: WIDE,
      targetTable: target,
      ...more,
    });
  /** Copies `WIDE` into `target` and stops it (as if killed) once every row is in, before the keys are built. */
  const stopBeforeKeys = async (
    target: string,
    sizes: { ranges?: number; batchRows?: number } = {},
  ): Promise<{ checkpoint: CopyCheckpoint | undefined; plan: string }> => {
    const controller = new AbortController();
    let checkpoint: CopyCheckpoint | undefined;
    let plan = '';
    await expect(
      copyWide(target, {
        ...sizes,
        signal: controller.signal,
        onProgress: (p) => {
          checkpoint = p.checkpoint;
          plan = p.plan.reason;
          if (p.rangesDone === p.rangesTotal) controller.abort();
        },
      }),
    ).rejects.toThrow(/interrupted before building its keys/);
    return { checkpoint, plan };
  };

  beforeAll(async () => {
    await src.query(`CREATE TABLE ${DB}.${WIDE} (
      id BIGINT NOT NULL AUTO_INCREMENT, a INT NOT NULL, b INT NOT NULL, code VARCHAR(20) NOT NULL,
      name VARCHAR(100) NOT NULL, body TEXT NULL,
      PRIMARY KEY (id), KEY ab (a, b), UNIQUE KEY code (code), KEY name (name)
    ) ENGINE=InnoDB COMMENT='orders'`);
    await src.query(
      `INSERT INTO ${DB}.${WIDE} (a, b, code, name, body)
       SELECT seq % 17, seq % 101, CONCAT('c', seq), CONCAT('name ', seq % 300), REPEAT('x', seq % 40)
         FROM ${DB}.seq_1_to_3000`,
    );
    await src.query(`ANALYZE TABLE ${DB}.${WIDE}`);
  });

  it('creates the side table without its non-unique keys, loads it, then builds them in one ALTER: same definition, same rows', async () => {
    const seen: CopyProgress[] = [];
    const result = await copyWide(`${WIDE}_copy`, {
      ranges: 2,
      batchRows: 500,
      onProgress: (p) => {
        seen.push(p);
      },
    });
    expect(result.indexes).toMatchObject({ built: ['ab', 'name'], algorithm: 'inplace' });
    const indexing = seen.filter((p) => p.phase === 'indexing');
    expect(indexing[0]?.indexing?.names).toEqual(['ab', 'name']);
    expect(indexing[0]?.rowsCopied).toBe(3000);
    await sameDefinition(`${WIDE}_copy`);
    expect(await allRows(dst, `${WIDE}_copy`)).toEqual(await allRows(src, WIDE));
  });

  it('stopped between the load and the ALTER: the keys are not there yet, and the resumed copy builds them', async () => {
    const { checkpoint } = await stopBeforeKeys(`${WIDE}_resume`, { ranges: 2, batchRows: 500 });
    expect(checkpoint?.indexes).toEqual({ deferred: ['ab', 'name'], built: false });
    expect(await exactRowCount(dst, DB, `${WIDE}_resume`)).toBe(3000);
    expect(await indexNames(`${WIDE}_resume`)).toEqual(['PRIMARY', 'code'].sort());

    const result = await copyWide(`${WIDE}_resume`, { checkpoint });
    expect(result.indexes.built).toEqual(['ab', 'name']);
    expect(result.checkpoint.indexes).toEqual({ deferred: ['ab', 'name'], built: true });
    await sameDefinition(`${WIDE}_resume`);
    expect(await allRows(dst, `${WIDE}_resume`)).toEqual(await allRows(src, WIDE));
  });

  it('resumed after an ALTER that finished though its checkpoint says otherwise: reads the table, builds nothing twice', async () => {
    const { checkpoint, plan } = await stopBeforeKeys(`${WIDE}_altered`);
    // Cut up as measured: the servers' cores (MariaDB counts them in thread_pool_size), the table's indexes and rows.
    expect(checkpoint).toBeDefined();
    const [[pool]] = (await dst.query('SELECT @@GLOBAL.thread_pool_size AS n')) as unknown as [
      [{ n: number }],
    ];
    expect(plan).toMatch(
      new RegExp(
        `^copying in 1 range of ~\\d+ (KB|MB) transactions \\(${pool?.n} cores, 3 indexes, 2 built after the load, \\d+-byte rows, ~\\d+ (KB|MB) table\\)$`,
      ),
    );
    // The worker died after the server finished the ALTER, before anything recorded it.
    await dst.query(`ALTER TABLE ${DB}.${WIDE}_altered ADD KEY ab (a, b), ADD KEY name (name)`);
    const result = await copyWide(`${WIDE}_altered`, { checkpoint });
    expect(result.indexes).toMatchObject({ built: [], algorithm: null });
    await sameDefinition(`${WIDE}_altered`);
  });

  /** Copies `WIDE` into `target`; `meanwhile` runs once, after the copy read which keys the target lacks. */
  const copyWithAlterMeanwhile = async (target: string, meanwhile: string) => {
    const seen: string[][] = [];
    let ran = false;
    const result = await copyWide(target, {
      onProgress: async (p) => {
        if (p.phase !== 'indexing') return;
        seen.push(p.indexing?.names ?? []);
        if (ran) return;
        ran = true;
        await dst.query(meanwhile.replace('$t', `${DB}.${target}`));
      },
    });
    return { result, seen };
  };

  it('an ALTER elsewhere adds the keys after the copy looked (an earlier attempt, still on the server): built once', async () => {
    const { result, seen } = await copyWithAlterMeanwhile(
      `${WIDE}_raced`,
      'ALTER TABLE $t ADD KEY ab (a, b), ADD KEY name (name)',
    );
    // The copy's own ALTER found them there (MariaDB: ER_DUP_KEYNAME) and read the table again: nothing left.
    expect(seen[0]).toEqual(['ab', 'name']);
    expect(result.indexes).toMatchObject({ built: [], algorithm: null });
    expect(result.checkpoint.indexes).toEqual({ deferred: ['ab', 'name'], built: true });
    await sameDefinition(`${WIDE}_raced`);
    expect(await allRows(dst, `${WIDE}_raced`)).toEqual(await allRows(src, WIDE));
  });

  it('someone adds one of the keys meanwhile: the copy builds the other one', async () => {
    const { result, seen } = await copyWithAlterMeanwhile(`${WIDE}_half`, 'ALTER TABLE $t ADD KEY ab (a, b)');
    expect(seen[0]).toEqual(['ab', 'name']);
    expect(seen).toContainEqual(['name']);
    expect(result.indexes).toMatchObject({ built: ['name'], algorithm: 'inplace' });
    await sameDefinition(`${WIDE}_half`);
  });

  it('builds the keys as the server can where it refuses to build them in place (MyISAM)', async () => {
    await src.query(`CREATE TABLE ${DB}.t_myisam (
      id INT NOT NULL, a INT NOT NULL, name VARCHAR(40) NOT NULL, PRIMARY KEY (id), KEY a (a), KEY name (name)
    ) ENGINE=MyISAM`);
    await src.query(
      `INSERT INTO ${DB}.t_myisam SELECT seq, seq % 13, CONCAT('n', seq % 97) FROM ${DB}.seq_1_to_2000`,
    );
    // What the server answers to the in-place ALTER the copy tries first (documented: MyISAM builds keys by copying).
    await dst.query(`CREATE TABLE ${DB}.t_myisam_probe (id INT NOT NULL, a INT NOT NULL) ENGINE=MyISAM`);
    await expect(
      dst.query(`ALTER TABLE ${DB}.t_myisam_probe ADD KEY a (a), ALGORITHM=INPLACE`),
    ).rejects.toMatchObject({ errno: expect.toSatisfy((n: number) => n === 1845 || n === 1846) });
    const result = await copyTable({
      source: opts(srcSvc),
      target: opts(dstSvc),
      schema: DB,
      table: 't_myisam',
      targetTable: 't_myisam_copy',
    });
    expect(result.rowsCopied).toBe(2000);
    expect(result.indexes).toMatchObject({ built: ['a', 'name'], algorithm: 'copy' });
    expect(
      await compareDefinitions(
        { conn: src, schema: DB, table: 't_myisam' },
        { conn: dst, schema: DB, table: 't_myisam_copy' },
      ),
    ).toEqual([]);
    expect(await allRows(dst, 't_myisam_copy')).toEqual(await allRows(src, 't_myisam'));
  });

  it('a copy whose definition differs is named precisely, even when its rows are the same', async () => {
    await dst.query(`CREATE TABLE ${DB}.${WIDE}_bad LIKE ${DB}.${WIDE}_copy`);
    await dst.query(`INSERT INTO ${DB}.${WIDE}_bad SELECT * FROM ${DB}.${WIDE}_copy`);
    await dst.query(`ALTER TABLE ${DB}.${WIDE}_bad DROP KEY name, MODIFY body VARCHAR(60) NULL`);
    const data = await compareTables(
      { conn: src, schema: DB, table: WIDE },
      { conn: dst, schema: DB, table: `${WIDE}_bad` },
    );
    expect(data.equal).toBe(true);
    expect(
      await compareDefinitions(
        { conn: src, schema: DB, table: WIDE },
        { conn: dst, schema: DB, table: `${WIDE}_bad` },
      ),
    ).toEqual([
      'column `body` is "varchar(60) DEFAULT NULL" in the copy, "text DEFAULT NULL" in the source',
      'key `name` is missing from the copy',
    ]);
    // The restore job's verify step refuses it, saying what differs and that the live table is untouched.
    await expect(
      verifyCopy({ conn: src, schema: DB, table: WIDE }, { conn: dst, schema: DB, table: `${WIDE}_bad` }),
    ).rejects.toThrow(
      new UserError(
        `The copy's definition does not match the table on the restored instance: column \`body\` is "varchar(60) DEFAULT NULL" in the copy, "text DEFAULT NULL" in the source; key \`name\` is missing from the copy. The live table was not touched; \`${DB}.${WIDE}_bad\` holds the unverified copy.`,
      ),
    );
    expect(
      await verifyCopy(
        { conn: src, schema: DB, table: WIDE },
        { conn: dst, schema: DB, table: `${WIDE}_copy` },
      ),
    ).toBe(3000);
  });
});

describe('compareTables and diffTables', () => {
  it('reports a corrupted copy as a mismatch in one range', async () => {
    await copyTable({ source: src, target: dst, schema: DB, table: 't_int', targetTable: 't_int_bad' });
    await dst.query(`UPDATE ${DB}.t_int_bad SET amount = amount + 0.0000000001 WHERE id = ?`, [
      500 * 13 - 5000,
    ]);
    const cmp = await compareTables(
      { conn: src, schema: DB, table: 't_int' },
      { conn: dst, schema: DB, table: 't_int_bad' },
      { ranges: 8 },
    );
    expect(cmp.equal).toBe(false);
    expect(cmp.count).toEqual([ROWS, ROWS]);
    expect(cmp.mismatchedRanges).toHaveLength(1);
    // A NULL turned into an empty string is a difference too.
    await dst.query(`UPDATE ${DB}.t_int_bad SET amount = amount - 0.0000000001 WHERE id = ?`, [
      500 * 13 - 5000,
    ]);
    expect(
      (
        await compareTables(
          { conn: src, schema: DB, table: 't_int' },
          { conn: dst, schema: DB, table: 't_int_bad' },
        )
      ).equal,
    ).toBe(true);
    await dst.query(`UPDATE ${DB}.t_int_bad SET name = '' WHERE id = ?`, [7 * 13 - 5000]);
    expect(
      (
        await compareTables(
          { conn: src, schema: DB, table: 't_int' },
          { conn: dst, schema: DB, table: 't_int_bad' },
        )
      ).equal,
    ).toBe(false);
  });

  it('diffs by key: deleted, inserted and changed rows with sample keys', async () => {
    for (const [table, copy] of [
      ['t_int', 't_int_live'],
      ['t_comp', 't_comp_live'],
    ] as const) {
      await copyTable({ source: src, target: dst, schema: DB, table, targetTable: copy });
    }
    // t_int: ids are i*13-5000. Delete 3, update 2, insert 4 on the "live" side.
    const id = (i: number) => String(i * 13 - 5000);
    await dst.query(`DELETE FROM ${DB}.t_int_live WHERE id IN (?)`, [[id(1), id(600), id(1200)]]);
    await dst.query(`UPDATE ${DB}.t_int_live SET body = 'changed' WHERE id IN (?)`, [[id(2), id(900)]]);
    await dst.query(
      `INSERT INTO ${DB}.t_int_live (id, n) VALUES (-999999, 1), (1, 2), (2, 3), (9999999, NULL)`,
    );
    const d = await diffTables(
      { conn: src, schema: DB, table: 't_int' },
      { conn: dst, schema: DB, table: 't_int_live' },
      { batchRows: 100, samples: 10 },
    );
    expect(d.onlyInRestored).toEqual({ count: 3, samples: [[id(1)], [id(600)], [id(1200)]] });
    expect(d.onlyInLive).toEqual({ count: 4, samples: [['-999999'], ['1'], ['2'], ['9999999']] });
    expect(d.changed).toEqual({ count: 2, samples: [[id(2)], [id(900)]] });
    expect(d.same).toBe(ROWS - 5);

    await dst.query(`DELETE FROM ${DB}.t_comp_live WHERE grp = 'k1' AND seq IN (1, 11)`);
    await dst.query(`UPDATE ${DB}.t_comp_live SET bl = NULL WHERE grp = 'k3' AND seq = 3`);
    await dst.query(`INSERT INTO ${DB}.t_comp_live (grp, seq) VALUES ('a', 1), ('k9', 1)`);
    const c = await diffTables(
      { conn: src, schema: DB, table: 't_comp' },
      { conn: dst, schema: DB, table: 't_comp_live' },
      { batchRows: 7, samples: 2 },
    );
    expect(c.onlyInRestored).toEqual({
      count: 2,
      samples: [
        ['k1', 1],
        ['k1', 11],
      ],
    });
    expect(c.onlyInLive).toEqual({
      count: 2,
      samples: [
        ['a', 1],
        ['k9', 1],
      ],
    });
    expect(c.changed).toEqual({ count: 1, samples: [['k3', 3]] });
  });
});

describe("the copy's plan", () => {
  it("measures the rows' width itself where the statistics are stale (a table just filled, as a restored instance's)", async () => {
    // InnoDB counts TABLE_ROWS on every insert but updates DATA_LENGTH (so AVG_ROW_LENGTH) only when it recalculates
    // the statistics: analysed at 20k rows, then filled to 120k, with no recalculation in between.
    await src.query(
      `CREATE TABLE ${DB}.t_stale (id INT PRIMARY KEY, account VARCHAR(40) NOT NULL, memo VARCHAR(200) CHARACTER SET utf8mb4) STATS_AUTO_RECALC = 0`,
    );
    const fillRows = (from: number, to: number) =>
      src.query(
        `INSERT INTO ${DB}.t_stale SELECT seq, CONCAT('acct-', seq MOD 977), CONCAT('entry ', seq, ' ', REPEAT('✓', seq MOD 50)) FROM ${DB}.seq_${from}_to_${to}`,
      );
    await fillRows(1, 20_000);
    await src.query(`ANALYZE TABLE ${DB}.t_stale`);
    await fillRows(20_001, 120_000);
    const [stats] = await src.query<RowDataPacket[]>(
      `SELECT TABLE_ROWS AS n, AVG_ROW_LENGTH AS avg FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 't_stale'`,
      [DB],
    );
    const [actual] = await src.query<RowDataPacket[]>(
      `SELECT AVG(LENGTH(id) + LENGTH(account) + LENGTH(memo)) AS w FROM ${DB}.t_stale`,
    );
    const width = Number(actual[0]?.w);
    // The premise: the statistics say rows are far narrower than they are.
    expect(Number(stats[0]?.avg)).toBeLessThan(width / 2);
    expect(Number(stats[0]?.n)).toBeGreaterThan(100_000);

    const result = await copyTable({
      source: opts(srcSvc),
      target: opts(dstSvc),
      schema: DB,
      table: 't_stale',
      targetTable: 't_stale_copy',
    });
    const said = Number(/ (\d+)-byte rows/.exec(result.plan.reason)?.[1]);
    expect(said, result.plan.reason).toBeGreaterThan(width * 0.75);
    expect(said, result.plan.reason).toBeLessThan(width * 1.25);
    // The memory bound holds for the rows as they are: batches of at most ~256 KB, transactions of at most ~8 MB.
    expect(result.plan.batchRows * width).toBeLessThanOrEqual(result.plan.batchBytes * 1.25);
    expect(result.plan.commitRows * width).toBeLessThanOrEqual(8 * 1024 * 1024 * 1.25);
    expect(await exactRowCount(dst, DB, 't_stale_copy')).toBe(120_000);
    expect(await tableChecksum(dst, DB, 't_stale_copy')).toEqual(await tableChecksum(src, DB, 't_stale'));
  }, 60_000);
});

describe('safety', () => {
  const evil = 'x`; DROP TABLE y; --';

  it('refuses identifier injection before any query', async () => {
    const calls: string[] = [];
    const spy = {
      query: async (sql: unknown) => {
        calls.push(String(sql));
        throw new Error('no query expected');
      },
    } as unknown as MysqlConnection;
    expect(() => quoteIdent(evil)).toThrow(UserError);
    await expect(
      copyTable({ source: spy, target: spy, schema: DB, table: evil, targetTable: 'ok' }),
    ).rejects.toThrow(UserError);
    await expect(
      copyTable({ source: spy, target: spy, schema: DB, table: 't_int', targetTable: evil }),
    ).rejects.toThrow(UserError);
    await expect(tableChecksum(spy, evil, 't')).rejects.toThrow(UserError);
    await expect(
      diffTables({ conn: spy, schema: DB, table: 't' }, { conn: spy, schema: DB, table: evil }),
    ).rejects.toThrow(UserError);
    await expect(tableChecksum(spy, DB, 't', { pk: [evil] })).rejects.toThrow(UserError);
    await expect(
      compareTables(
        { conn: spy, schema: DB, table: 't' },
        { conn: spy, schema: DB, table: 'u' },
        { columns: [evil] },
      ),
    ).rejects.toThrow(UserError);
    expect(calls).toEqual([]);
    // And the real servers still have everything.
    expect(await exactRowCount(src, DB, 't_int')).toBe(ROWS);
  });

  it('never puts the password in an error message', async () => {
    const password = 'S3cret-Passw0rd!xyz';
    const error = await openConnection({ ...opts(srcSvc), user: 'nobody_here', password }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(Error);
    expect(String((error as Error).message)).not.toContain(password);
    expect(JSON.stringify(error)).not.toContain(password);
    expect(String((error as Error).stack)).not.toContain(password);
  });
});
