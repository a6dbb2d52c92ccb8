/** Redis connections for BullMQ, approvals, locks and audit. */
import { Redis, type RedisOptions } from 'ioredis';

/**
 * A Redis connection. `forWorker` sets `maxRetriesPerRequest: null`, as BullMQ requires for
 * workers' blocking connections (https://docs.bullmq.io/guide/going-to-production).
 */
export function createRedis(
  url: string,
  opts: { forWorker?: boolean; name?: string; autoPipelining?: boolean } = {},
): Redis {
  const options: RedisOptions = {
    // Commands issued in the same tick by concurrent requests share one write to the socket.
    enableAutoPipelining: opts.autoPipelining ?? false,
    lazyConnect: false,
    enableReadyCheck: true,
    connectionName: opts.name ?? 'capstan',
    ...(opts.forWorker ? { maxRetriesPerRequest: null } : { maxRetriesPerRequest: 3 }),
    retryStrategy: (times) => Math.min(times * 200, 5_000),
  };
  return new Redis(url, options);
}
