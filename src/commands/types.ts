/** Typed commands: what a person asked for, after parsing and validation (pure data, JSON-safe). */
import type { CatalogKind } from '../catalog.js';

/** `/env create <name> [--blueprint B] [--size N] [--ttl 8h] [--version V]`. */
export interface EnvCreate {
  kind: 'env.create';
  name: string;
  blueprint?: string;
  size?: number;
  /** Time to live in milliseconds. */
  ttlMs?: number;
  version?: string;
}

/** `/env delete <name>`. */
export interface EnvDelete {
  kind: 'env.delete';
  name: string;
}

/** `/env extend <name> [--by 4h]`. */
export interface EnvExtend {
  kind: 'env.extend';
  name: string;
  /** How much later it expires, in milliseconds. */
  byMs: number;
}

/** `/env list`. */
export interface EnvList {
  kind: 'env.list';
}

/** `/env status <name>`. */
export interface EnvStatus {
  kind: 'env.status';
  name: string;
}

/** `/env update <name> [--version V] [--param K=V …]`: a stack environment, by a change set. */
export interface EnvUpdate {
  kind: 'env.update';
  name: string;
  /** The template version to move to (absent: the one it runs). */
  version?: string;
  /** Template parameters to change; the others keep their values. */
  params?: Record<string, string>;
}

/** `/lb disable <env> [--instance i-…] [--reason "…"]`. */
export interface LbDisable {
  kind: 'lb.disable';
  env: string;
  instanceId?: string;
  reason?: string;
}

/** `/lb enable <env> [--instance i-…]`. */
export interface LbEnable {
  kind: 'lb.enable';
  env: string;
  instanceId?: string;
}

/** `/lb status <env>`. */
export interface LbStatus {
  kind: 'lb.status';
  env: string;
}

/** How a restored table is brought back. */
export type RestoreMode = 'side-table' | 'merge-missing' | 'replace';

/** `/rds restore-table <db-instance> <schema>.<table> --at <time> [--mode …]`. */
export interface RdsRestoreTable {
  kind: 'rds.restore-table';
  dbInstance: string;
  schema: string;
  table: string;
  /** The moment to restore to, as an ISO-8601 UTC string (`2026-11-22T01:30:00.000Z`). */
  at: string;
  mode: RestoreMode;
}

/** `/rds io-credits <db-instance> [--hours 24]`. */
export interface RdsIoCredits {
  kind: 'rds.io-credits';
  dbInstance: string;
  hours: number;
}

/** `/ops help [command]`. */
export interface OpsHelp {
  kind: 'ops.help';
  topic?: string;
}

/** `/ops jobs`. */
export interface OpsJobs {
  kind: 'ops.jobs';
}

/** `/ops cancel <job-id>`. */
export interface OpsCancel {
  kind: 'ops.cancel';
  jobId: string;
}

/** `/ops audit [n]`. */
export interface OpsAudit {
  kind: 'ops.audit';
  count: number;
}

/** `/ops ping`: proves the whole path from Slack to a worker and back. */
export interface OpsPing {
  kind: 'ops.ping';
}

/** Every command Capstan understands. */
export type Command =
  | EnvCreate
  | EnvDelete
  | EnvExtend
  | EnvList
  | EnvStatus
  | EnvUpdate
  | LbDisable
  | LbEnable
  | LbStatus
  | RdsRestoreTable
  | RdsIoCredits
  | OpsHelp
  | OpsJobs
  | OpsCancel
  | OpsAudit
  | OpsPing;

/** A command's kind, e.g. `env.create`. */
export type CommandKind = Command['kind'];

// Every command has its catalog entry (`src/catalog.ts`), and every entry its command type here.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : never) : never;
const _commandsMatchCatalog: Same<CommandKind, CatalogKind> = true;
void _commandsMatchCatalog;

/** Why a command text could not be parsed, with the usage to show. */
export interface UsageProblem {
  /** What was wrong, in one sentence. */
  message: string;
  /** The usage lines of the command the person was trying to use. */
  usage: string;
}

/** The outcome of parsing: a command or a usage problem, never an exception. */
export type ParseResult = { ok: true; command: Command } | { ok: false; problem: UsageProblem };

/** What parsing needs besides the text: the clock and the configured time zone (for `--at`). */
export interface ParseContext {
  now: Date;
  /** IANA zone for `YYYY-MM-DD HH:MM[:SS]` times without an offset. */
  timeZone: string;
}
