/**
 * Which blueprint each environment Capstan made was built from, kept in Redis (one hash under the
 * app's key prefix) so the web process — which never calls AWS — can apply a protected blueprint's
 * rules to the environments made from it: an update or a deletion of one waits for an approver.
 *
 *   `${prefix}:env-blueprints`  hash: environment name → blueprint name
 *   `${prefix}:env-warned`      hash: stack environment name → the expiry its owner was warned about
 *                               (a group keeps this in a tag; a stack's tags change only by a stack update)
 *   `${prefix}:env-activity`    hash: environment name → the last Auto Scaling activity AWS notified
 *                               (an instance launched or terminated), as JSON { at, text }
 */
import { type RedisClient, type WriteConfirmer, writeDurably } from '../redis.js';

/** An Auto Scaling activity AWS notified (SNS), as `/env status` shows it. */
export interface EnvironmentActivity {
  at: number;
  text: string;
}

/** The environments' blueprints. */
export class EnvironmentRegistry {
  /** @param confirmer for a replicated deployment: each write is confirmed (see {@link writeDurably}). */
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    private readonly confirmer?: WriteConfirmer,
  ) {}

  private get key(): string {
    return `${this.prefix}:env-blueprints`;
  }

  /** Records that environment `name` is made from `blueprint` (before anything is created). */
  async record(name: string, blueprint: string): Promise<void> {
    await writeDurably(this.confirmer, this.redis, this.key, () =>
      this.redis.hset(this.key, name, blueprint),
    );
  }

  /** The blueprint environment `name` was made from, if Capstan made it. */
  async blueprintOf(name: string): Promise<string | undefined> {
    return (await this.redis.hget(this.key, name)) ?? undefined;
  }

  /** The expiry the owner of stack environment `name` was last warned about. */
  async warnedAbout(name: string): Promise<string | undefined> {
    return (await this.redis.hget(`${this.prefix}:env-warned`, name)) ?? undefined;
  }

  /** Records that the owner of stack environment `name` was warned about expiry `expiresAt`. */
  async markWarned(name: string, expiresAt: string): Promise<void> {
    const key = `${this.prefix}:env-warned`;
    await writeDurably(this.confirmer, this.redis, key, () => this.redis.hset(key, name, expiresAt));
  }

  /** Records the latest Auto Scaling activity AWS notified for environment `name` (an older one is ignored). */
  async recordActivity(name: string, activity: EnvironmentActivity): Promise<void> {
    const before = await this.lastActivity(name);
    if (before && before.at > activity.at) return;
    await this.redis.hset(`${this.prefix}:env-activity`, name, JSON.stringify(activity));
  }

  /** The latest Auto Scaling activity AWS notified for environment `name`, if any. */
  async lastActivity(name: string): Promise<EnvironmentActivity | undefined> {
    const raw = await this.redis.hget(`${this.prefix}:env-activity`, name);
    if (!raw) return undefined;
    try {
      const parsed = JSON.parse(raw) as Partial<EnvironmentActivity>;
      return typeof parsed.at === 'number' && typeof parsed.text === 'string'
        ? { at: parsed.at, text: parsed.text }
        : undefined;
    } catch {
      return undefined;
    }
  }

  /** Forgets environment `name` (it is deleted). */
  async forget(name: string): Promise<void> {
    await writeDurably(this.confirmer, this.redis, this.key, async () => {
      await this.redis.hdel(this.key, name);
      await this.redis.hdel(`${this.prefix}:env-warned`, name);
      await this.redis.hdel(`${this.prefix}:env-activity`, name);
    });
  }
}

/** The registry in `deps`' Redis, under its key prefix. */
export function environmentRegistryOf(deps: {
  redis: RedisClient;
  config: { queuePrefix: string };
  confirmer?: WriteConfirmer | undefined;
}): EnvironmentRegistry {
  return new EnvironmentRegistry(deps.redis, deps.config.queuePrefix, deps.confirmer);
}
