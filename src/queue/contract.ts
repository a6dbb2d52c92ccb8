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

/** Capstan's own jobs that run on a schedule: no command, no person (`main.ts` schedules them). */
export const SCHEDULED_JOBS = ['env.expiry-sweep', 'rds.janitor', 'alerts.check'] as const;

/**
 * Job names: one processor each (`jobs/index.ts`). Command jobs are named after their command kind
 * (the catalog's `job: true` entries); the rest are Capstan's own.
 */
export const JOB_NAMES = [
  ...COMMAND_JOBS,
  ...SCHEDULED_JOBS,
  'approval.request',
  'approval.expire',
  'alerts.signal',
  'home.publish',
  'step.complete',
] as const;

/** Jobs that work behind the scenes and post no progress message of their own. */
export const SILENT_JOBS: ReadonlySet<string> = new Set<JobName>([
  ...SCHEDULED_JOBS,
  'approval.expire',
  'alerts.signal',
  'home.publish',
  'step.complete',
]);

/**
 * Capstan's own bookkeeping on someone's behalf (an approval's timer, their Home tab), which they
 * never asked for by name: left out of `/ops jobs` and of their jobs on the Home tab.
 */
export const INTERNAL_JOBS: ReadonlySet<string> = new Set<JobName>([
  'approval.expire',
  'home.publish',
  'step.complete',
]);

/** A job name. */
export type JobName = (typeof JOB_NAMES)[number];
/** A job that carries out a command of the same name. */
export type CommandJobName = (typeof COMMAND_JOBS)[number];
/** A job Capstan runs on a schedule. */
export type ScheduledJobName = (typeof SCHEDULED_JOBS)[number];

/** Jobs enqueued coalesced (`JobProducer.enqueueCoalesced`): one running and one waiting per key at most. */
export type CoalescedJobName = 'home.publish';

/** True for the jobs that carry out a command of their own name. */
export function isCommandJob(name: JobName): name is CommandJobName {
  return (COMMAND_JOBS as readonly string[]).includes(name);
}

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
  /**
   * `home`: a button on the person's App Home tab (or the tab being opened); `workflow`: a
   * Workflow Builder step ({@link StepRun}).
   */
  source: 'slash' | 'mention' | 'action' | 'home' | 'schedule' | 'sns' | 'workflow';
  /** When Slack's request reached Capstan (epoch ms). */
  receivedAt: number;
  /**
   * Set when a Workflow Builder step asked: the step's execution, which ends (completes or fails)
   * with the outcome of the job carrying this request. Travels with the request through an approval.
   */
  step?: StepRun;
}

/**
 * A Workflow Builder custom step's execution (https://docs.slack.dev/workflows/workflow-steps):
 * which step, and the id Slack completes it by. Its execution token is kept apart (`src/steps/store.ts`),
 * never in job data.
 */
export interface StepRun {
  /** The step's `callback_id` in the manifest's `functions`, e.g. `create_environment`. */
  callbackId: string;
  /** The `function_execution_id` of the `function_executed` event. */
  executionId: string;
  /** The workflow run it belongs to (`workflow_execution_id`), for the audit trail. */
  workflowExecutionId?: string;
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

/** An SNS message `POST /aws/sns` checked (shape, topic, age, signature), for `alerts.signal`. */
export interface SnsMessage {
  type: 'Notification' | 'SubscriptionConfirmation' | 'UnsubscribeConfirmation';
  messageId: string;
  topicArn: string;
  subject?: string;
  /** The notification's own text: JSON for CloudWatch alarms, RDS events, Auto Scaling and EventBridge. */
  message: string;
  timestamp: string;
  /** SubscriptionConfirmation: the URL that confirms it, and its token. */
  subscribeUrl?: string;
  token?: string;
}

/** What every job's data holds. */
interface JobDataBase {
  request: JobRequest;
  checkpoints: Checkpoints;
  /** The approval a command job ran under. */
  approval?: JobApproval;
}

/**
 * What job `N`'s data holds: a command job carries its own command; `approval.request` the
 * command waiting and what policy asked; `approval.expire` the request to close; a scheduled job
 * and `home.publish` (whose Home tab: the request's user) nothing more. The producer writes each job's data under its name, so a processor reads it typed.
 */
export type JobDataOf<N extends JobName> = N extends CommandJobName
  ? JobDataBase & { command: Extract<Command, { kind: N }> }
  : N extends 'approval.request'
    ? JobDataBase & { command: Command; ask: ApprovalAsk }
    : N extends 'approval.expire'
      ? JobDataBase & { command: Command; approvalId: string }
      : N extends 'alerts.signal'
        ? JobDataBase & { command?: undefined; sns: SnsMessage }
        : N extends 'step.complete'
          ? JobDataBase & { command?: undefined; stepRun: StepRun }
          : JobDataBase & { command?: undefined };

/** Any job's data, as the queue keeps it (its job's name says which {@link JobDataOf} it is). */
export interface JobData extends JobDataBase {
  command?: Command;
  ask?: ApprovalAsk;
  approvalId?: string;
  sns?: SnsMessage;
  stepRun?: StepRun;
}

/**
 * What a job read back at its end, as data: what a Workflow Builder step gives later steps
 * (`src/steps/outputs.ts`). Absent fields were not read.
 */
export interface JobFacts {
  /** The environment's state as read back, e.g. `up`, `deleted`, `standby`, `in service`. */
  environmentStatus?: string;
  /** How many instances that state covers. */
  instances?: number;
  /** The instance ids the job acted on (comma-separated). */
  instanceIds?: string;
  /** The version an environment runs. */
  version?: string;
  /** When an environment expires (ISO-8601). */
  expiresAt?: string;
  /** `rds.restore-table`: the table holding the restored rows, `schema.table`. */
  restoredTable?: string;
  /** `rds.io-credits`: the verdict, and how bad it is. */
  verdict?: string;
  severity?: string;
  /**
   * The job did not do the work but handed it on to this job (an approval request it opened): the
   * request, and a step waiting on it, follow that job instead.
   */
  handedOnTo?: string;
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
  /** What the job read back at its end, as data (a Workflow Builder step's outputs). */
  facts?: JobFacts;
}

/**
 * The job id for a Slack request: the same request delivered again (Slack's retries, a double
 * click) maps to the same id, so BullMQ keeps one job. Short, so people can type it, and always
 * with a letter first: BullMQ refuses custom ids that read as integers.
 */
export function jobIdFor(requestId: string): string {
  return `j${createHash('sha256').update(requestId).digest('hex').slice(0, 11)}`;
}
