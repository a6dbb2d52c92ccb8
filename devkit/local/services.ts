/**
 * Real Redis and MariaDB servers for tests and local mode, started through `scripts/services` (see that script for what
 * exactly runs: loopback only, one folder per server under `${CAPSTAN_SERVICES_DIR:-<repo>/.services}`,
 * reused when already running).
 *
 * @example
 * const redis = await startRedis(await freePort());
 * afterAll(() => redis.stop());
 * const queue = new Queue('q', { connection: new Redis(redis.url) });
 */
import { execFile } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

/** The repository root (this file runs from `devkit/local` under tsx, or `dist/devkit/local` when built). */
const REPO_ROOT = fileURLToPath(
  new URL(import.meta.url.includes('/dist/devkit/') ? '../../../' : '../../', import.meta.url),
);

/** Absolute path of the `scripts/services` script the helpers run. */
export const SERVICES_SCRIPT: string = `${REPO_ROOT}scripts/services`;

/** Upper bound for one run of the script (MariaDB may initialise a data folder and wait up to 60 s). */
const SCRIPT_TIMEOUT_MS = 180_000;

/** Options for {@link RunningService.stop}. */
export interface StopOptions {
  /** Also delete the server's folder (its data, logs and pidfile). Default false: data survives a restart. */
  purge?: boolean;
}

/** A server started (or reused) by `scripts/services`. */
export interface RunningService {
  /** Connection URL exactly as printed by the script, e.g. `redis://127.0.0.1:6390`. */
  readonly url: string;
  /** TCP port on 127.0.0.1. */
  readonly port: number;
  /**
   * Stops the server (SIGTERM, then SIGKILL after 15 s) via `scripts/services down`. Servers are shared by
   * port (or name): this also stops it for anyone else using it, so only stop what your test owns.
   */
  stop(options?: StopOptions): Promise<void>;
}

/** A Redis server; `url` is `redis://127.0.0.1:<port>`. */
export type RedisService = RunningService;

/** A MariaDB server; `url` is `mysql://root:<password, percent-encoded>@127.0.0.1:<port>`. */
export interface MariaDbService extends RunningService {
  /** The `--name` it was started with, if any (its folder is `mariadb-<name>` rather than `mariadb-<port>`). */
  readonly name: string | undefined;
  /** Always `root`. */
  readonly user: string;
  /** The root password (decoded), from `CAPSTAN_MYSQL_ROOT_PASSWORD` or the default `capstan`. */
  readonly password: string;
}

/** Options for {@link startMariaDb}. */
export interface StartMariaDbOptions {
  /** TCP port. Default: the port this `name` last used, else the script's default 3390. */
  port?: number;
  /** Names the server's folder (`mariadb-<name>`: letters, digits, `.`, `_`, `-`); default: by port. */
  name?: string;
}

/** An error from running `scripts/services`, carrying what it printed. */
export class ServicesScriptError extends Error {
  override readonly name = 'ServicesScriptError';
  /** The script's arguments. */
  readonly args: readonly string[];
  /** What the script wrote on stderr (progress and error messages, including service log tails). */
  readonly stderr: string;

  /**
   * @param args the script's arguments
   * @param stderr what it wrote on stderr
   * @param cause the underlying `execFile` error, if any
   */
  constructor(args: readonly string[], stderr: string, cause?: unknown) {
    const reason = cause instanceof Error ? cause.message.split('\n')[0] : 'unexpected output';
    super(`scripts/services ${args.join(' ')} failed (${reason})${stderr ? `:\n${stderr.trimEnd()}` : ''}`, {
      cause,
    });
    this.args = args;
    this.stderr = stderr;
  }
}

/** Runs `scripts/services` with `args` from the repository root and resolves with its stdout. */
function runScript(args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      SERVICES_SCRIPT,
      [...args],
      { cwd: REPO_ROOT, timeout: SCRIPT_TIMEOUT_MS, killSignal: 'SIGKILL', encoding: 'utf8' },
      (error, stdout, stderr) => {
        if (error) reject(new ServicesScriptError(args, stderr, error));
        else resolve(stdout);
      },
    );
  });
}

/** Picks the URL out of the script's `KEY=value` stdout line: as printed, and parsed. */
function readUrl(
  stdout: string,
  key: 'REDIS_URL' | 'MYSQL_URL',
  args: readonly string[],
): { raw: string; parsed: URL } {
  const prefix = `${key}=`;
  const line = stdout.split('\n').find((l) => l.startsWith(prefix));
  if (!line) {
    throw new ServicesScriptError(args, `expected a ${key}=… line on stdout, got: ${JSON.stringify(stdout)}`);
  }
  const raw = line.slice(prefix.length).trim();
  return { raw, parsed: new URL(raw) };
}

/** Checks an optional port argument. */
function checkPort(port: number | undefined): void {
  if (port !== undefined && !(Number.isInteger(port) && port >= 1 && port <= 65535)) {
    throw new RangeError(`port must be an integer from 1 to 65535, got ${port}`);
  }
}

/**
 * Starts `redis-server` on 127.0.0.1 (append-only file on), or reuses the one this script already runs on that
 * port, and resolves once it answers PING.
 *
 * @param port TCP port; default 6390, the script's shared default. Pass `await freePort()` for a private server.
 * @returns the server's URL and a `stop()`
 * @throws ServicesScriptError when it cannot start (the message includes the tail of the Redis log)
 */
export async function startRedis(port?: number): Promise<RedisService> {
  checkPort(port);
  const args = ['up', 'redis', ...(port === undefined ? [] : ['--port', String(port)])];
  const { raw, parsed } = readUrl(await runScript(args), 'REDIS_URL', args);
  const actualPort = Number(parsed.port);
  return {
    url: raw,
    port: actualPort,
    async stop(options: StopOptions = {}): Promise<void> {
      await runScript(['down', 'redis', '--port', String(actualPort), ...(options.purge ? ['--purge'] : [])]);
    },
  };
}

/**
 * Starts a `mariadbd` on 127.0.0.1 (binlog on in ROW format, performance_schema on, local_infile=1), or reuses the
 * one this script already runs for that port/name, and resolves once root can log in over TCP. A new data folder
 * is initialised on first use (about 1–2 s); root's password is set when it has none.
 *
 * @param options `port` and/or `name`; with neither, the script's shared default on port 3390
 * @returns the server's URL, credentials and a `stop()`
 * @throws ServicesScriptError when it cannot start (the message includes the tail of the MariaDB log)
 */
export async function startMariaDb(options: StartMariaDbOptions = {}): Promise<MariaDbService> {
  const { port, name } = options;
  checkPort(port);
  const args = [
    'up',
    'mariadb',
    ...(port === undefined ? [] : ['--port', String(port)]),
    ...(name === undefined ? [] : ['--name', name]),
  ];
  const { raw, parsed } = readUrl(await runScript(args), 'MYSQL_URL', args);
  const actualPort = Number(parsed.port);
  return {
    url: raw,
    port: actualPort,
    name,
    user: decodeURIComponent(parsed.username),
    password: decodeURIComponent(parsed.password),
    async stop(stopOptions: StopOptions = {}): Promise<void> {
      const which = name === undefined ? ['--port', String(actualPort)] : ['--name', name];
      await runScript(['down', 'mariadb', ...which, ...(stopOptions.purge ? ['--purge'] : [])]);
    },
  };
}

/**
 * Finds a TCP port that is free on 127.0.0.1 right now (binds port 0, reads the port, closes). Another process may
 * still take it before you do, so use it promptly.
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ port: 0, host: '127.0.0.1', exclusive: true }, () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        server.close();
        reject(new Error(`unexpected server address ${String(address)}`));
        return;
      }
      const { port } = address;
      server.close((error) => (error ? reject(error) : resolve(port)));
    });
  });
}
