/**
 * `npm run bench -- restore [--rows 1000000,100000] [--ranges 4] [--batch 2000] [--commit 10000] [--repeat 3] [--profile DIR]`
 *
 * Copies a generated table (id BIGINT PK, three INTs, a VARCHAR(100), a ~128-byte TEXT, a DATETIME(6), a DECIMAL;
 * about 200 bytes a row) between two local mariadbd servers, once with Capstan's `copyTable` and once with
 * `mariadb-dump --single-transaction --no-create-info … | mariadb …`, for each size in `--rows`. The source table is
 * generated with `INSERT … SELECT` from MariaDB's sequence engine (`seq_1_to_N`).
 *
 * Capstan's copy runs in a child process (`node --import tsx bench/restore.ts --child …`) that reports its own peak
 * RSS (`process.resourceUsage().maxRSS`), so the figure is the copy's alone. Each size runs `--repeat` trials (dump,
 * then Capstan, each after both servers have flushed their dirty pages) and reports each side's median trial: rows/s
 * for both, the ratio against the 1.5× target, the peak RSS (highest of all trials) against the 200 MB target, and
 * the CPU time the Capstan process and each mariadbd used. Exits 0 whether targets are met or not.
 */
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { type MysqlConnection, openConnection } from '../src/mysql/connection.js';
import { copyTable } from '../src/mysql/copy.js';
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

/** CPU seconds (user + system) a process has used so far, from /proc (Linux); 0 where unreadable. */
async function cpuSeconds(pid: number | undefined): Promise<number> {
  if (!pid) return 0;
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

interface Row {
  rows: number;
  sourceMb: number;
  capstanMs: number;
  capstanRssMb: number;
  capstanCpuMs: number;
  dumpMs: number;
  /** CPU seconds the source and target mariadbd used during each copy. */
  serverCpu: { capstan: [number, number]; dump: [number, number] };
  /** Every trial's times (ms): Capstan, dump pipeline. */
  trials?: Array<[number, number]>;
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
      commit: { type: 'string' },
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
    ...(values.ranges ? { ranges: Number(values.ranges) } : {}),
    ...(values.batch ? { batchRows: Number(values.batch) } : {}),
    ...(values.commit ? { commitRows: Number(values.commit) } : {}),
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

/**
 * Waits until InnoDB on this server has written its dirty pages (and purged old row versions), so a timed run does not
 * pay for the previous one's background work: the dirty-page target is set to 0 until the pool is clean (or 120 s
 * pass), then put back.
 */
async function settle(c: MysqlConnection): Promise<void> {
  const [[pct]] = (await c.query('SELECT @@GLOBAL.innodb_max_dirty_pages_pct AS v')) as unknown as [
    [{ v: string }],
  ];
  await c.query('SET GLOBAL innodb_max_dirty_pages_pct = 0');
  try {
    const deadline = Date.now() + 120_000;
    for (;;) {
      const [rows] = (await c.query(
        "SHOW GLOBAL STATUS WHERE Variable_name IN ('Innodb_buffer_pool_pages_dirty', 'Innodb_history_list_length')",
      )) as unknown as [Array<{ Variable_name: string; Value: string }>];
      const pending = rows.reduce((n, r) => n + Number(r.Value), 0);
      if (pending < 50 || Date.now() > deadline) return;
      await new Promise((r) => setTimeout(r, 250));
    }
  } finally {
    await c.query(`SET GLOBAL innodb_max_dirty_pages_pct = ${Number(pct?.v ?? 90)}`);
  }
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
      // Unset: what a restore job does (chosen from what the copy measures); set: overrides.
      ranges: { type: 'string' },
      batch: { type: 'string' },
      commit: { type: 'string' },
      // Trials per size; each side's median is reported (a one-second run on a shared machine is noisy).
      repeat: { type: 'string', default: '3' },
      // Writes a V8 CPU profile of each Capstan copy into this folder (open it in Chrome's DevTools).
      profile: { type: 'string' },
    },
  });
  const repeat = Number(values.repeat);
  if (!Number.isInteger(repeat) || repeat < 1)
    throw new Error(`--repeat: a positive integer, got ${values.repeat}`);
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
    const pidOf = async (c: MysqlConnection): Promise<number | undefined> => {
      const [[row]] = (await c.query('SELECT @@pid_file AS f')) as unknown as [[{ f: string }]];
      const pid = Number((await readFile(row?.f ?? '', 'utf8').catch(() => '')).trim());
      return Number.isInteger(pid) && pid > 0 ? pid : undefined;
    };
    const srcPid = await pidOf(s);
    const dstPid = await pidOf(d);
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

      const env = { ...process.env, MYSQL_PWD: src.password };
      const serverCpu = async (): Promise<[number, number]> => [
        await cpuSeconds(srcPid),
        await cpuSeconds(dstPid),
      ];
      const since = (before: [number, number], after: [number, number]): [number, number] => [
        after[0] - before[0],
        after[1] - before[1],
      ];
      const trials: Array<Omit<Row, 'rows' | 'sourceMb'>> = [];
      for (let trial = 1; trial <= repeat; trial++) {
        // The dump pipeline, into an identical empty table in another database.
        await d.query(`DROP TABLE IF EXISTS ${DUMP_DB}.${table}`);
        await d.query(TABLE_DDL(table).replace(`${DB}.`, `${DUMP_DB}.`));
        await d.query(`DROP TABLE IF EXISTS ${DB}.${table}__restored`);
        process.stderr.write(
          `restore bench: ${n} rows, trial ${trial}/${repeat}: waiting for both servers to flush…\n`,
        );
        await Promise.all([settle(s), settle(d)]);
        process.stderr.write(`restore bench: mariadb-dump | mariadb, ${n} rows…\n`);
        const dumpCpuBefore = await serverCpu();
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
        const dumpCpu = since(dumpCpuBefore, await serverCpu());
        const dumped = await exactRowCount(d, DUMP_DB, table);
        if (dumped !== n) throw new Error(`dump pipeline copied ${dumped} rows, expected ${n}`);

        await Promise.all([settle(s), settle(d)]);
        process.stderr.write(`restore bench: Capstan copyTable, ${n} rows…\n`);
        const capstanCpuBefore = await serverCpu();
        const out = await runProcess(
          process.execPath,
          [
            ...(values.profile ? ['--cpu-prof', '--cpu-prof-dir', values.profile] : []),
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
            ...(values.ranges ? ['--ranges', values.ranges] : []),
            ...(values.batch ? ['--batch', values.batch] : []),
            ...(values.commit ? ['--commit', values.commit] : []),
          ],
          { ...process.env, BENCH_MYSQL_PWD: src.password },
        );
        const capstanCpu = since(capstanCpuBefore, await serverCpu());
        const line = out.stdout.trim().split('\n').at(-1) ?? '';
        const r = JSON.parse(line) as ChildResult;
        const copied = await exactRowCount(d, DB, `${table}__restored`);
        if (copied !== n || r.rows !== n) throw new Error(`Capstan copied ${copied} rows, expected ${n}`);
        trials.push({
          capstanMs: r.ms,
          capstanRssMb: r.maxRssKb / 1024,
          capstanCpuMs: r.cpuMs,
          dumpMs: dump.ms,
          serverCpu: { capstan: capstanCpu, dump: dumpCpu },
        });
      }
      // Each side's median trial (by time); the peak RSS is the highest of all trials.
      const median = <T>(xs: T[], by: (x: T) => number): T =>
        [...xs].sort((a, b) => by(a) - by(b))[Math.floor(xs.length / 2)] as T;
      const mc = median(trials, (t) => t.capstanMs);
      const md = median(trials, (t) => t.dumpMs);
      results.push({
        rows: n,
        sourceMb,
        capstanMs: mc.capstanMs,
        capstanRssMb: Math.max(...trials.map((t) => t.capstanRssMb)),
        capstanCpuMs: mc.capstanCpuMs,
        dumpMs: md.dumpMs,
        serverCpu: { capstan: mc.serverCpu.capstan, dump: md.serverCpu.dump },
        trials: trials.map((t) => [t.capstanMs, t.dumpMs]),
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
    `\nrestore: table copy between two local mariadbd servers (ranges=${values.ranges ?? 'measured'}, batch=${values.batch ?? 'measured'}, commit=${values.commit ?? 'measured'}, median of ${repeat} trials)\n`,
  );
  process.stdout.write(`${row(header)}\n${widths.map((w) => '-'.repeat(w)).join('  ')}\n`);
  for (const l of lines) process.stdout.write(`${row(l)}\n`);
  process.stdout.write(
    `\nevery trial, s (capstan / dump|mariadb): each side's median is in the table above\n`,
  );
  for (const r of results) {
    const cells = (r.trials ?? []).map(([c, dmp]) => `${fmt(c / 1000, 2)} / ${fmt(dmp / 1000, 2)}`);
    process.stdout.write(`${fmt(r.rows).padStart(widths[0] as number)}  ${cells.join('   ')}\n`);
  }
  process.stdout.write('\nmariadbd CPU s during each copy (source + target): capstan vs dump|mariadb\n');
  for (const r of results) {
    const [cs, ct] = r.serverCpu.capstan;
    const [ds, dt] = r.serverCpu.dump;
    process.stdout.write(
      `${fmt(r.rows).padStart(widths[0] as number)}  capstan ${fmt(cs, 2)} + ${fmt(ct, 2)}   dump ${fmt(ds, 2)} + ${fmt(dt, 2)}\n`,
    );
  }
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
