/**
 * The handler ↔ job contract: job names, what a job's data holds, and what it returns.
 * Job data is plain JSON so any worker on any host can pick a job up, or resume it.
 */
import { createHash } from 'node:crypto';
import { COMMAND_JOBS } from '../catalog.js';
import type { Command } from '../commands/index.js';
import type { ReporterCheckpoint } from './reporting.js';

/** The one BullMQ queue every job goes through. */
export const QUEUE_NAME = 'jobs';

/**
 * Job names: one processor each (`jobs/index.ts`). Command jobs are named after their command kind
 * (the catalog's `job: true` entries); the rest are Capstan's own.
 */
export const JOB_NAMES = [
  ...COMMAND_JOBS,
  'env.expiry-sweep',
  'rds.janitor',
  'approval.request',
  'approval.expire',
  'alerts.check',
] as const;

/** Jobs that work behind the scenes and post no progress message of their own. */
export const SILENT_JOBS: ReadonlySet<string> = new Set([
  'approval.expire',
  'env.expiry-sweep',
  'rds.janitor',
  'alerts.check',
]);

/** A job name. */
export type JobName = (typeof JOB_NAMES)[number];

/** Who asked, where, and how the request reached Capstan. */
export interface JobRequest {
  /** Slack's id for the request (trigger id or event id): the job id is derived from it. */
  requestId: string;
  userId: string;
  channelId: string;
  /** The thread to report into; absent for slash commands, whose job starts a thread. */
  threadTs?: string;
  /** The command as the person typed it, e.g. `/ops ping`. */
  text: string;
  source: 'slash' | 'mention' | 'action' | 'schedule';
  /** When Slack's request reached Capstan (epoch ms). */
  receivedAt: number;
}

/** Steps a job finished, written as it passes each one, so a retried job resumes after them. */
export interface Checkpoints {
  reporter?: ReporterCheckpoint;
  [step: string]: unknown;
}

/** The approval a job ran under. */
export interface JobApproval {
  id: string;
  approvers: string[];
}

/** For `approval.request`: what policy asked for. */
export interface ApprovalAsk {
  /** The job to run once approved. */
  jobName: JobName;
  role: string;
  quorum: number;
  timeoutMs: number;
  rule: string;
}

/** A job's data. */
export interface JobData<C extends Command = Command> {
  /** What was asked for; absent for Capstan's own scheduled checks. */
  command?: C;
  request: JobRequest;
  checkpoints: Checkpoints;
  approval?: JobApproval;
  /** For `approval.request` jobs. */
  ask?: ApprovalAsk;
  /** For `approval.expire` jobs: the request to close. */
  approvalId?: string;
}

/** What a job returns (kept with the completed job). */
export interface JobResult {
  /** `waiting`: the job did its part and now waits for people (e.g. an approval); nothing ran yet. */
  outcome: 'done' | 'cancelled' | 'waiting';
  summary: string;
  /** With `waiting`: for whom, e.g. ``approval from role `approvers` ``. */
  waitingFor?: string;
  /** The job delivered its final state through its reporter itself; the worker does not again. */
  reported?: boolean;
  /** A scheduled check that found nothing to do: no audit entry (it runs every few minutes). */
  quiet?: boolean;
}

/**
 * The job id for a Slack request: the same request delivered again (Slack's retries, a double
 * click) maps to the same id, so BullMQ keeps one job. Short, so people can type it, and always
 * with a letter first: BullMQ refuses custom ids that read as integers.
 */
export function jobIdFor(requestId: string): string {
  return `j${createHash('sha256').update(requestId).digest('hex').slice(0, 11)}`;
}
