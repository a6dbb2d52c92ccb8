/**
 * Who put which instance in Standby, when and why: kept in Redis, one hash per group, under the
 * app's key prefix (one hash tag, so a Redis Cluster keeps it in one slot). The group itself carries
 * one summary tag (`capstan:standby`), whatever the number of instances: Auto Scaling allows 50 tags
 * per group (https://docs.aws.amazon.com/autoscaling/ec2/userguide/ec2-auto-scaling-tagging.html),
 * which one tag per instance would exhaust.
 *
 *   `${prefix}:standby:<region>:<group>`  hash: instance id → `<user>|<iso time>|<reason>`
 */
import { type RedisClient, type WriteConfirmer, writeDurably } from '../redis.js';

/** One instance's standby record. */
export interface StandbyRecord {
  user: string;
  since: string;
  reason: string;
}

/** Parses the `<user>|<iso time>|<reason>` form (the reason may hold `|`). */
export function parseStandbyNote(value: string): StandbyRecord {
  const [user = '', since = '', ...reason] = value.split('|');
  return { user, since, reason: reason.join('|') };
}

/** Standby records in Redis. */
export class StandbyRecords {
  /** @param confirmer for a replicated deployment: each write is confirmed (see {@link writeDurably}). */
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    private readonly confirmer?: WriteConfirmer,
  ) {}

  private key(region: string, group: string): string {
    return `${this.prefix}:standby:${region}:${group}`;
  }

  /** Every record of `group`, by instance id. */
  async read(region: string, group: string): Promise<Map<string, StandbyRecord>> {
    const all = await this.redis.hgetall(this.key(region, group));
    return new Map(Object.entries(all).map(([id, value]) => [id, parseStandbyNote(value)]));
  }

  /** Records notes (`<user>|<iso time>|<reason>`) by instance id, replacing earlier ones. */
  async record(region: string, group: string, notes: Record<string, string>): Promise<void> {
    if (Object.keys(notes).length === 0) return;
    const key = this.key(region, group);
    await writeDurably(this.confirmer, this.redis, key, () => this.redis.hset(key, notes));
  }

  /** Forgets the records of `ids`. */
  async forget(region: string, group: string, ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    const key = this.key(region, group);
    await writeDurably(this.confirmer, this.redis, key, () => this.redis.hdel(key, ...ids));
  }
}

/** The standby records in `deps`' Redis, under its key prefix. */
export function standbyRecordsOf(deps: {
  redis: RedisClient;
  config: { queuePrefix: string };
  confirmer?: WriteConfirmer | undefined;
}): StandbyRecords {
  return new StandbyRecords(deps.redis, deps.config.queuePrefix, deps.confirmer);
}
