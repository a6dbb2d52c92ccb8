/**
 * Locks: at most one mutating job per environment or DB instance at a time, held as a lease in
 * Redis. The lease is taken when the command is accepted (so a second command is refused at once),
 * renewed while the job runs, released when it ends, and expires by itself if its worker dies.
 */
import type { RedisClient } from '../redis.js';

/** Who holds a lock. */
export interface LockHolder {
  jobId: string;
  userId: string;
  /** What the holder is doing, e.g. `/env delete prod`. */
  action: string;
  since: number;
}

// Compare-and-set scripts: only the holder renews or releases its lease.
const RENEW = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end`;
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end`;

/** The outcome of {@link TargetLocks.acquire}. */
export type AcquireResult = { acquired: true } | { acquired: false; holder: LockHolder };

/** Leases on targets (`environment:prod`, `database:orders-db`). */
export class TargetLocks {
  private readonly redis: RedisClient;
  private readonly prefix: string;

  constructor(redis: RedisClient, prefix: string) {
    this.redis = redis;
    this.prefix = prefix;
  }

  private key(target: string): string {
    return `${this.prefix}:lock:${target}`;
  }

  /** Takes the lease on `target` for `ttlMs`, unless someone else holds it (the same job may re-take its own). */
  async acquire(target: string, holder: LockHolder, ttlMs: number): Promise<AcquireResult> {
    const value = JSON.stringify(holder);
    const set = await this.redis.set(this.key(target), value, 'PX', ttlMs, 'NX');
    if (set === 'OK') return { acquired: true };
    const current = await this.holder(target);
    if (!current) return this.acquire(target, holder, ttlMs);
    if (current.jobId === holder.jobId) {
      await this.renew(target, current, ttlMs);
      return { acquired: true };
    }
    return { acquired: false, holder: current };
  }

  /** Extends the lease; false when it was lost (expired and maybe taken by another job). */
  async renew(target: string, holder: LockHolder, ttlMs: number): Promise<boolean> {
    const current = await this.redis.get(this.key(target));
    if (!current) return false;
    const renewed = await this.redis.eval(RENEW, 1, this.key(target), current, String(ttlMs));
    return renewed === 1 && (JSON.parse(current) as LockHolder).jobId === holder.jobId;
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
