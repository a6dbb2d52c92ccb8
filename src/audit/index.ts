/**
 * The audit log: every command received with its authorization decision, every approval decision
 * and every job outcome, appended to a Redis stream (never trimmed) and logged as structured JSON.
 */

import type { Logger } from 'pino';
import { type RedisClient, type WriteConfirmer, writeDurably } from '../redis.js';

/** What happened. */
export type AuditKind = 'command' | 'approval' | 'job' | 'cancel' | 'alert';

/** One audit entry, as appended. */
export interface AuditEntry {
  kind: AuditKind;
  /** The Slack user who acted (or `capstan` for Capstan's own actions). */
  actor: string;
  /** What was acted on, e.g. `environment prod` or a job id. */
  subject: string;
  /** The decision or outcome, e.g. `allowed`, `denied`, `usage error`, `approved`, `done`, `failed`. */
  outcome: string;
  /** Anything else worth keeping (command text, rule, reason, job id). */
  detail?: Record<string, string | number | boolean | undefined>;
}

/** An entry read back, with its stream id and time. */
export interface StoredAuditEntry extends AuditEntry {
  id: string;
  at: Date;
}

// KEYS: the once-marker, the stream. ARGV: the marker's lifetime in seconds, then the entry's fields.
const APPEND_ONCE = `
if redis.call('SET', KEYS[1], '1', 'EX', ARGV[1], 'NX') then
  redis.call('XADD', KEYS[2], '*', unpack(ARGV, 2))
  return 1
end
return 0
`;

/** How long {@link AuditLog.appendOnce} remembers an entry it appended. */
const ONCE_TTL_SECONDS = 24 * 60 * 60;

/** Appends to and reads the audit stream. */
export class AuditLog {
  readonly key: string;
  private readonly redis: RedisClient;
  private readonly logger: Logger;

  private readonly confirmer: WriteConfirmer | undefined;

  /**
   * @param confirmer for a replicated deployment: {@link appendOnce} entries are confirmed, so a
   *   failover does not lose them
   */
  constructor(redis: RedisClient, prefix: string, logger: Logger, confirmer?: WriteConfirmer) {
    this.redis = redis;
    this.key = `${prefix}:audit`;
    this.logger = logger.child({ component: 'audit' });
    this.confirmer = confirmer;
  }

  /** Appends an entry now. */
  async append(entry: AuditEntry): Promise<void> {
    const { stream, fields } = this.record(entry);
    await this.redis.xadd(stream, '*', ...fields);
  }

  /**
   * Appends an entry once per `onceId` (kept for 24 h), however often this is called, and — in a
   * replicated deployment — resolves once a failover cannot lose it (written again until then; the
   * marker makes a repeat that finds the first one add nothing). For the entries that say how
   * something ended (a job's outcome), which nothing else would record again.
   */
  async appendOnce(entry: AuditEntry, onceId: string): Promise<void> {
    const { stream, fields } = this.record(entry);
    const marker = `${this.key}:once:${onceId}`;
    const write = () => this.redis.eval(APPEND_ONCE, 2, marker, stream, String(ONCE_TTL_SECONDS), ...fields);
    await writeDurably(this.confirmer, this.redis, marker, write);
  }

  /**
   * The stream and fields of an entry, logged now, for a caller that writes it together with what
   * it records (one round trip on the path that must answer Slack quickly).
   */
  record(entry: AuditEntry): { stream: string; fields: string[] } {
    const fields = [
      'kind',
      entry.kind,
      'actor',
      entry.actor,
      'subject',
      entry.subject,
      'outcome',
      entry.outcome,
    ];
    if (entry.detail) fields.push('detail', JSON.stringify(entry.detail));
    this.logger.info({ audit: entry }, `audit ${entry.kind} ${entry.outcome}`);
    return { stream: this.key, fields };
  }

  /** The latest `count` entries, newest first. */
  async latest(count: number): Promise<StoredAuditEntry[]> {
    const rows = await this.redis.xrevrange(this.key, '+', '-', 'COUNT', count);
    return rows.map(([id, flat]) => {
      const f: Record<string, string> = {};
      for (let i = 0; i + 1 < flat.length; i += 2) f[flat[i] as string] = flat[i + 1] as string;
      return {
        id,
        at: new Date(Number(id.split('-')[0])),
        kind: f.kind as AuditKind,
        actor: f.actor ?? '',
        subject: f.subject ?? '',
        outcome: f.outcome ?? '',
        ...(f.detail ? { detail: JSON.parse(f.detail) as AuditEntry['detail'] } : {}),
      };
    });
  }
}
