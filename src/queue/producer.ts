/** Enqueues jobs: one per Slack request, however often Slack delivers it. */
import { Queue } from 'bullmq';
import type { Command } from '../commands/index.js';
import { closeRedis, duplicateRedis, type RedisClient, waitForReplicas } from '../redis.js';
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

// One round trip on the path that must answer Slack quickly: the intake marker, and the audit entry.
const INTAKE_SCRIPT = `
local first = redis.call('SET', KEYS[1], '1', 'EX', ARGV[1], 'NX')
if KEYS[2] then redis.call('XADD', KEYS[2], '*', unpack(ARGV, 2)) end
if first then return 1 else return 0 end
`;

const INTAKE_COMMAND = 'capstanIntake';

/** How long a request id is remembered for de-duplication; Slack retries within minutes. */
const INTAKE_TTL_SECONDS = 24 * 60 * 60;

/** How long an enqueue waits for a replica to have the job (Redis WAIT). */
const REPLICA_WAIT_MS = 500;

/** After a WAIT that no replica answered in time, how long acks do not wait before one tries again. */
const REPLICA_RETRY_MS = 5_000;

/** Puts jobs on the queue. */
export class JobProducer {
  readonly queue: Queue<JobData>;
  private readonly redis: RedisClient;
  private readonly queueConnection: RedisClient;
  private readonly prefix: string;

  private readonly replicated: boolean;
  /** Jobs added so far on the queue's connection (a WAIT covers every one added before it is sent). */
  private added = 0;
  /** The WAIT in flight, and how many adds it covers. */
  private replicaWait: { done: Promise<unknown>; covers: number } | undefined;
  /** Until when acks do not wait for a replica: the last WAIT found none in time. */
  private replicaMissingUntil = 0;

  /**
   * @param opts.replicated the deployment has replicas (Cluster, Sentinel): each job is on a replica
   *   before `enqueue` resolves, so a failover right after Slack's ack does not lose it
   */
  constructor(
    redis: RedisClient,
    prefix: string,
    onError: (err: Error) => void = () => {},
    opts: { replicated?: boolean } = {},
  ) {
    this.redis = redis;
    this.prefix = prefix;
    this.replicated = opts.replicated ?? false;
    // BullMQ defines its dozens of Lua scripts on its connection, and ioredis copies every defined
    // script onto each MULTI it starts: the queue gets a connection of its own, so the intake
    // marker's MULTI on `redis` stays cheap on the path that must answer Slack quickly.
    this.queueConnection = duplicateRedis(redis);
    if (!(INTAKE_COMMAND in redis)) redis.defineCommand(INTAKE_COMMAND, { lua: INTAKE_SCRIPT });
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
    const first = await this.intake(keys, [String(INTAKE_TTL_SECONDS), ...(opts.audit?.fields ?? [])]);
    // Added on repeats too: if a crash came between the marker and the add, the repeat repairs it.
    await this.queue.add(
      name,
      { command, request, checkpoints: {}, ...extra },
      { jobId, ...(opts.delayMs ? { delay: opts.delayMs } : {}) },
    );
    // The request is acknowledged once this resolves: with replicas, only once one of them has the
    // job (at most REPLICA_WAIT_MS; a replica that lags that long is not waited for).
    this.added += 1;
    if (this.replicated) await this.untilReplicated(marker, this.added);
    return { jobId, duplicate: first !== 1 };
  }

  /**
   * Resolves once a replica holds the first `added` jobs, or no replica answered in time. WAIT blocks
   * the connection it is sent on (the queue's own) and covers every write made on it before: one
   * WAIT at a time serves every enqueue waiting, instead of each sending its own to be answered one
   * after another. A primary with no replica (one just promoted by a failover, or whose replica is
   * down) makes a WAIT last its whole timeout: then acks stop waiting for REPLICA_RETRY_MS.
   */
  private async untilReplicated(marker: string, added: number): Promise<void> {
    for (;;) {
      if (Date.now() < this.replicaMissingUntil) return;
      const inFlight = this.replicaWait;
      if (inFlight) {
        await inFlight.done;
        if (inFlight.covers >= added) return;
        continue;
      }
      const done = waitForReplicas(this.queueConnection, marker, 1, REPLICA_WAIT_MS).then(
        (replicas) => {
          if (replicas < 1) this.replicaMissingUntil = Date.now() + REPLICA_RETRY_MS;
        },
        () => undefined,
      );
      const wait = { done, covers: this.added };
      this.replicaWait = wait;
      await done;
      if (this.replicaWait === wait) this.replicaWait = undefined;
      return;
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
    const first = await this.intake([marker], [String(INTAKE_TTL_SECONDS)]);
    // Added on repeats too (one job per id): a crash between the marker and the add is repaired.
    await this.queue.add('alerts.signal', { request, checkpoints: {}, sns }, { jobId });
    this.added += 1;
    if (this.replicated) await this.untilReplicated(marker, this.added);
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
    await this.queue.add(
      'step.complete',
      { request, checkpoints: {}, stepRun: run },
      { jobId, attempts: 8, backoff: { type: 'exponential', delay: 5_000 } },
    );
    this.added += 1;
    if (this.replicated) await this.untilReplicated(`${this.prefix}:step:${run.executionId}`, this.added);
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
    const run = (this.redis as unknown as Record<string, (...a: string[]) => Promise<unknown>>)[
      INTAKE_COMMAND
    ];
    if (!run) throw new Error('the intake script is not defined on this connection');
    return run.call(this.redis, String(keys.length), ...keys, ...args);
  }

  /** Stops the queue's connections. */
  async close(): Promise<void> {
    await this.queue.close();
    await closeRedis(this.queueConnection);
  }
}
