/**
 * `npm run bench -- restore [--rows 1000000,100000] [--ranges 4] [--batch 500]`
 *
 * Copies a generated table (id BIGINT PK, three INTs, a VARCHAR(100), a ~128-byte TEXT, a DATETIME(6), a DECIMAL;
 * about 200 bytes a row) between two local mariadbd servers, once with Capstan's `copyTable` and once with
 * `mariadb-dump --single-transaction --no-create-info … | mariadb …`, for each size in `--rows`. The source table is
 * generated with `INSERT … SELECT` from MariaDB's sequence engine (`seq_1_to_N`).
 *
 * Capstan's copy runs in a child process (`node --import tsx bench/restore.ts --child …`) that reports its own peak
 * RSS (`process.resourceUsage().maxRSS`), so the figure is the copy's alone. Prints rows/s for both, the ratio
 * against the 1.5× target, and the peak RSS against the 200 MB target. Exits 0 whether targets are met or not.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { openConnection } from '../src/mysql/connection.js';
import { copyTable, DEFAULT_BATCH_ROWS } from '../src/mysql/copy.js';
import { exactRowCount } from '../src/mysql/table.js';
import { freePort, type MariaDbService, startMariaDb } from '../test/helpers/services.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const SELF = fileURLToPath(import.meta.url);
const DB = 'capstan_bench';
const DUMP_DB = 'capstan_bench_dump';
const RATIO_TARGET = 1.5;
const RSS_TARGET_MB = 200;

const TABLE_DDL = (name: string): string => `CREATE TABLE ${DB}.${name} (
  id BIGINT NOT NULL,
  a INT NOT NULL,
  b INT NOT NULL,
  c INT NULL,
  name VARCHAR(100) NOT NULL,
  body TEXT NOT NULL,
  at DATETIME(6) NOT NULL,
  amount DECIMAL(14,4) NOT NULL,
  PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`;

interface ChildResult {
  rows: number;
  ms: number;
  maxRssKb: number;
  /** The child's CPU time (user + system). */
  cpuMs: number;
}

interface Row {
  rows: number;
  sourceMb: number;
  capstanMs: number;
  capstanRssMb: number;
  capstanCpuMs: number;
  dumpMs: number;
}

const conn = (svc: MariaDbService) => ({
  host: '127.0.0.1',
  port: svc.port,
  user: svc.user,
  password: svc.password,
});

/** In the child: copy and report timing and peak RSS as one JSON line. */
async function child(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      src: { type: 'string' },
      dst: { type: 'string' },
      table: { type: 'string' },
      target: { type: 'string' },
      ranges: { type: 'string' },
      batch: { type: 'string' },
    },
  });
  const password = process.env.BENCH_MYSQL_PWD ?? '';
  const at = (port: string | undefined) => ({
    host: '127.0.0.1',
    port: Number(port),
    user: 'root',
    password,
  });
  const started = performance.now();
  const result = await copyTable({
    source: at(values.src),
    target: at(values.dst),
    schema: DB,
    table: values.table as string,
    targetTable: values.target as string,
    ranges: Number(values.ranges),
    batchRows: Number(values.batch),
  });
  const ms = performance.now() - started;
  const usage = process.resourceUsage();
  const out: ChildResult = {
    rows: result.rowsCopied,
    ms,
    maxRssKb: usage.maxRSS,
    cpuMs: (usage.userCPUTime + usage.systemCPUTime) / 1000,
  };
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

function runProcess(
  cmd: string,
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ stdout: string; ms: number }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const proc = spawn(cmd, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    proc.stderr.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-4000);
    });
    proc.on('error', reject);
    proc.on('close', (code) => {
      const ms = performance.now() - started;
      if (code === 0) resolve({ stdout, ms });
      else reject(new Error(`${cmd} exited with ${code}: ${stderr}`));
    });
  });
}

export async function run(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      rows: { type: 'string', default: '1000000,100000' },
      ranges: { type: 'string', default: '4' },
      // What a restore job uses, unless told otherwise.
      batch: { type: 'string', default: String(DEFAULT_BATCH_ROWS) },
    },
  });
  const sizes = (values.rows as string).split(',').map((s) => Number(s.trim()));
  if (sizes.some((n) => !Number.isInteger(n) || n < 1))
    throw new Error(`--rows: positive integers, got ${values.rows}`);

  const src = await startMariaDb({ port: await freePort(), name: 'bench-restore-src' });
  const dst = await startMariaDb({ port: await freePort(), name: 'bench-restore-dst' });
  const results: Row[] = [];
  try {
    const s = await openConnection(conn(src));
    const d = await openConnection(conn(dst));
    await s.query(`DROP DATABASE IF EXISTS ${DB}`);
    await s.query(`CREATE DATABASE ${DB}`);
    for (const db of [DB, DUMP_DB]) {
      await d.query(`DROP DATABASE IF EXISTS ${db}`);
      await d.query(`CREATE DATABASE ${db}`);
    }
    for (const n of sizes) {
      const table = `big_${n}`;
      process.stderr.write(`restore bench: generating ${n} rows on the source…\n`);
      await s.query(TABLE_DDL(table));
      await s.query(
        `INSERT INTO ${DB}.${table}
         SELECT seq, seq % 1000, (seq * 7) % 100000, IF(seq % 10 = 0, NULL, seq),
                CONCAT('name-', seq, '-', MD5(seq)),
                CONCAT(MD5(seq), MD5(seq + 1), MD5(seq + 2), MD5(seq + 3)),
                TIMESTAMP('2024-01-01 00:00:00') + INTERVAL seq SECOND + INTERVAL (seq * 7919) % 1000000 MICROSECOND,
                seq / 7
           FROM ${DB}.seq_1_to_${n}`,
      );
      await s.query(`ANALYZE TABLE ${DB}.${table}`);
      const [[sizeRow]] = (await s.query(
        `SELECT (DATA_LENGTH + INDEX_LENGTH) / 1048576 AS mb FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?`,
        [DB, table],
      )) as unknown as [[{ mb: string }]];
      const sourceMb = Number(sizeRow?.mb ?? 0);

      // The dump pipeline, into an identical empty table in another database.
      await d.query(TABLE_DDL(table).replace(`${DB}.`, `${DUMP_DB}.`));
      process.stderr.write(`restore bench: mariadb-dump | mariadb, ${n} rows…\n`);
      const env = { ...process.env, MYSQL_PWD: src.password };
      const dump = await runProcess(
        'bash',
        [
          '-c',
          'set -o pipefail; mariadb-dump -h 127.0.0.1 -P "$1" -u root --single-transaction --no-create-info --quick "$3" "$4" | mariadb -h 127.0.0.1 -P "$2" -u root "$5"',
          'dump',
          String(src.port),
          String(dst.port),
          DB,
          table,
          DUMP_DB,
        ],
        env,
      );
      const dumped = await exactRowCount(d, DUMP_DB, table);
      if (dumped !== n) throw new Error(`dump pipeline copied ${dumped} rows, expected ${n}`);

      process.stderr.write(`restore bench: Capstan copyTable, ${n} rows…\n`);
      const out = await runProcess(
        process.execPath,
        [
          '--import',
          'tsx',
          SELF,
          '--child',
          '--src',
          String(src.port),
          '--dst',
          String(dst.port),
          '--table',
          table,
          '--target',
          `${table}__restored`,
          '--ranges',
          values.ranges as string,
          '--batch',
          values.batch as string,
        ],
        { ...process.env, BENCH_MYSQL_PWD: src.password },
      );
      const line = out.stdout.trim().split('\n').at(-1) ?? '';
      const r = JSON.parse(line) as ChildResult;
      const copied = await exactRowCount(d, DB, `${table}__restored`);
      if (copied !== n || r.rows !== n) throw new Error(`Capstan copied ${copied} rows, expected ${n}`);
      results.push({
        rows: n,
        sourceMb,
        capstanMs: r.ms,
        capstanRssMb: r.maxRssKb / 1024,
        capstanCpuMs: r.cpuMs,
        dumpMs: dump.ms,
      });
    }
    await s.end();
    await d.end();
  } finally {
    await src.stop({ purge: true }).catch(() => {});
    await dst.stop({ purge: true }).catch(() => {});
  }

  const fmt = (x: number, digits = 0) =>
    x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
  const header = [
    'rows',
    'table MB',
    'capstan s',
    'capstan rows/s',
    'dump|mariadb s',
    'dump rows/s',
    'ratio',
    'capstan peak RSS MB',
    'capstan CPU s',
  ];
  const lines = results.map((r) => {
    const cr = r.rows / (r.capstanMs / 1000);
    const dr = r.rows / (r.dumpMs / 1000);
    return [
      fmt(r.rows),
      fmt(r.sourceMb, 1),
      fmt(r.capstanMs / 1000, 2),
      fmt(cr),
      fmt(r.dumpMs / 1000, 2),
      fmt(dr),
      `${fmt(cr / dr, 2)}×`,
      fmt(r.capstanRssMb, 1),
      fmt(r.capstanCpuMs / 1000, 2),
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] as string).length)));
  const row = (cells: string[]) => cells.map((c, i) => c.padStart(widths[i] as number)).join('  ');
  process.stdout.write(
    `\nrestore: table copy between two local mariadbd servers (ranges=${values.ranges}, batch=${values.batch})\n`,
  );
  process.stdout.write(`${row(header)}\n${widths.map((w) => '-'.repeat(w)).join('  ')}\n`);
  for (const l of lines) process.stdout.write(`${row(l)}\n`);
  const worstRatio = Math.min(...results.map((r) => r.dumpMs / r.capstanMs));
  const peak = Math.max(...results.map((r) => r.capstanRssMb));
  process.stdout.write(
    `\ntargets: throughput ≥ ${RATIO_TARGET}× the dump pipeline — worst ${fmt(worstRatio, 2)}× ${worstRatio >= RATIO_TARGET ? 'MET' : 'NOT MET'}; ` +
      `peak RSS < ${RSS_TARGET_MB} MB — ${fmt(peak, 1)} MB ${peak < RSS_TARGET_MB ? 'MET' : 'NOT MET'}\n`,
  );
}

if (process.argv[1] === SELF && process.argv[2] === '--child') {
  child(process.argv.slice(3)).then(
    () => process.exit(0),
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exit(1);
    },
  );
}
