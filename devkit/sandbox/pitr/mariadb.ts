/**
 * The real-MariaDB side of the sandbox's point-in-time recovery: starting and stopping `mariadbd`
 * servers through `scripts/services` (in UTC), taking a base backup, and replaying the binary log.
 *
 * Base backup (when a backed instance is created):
 *   mariadb-dump --all-databases --single-transaction --master-data=2 --flush-logs \
 *     --routines --events --triggers > <server folder>/pitr/base.sql
 * The `-- CHANGE MASTER TO MASTER_LOG_FILE='…', MASTER_LOG_POS=…;` comment in it is where the
 * binary log continues from.
 *
 * Restore to time T (epoch ms, real time):
 *   scripts/services up mariadb --name <new> --port <free>       (TZ=UTC)
 *   mariadb … < base.sql
 *   mariadb-binlog --read-from-remote-server -h127.0.0.1 -P<source> --to-last-log \
 *     --start-position=<pos> <file> | {@link cutBinlogAt}(T) | mariadb …
 *
 * Binary-log events carry whole-second timestamps (MariaDB 10.11 writes `SET TIMESTAMP=<seconds>`
 * without a fraction, and the event header is seconds too). The replay stops before the first
 * transaction (its GTID event) stamped at or after T's second, so the restored data holds exactly
 * the changes committed in seconds strictly before T's second: never a change from after T,
 * possibly missing one made in the same second before T (conservative). `mariadb-binlog
 * --stop-datetime` is not used: it also stops at the events a log starts with (format description,
 * GTID list, checkpoint), stamped when the log was opened, so it replays nothing of changes that
 * carry an earlier time than that (`SET TIMESTAMP`, as local mode's demo history does). The event
 * times are printed in mariadb-binlog's local time, so it runs with TZ=UTC; servers run with TZ=UTC
 * too, so `system_time_zone` and the binlog's printed datetimes are UTC.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdir, open, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Transform } from 'node:stream';
import { freePort, SERVICES_SCRIPT } from '../../local/services.js';

/** Where `scripts/services` keeps its folders (it runs with the repository root as its cwd). */
export function servicesDir(): string {
  return process.env.CAPSTAN_SERVICES_DIR ?? join(dirname(dirname(SERVICES_SCRIPT)), '.services');
}

/** The folder of the server named `name`. */
export function serverDir(name: string): string {
  return join(servicesDir(), `mariadb-${name}`);
}

/** A running server the sandbox started. */
export interface BackingServer {
  name: string;
  /** Where it listens (default 127.0.0.1: the servers the sandbox starts itself). */
  host?: string;
  port: number;
  user: string;
  password: string;
}

/** Where a base backup is and where the binary log continues after it. */
export interface BaseBackup {
  /** Absolute path of the dump. */
  path: string;
  binlogFile: string;
  binlogPos: number;
  /** Real time (epoch ms) the backup was taken. */
  takenAt: number;
}

const SCRIPT_TIMEOUT_MS = 180_000;
const TOOL_TIMEOUT_MS = 120_000;
/** Servers run in UTC, and so do the tools reading binary-log datetimes. */
const UTC_ENV = { ...process.env, TZ: 'UTC' };

function runScript(args: string[]): Promise<string> {
  const repoRoot = dirname(dirname(SERVICES_SCRIPT));
  return new Promise((resolve, reject) => {
    execFile(
      SERVICES_SCRIPT,
      args,
      { cwd: repoRoot, env: UTC_ENV, timeout: SCRIPT_TIMEOUT_MS, killSignal: 'SIGKILL', encoding: 'utf8' },
      (error, stdout, stderr) => {
        if (error)
          reject(new Error(`scripts/services ${args.join(' ')} failed: ${error.message}\n${stderr}`));
        else resolve(stdout);
      },
    );
  });
}

/** Starts (or reuses) the named server, in UTC, on loopback. */
export async function startServer(name: string, port?: number): Promise<BackingServer> {
  const chosen = port ?? (await freePort());
  const out = await runScript(['up', 'mariadb', '--name', name, '--port', String(chosen)]);
  const line = out.split('\n').find((l) => l.startsWith('MYSQL_URL='));
  if (!line) throw new Error(`scripts/services up mariadb printed no MYSQL_URL: ${out}`);
  const url = new URL(line.slice('MYSQL_URL='.length).trim());
  if (url.hostname !== '127.0.0.1') throw new Error(`refusing a non-loopback server: ${url.hostname}`);
  return {
    name,
    port: Number(url.port),
    user: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password),
  };
}

/** Stops the named server and deletes its folder (data, logs, backups). Idempotent. */
export async function destroyServer(name: string): Promise<void> {
  await runScript(['down', 'mariadb', '--name', name, '--purge']);
}

/** True when the named server's folder exists. */
export async function serverExists(name: string): Promise<boolean> {
  try {
    await stat(serverDir(name));
    return true;
  } catch {
    return false;
  }
}

function clientArgs(server: BackingServer): string[] {
  return [
    '--no-defaults',
    '--protocol=tcp',
    `-h${server.host ?? '127.0.0.1'}`,
    `-P${server.port}`,
    `-u${server.user}`,
  ];
}

function clientEnv(server: BackingServer): NodeJS.ProcessEnv {
  return { ...UTC_ENV, MYSQL_PWD: server.password };
}

interface Stage {
  cmd: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  /** Passes this stage's output through a transform before the next stage reads it. */
  through?: () => Transform;
}

/**
 * Runs `stages` as a shell-free pipeline (stdout of one into stdin of the next), with the first
 * stage's stdin from `input` (a file path) if given and the last stage's stdout to `output` (a file
 * path) if given. Rejects with the stderr of the stages when any exits non-zero.
 */
async function pipeline(stages: Stage[], io: { input?: string; output?: string } = {}): Promise<void> {
  const inFile = io.input ? await open(io.input, 'r') : undefined;
  const outFile = io.output ? await open(io.output, 'w') : undefined;
  try {
    const procs = stages.map((s, i) =>
      spawn(s.cmd, s.args, {
        env: s.env,
        stdio: [
          i === 0 ? (inFile ? inFile.fd : 'ignore') : 'pipe',
          i === stages.length - 1 ? (outFile ? outFile.fd : 'ignore') : 'pipe',
          'pipe',
        ],
        timeout: TOOL_TIMEOUT_MS,
        killSignal: 'SIGKILL',
      }),
    );
    for (let i = 0; i + 1 < procs.length; i++) {
      const from = procs[i]?.stdout;
      const to = procs[i + 1]?.stdin;
      if (from && to) {
        const through = stages[i]?.through?.();
        if (through) from.pipe(through).pipe(to);
        else from.pipe(to);
        to.on('error', () => {});
      }
    }
    const results = await Promise.all(
      procs.map(
        (p, i) =>
          new Promise<{ code: number | null; stderr: string; name: string }>((resolve) => {
            let stderr = '';
            p.stderr?.on('data', (d: Buffer) => {
              if (stderr.length < 8_000) stderr += d.toString('utf8');
            });
            p.on('error', (e) =>
              resolve({ code: -1, stderr: `${stderr}${e.message}`, name: stages[i]?.cmd ?? '' }),
            );
            p.on('close', (code) => resolve({ code, stderr, name: stages[i]?.cmd ?? '' }));
          }),
      ),
    );
    const failed = results.filter((r) => r.code !== 0);
    if (failed.length > 0) {
      throw new Error(
        failed.map((r) => `${r.name} exited with ${r.code}: ${r.stderr.trim().slice(0, 2_000)}`).join('\n'),
      );
    }
  } finally {
    await inFile?.close();
    await outFile?.close();
  }
}

/** Takes a consistent base backup of `server` into its own folder and starts a new binary log. */
export async function takeBaseBackup(server: BackingServer, into?: string): Promise<BaseBackup> {
  const dir = into ?? join(serverDir(server.name), 'pitr');
  await mkdir(dir, { recursive: true });
  const path = join(dir, 'base.sql');
  const takenAt = Date.now();
  await pipeline(
    [
      {
        cmd: 'mariadb-dump',
        args: [
          ...clientArgs(server),
          '--all-databases',
          '--single-transaction',
          '--master-data=2',
          '--flush-logs',
          '--routines',
          '--events',
          '--triggers',
        ],
        env: clientEnv(server),
      },
    ],
    { output: path },
  );
  const head = (await readFile(path, 'utf8')).slice(0, 20_000);
  const m = /CHANGE MASTER TO MASTER_LOG_FILE='([^']+)', MASTER_LOG_POS=(\d+)/.exec(head);
  if (!m?.[1] || !m[2]) throw new Error(`no binary log position in the base backup ${path}`);
  return { path, binlogFile: m[1], binlogPos: Number(m[2]), takenAt };
}

/** `#YYMMDD HH:MM:SS server id … end_log_pos … <tab>GTID …`: the header of a transaction's first event. */
const GTID_EVENT =
  /^#(\d\d)(\d\d)(\d\d)\s+(\d{1,2}):(\d\d):(\d\d)\s+server id\s+\d+\s+end_log_pos\s+\d+.*\tGTID\s/;

/** The epoch second of a GTID event's header line (printed in UTC), if `line` is one. */
export function gtidEventSecond(line: string): number | undefined {
  const m = GTID_EVENT.exec(line);
  if (!m) return undefined;
  const [yy, mo, dd, hh, mi, ss] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  return Date.UTC(2000 + yy, mo - 1, dd, hh, mi, ss) / 1000;
}

/** What ends the replay once it is cut (the body runs with `DELIMITER /*!*\/;`; nothing is left open). */
const CUT_TRAILER = 'DELIMITER ;\nROLLBACK /* cut by Capstan */;\n';

/**
 * Passes `mariadb-binlog` text through up to, not including, the first transaction whose GTID event
 * is stamped at or after `stopSecond` (epoch seconds; the text must be printed in UTC); what follows
 * is read and dropped, so mariadb-binlog ends normally. Other events pass whatever their time (see
 * the file comment). Bytes pass unchanged (statements may hold any bytes).
 */
export function cutBinlogAt(stopSecond: number): Transform {
  let partial = '';
  /** A `# at N` line held until its event's header shows whether the replay stops there. */
  let held: string | undefined;
  let cut = false;
  const pass = (lines: string[]): string[] => {
    const out: string[] = [];
    for (const line of lines) {
      if (held !== undefined) {
        const at = held;
        held = undefined;
        const second = gtidEventSecond(line);
        if (second !== undefined && second >= stopSecond) {
          cut = true;
          out.push(CUT_TRAILER);
          return out;
        }
        out.push(`${at}\n`, `${line}\n`);
      } else if (line.startsWith('# at ')) held = line;
      else out.push(`${line}\n`);
    }
    return out;
  };
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      if (cut) return done();
      const lines = (partial + chunk.toString('latin1')).split('\n');
      partial = lines.pop() ?? '';
      const out = pass(lines);
      done(null, out.length > 0 ? Buffer.from(out.join(''), 'latin1') : undefined);
    },
    flush(done) {
      if (cut) return done();
      const out = pass(partial ? [partial] : []);
      if (!cut && held !== undefined) out.push(`${held}\n`);
      done(null, out.length > 0 ? Buffer.from(out.join(''), 'latin1') : undefined);
    },
  });
}

/** Loads `backup` into `target`, then replays `source`'s binary log up to (before) `until` (real epoch ms). */
export async function restoreInto(
  target: BackingServer,
  source: BackingServer,
  backup: Pick<BaseBackup, 'path' | 'binlogFile' | 'binlogPos'>,
  until: number,
): Promise<void> {
  const load: Stage = {
    cmd: 'mariadb',
    args: [...clientArgs(target), '--binary-mode'],
    env: clientEnv(target),
  };
  await pipeline([load], { input: backup.path });
  await pipeline([{ cmd: 'mariadb', args: clientArgs(target), env: clientEnv(target) }], {
    input: await writeTemp(target, 'FLUSH PRIVILEGES;\n'),
  });
  await pipeline([
    {
      cmd: 'mariadb-binlog',
      args: [
        '--no-defaults',
        '--read-from-remote-server',
        '--protocol=tcp',
        `--host=${source.host ?? '127.0.0.1'}`,
        `--port=${source.port}`,
        `--user=${source.user}`,
        '--to-last-log',
        `--start-position=${backup.binlogPos}`,
        backup.binlogFile,
      ],
      env: clientEnv(source),
      through: () => cutBinlogAt(Math.floor(until / 1000)),
    },
    load,
  ]);
}

async function writeTemp(server: BackingServer, text: string): Promise<string> {
  const dir = join(serverDir(server.name), 'pitr');
  await mkdir(dir, { recursive: true });
  const path = join(dir, 'flush.sql');
  await writeFile(path, text);
  return path;
}

/** Removes a folder left behind (best effort). */
export async function removeFolder(name: string): Promise<void> {
  await rm(serverDir(name), { recursive: true, force: true });
}
