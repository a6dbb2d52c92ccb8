/**
 * Alert state in Redis, under the app's key prefix (one hash tag, so a Redis Cluster keeps it in
 * one slot), surviving restarts. Every change is a compare-and-set on the alert's version (one Lua
 * script), so two workers evaluating the same alert at once apply their steps one after the other,
 * and only one of them ever holds the claim to post its message.
 *
 *   `${prefix}:alert:<id>`  hash: v (version), doc (the AlertState as JSON), synced (the version
 *                           whose rendering the Slack message shows)
 *   `${prefix}:alerts`      set of alert ids
 *   `${prefix}:alerts:seq`  version counter (versions never repeat, even across delete and re-create)
 */

import type { AlertState } from '../domain/alerts/state.js';
import { type RedisClient, type WriteConfirmer, writeDurably } from '../redis.js';

/** An alert as stored: its state, its version, and the version its message shows. */
export interface StoredAlert {
  state: AlertState;
  version: number;
  syncedVersion: number;
}

/** What a change function returns: the next state (undefined: delete), or `'unchanged'`. */
export type Change<T> = { next: AlertState | undefined | 'unchanged'; result: T };

/** The outcome of {@link AlertStore.update}. */
export interface Updated<T> {
  /** The stored alert after the change (undefined when there is none). */
  stored: StoredAlert | undefined;
  /** The state the change function saw last. */
  before: AlertState | undefined;
  result: T;
  written: boolean;
}

// KEYS: alert hash, index set, version counter. ARGV: expected version ('0': absent), new doc ('':
// delete), id, ttl ms ('0': keep), '1' when this change was made before (a write made again until
// confirmed: finding it there already, it answers as if it had made it now).
const CAS = `
local v = redis.call('HGET', KEYS[1], 'v') or '0'
if v ~= ARGV[1] then
  if ARGV[5] == '1' then
    if ARGV[2] == '' and v == '0' then return 0 end
    if ARGV[2] ~= '' and redis.call('HGET', KEYS[1], 'doc') == ARGV[2] then return tonumber(v) end
  end
  return -1
end
if ARGV[2] == '' then
  redis.call('DEL', KEYS[1])
  redis.call('SREM', KEYS[2], ARGV[3])
  return 0
end
local nv = redis.call('INCR', KEYS[3])
redis.call('HSET', KEYS[1], 'v', nv, 'doc', ARGV[2])
redis.call('SADD', KEYS[2], ARGV[3])
if tonumber(ARGV[4]) > 0 then redis.call('PEXPIRE', KEYS[1], ARGV[4]) else redis.call('PERSIST', KEYS[1]) end
return nv
`;

const MARK_SYNCED = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local s = tonumber(redis.call('HGET', KEYS[1], 'synced') or '0')
if tonumber(ARGV[1]) <= s then return 0 end
redis.call('HSET', KEYS[1], 'synced', ARGV[1])
return 1
`;

/** Resolved alerts are kept this long (for buttons on old messages, and re-opening a snoozed one). */
const RETAIN_RESOLVED_MS = 7 * 24 * 60 * 60 * 1000;

/** How many times a change is retried when another writer got there first. */
const MAX_ATTEMPTS = 100;

/** Alert state in Redis. */
export class AlertStore {
  private readonly redis: RedisClient;
  private readonly prefix: string;
  private readonly retainResolvedMs: number;
  private readonly confirmer: WriteConfirmer | undefined;

  /**
   * @param opts.confirmer for a replicated deployment: a change is reported written only once a
   *   failover cannot lose it (a lost one would post a second message for the same problem, or
   *   forget who acknowledged it).
   */
  constructor(
    redis: RedisClient,
    prefix: string,
    opts: { retainResolvedMs?: number; confirmer?: WriteConfirmer } = {},
  ) {
    this.redis = redis;
    this.prefix = prefix;
    this.retainResolvedMs = opts.retainResolvedMs ?? RETAIN_RESOLVED_MS;
    this.confirmer = opts.confirmer;
  }

  private keyOf(id: string): string {
    return `${this.prefix}:alert:${id}`;
  }

  private get indexKey(): string {
    return `${this.prefix}:alerts`;
  }

  /** The alert `id`, if there is one. */
  async get(id: string): Promise<StoredAlert | undefined> {
    return parse(await this.redis.hgetall(this.keyOf(id)));
  }

  /** Every alert (resolved ones too, while they are kept), by id. */
  async list(): Promise<StoredAlert[]> {
    const ids = await this.redis.smembers(this.indexKey);
    if (ids.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const id of ids) pipeline.hgetall(this.keyOf(id));
    const replies = (await pipeline.exec()) ?? [];
    const found: StoredAlert[] = [];
    const expired: string[] = [];
    replies.forEach(([err, hash], i) => {
      if (err) throw err;
      const stored = parse(hash as Record<string, string>);
      if (stored) found.push(stored);
      else expired.push(ids[i] as string);
    });
    // Resolved alerts expire on their own; their ids leave the index here.
    if (expired.length > 0) await this.redis.srem(this.indexKey, ...expired);
    return found;
  }

  /**
   * Applies `change` to the alert atomically: reads it, computes the next state, and writes it only
   * if nobody wrote in between — otherwise reads again and recomputes. `change` must be pure.
   */
  async update<T>(id: string, change: (current: AlertState | undefined) => Change<T>): Promise<Updated<T>> {
    const key = this.keyOf(id);
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const current = parse(await this.redis.hgetall(key));
      const { next, result } = change(current?.state);
      if (next === 'unchanged') return { stored: current, before: current?.state, result, written: false };
      const ttl = next?.phase === 'resolved' ? this.retainResolvedMs : 0;
      // Made again until confirmed; a repeat (attempt > 0) finds its own document and answers as its writer.
      const { results } = await writeDurably(
        this.confirmer,
        this.redis,
        key,
        async (attempt) =>
          (await this.redis.eval(
            CAS,
            3,
            key,
            this.indexKey,
            `${this.prefix}:alerts:seq`,
            String(current?.version ?? 0),
            next ? JSON.stringify(next) : '',
            id,
            String(ttl),
            attempt > 0 ? '1' : '0',
          )) as number,
      );
      const written = results.at(-1) as number;
      if (written >= 0) {
        const stored = next
          ? { state: next, version: written, syncedVersion: current?.syncedVersion ?? 0 }
          : undefined;
        return { stored, before: current?.state, result, written: true };
      }
      // Someone else wrote first: back off a little (more each time) and recompute from their state.
      await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(50, 2 + attempt * 2)));
    }
    throw new Error(`alert ${id}: too much contention, gave up after ${MAX_ATTEMPTS} attempts`);
  }

  /** Records that the alert's message shows version `version` (or later). */
  async markSynced(id: string, version: number): Promise<void> {
    const key = this.keyOf(id);
    await writeDurably(this.confirmer, this.redis, key, () =>
      this.redis.eval(MARK_SYNCED, 1, key, String(version)),
    );
  }

  /**
   * True when check `check` is due: at most once per `intervalMs` across every worker (the first
   * caller in an interval gets true).
   */
  async claimCheckRun(check: string, intervalMs: number): Promise<boolean> {
    const set = await this.redis.set(
      `${this.prefix}:alerts:ran:${check}`,
      String(Date.now()),
      'PX',
      Math.max(1, Math.floor(intervalMs)),
      'NX',
    );
    return set === 'OK';
  }
}

function parse(hash: Record<string, string> | null | undefined): StoredAlert | undefined {
  if (!hash?.doc || !hash.v) return undefined;
  return {
    state: JSON.parse(hash.doc) as AlertState,
    version: Number(hash.v),
    syncedVersion: Number(hash.synced ?? 0),
  };
}
