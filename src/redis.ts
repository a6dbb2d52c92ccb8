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
import { Cluster, type ClusterOptions, Redis, type RedisOptions } from 'ioredis';
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

/** Back-off between reconnection attempts: quick at first, at most 2 s (failovers take seconds). */
function retryDelay(times: number): number {
  return Math.min(times * 100, 2_000);
}

/** Opens a connection (it connects at once, and reconnects on its own). */
export function createRedis(config: RedisConfig, opts: RedisConnectionOptions = {}): RedisClient {
  const tls = config.tls
    ? {
        ...(config.tls.ca ? { ca: config.tls.ca } : {}),
        ...(config.tls.servername ? { servername: config.tls.servername } : {}),
      }
    : undefined;
  const common: RedisOptions = {
    enableAutoPipelining: opts.autoPipelining ?? false,
    enableReadyCheck: true,
    connectionName: opts.name ?? 'capstan',
    maxRetriesPerRequest: opts.forWorker ? null : 3,
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
    return new Redis({
      ...common,
      sentinels: config.nodes.map(({ host, port }) => ({ host, port })),
      name: config.sentinelName ?? 'mymaster',
      role: 'master',
      db: config.db,
      ...(config.sentinelUsername ? { sentinelUsername: config.sentinelUsername } : {}),
      ...(config.sentinelPassword ? { sentinelPassword: config.sentinelPassword } : {}),
      ...(tls ? { enableTLSForSentinelMode: true, sentinelTLS: tls } : {}),
      // Subscribes to the sentinels' +switch-master: a failover is followed as soon as it is decided.
      failoverDetector: true,
      retryStrategy: retryDelay,
      sentinelRetryStrategy: retryDelay,
    });
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
  return client instanceof Cluster ? client.duplicate() : client.duplicate();
}
