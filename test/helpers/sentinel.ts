/** Talking to a Sentinel set's sentinels in tests. */
import { readRedisConfig } from '../../src/config.js';
import { createRedis } from '../../src/redis.js';
import type { RedisSentinelService } from './services.js';

/** A `SENTINEL …` command to the first sentinel of `set` that answers. */
export async function sentinelCall(set: RedisSentinelService, ...args: string[]): Promise<unknown> {
  for (const port of set.sentinelPorts) {
    const c = createRedis(readRedisConfig({ REDIS_URL: `redis://127.0.0.1:${port}` }));
    try {
      return await c.call('SENTINEL', ...args);
    } catch {
      // the next one
    } finally {
      c.disconnect();
    }
  }
  throw new Error('no sentinel answered');
}
