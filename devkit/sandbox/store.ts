/**
 * The world in Redis: one JSON document at `${prefix}:sandbox:world`, `{"rev":N,"world":{…}}`,
 * shared by every process (web, workers, tests) and surviving any of them being killed.
 *
 * Every call is one optimistic transaction: load → change → save only if nobody saved in
 * between, else start again from a fresh load. The check-and-set is a tiny Lua script comparing
 * the revision rather than WATCH/MULTI/EXEC: WATCH belongs to a connection, and the connection
 * given to the sandbox is shared (concurrent calls in one process, and other parts of Capstan
 * using MULTI on it would silently cancel or split each other's WATCH). The script gives the
 * same guarantee per call, on any connection, with no extra connection to manage.
 */
import { randomBytes } from 'node:crypto';
import type { RedisClient } from '../../src/redis.js';
import { emptyWorld, type World } from './world.js';

const CHECK_AND_SET = `
local cur = redis.call('GET', KEYS[1])
local rev = 0
if cur then rev = tonumber(string.match(cur, '^{"rev":(%d+),')) or -1 end
if rev ~= tonumber(ARGV[1]) then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
return 1`;

const HEAD = '{"rev":';
const MAX_ATTEMPTS = 200;

/** Thrown when a transaction keeps losing races (should not happen outside a pathological load). */
export class SandboxContentionError extends Error {
  constructor(key: string) {
    super(`AWS sandbox: could not update ${key} after ${MAX_ATTEMPTS} attempts (contention)`);
    this.name = 'SandboxContentionError';
  }
}

interface Loaded {
  rev: number;
  world: World;
  /** The world as stored, to tell whether a transaction changed it. */
  text: string | undefined;
}

function parse(raw: string | null): Loaded {
  if (raw === null) return { rev: 0, world: emptyWorld(randomBytes(6).toString('hex')), text: undefined };
  const doc = JSON.parse(raw) as { rev: number; world: Partial<World> };
  const text = raw.slice(raw.indexOf(',"world":') + ',"world":'.length, -1);
  // Fields added after a document was written get their defaults.
  const world = { ...emptyWorld(doc.world.salt ?? 'sandbox'), ...doc.world } as World;
  return { rev: doc.rev, world, text };
}

export class WorldStore {
  readonly key: string;
  private readonly redis: RedisClient;

  constructor(redis: RedisClient, prefix: string) {
    this.redis = redis;
    this.key = `${prefix}:sandbox:world`;
  }

  /** The stored world (not advanced). */
  async read(): Promise<World> {
    return parse(await this.redis.get(this.key)).world;
  }

  /**
   * Runs `fn` on the current world and saves what it changed, atomically with respect to every
   * other process; `fn` may run several times (it must be a pure function of the world it gets).
   * If `fn` throws, nothing is saved.
   */
  async transact<R>(fn: (world: World) => R): Promise<R> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const loaded = parse(await this.redis.get(this.key));
      const result = fn(loaded.world);
      const text = JSON.stringify(loaded.world);
      if (text === loaded.text) return result;
      const doc = `${HEAD}${loaded.rev + 1},"world":${text}}`;
      const ok = await this.redis.eval(CHECK_AND_SET, 1, this.key, String(loaded.rev), doc);
      if (ok === 1) return result;
      if (attempt >= 2) await new Promise((r) => setTimeout(r, Math.random() * Math.min(50, 2 * attempt)));
    }
    throw new SandboxContentionError(this.key);
  }

  async clear(): Promise<void> {
    await this.redis.del(this.key);
  }
}
