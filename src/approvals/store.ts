/**
 * Approval requests in Redis. A request names the action, the target, the requester, the reason and
 * the plan. Decisions are atomic (one Lua script): only a pending, unexpired request can be decided;
 * the requester never counts; each approver counts once; the click that reaches the quorum — or the
 * first rejection — closes it, so two approvers clicking at the same moment start one job.
 *
 *   `${prefix}:approval:<id>`        hash: subject, status, expiresAt, requester, quorum, message, progress …
 *   `${prefix}:approval:<id>:votes`  sorted set: approver → when
 *   `${prefix}:approvals:open`       sorted set: id of each pending request → its expiry (for Home tabs)
 */

import type { Command } from '../commands/index.js';
import type { JobName, JobRequest } from '../queue/contract.js';
import { type RedisClient, type WriteConfirmer, writeDurably } from '../redis.js';

/** The state of a request. */
export type ApprovalStatus = 'pending' | 'approved' | 'rejected' | 'expired';

/** What the request asks for (fixed when it is created). */
export interface ApprovalSubject {
  id: string;
  /** The job that runs once approved. */
  jobName: JobName;
  command: Command;
  request: JobRequest;
  /** `environment prod`. */
  target: string;
  reason?: string;
  /** What exactly will change, one line per change. */
  plan: string[];
  /** The role whose members may decide, and how many distinct approvals are needed. */
  role: string;
  quorum: number;
  /** The policy rule that asked for approval. */
  rule: string;
  createdAt: number;
  expiresAt: number;
}

/** A request with its current state. */
export interface ApprovalRecord extends ApprovalSubject {
  status: ApprovalStatus;
  approvals: Array<{ userId: string; at: number }>;
  decidedBy?: string;
  decidedAt?: number;
  /** Where the request message is. */
  message?: { channel: string; ts: string };
  /** The requester's progress message, which says "waiting for approval …" until the request closes. */
  progress?: { channel: string; ts: string };
}

/** What a click did. */
export type DecideOutcome =
  | { outcome: 'approved'; count: number }
  | { outcome: 'recorded'; count: number }
  | { outcome: 'rejected' }
  | { outcome: 'expired' }
  | { outcome: 'self' }
  | { outcome: 'already'; count: number }
  | { outcome: 'closed'; status: ApprovalStatus; decidedBy?: string }
  | { outcome: 'missing' };

// KEYS: the request, its votes, the index of open requests. ARGV: user, decision, now, id.
const DECIDE = `
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('ZREM', KEYS[3], ARGV[4])
  return {'missing'}
end
local status = redis.call('HGET', KEYS[1], 'status')
if status ~= 'pending' then
  redis.call('ZREM', KEYS[3], ARGV[4])
  return {'closed', status, redis.call('HGET', KEYS[1], 'decidedBy') or ''}
end
if tonumber(ARGV[3]) > tonumber(redis.call('HGET', KEYS[1], 'expiresAt')) then
  redis.call('HSET', KEYS[1], 'status', 'expired', 'decidedAt', ARGV[3])
  redis.call('ZREM', KEYS[3], ARGV[4])
  return {'expired'}
end
if redis.call('HGET', KEYS[1], 'requester') == ARGV[1] then return {'self'} end
if ARGV[2] == 'reject' then
  redis.call('HSET', KEYS[1], 'status', 'rejected', 'decidedBy', ARGV[1], 'decidedAt', ARGV[3])
  redis.call('ZREM', KEYS[3], ARGV[4])
  return {'rejected'}
end
if redis.call('ZSCORE', KEYS[2], ARGV[1]) then return {'already', tostring(redis.call('ZCARD', KEYS[2]))} end
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
local count = redis.call('ZCARD', KEYS[2])
if count >= tonumber(redis.call('HGET', KEYS[1], 'quorum')) then
  redis.call('HSET', KEYS[1], 'status', 'approved', 'decidedBy', ARGV[1], 'decidedAt', ARGV[3])
  redis.call('ZREM', KEYS[3], ARGV[4])
  return {'approved', tostring(count)}
end
return {'recorded', tostring(count)}
`;

// KEYS: the request, the index of open requests. ARGV: now, id.
const EXPIRE = `
if redis.call('HGET', KEYS[1], 'status') ~= 'pending' then
  redis.call('ZREM', KEYS[2], ARGV[2])
  return 0
end
if tonumber(ARGV[1]) < tonumber(redis.call('HGET', KEYS[1], 'expiresAt')) then return 0 end
redis.call('HSET', KEYS[1], 'status', 'expired', 'decidedAt', ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[2])
return 1
`;

// KEYS: the request. ARGV: field, value.
const SET_FIELD = `
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end
`;

/** Requests are kept this long after they expire, for `/ops audit` and people reading old threads. */
const RETAIN_MS = 30 * 24 * 60 * 60 * 1000;

/** Stores and decides approval requests. */
export class ApprovalStore {
  private readonly redis: RedisClient;
  private readonly prefix: string;
  private readonly confirmer: WriteConfirmer | undefined;

  /**
   * @param confirmer for a replicated deployment: a decision is reported only once a failover
   *   cannot lose it (a decision shown in Slack and lost in Redis would be asked again, or never run)
   */
  constructor(redis: RedisClient, prefix: string, confirmer?: WriteConfirmer) {
    this.redis = redis;
    this.prefix = prefix;
    this.confirmer = confirmer;
  }

  private keys(id: string): [string, string] {
    const key = `${this.prefix}:approval:${id}`;
    return [key, `${key}:votes`];
  }

  /** The ids of pending requests, scored by expiry: what the Home tab's "Waiting for me" reads. */
  private get openKey(): string {
    return `${this.prefix}:approvals:open`;
  }

  /**
   * Applies an idempotent write; with a confirmer, makes it again until a failover cannot lose it
   * (see {@link writeDurably}). Resolves to every attempt's result, the first one first.
   */
  private async durably<T>(key: string, write: () => Promise<T>): Promise<T[]> {
    return (await writeDurably(this.confirmer, this.redis, key, write)).results;
  }

  /** Creates the request unless one with this id exists (a retried job); returns the stored one. */
  async create(subject: ApprovalSubject): Promise<ApprovalRecord> {
    const [key, votes] = this.keys(subject.id);
    const ttl = subject.expiresAt - Date.now() + RETAIN_MS;
    await this.durably(key, async () => {
      const created = await this.redis.hsetnx(key, 'subject', JSON.stringify(subject));
      if (created !== 1) return;
      await this.redis
        .multi()
        .hset(
          key,
          'status',
          'pending',
          'expiresAt',
          String(subject.expiresAt),
          'requester',
          subject.request.userId,
          'quorum',
          String(subject.quorum),
        )
        .pexpire(key, ttl)
        .pexpire(votes, ttl)
        .zadd(this.openKey, String(subject.expiresAt), subject.id)
        .exec();
    });
    const record = await this.get(subject.id);
    if (!record) throw new Error(`approval ${subject.id} vanished right after it was created`);
    return record;
  }

  /** Records where the request message is. */
  async setMessage(id: string, message: { channel: string; ts: string }): Promise<void> {
    await this.setField(id, 'message', JSON.stringify(message));
  }

  /** Records where the requester's progress message (the one waiting on this request) is. */
  async setProgress(id: string, progress: { channel: string; ts: string }): Promise<void> {
    await this.setField(id, 'progress', JSON.stringify(progress));
  }

  /** Sets a field of an existing request (never makes a request of one field). */
  private async setField(id: string, field: string, value: string): Promise<void> {
    const key = this.keys(id)[0];
    await this.durably(key, () => this.redis.eval(SET_FIELD, 1, key, field, value));
  }

  /** The request and its state, if it exists. */
  async get(id: string): Promise<ApprovalRecord | undefined> {
    const [key, votesKey] = this.keys(id);
    const [fields, votes] = await Promise.all([
      this.redis.hgetall(key),
      this.redis.zrange(votesKey, '0', '-1', 'WITHSCORES'),
    ]);
    if (!fields.subject) return undefined;
    const approvals: ApprovalRecord['approvals'] = [];
    for (let i = 0; i + 1 < votes.length; i += 2)
      approvals.push({ userId: votes[i] as string, at: Number(votes[i + 1]) });
    return {
      ...(JSON.parse(fields.subject) as ApprovalSubject),
      status: (fields.status as ApprovalStatus | undefined) ?? 'pending',
      approvals,
      ...(fields.decidedBy ? { decidedBy: fields.decidedBy } : {}),
      ...(fields.decidedAt ? { decidedAt: Number(fields.decidedAt) } : {}),
      ...(fields.message ? { message: JSON.parse(fields.message) as { channel: string; ts: string } } : {}),
      ...(fields.progress
        ? { progress: JSON.parse(fields.progress) as { channel: string; ts: string } }
        : {}),
    };
  }

  /** Applies one click atomically. Eligibility (the approver's role) is checked by the caller first. */
  async decide(
    id: string,
    userId: string,
    decision: 'approve' | 'reject',
    now = Date.now(),
  ): Promise<DecideOutcome> {
    // Made again until confirmed: a repeat finds this very decision (closed by this user, or this
    // vote counted) and reports the first answer; any other answer is what Redis now holds.
    const results = await this.durably(this.keys(id)[0], () => this.decideOnce(id, userId, decision, now));
    const [first, ...repeats] = results as [DecideOutcome, ...DecideOutcome[]];
    const last = repeats.at(-1);
    if (!last) return first;
    const sameDecision =
      last.outcome === 'already' ||
      (last.outcome === 'closed' &&
        last.decidedBy === userId &&
        last.status === (decision === 'approve' ? 'approved' : 'rejected'));
    return sameDecision ? first : last;
  }

  private async decideOnce(
    id: string,
    userId: string,
    decision: 'approve' | 'reject',
    now: number,
  ): Promise<DecideOutcome> {
    const result = (await this.redis.eval(
      DECIDE,
      3,
      ...this.keys(id),
      this.openKey,
      userId,
      decision,
      String(now),
      id,
    )) as string[];
    const [outcome, a, b] = result;
    switch (outcome) {
      case 'approved':
      case 'recorded':
      case 'already':
        return { outcome, count: Number(a) };
      case 'closed':
        return { outcome, status: a as ApprovalStatus, ...(b ? { decidedBy: b } : {}) };
      case 'rejected':
      case 'expired':
      case 'self':
      case 'missing':
        return { outcome };
      default:
        throw new Error(`unexpected answer from the approval script: ${String(outcome)}`);
    }
  }

  /** Marks a pending request expired once its time is up; true when this call expired it. */
  async expire(id: string, now = Date.now()): Promise<boolean> {
    return (await this.redis.eval(EXPIRE, 2, this.keys(id)[0], this.openKey, String(now), id)) === 1;
  }

  /**
   * The pending requests that have not expired, soonest expiry first (at most `limit`). Ids whose
   * request closed or vanished without passing through {@link decide} or {@link expire} leave the
   * index here.
   */
  async listOpen(now = Date.now(), limit = 200): Promise<ApprovalRecord[]> {
    // Requests past their expiry stay until their timer job closes them; they are not open. One
    // whose timer never ran (a day late) leaves the index.
    await this.redis.zremrangebyscore(this.openKey, '-inf', String(now - 24 * 60 * 60 * 1000));
    const ids = await this.redis.zrangebyscore(this.openKey, String(now), '+inf', 'LIMIT', 0, limit);
    const records = await Promise.all(ids.map((id) => this.get(id)));
    const stale = ids.filter((_, i) => records[i]?.status !== 'pending');
    if (stale.length > 0) await this.redis.zrem(this.openKey, ...stale);
    return records.filter((r): r is ApprovalRecord => r?.status === 'pending');
  }
}
