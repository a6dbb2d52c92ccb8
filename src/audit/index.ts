/**
 * The audit log: every command received with its authorization decision, every approval decision
 * and every job outcome, appended to a Redis stream (never trimmed) and logged as structured JSON.
 */

import type { Logger } from 'pino';
import type { RedisClient } from '../redis.js';

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

/** Appends to and reads the audit stream. */
export class AuditLog {
  readonly key: string;
  private readonly redis: RedisClient;
  private readonly logger: Logger;

  constructor(redis: RedisClient, prefix: string, logger: Logger) {
    this.redis = redis;
    this.key = `${prefix}:audit`;
    this.logger = logger.child({ component: 'audit' });
  }

  /** Appends an entry now. */
  async append(entry: AuditEntry): Promise<void> {
    const { stream, fields } = this.record(entry);
    await this.redis.xadd(stream, '*', ...fields);
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
