/**
 * Locks: at most one mutating job per environment or DB instance at a time, held as a lease in
 * Redis. The lease is taken when the command is accepted (so a second command is refused at once),
 * renewed while the job runs, released when it ends, and expires by itself if its worker dies.
 */
import { type RedisClient, type WriteConfirmer, writeDurably } from '../redis.js';

/** Who holds a lock. */
export interface LockHolder {
  jobId: string;
  userId: string;
  /** What the holder is doing, e.g. `/env delete prod`. */
  action: string;
  since: number;
}

// Compare-and-set scripts: only the holder renews or releases its lease.
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end`;
// Renews the lease of job ARGV[1] (the holder's JSON is ARGV[2]) for ARGV[3] ms, or takes it back
// if nobody holds it (lost with a primary a failover left, or lapsed with nobody taking it since).
// 1 if held now, 0 when another job holds it.
const RENEW_OR_RETAKE = `
local current = redis.call('GET', KEYS[1])
if not current then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  return 1
end
if cjson.decode(current).jobId ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1`;

/** The outcome of {@link TargetLocks.acquire}. */
export type AcquireResult = { acquired: true } | { acquired: false; holder: LockHolder };

/** Leases on targets (`environment:prod`, `database:orders-db`). */
export class TargetLocks {
  private readonly redis: RedisClient;
  private readonly prefix: string;
  private readonly confirmer: WriteConfirmer | undefined;

  /**
   * @param confirmer for a replicated deployment: a lease is reported taken only once a failover
   *   cannot lose it (see {@link writeDurably}).
   */
  constructor(redis: RedisClient, prefix: string, confirmer?: WriteConfirmer) {
    this.redis = redis;
    this.prefix = prefix;
    this.confirmer = confirmer;
  }

  private key(target: string): string {
    return `${this.prefix}:lock:${target}`;
  }

  /** Takes the lease on `target` for `ttlMs`, unless someone else holds it (the same job may re-take its own). */
  async acquire(target: string, holder: LockHolder, ttlMs: number): Promise<AcquireResult> {
    // Taking it again is harmless (the same job re-takes its own), so it is taken until confirmed;
    // the last attempt's answer is the one the primary keeps.
    const { results } = await writeDurably(this.confirmer, this.redis, this.key(target), () =>
      this.take(target, holder, ttlMs),
    );
    return results.at(-1) as AcquireResult;
  }

  private async take(target: string, holder: LockHolder, ttlMs: number): Promise<AcquireResult> {
    const value = JSON.stringify(holder);
    const set = await this.redis.set(this.key(target), value, 'PX', ttlMs, 'NX');
    if (set === 'OK') return { acquired: true };
    const current = await this.holder(target);
    if (!current) return this.take(target, holder, ttlMs);
    if (current.jobId === holder.jobId) {
      await this.renew(target, current, ttlMs);
      return { acquired: true };
    }
    return { acquired: false, holder: current };
  }

  /**
   * Extends the lease, or takes it back when nobody holds it (a failover can drop a lease written
   * on the old primary); false when another job holds it now.
   */
  async renew(target: string, holder: LockHolder, ttlMs: number): Promise<boolean> {
    const renewed = await this.redis.eval(
      RENEW_OR_RETAKE,
      1,
      this.key(target),
      holder.jobId,
      JSON.stringify(holder),
      String(ttlMs),
    );
    return renewed === 1;
  }

  /** Releases the lease if `jobId` holds it. */
  async release(target: string, jobId: string): Promise<boolean> {
    const current = await this.redis.get(this.key(target));
    if (!current || (JSON.parse(current) as LockHolder).jobId !== jobId) return false;
    return (await this.redis.eval(RELEASE, 1, this.key(target), current)) === 1;
  }

  /** Who holds `target`, if anyone. */
  async holder(target: string): Promise<LockHolder | undefined> {
    const current = await this.redis.get(this.key(target));
    return current ? (JSON.parse(current) as LockHolder) : undefined;
  }
}
