/**
 * Real Redis and MariaDB servers for tests and local mode, started through `scripts/services` (see that script for what
 * exactly runs: loopback only, one folder per server under `${CAPSTAN_SERVICES_DIR:-<repo>/.services}`,
 * reused when already running). Besides a single Redis: a Redis Cluster (3 masters, 3 replicas), a Sentinel set
 * (master, 2 replicas, 3 sentinels) and a TLS-only Redis with an ACL user, as production runs them.
 *
 * @example
 * const redis = await startRedis(await freePort());
 * afterAll(() => redis.stop());
 * const queue = new Queue('q', { connection: new Redis(redis.url) });
 *
 * @example
 * const cluster = await startRedisCluster(await freePortBase(REDIS_CLUSTER_PORT_OFFSETS));
 * afterAll(() => cluster.stop({ purge: true }));
 * const connection = new Cluster(cluster.nodes);
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
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

/**
 * Ports a Redis Cluster started on base port P takes, as offsets from P: its six nodes (P..P+5) and their cluster
 * bus ports (port + 10000). For {@link freePortBase}.
 */
export const REDIS_CLUSTER_PORT_OFFSETS: readonly number[] = [
  0, 1, 2, 3, 4, 5, 10000, 10001, 10002, 10003, 10004, 10005,
];

/**
 * Ports a Sentinel set started on base port P takes, as offsets from P: data servers P..P+2, sentinels P+10..P+12.
 * For {@link freePortBase}.
 */
export const REDIS_SENTINEL_PORT_OFFSETS: readonly number[] = [0, 1, 2, 10, 11, 12];

/** The servers of a cluster or sentinel set: shared parts. */
interface RedisTopology {
  /**
   * The pid in the pidfile of the server on `port` (a node, data server or sentinel of this set), for drills that
   * SIGKILL one; undefined when it has none (stopped cleanly, or not one of this set's ports). A killed server's
   * pidfile still names it until the next {@link restart}.
   */
  pidOf(port: number): number | undefined;
  /**
   * Stops every server of the set via `scripts/services down` (SIGTERM, then SIGKILL after 15 s). Sets are shared by
   * base port: this also stops it for anyone else using it.
   */
  stop(options?: StopOptions): Promise<void>;
  /**
   * Runs `scripts/services up` again: restarts whichever server of the set is down from its folder (keeping its
   * data and the config Redis rewrote, so an ex-master comes back as a replica) and resolves once the whole set is
   * healthy again.
   */
  restart(): Promise<void>;
}

/** A Redis Cluster on 127.0.0.1: 3 masters and 3 replicas, cluster-node-timeout 2000 ms (fail-over in seconds). */
export interface RedisClusterService extends RedisTopology {
  /** The six nodes as `127.0.0.1:<port>`, as printed (pass them to `new Cluster(nodes)`). */
  readonly nodes: string[];
  /** The six nodes' ports, base port first. */
  readonly ports: number[];
  /** The variable the script printed, for a child process's environment. */
  readonly env: { readonly REDIS_CLUSTER_NODES: string };
}

/**
 * A Sentinel set on 127.0.0.1: a master (at first on the base port), 2 replicas, and 3 sentinels monitoring it as
 * `name` with quorum 2, down-after-milliseconds 3000, failover-timeout 10000.
 */
export interface RedisSentinelService extends RedisTopology {
  /** The three sentinels as `127.0.0.1:<port>`, as printed. */
  readonly sentinels: string[];
  /** The master's name the sentinels know it by: `capstan`. */
  readonly name: string;
  /** The variables the script printed, for a child process's environment. */
  readonly env: { readonly REDIS_SENTINELS: string; readonly REDIS_SENTINEL_NAME: string };
  /** The data servers' ports (base port, the first master, then its two replicas). */
  readonly dataPorts: number[];
  /** The sentinels' ports. */
  readonly sentinelPorts: number[];
}

/**
 * A TLS-only Redis on 127.0.0.1 with its own CA; the `default` user is off, and `url` logs in as ACL user `capstan`
 * (`rediss://capstan:<password, percent-encoded>@127.0.0.1:<port>`).
 */
export interface RedisTlsService extends RunningService {
  /** Absolute path of the CA certificate that signed the server's (subjectAltName IP:127.0.0.1, DNS:localhost). */
  readonly caFile: string;
  /** Absolute path of an unrelated CA's certificate, which does not verify the server: for "wrong CA" tests. */
  readonly otherCaFile: string;
  /** Always `capstan`. */
  readonly user: string;
  /** The ACL user's password (decoded), generated on the first start and kept in the server's folder. */
  readonly password: string;
  /** The variables the script printed, for a child process's environment. */
  readonly env: { readonly REDIS_URL: string; readonly REDIS_TLS_CA_FILE: string };
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

/** Picks the value of the script's `KEY=value` stdout line `key`. */
function readValue(stdout: string, key: string, args: readonly string[]): string {
  const prefix = `${key}=`;
  const line = stdout.split('\n').find((l) => l.startsWith(prefix));
  if (!line) {
    throw new ServicesScriptError(args, `expected a ${key}=… line on stdout, got: ${JSON.stringify(stdout)}`);
  }
  return line.slice(prefix.length).trim();
}

/** Picks the URL out of the script's `KEY=value` stdout line: as printed, and parsed. */
function readUrl(
  stdout: string,
  key: 'REDIS_URL' | 'MYSQL_URL',
  args: readonly string[],
): { raw: string; parsed: URL } {
  const raw = readValue(stdout, key, args);
  return { raw, parsed: new URL(raw) };
}

/** Splits a `host:port,host:port,…` value (REDIS_CLUSTER_NODES, REDIS_SENTINELS) into its addresses and ports. */
function readAddresses(
  stdout: string,
  key: 'REDIS_CLUSTER_NODES' | 'REDIS_SENTINELS',
  args: readonly string[],
): { raw: string; addresses: string[]; ports: number[] } {
  const raw = readValue(stdout, key, args);
  const addresses = raw.split(',');
  const ports = addresses.map((address) =>
    Number(/^127\.0\.0\.1:(\d{1,5})$/.exec(address)?.[1] ?? Number.NaN),
  );
  if (addresses.length === 0 || ports.some((port) => !Number.isInteger(port))) {
    throw new ServicesScriptError(args, `expected ${key}=127.0.0.1:<port>,…, got: ${JSON.stringify(raw)}`);
  }
  return { raw, addresses, ports };
}

/**
 * Where `scripts/services` keeps its folders: `CAPSTAN_SERVICES_DIR` (relative to the repository root, where the
 * helpers run the script), else `<repo>/.services`.
 */
export function servicesDir(): string {
  return resolve(REPO_ROOT, process.env.CAPSTAN_SERVICES_DIR ?? '.services');
}

/** The pid in a pidfile, or undefined when the file is missing or holds none (the server stopped cleanly). */
function readPidfile(path: string): number | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
  const pid = Number.parseInt(text.trim(), 10);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
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
 * Starts a Redis Cluster on 127.0.0.1 — six cluster-enabled `redis-server`s on ports P..P+5, created as 3 masters
 * each with a replica — or reuses the one this script already runs there, restarting any node that is down; resolves
 * once every node reports `cluster_state:ok` with all 16384 slots served and every master has a linked replica
 * (about 3 s the first time).
 *
 * @param port base port P; default 7000. Pass `await freePortBase(REDIS_CLUSTER_PORT_OFFSETS)` for a private cluster
 *   (the nodes' cluster bus ports P+10000..P+10005 must be free too).
 * @returns the nodes, their pids, `stop()` and `restart()`
 * @throws ServicesScriptError when it cannot start (the message says which node and what was wrong)
 */
export async function startRedisCluster(port?: number): Promise<RedisClusterService> {
  checkPort(port);
  const args = ['up', 'redis-cluster', ...(port === undefined ? [] : ['--port', String(port)])];
  const { raw, addresses, ports } = readAddresses(await runScript(args), 'REDIS_CLUSTER_NODES', args);
  const base = Math.min(...ports);
  const top = join(servicesDir(), `redis-cluster-${base}`);
  return {
    nodes: addresses,
    ports,
    env: { REDIS_CLUSTER_NODES: raw },
    pidOf: (nodePort) =>
      ports.includes(nodePort) ? readPidfile(join(top, `node-${nodePort}`, 'redis.pid')) : undefined,
    async stop(options: StopOptions = {}): Promise<void> {
      await runScript([
        'down',
        'redis-cluster',
        '--port',
        String(base),
        ...(options.purge ? ['--purge'] : []),
      ]);
    },
    async restart(): Promise<void> {
      await runScript(['up', 'redis-cluster', '--port', String(base)]);
    },
  };
}

/**
 * Starts a Sentinel set on 127.0.0.1 — a master on P, replicas on P+1 and P+2, sentinels on P+10..P+12 monitoring it
 * as `capstan` — or reuses the one this script already runs there, restarting any server that is down; resolves once
 * every sentinel sees the master, both replicas (linked) and the two other sentinels (about 3 s the first time; about
 * 11 s after an ex-master was restarted, while Sentinel turns it into a replica).
 *
 * @param port base port P; default 7100. Pass `await freePortBase(REDIS_SENTINEL_PORT_OFFSETS)` for a private set.
 * @returns the sentinels, the master's name, the ports, their pids, `stop()` and `restart()`
 * @throws ServicesScriptError when it cannot start (the message says which server and what was wrong)
 */
export async function startRedisSentinel(port?: number): Promise<RedisSentinelService> {
  checkPort(port);
  const args = ['up', 'redis-sentinel', ...(port === undefined ? [] : ['--port', String(port)])];
  const stdout = await runScript(args);
  const { raw, addresses, ports: sentinelPorts } = readAddresses(stdout, 'REDIS_SENTINELS', args);
  const name = readValue(stdout, 'REDIS_SENTINEL_NAME', args);
  const base = Math.min(...sentinelPorts) - 10;
  const dataPorts = [base, base + 1, base + 2];
  const top = join(servicesDir(), `redis-sentinel-${base}`);
  return {
    sentinels: addresses,
    name,
    env: { REDIS_SENTINELS: raw, REDIS_SENTINEL_NAME: name },
    dataPorts,
    sentinelPorts,
    pidOf(serverPort: number): number | undefined {
      if (dataPorts.includes(serverPort)) return readPidfile(join(top, `node-${serverPort}`, 'redis.pid'));
      if (sentinelPorts.includes(serverPort))
        return readPidfile(join(top, `sentinel-${serverPort}`, 'sentinel.pid'));
      return undefined;
    },
    async stop(options: StopOptions = {}): Promise<void> {
      await runScript([
        'down',
        'redis-sentinel',
        '--port',
        String(base),
        ...(options.purge ? ['--purge'] : []),
      ]);
    },
    async restart(): Promise<void> {
      await runScript(['up', 'redis-sentinel', '--port', String(base)]);
    },
  };
}

/**
 * Starts a TLS-only `redis-server` on 127.0.0.1 (no plaintext port; clients need no certificate of their own), or
 * reuses the one this script already runs on that port, and resolves once user `capstan` gets PONG over TLS. On the
 * first start the script makes a CA, a server certificate it signs, an unrelated CA and the user's password, all kept
 * in the server's folder.
 *
 * @param port TCP port; default 7200. Pass `await freePort()` for a private server.
 * @returns the `rediss://` URL with the credentials, the CA files and a `stop()`
 * @throws ServicesScriptError when it cannot start (the message includes the tail of the Redis or openssl log)
 */
export async function startRedisTls(port?: number): Promise<RedisTlsService> {
  checkPort(port);
  const args = ['up', 'redis-tls', ...(port === undefined ? [] : ['--port', String(port)])];
  const stdout = await runScript(args);
  const { raw, parsed } = readUrl(stdout, 'REDIS_URL', args);
  const caFile = readValue(stdout, 'REDIS_TLS_CA_FILE', args);
  const actualPort = Number(parsed.port);
  return {
    url: raw,
    port: actualPort,
    caFile,
    otherCaFile: join(dirname(caFile), 'other-ca.crt'),
    user: decodeURIComponent(parsed.username),
    password: decodeURIComponent(parsed.password),
    env: { REDIS_URL: raw, REDIS_TLS_CA_FILE: caFile },
    async stop(options: StopOptions = {}): Promise<void> {
      await runScript([
        'down',
        'redis-tls',
        '--port',
        String(actualPort),
        ...(options.purge ? ['--purge'] : []),
      ]);
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

/** True when a TCP server could listen on 127.0.0.1:`port` right now. */
function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/**
 * Finds a base port P such that P + offset is free on 127.0.0.1 right now for every one of `offsets` — for the Redis
 * topologies, which take ports in a fixed pattern ({@link REDIS_CLUSTER_PORT_OFFSETS},
 * {@link REDIS_SENTINEL_PORT_OFFSETS}). Candidates are drawn at random from 10000–21999, so that even a cluster's bus
 * ports (P + 10000) stay below Linux's ephemeral range (32768 on) where outgoing connections take theirs. As with
 * {@link freePort}, another process may take one before you do, so use it promptly.
 *
 * @param offsets offsets from P, each from 0 to 40000
 * @param attempts how many candidates to try before giving up
 * @throws Error when none of `attempts` candidates is free
 */
export async function freePortBase(offsets: readonly number[], attempts = 50): Promise<number> {
  if (offsets.some((offset) => !Number.isInteger(offset) || offset < 0 || offset > 40_000)) {
    throw new RangeError(`offsets must be integers from 0 to 40000, got ${offsets.join(', ')}`);
  }
  for (let attempt = 0; attempt < attempts; attempt++) {
    const base = 10_000 + Math.floor(Math.random() * 12_000);
    let free = true;
    for (const offset of offsets) {
      if (!(await portIsFree(base + offset))) {
        free = false;
        break;
      }
    }
    if (free) return base;
  }
  throw new Error(
    `no base port with ${offsets.length} free ports at offsets ${offsets.join(', ')} in ${attempts} tries`,
  );
}
