/**
 * The one place Redis connections are made: BullMQ's queues, workers and schedulers, approvals,
 * locks, alerts, audit, the environment registry and the sandbox all get theirs from
 * {@link createRedis}, for a single node, a Redis Cluster or a Sentinel-watched master, over TLS
 * when configured.
 *
 * Every key Capstan writes starts with the configured prefix, a hash tag (`{capstan}`), so on a
 * Cluster they all live in one slot: MULTI, pipelines and Lua scripts that name several keys are
 * accepted, and BullMQ's own scripts are too (https://docs.bullmq.io/guide/redis-tm-compatibility).
 */
import { Cluster, type ClusterOptions, Command, Redis, type RedisOptions } from 'ioredis';
import type { Logger } from 'pino';
import type { RedisConfig } from './config.js';

/** A connection to Capstan's Redis, whatever its topology. */
export type RedisClient = Redis | Cluster;

/** What a connection is for. */
export interface RedisConnectionOptions {
  /**
   * A worker's connection: `maxRetriesPerRequest: null`, as BullMQ requires for the blocking
   * connections workers make (https://docs.bullmq.io/guide/going-to-production).
   */
  forWorker?: boolean;
  /** CLIENT SETNAME, to tell Capstan's connections apart in CLIENT LIST. */
  name?: string;
  /** Commands issued in one tick share one write (ioredis's auto-pipelining). */
  autoPipelining?: boolean;
}

/**
 * After a failover a connection may still reach the old primary, now a replica: it answers writes
 * with READONLY. Reconnecting (2: and sending that command again) reaches the new primary, as ioredis
 * documents for ElastiCache and Sentinel. A command that failed this way was not executed.
 */
function reconnectOnReadonly(error: Error): 2 | false {
  return error.message.startsWith('READONLY') ? 2 : false;
}

/** Reconnection attempts a command waits through (with {@link retryDelay}: about 20 s). */
const MAX_RETRIES_PER_REQUEST = 20;

/** Back-off between reconnection attempts: quick at first, at most 2 s (failovers take seconds). */
function retryDelay(times: number): number {
  return Math.min(times * 100, 2_000);
}

/** The TLS options every connection (sentinels included) uses, when TLS is configured. */
function tlsOptions(config: RedisConfig): { ca?: string; servername?: string } | undefined {
  return config.tls
    ? {
        ...(config.tls.ca ? { ca: config.tls.ca } : {}),
        ...(config.tls.servername ? { servername: config.tls.servername } : {}),
      }
    : undefined;
}

/** Opens a connection (it connects at once, and reconnects on its own). */
export function createRedis(config: RedisConfig, opts: RedisConnectionOptions = {}): RedisClient {
  const tls = tlsOptions(config);
  const common: RedisOptions = {
    enableAutoPipelining: opts.autoPipelining ?? false,
    enableReadyCheck: true,
    connectionName: opts.name ?? 'capstan',
    // Other connections wait out a failover (about 20 s of reconnecting) rather than failing the
    // command after 3 tries: a slash command is then answered "held" and told its outcome.
    maxRetriesPerRequest: opts.forWorker ? null : MAX_RETRIES_PER_REQUEST,
    reconnectOnError: reconnectOnReadonly,
    ...(config.username ? { username: config.username } : {}),
    ...(config.password ? { password: config.password } : {}),
    ...(tls ? { tls } : {}),
  };

  if (config.mode === 'cluster') {
    const options: ClusterOptions = {
      redisOptions: common,
      enableAutoPipelining: opts.autoPipelining ?? false,
      enableReadyCheck: true,
      clusterRetryStrategy: retryDelay,
      // A failover (a replica promoted after cluster-node-timeout) takes seconds: commands wait
      // through it (CLUSTERDOWN, TRYAGAIN, a refused connection) instead of failing at once.
      retryDelayOnFailover: 200,
      retryDelayOnClusterDown: 200,
      retryDelayOnTryAgain: 200,
      maxRedirections: 50,
      slotsRefreshTimeout: 2_000,
      // TLS certificates name the hosts the seeds are given by (ElastiCache's configuration
      // endpoint): connect by that name, not by a resolved address the certificate does not carry.
      ...(tls ? { dnsLookup: (address, callback) => callback(null, address) } : {}),
    };
    return new Cluster(
      config.nodes.map(({ host, port }) => ({ host, port })),
      options,
    );
  }

  if (config.mode === 'sentinel') {
    return followed(
      sentinelSetOf(config),
      new Redis({
        ...common,
        sentinels: config.nodes.map(({ host, port }) => ({ host, port })),
        name: config.sentinelName ?? 'mymaster',
        role: 'master',
        db: config.db,
        ...(config.sentinelUsername ? { sentinelUsername: config.sentinelUsername } : {}),
        ...(config.sentinelPassword ? { sentinelPassword: config.sentinelPassword } : {}),
        ...(tls ? { enableTLSForSentinelMode: true, sentinelTLS: tls } : {}),
        // No failover detector (ioredis's subscription to +switch-master): when the notice arrived
        // while the connection was reconnecting, it cancelled the reconnect and the connection stayed
        // closed for good ("Connection is closed.": the Sentinel drill's web process, instrumented).
        // Without it a connection follows a failover when it loses the old primary, or is told
        // READONLY by it (reconnectOnError).
        failoverDetector: false,
        retryStrategy: retryDelay,
        sentinelRetryStrategy: retryDelay,
      }),
    );
  }

  const node = config.nodes[0];
  return new Redis({
    ...common,
    host: node?.host ?? '127.0.0.1',
    port: node?.port ?? 6379,
    db: config.db,
    retryStrategy: retryDelay,
  });
}

/** Closes a connection: QUIT when it is up, else drop it (a shutdown never waits on a dead Redis). */
export async function closeRedis(client: RedisClient): Promise<void> {
  if (client.status === 'ready') await client.quit().catch(() => client.disconnect());
  else client.disconnect();
}

/** A second connection like `client` (its own socket: BullMQ's queue keeps its scripts there). */
export function duplicateRedis(client: RedisClient): RedisClient {
  if (client instanceof Cluster) return client.duplicate();
  // A Sentinel connection's duplicate moves with it to a new primary (see followed()).
  return client.duplicate();
}

/**
 * The connections this process has to each Sentinel-watched master (by its name and sentinels),
 * so that they all move together to a new primary: see {@link createWriteConfirmer}.
 */
const followedSets = new Map<string, Set<Redis>>();

function sentinelSetOf(config: RedisConfig): Set<Redis> {
  const key = `${config.sentinelName ?? 'mymaster'}@${config.nodes.map(({ host, port }) => `${host}:${port}`).join(',')}/${config.db}`;
  let set = followedSets.get(key);
  if (!set) {
    set = new Set();
    followedSets.set(key, set);
  }
  return set;
}

function followed(set: Set<Redis>, client: Redis): Redis {
  set.add(client);
  client.once('end', () => set.delete(client));
  // What is made from it moves with it too: BullMQ makes a worker's blocking connection (the one
  // that waits for jobs) by duplicating the connection it is given.
  const duplicate = client.duplicate.bind(client);
  client.duplicate = (override?: Partial<RedisOptions>) => followed(set, duplicate(override));
  return client;
}

/** Node's codes for a TLS certificate the client does not trust. */
const UNTRUSTED_CERTIFICATE = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_SIGNATURE_FAILURE',
]);

/**
 * A Redis connection error in words an operator can act on, naming the setting to look at (never
 * its value). Unknown errors keep their own message.
 */
export function explainRedisError(error: Error): string {
  const e = error as Error & { code?: string; lastNodeError?: Error };
  // A Cluster that could not load its slot map says why through the last node it tried.
  if (e.lastNodeError && e.lastNodeError !== error) return explainRedisError(e.lastNodeError);
  const code = e.code ?? '';
  const message = e.message ?? String(error);
  if (UNTRUSTED_CERTIFICATE.has(code))
    return `the Redis server's TLS certificate is not trusted (${code}): REDIS_TLS_CA_FILE (or the system's CAs, when it is not set) must hold the CA that signed it`;
  if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID')
    return `the Redis server's TLS certificate is outside its validity period (${code})`;
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID')
    return `the Redis server's TLS certificate does not name the host Capstan connects to (${message}): connect by a name the certificate carries, or set REDIS_TLS_SERVERNAME`;
  if (/wrong version number|packet length too long|ERR_SSL_WRONG_VERSION_NUMBER/i.test(`${code} ${message}`))
    return 'the Redis server does not speak TLS on this port: use redis:// (not rediss://), or its TLS port';
  if (/^WRONGPASS/.test(message))
    return 'Redis refused the user name or password (WRONGPASS): check REDIS_USERNAME and REDIS_PASSWORD (or the URL’s user:password), and that the ACL user is on';
  if (/^NOAUTH/.test(message))
    return 'Redis requires a password (NOAUTH): set REDIS_PASSWORD (and REDIS_USERNAME for an ACL user)';
  if (/^NOPERM/.test(message))
    return `the Redis ACL user may not do what Capstan needs (${message.split('\n')[0]}): grant it +@all on keys ~* (or ~{capstan}*) and channels &*`;
  if (
    code === 'ECONNREFUSED' ||
    code === 'ECONNRESET' ||
    code === 'ETIMEDOUT' ||
    code === 'ENOTFOUND' ||
    code === 'EHOSTUNREACH'
  )
    return `Redis is unreachable: ${message}`;
  return message.split('\n')[0] ?? message;
}

/** What {@link watchRedis} knows about a connection. */
export interface RedisWatch {
  /** Why the connection is down, in words ({@link explainRedisError}); undefined while it is up. */
  problem(): string | undefined;
}

/**
 * Logs a connection's troubles once per distinct reason (a reconnect loop does not flood the log),
 * and its recovery; `problem()` says why it is down, for /ready.
 */
export function watchRedis(client: RedisClient, logger: Logger, what: string): RedisWatch {
  let problem: string | undefined;
  client.on('error', (err: Error) => {
    const reason = explainRedisError(err);
    if (reason !== problem) logger.warn({ code: (err as { code?: string }).code }, `${what}: ${reason}`);
    problem = reason;
  });
  client.on('ready', () => {
    if (problem) logger.info(`${what}: connected again`);
    problem = undefined;
  });
  return { problem: () => problem };
}

/** The connection that serves `key`'s primary: the client itself, or a Cluster's node for that slot. */
function primaryFor(client: RedisClient, key: string): Redis | undefined {
  if (!(client instanceof Cluster)) return client;
  const slot = new Command('get', [key]).getSlot();
  const primary = client.slots[slot]?.[0];
  return client.nodes('master').find((node) => `${node.options.host}:${node.options.port}` === primary);
}

/**
 * Waits (WAIT, at most `timeoutMs`) until `replicas` replicas hold every write this connection made
 * on `key`'s primary, and says how many do. Replication is asynchronous: a primary killed between
 * acknowledging a write and sending it on loses that write in the failover; after this returns
 * `replicas`, the promoted replica has it. Only for replicated topologies (a lone node has no
 * replica to wait for).
 */
export async function waitForReplicas(
  client: RedisClient,
  key: string,
  replicas: number,
  timeoutMs: number,
): Promise<number> {
  const node = primaryFor(client, key);
  if (node?.status !== 'ready') return 0;
  // Bounded here too: a WAIT queued on a node connection that is going away (a failover under
  // way) may never be answered, and whoever waits on it must not wait for ever.
  return within(node.wait(replicas, timeoutMs), timeoutMs + 1_000, 0);
}

/** Whether the writes a connection made are where a failover cannot lose them. */
export type Confirmation =
  | { confirmed: true }
  | {
      confirmed: false;
      /** Why not, in words (for a log). */
      reason: string;
      /**
       * The sentinels name another primary: this connection is on a demoted one (which takes
       * writes until Sentinel turns it into a replica, then drops them); the confirmer moves the
       * process's connections to the new one once the failover is over.
       */
      stale?: boolean;
    };

/**
 * Confirms writes for the replicated topologies. Replication is asynchronous, so two things can
 * lose a write Redis acknowledged:
 * - a crash of the primary before a replica had it: WAIT, for every replica in sync (`state=online`
 *   in INFO replication), closes that window;
 * - a failover while the old primary is still up (`SENTINEL FAILOVER`, or one primary cut off from
 *   its sentinels): the old primary goes on accepting writes, for seconds, after a replica was
 *   promoted, and drops them when Sentinel turns it into a replica (measured: 2.6 s in the Sentinel
 *   drill). WAIT cannot see that (the old primary's other replica answers it), but the sentinels
 *   can: the one running the failover flags it `failover_in_progress` from before it promotes a
 *   replica, and once it is over every sentinel names the new primary. So a write is confirmed
 *   only when, after it, no sentinel that answers reports a failover under way or another primary.
 *
 * On a Cluster, a manual CLUSTER FAILOVER pauses the old primary's clients until its replica has
 * caught up (https://redis.io/docs/latest/commands/cluster-failover/), so only the crash window
 * is left: one replica's WAIT, best effort, as before.
 */
export interface WriteConfirmer {
  /** False for a single node: nothing to confirm (and nothing a failover could lose). */
  readonly replicated: boolean;
  /** Confirms every write `client` made so far on `key`'s primary (at most about `timeoutMs`). */
  confirm(client: RedisClient, key: string, timeoutMs: number): Promise<Confirmation>;
  close(): Promise<void>;
}

/** How often a process checks that its connections are on the primary the sentinels name. */
const FOLLOW_PRIMARY_MS = 500;

/** How long a sentinel has to answer SENTINEL MASTER before it counts as not answering. */
const SENTINEL_ANSWER_MS = 1_000;

/** What a sentinel says of the master it watches. */
interface SentinelView {
  host: string;
  port: number;
  flags: string[];
  /** The replicas it knows of that it can reach (not down, not disconnected) and that say so. */
  healthyReplicas: number;
}

/** SENTINEL MASTER's and SENTINEL REPLICAS' flat field lists, as a map. */
function fieldsOf(reply: unknown): Map<string, string> {
  const fields = new Map<string, string>();
  const flat = Array.isArray(reply) ? (reply as unknown[]) : [];
  for (let i = 0; i + 1 < flat.length; i += 2) fields.set(String(flat[i]), String(flat[i + 1]));
  return fields;
}

/** What SENTINEL MASTER and SENTINEL REPLICAS answered, as one view. */
function sentinelViewOf(master: unknown, replicas: unknown): SentinelView {
  const fields = fieldsOf(master);
  const down = new Set(['s_down', 'o_down', 'disconnected']);
  // Counted: reachable, and saying it is a replica (an old primary not yet turned into one, listed
  // under the new primary since the switch, still says master).
  const healthyReplicas = (Array.isArray(replicas) ? (replicas as unknown[]) : [])
    .map(fieldsOf)
    .filter(
      (replica) =>
        replica.get('role-reported') === 'slave' &&
        !(replica.get('flags') ?? '').split(',').some((flag) => down.has(flag)),
    ).length;
  return {
    host: fields.get('ip') ?? '',
    port: Number(fields.get('port')),
    flags: (fields.get('flags') ?? '').split(','),
    healthyReplicas,
  };
}

/** The number of replicas in sync with a primary, from its INFO replication. */
function onlineReplicasOf(info: string): number {
  return info.split(/\r?\n/).filter((line) => /^slave\d+:.*\bstate=online\b/.test(line)).length;
}

/** Resolves to `fallback` when `promise` has not settled within `ms`. */
async function within<T>(promise: Promise<T>, ms: number, fallback: T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<T>((resolve) => {
    timer = setTimeout(() => resolve(fallback), ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Makes the {@link WriteConfirmer} for a configuration. */
export function createWriteConfirmer(config: RedisConfig): WriteConfirmer {
  if (config.mode === 'single')
    return { replicated: false, confirm: async () => ({ confirmed: true }), close: async () => {} };
  if (config.mode === 'cluster')
    return {
      replicated: true,
      async confirm(client, key, timeoutMs) {
        // Best effort: a primary with no replica in sync (one just promoted, or whose replica is
        // down) is not waited on: a WAIT there would last its whole timeout, every time.
        const node = primaryFor(client, key);
        const online = await within(
          node?.info('replication').then(onlineReplicasOf, () => 0) ?? Promise.resolve(0),
          timeoutMs,
          0,
        );
        if (online > 0) await waitForReplicas(client, key, 1, timeoutMs).catch(() => 0);
        return { confirmed: true };
      },
      close: async () => {},
    };

  const name = config.sentinelName ?? 'mymaster';
  const tls = tlsOptions(config);
  // The sentinels' own connections, opened on first use. They never queue a command while down
  // and never retry one: a sentinel that does not answer at once is not waited for.
  let sentinels: Redis[] | undefined;
  let closed = false;
  const open = (): Redis[] => {
    // Once closed, a confirmation still under way (a write being retried) opens nothing new.
    if (closed) return [];
    sentinels ??= config.nodes.map(({ host, port }) =>
      new Redis({
        host,
        port,
        connectionName: 'capstan-confirm',
        enableOfflineQueue: false,
        maxRetriesPerRequest: 0,
        connectTimeout: SENTINEL_ANSWER_MS,
        retryStrategy: retryDelay,
        ...(config.sentinelUsername ? { username: config.sentinelUsername } : {}),
        ...(config.sentinelPassword ? { password: config.sentinelPassword } : {}),
        ...(tls ? { tls } : {}),
      }).on('error', () => {}),
    );
    return sentinels;
  };
  const views = async (): Promise<SentinelView[]> => {
    const answers = await Promise.all(
      open().map((sentinel) =>
        within(
          sentinel
            .pipeline()
            .call('SENTINEL', 'MASTER', name)
            .call('SENTINEL', 'REPLICAS', name)
            .exec()
            .then(
              (replies) => {
                const [master, replicas] = replies ?? [];
                if (!master || !replicas || master[0] || replicas[0]) return undefined;
                return sentinelViewOf(master[1], replicas[1]);
              },
              () => undefined,
            ),
          SENTINEL_ANSWER_MS,
          undefined,
        ),
      ),
    );
    return answers.filter((view): view is SentinelView => view !== undefined);
  };
  // As many sentinels as a failover needs to be authorised must answer: fewer could all be ones
  // that have not yet heard of a failover the others are running.
  const majority = Math.floor(config.nodes.length / 2) + 1;

  // Once a failover is over (a majority answers, none runs one, all name one primary), every
  // connection of this process still on another node is moved there, together. Sentinel turns the
  // old primary into a replica (closing its clients) only about 8 s after the switch; until then
  // it takes writes it will drop, and a process whose connections moved one by one would be split
  // between the two (a lock released on the new primary while its job went on on the old one).
  // ioredis's own failover detector is off (see createRedis): this polls instead.
  const connections = sentinelSetOf(config);
  let following = false;
  const follow = async () => {
    if (following) return;
    following = true;
    try {
      const seen = await views();
      const [named, ...others] = seen;
      if (!named || seen.length < majority) return;
      if (seen.some((view) => view.flags.includes('failover_in_progress'))) return;
      if (others.some((view) => view.port !== named.port || !sameHost(view.host, named.host))) return;
      for (const connection of connections) {
        const stream = connection.stream;
        if (connection.status !== 'ready' || !stream) continue;
        if (stream.remotePort !== named.port || !sameHost(named.host, stream.remoteAddress ?? ''))
          connection.disconnect(true);
      }
    } finally {
      following = false;
    }
  };
  let timer: NodeJS.Timeout | undefined = setInterval(
    () => void follow().catch(() => undefined),
    FOLLOW_PRIMARY_MS,
  ).unref();

  return {
    replicated: true,
    async confirm(client, _key, timeoutMs) {
      const node = client as Redis;
      if (node.status !== 'ready') return { confirmed: false, reason: 'the connection is not ready' };
      const address = { host: node.stream?.remoteAddress ?? '', port: node.stream?.remotePort ?? 0 };
      // After the writes: what the sentinels say, and how many replicas are in sync (then WAIT for
      // all of them). Both are asked after every write to confirm, so they describe its outcome.
      const [seen, online] = await Promise.all([
        views(),
        within(
          node.info('replication').then(onlineReplicasOf, () => -1),
          timeoutMs,
          -1,
        ),
      ]);
      if (online < 0) return { confirmed: false, reason: 'the primary did not answer INFO replication' };
      const acked =
        online === 0
          ? 0
          : await within(
              node.wait(online, timeoutMs).catch(() => -1),
              timeoutMs + 1_000,
              -1,
            );
      if (seen.length < majority)
        return {
          confirmed: false,
          reason: `${seen.length} of ${config.nodes.length} sentinels answered (a majority must)`,
        };
      if (seen.some((view) => view.flags.includes('failover_in_progress')))
        return { confirmed: false, reason: 'a sentinel is failing the primary over' };
      const elsewhere = seen.find((view) => view.port !== address.port || !sameHost(view.host, address.host));
      if (elsewhere)
        return {
          confirmed: false,
          reason: `the sentinels name ${elsewhere.host}:${elsewhere.port} as the primary, not ${address.host}:${address.port}`,
          stale: true,
        };
      // The sentinels' replicas of this primary must all be in sync with it: one promoted by a
      // failover the answering sentinels have not heard of yet has left it.
      const known = Math.max(...seen.map((view) => view.healthyReplicas));
      if (online < known)
        return {
          confirmed: false,
          reason: `${online} of the ${known} replicas the sentinels know are in sync with this primary`,
        };
      if (acked < online)
        return {
          confirmed: false,
          reason: `${Math.max(acked, 0)} of ${online} replicas in sync have the writes`,
        };
      return { confirmed: true };
    },
    async close() {
      closed = true;
      clearInterval(timer);
      timer = undefined;
      for (const sentinel of sentinels ?? []) sentinel.disconnect();
      sentinels = undefined;
    },
  };
}

/** Whether a sentinel's name for a host is the address a connection reached (IPv4-mapped or not). */
function sameHost(named: string, reached: string): boolean {
  const plain = (h: string) => h.replace(/^::ffff:/, '');
  return plain(named) === plain(reached);
}

/** How long {@link writeDurably} goes on before it gives up confirming. */
export const CONFIRM_DEADLINE_MS = 20_000;

/** The pause between two attempts of {@link writeDurably}. */
const CONFIRM_RETRY_MS = 200;

/**
 * Applies an idempotent write and confirms it ({@link WriteConfirmer}); while it is not confirmed,
 * applies it again (on the new primary once the connection has moved there: see
 * {@link createWriteConfirmer}), until it is or `deadlineMs` has passed. Without a confirmer, or
 * with one for a single node, the write is applied once. `apply` is told which attempt it is (0
 * first). Resolves to every attempt's result, the first one first, and whether the last one was
 * confirmed.
 */
export async function writeDurably<T>(
  confirmer: WriteConfirmer | undefined,
  client: RedisClient,
  key: string,
  apply: (attempt: number) => Promise<T>,
  opts: { deadlineMs?: number; timeoutMs?: number; onRetry?: (reason: string) => void } = {},
): Promise<{ results: T[]; confirmed: boolean }> {
  const results: T[] = [];
  const deadline = Date.now() + (opts.deadlineMs ?? CONFIRM_DEADLINE_MS);
  for (;;) {
    const socket = socketOf(client);
    results.push(await apply(results.length));
    if (!confirmer?.replicated) return { results, confirmed: true };
    const confirmation = await confirmer.confirm(client, key, opts.timeoutMs ?? 500);
    // A connection that moved to a new primary while the write was made may have made part of it on
    // the old one: the new primary's confirmation does not cover that part.
    const reason = !confirmation.confirmed
      ? confirmation.reason
      : socketOf(client) !== socket
        ? 'the connection moved to another node while writing'
        : undefined;
    if (reason === undefined) return { results, confirmed: true };
    if (Date.now() >= deadline) return { results, confirmed: false };
    opts.onRetry?.(reason);
    await new Promise((resolve) => setTimeout(resolve, CONFIRM_RETRY_MS));
  }
}

/**
 * The socket a connection is on now (a new one after every reconnect); none for a Cluster (whose
 * writes are confirmed per node, best effort).
 */
export function socketOf(client: RedisClient): object | undefined {
  return client instanceof Cluster ? undefined : client.stream;
}
