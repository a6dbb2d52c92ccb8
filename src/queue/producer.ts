/** Enqueues jobs: one per Slack request, however often Slack delivers it. */
import { Queue } from 'bullmq';
import type { Command } from '../commands/index.js';
import {
  CONFIRM_DEADLINE_MS,
  type Confirmation,
  closeRedis,
  duplicateRedis,
  type RedisClient,
  socketOf,
  type WriteConfirmer,
} from '../redis.js';
import {
  type CoalescedJobName,
  isCommandJob,
  type JobData,
  type JobName,
  type JobRequest,
  jobIdFor,
  QUEUE_NAME,
  type SnsMessage,
  type StepRun,
} from './contract.js';

/** The outcome of {@link JobProducer.enqueue}. */
export interface Enqueued {
  jobId: string;
  /** True when this request had already been enqueued (a retried delivery or a double submit). */
  duplicate: boolean;
}

// One round trip on the path that must answer Slack quickly: the intake marker, and the audit entry
// (once per request: a repeat delivery, or a repeat after a failover, writes neither again).
const INTAKE_SCRIPT = `
local first = redis.call('SET', KEYS[1], '1', 'EX', ARGV[1], 'NX')
if not first then return 0 end
if KEYS[2] then redis.call('XADD', KEYS[2], '*', unpack(ARGV, 2)) end
return 1
`;

const INTAKE_COMMAND = 'capstanIntake';

/** How long a request id is remembered for de-duplication; Slack retries within minutes. */
const INTAKE_TTL_SECONDS = 24 * 60 * 60;

/** How long one confirmation waits for the replicas to have the job (Redis WAIT). */
const REPLICA_WAIT_MS = 500;

/** The pause before an enqueue that was not confirmed is made again. */
const CONFIRM_RETRY_MS = 200;

/** Puts jobs on the queue. */
export class JobProducer {
  readonly queue: Queue<JobData>;
  private readonly queueConnection: RedisClient;
  private readonly prefix: string;

  private readonly confirmer: WriteConfirmer | undefined;
  private readonly onUnconfirmed: (jobId: string, reason: string) => void;
  /** Jobs added so far on the queue's connection (a confirmation covers every one added before it). */
  private added = 0;
  /** The confirmation in flight, and how many adds it covers. */
  private confirming: { done: Promise<Confirmation>; covers: number } | undefined;

  /**
   * @param opts.confirmer for a replicated deployment (Cluster, Sentinel): `enqueue` resolves once
   *   the job is where a failover cannot lose it ({@link WriteConfirmer}), adding it again (under
   *   its own id: a no-op when it is there) while it is not
   * @param opts.onUnconfirmed told of a job acknowledged without confirmation (after
   *   CONFIRM_DEADLINE_MS of trying)
   */
  constructor(
    redis: RedisClient,
    prefix: string,
    onError: (err: Error) => void = () => {},
    opts: {
      confirmer?: WriteConfirmer;
      onUnconfirmed?: (jobId: string, reason: string) => void;
    } = {},
  ) {
    this.prefix = prefix;
    this.confirmer = opts.confirmer?.replicated ? opts.confirmer : undefined;
    this.onUnconfirmed = opts.onUnconfirmed ?? (() => {});
    // BullMQ defines its dozens of Lua scripts on its connection, and ioredis copies every defined
    // script onto each MULTI it starts: the queue gets a connection of its own, so the intake
    // marker's MULTI on `redis` stays cheap on the path that must answer Slack quickly. The intake
    // marker is written on the queue's connection too: one confirmation covers it and the job.
    this.queueConnection = duplicateRedis(redis);
    this.queueConnection.defineCommand(INTAKE_COMMAND, { lua: INTAKE_SCRIPT });
    this.queue = new Queue<JobData>(QUEUE_NAME, {
      connection: this.queueConnection,
      prefix,
      defaultJobOptions: {
        attempts: 3,
        backoff: { type: 'exponential', delay: 2_000 },
        removeOnComplete: { age: INTAKE_TTL_SECONDS, count: 10_000 },
        removeOnFail: { age: 7 * INTAKE_TTL_SECONDS },
      },
    });
    // Connection errors are reported here (and retried by ioredis), never thrown at the caller.
    this.queue.on('error', onError);
  }

  /**
   * Enqueues `command` as job `name` under an id derived from the Slack request, at most once per
   * request. The intake marker (and the audit entry, when given) is written first, by one script;
   * the add is idempotent, so a repeat delivery adds nothing new.
   */
  async enqueue(
    name: JobName,
    command: Command,
    request: JobRequest,
    extra: Pick<JobData, 'approval' | 'ask' | 'approvalId'> = {},
    opts: { delayMs?: number; audit?: { stream: string; fields: string[] } } = {},
  ): Promise<Enqueued> {
    // A command job's data is its own command (`JobDataOf`): processors rely on the pair.
    if (isCommandJob(name) && command.kind !== name)
      throw new Error(`job ${name} cannot carry a ${command.kind} command`);
    const jobId = jobIdFor(request.requestId);
    const marker = `${this.prefix}:intake:${jobId}`;
    const keys = opts.audit ? [marker, opts.audit.stream] : [marker];
    let first: unknown;
    await this.durably(jobId, marker, async () => {
      const intake = await this.intake(keys, [String(INTAKE_TTL_SECONDS), ...(opts.audit?.fields ?? [])]);
      first ??= intake;
      // Added on repeats too: if a crash came between the marker and the add, the repeat repairs it.
      await this.queue.add(
        name,
        { command, request, checkpoints: {}, ...extra },
        { jobId, ...(opts.delayMs ? { delay: opts.delayMs } : {}) },
      );
    });
    return { jobId, duplicate: first !== 1 };
  }

  /**
   * Applies `write` (the intake marker and the add: both idempotent) and resolves once it is
   * confirmed; while it is not, makes it again: after a failover that lost it, the new primary gets
   * it. Resolves unconfirmed only after CONFIRM_DEADLINE_MS (told to `onUnconfirmed`).
   */
  private async durably(jobId: string, marker: string, write: () => Promise<void>): Promise<void> {
    const deadline = Date.now() + CONFIRM_DEADLINE_MS;
    for (;;) {
      const socket = socketOf(this.queueConnection);
      await write();
      this.added += 1;
      if (!this.confirmer) return;
      const confirmation = await this.confirmedUpTo(marker, this.added);
      // Moved to a new primary between the marker and the add, the marker (and audit entry) may have
      // been written on the old one: the new one's confirmation does not cover them.
      if (confirmation.confirmed && socketOf(this.queueConnection) === socket) return;
      if (Date.now() >= deadline) {
        this.onUnconfirmed(
          jobId,
          confirmation.confirmed ? 'the connection moved to another node while writing' : confirmation.reason,
        );
        return;
      }
      // On a demoted primary: written again, on the new one once the connection has moved there.
      await new Promise((resolve) => setTimeout(resolve, CONFIRM_RETRY_MS));
    }
  }

  /**
   * Confirms the first `added` adds. WAIT blocks the connection it is sent on (the queue's own) and
   * covers every write made on it before: one confirmation at a time serves every enqueue waiting,
   * instead of each sending its own to be answered one after another.
   */
  private async confirmedUpTo(marker: string, added: number): Promise<Confirmation> {
    const confirmer = this.confirmer;
    if (!confirmer) return { confirmed: true };
    for (;;) {
      const inFlight = this.confirming;
      if (inFlight) {
        const confirmation = await inFlight.done;
        if (inFlight.covers >= added) return confirmation;
        continue;
      }
      const done = confirmer
        .confirm(this.queueConnection, marker, REPLICA_WAIT_MS)
        .catch((err: Error): Confirmation => ({ confirmed: false, reason: err.message }));
      const round = { done, covers: this.added };
      this.confirming = round;
      const confirmation = await done;
      if (this.confirming === round) this.confirming = undefined;
      return confirmation;
    }
  }

  /**
   * Queues a checked SNS message for `alerts.signal`, once per MessageId however often SNS
   * delivers it (its retries, a replay within the age limit).
   */
  async enqueueSignal(sns: SnsMessage): Promise<Enqueued> {
    const request: JobRequest = {
      requestId: `sns:${sns.messageId}`,
      userId: 'aws-sns',
      channelId: '',
      text: `SNS ${sns.type} from ${sns.topicArn}`,
      source: 'sns',
      receivedAt: Date.now(),
    };
    const jobId = jobIdFor(request.requestId);
    const marker = `${this.prefix}:intake:${jobId}`;
    let first: unknown;
    await this.durably(jobId, marker, async () => {
      const intake = await this.intake([marker], [String(INTAKE_TTL_SECONDS)]);
      first ??= intake;
      // Added on repeats too (one job per id): a crash between the marker and the add is repaired.
      await this.queue.add('alerts.signal', { request, checkpoints: {}, sns }, { jobId });
    });
    return { jobId, duplicate: first !== 1 };
  }

  /**
   * Queues `step.complete` for a Workflow Builder step whose end is decided (`src/steps/store.ts`):
   * one job per execution however often this is called (its id comes from the execution), retried
   * until Slack has the step's end.
   */
  async enqueueStepEnd(run: StepRun, userId: string): Promise<string> {
    const request: JobRequest = {
      requestId: `step-end:${run.executionId}`,
      userId,
      channelId: '',
      text: `end of workflow step ${run.callbackId}`,
      source: 'workflow',
      receivedAt: Date.now(),
    };
    const jobId = jobIdFor(request.requestId);
    // Added again on repeats: BullMQ keeps one job per id, so a repeat adds nothing.
    await this.durably(jobId, `${this.prefix}:step:${run.executionId}`, async () => {
      await this.queue.add(
        'step.complete',
        { request, checkpoints: {}, stepRun: run },
        { jobId, attempts: 8, backoff: { type: 'exponential', delay: 5_000 } },
      );
    });
    return jobId;
  }

  /**
   * Enqueues one of Capstan's own jobs that stands for no single Slack request (no intake marker,
   * no audit entry), coalesced under `key`: while one with the same key waits, adding another adds
   * nothing (the waiting one reads the state when it runs); while one runs, one more is kept to run
   * after it. However many changes come in a burst, at most one job per key runs and one waits.
   */
  async enqueueCoalesced(
    name: CoalescedJobName,
    request: JobRequest,
    { key, delayMs }: { key: string; delayMs?: number },
  ): Promise<void> {
    await this.queue.add(
      name,
      { request, checkpoints: {} },
      {
        deduplication: { id: key, keepLastIfActive: true },
        ...(delayMs ? { delay: delayMs } : {}),
        attempts: 2,
        // Nothing to look back at: a later run supersedes it.
        removeOnComplete: true,
        removeOnFail: { count: 100 },
      },
    );
  }

  /** Runs the intake script by its SHA (the script's text crosses the wire once, not per request). */
  private intake(keys: string[], args: string[]): Promise<unknown> {
    const connection = this.queueConnection;
    const run = (connection as unknown as Record<string, (...a: string[]) => Promise<unknown>>)[
      INTAKE_COMMAND
    ];
    if (!run) throw new Error('the intake script is not defined on this connection');
    return run.call(connection, String(keys.length), ...keys, ...args);
  }

  /** Stops the queue's connections. */
  async close(): Promise<void> {
    await this.queue.close();
    await closeRedis(this.queueConnection);
  }
}
