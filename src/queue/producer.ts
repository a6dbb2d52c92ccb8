/** Enqueues jobs: one per Slack request, however often Slack delivers it. */
import { Queue } from 'bullmq';
import type { ChainableCommander, Redis } from 'ioredis';
import type { Command } from '../commands/index.js';
import { type JobData, type JobName, type JobRequest, jobIdFor, QUEUE_NAME } from './contract.js';

/** The outcome of {@link JobProducer.enqueue}. */
export interface Enqueued {
  jobId: string;
  /** True when this request had already been enqueued (a retried delivery or a double submit). */
  duplicate: boolean;
}

/** How long a request id is remembered for de-duplication; Slack retries within minutes. */
const INTAKE_TTL_SECONDS = 24 * 60 * 60;

/** Puts jobs on the queue. */
export class JobProducer {
  readonly queue: Queue<JobData>;
  private readonly redis: Redis;
  private readonly prefix: string;

  constructor(redis: Redis, prefix: string, onError: (err: Error) => void = () => {}) {
    this.redis = redis;
    this.prefix = prefix;
    this.queue = new Queue<JobData>(QUEUE_NAME, {
      connection: redis,
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
   * request. The intake marker (and whatever `alsoWrite` adds, such as the audit entry) is written
   * first, in one transaction; the add is idempotent, so a repeat delivery adds nothing new.
   */
  async enqueue(
    name: JobName,
    command: Command,
    request: JobRequest,
    extra: Pick<JobData, 'approval' | 'ask' | 'approvalId'> = {},
    opts: { delayMs?: number; alsoWrite?: (tx: ChainableCommander) => void } = {},
  ): Promise<Enqueued> {
    const jobId = jobIdFor(request.requestId);
    const tx = this.redis.multi().set(`${this.prefix}:intake:${jobId}`, '1', 'EX', INTAKE_TTL_SECONDS, 'NX');
    opts.alsoWrite?.(tx);
    const results = await tx.exec();
    const first = results?.[0]?.[1] === 'OK';
    // Added on repeats too: if a crash came between the marker and the add, the repeat repairs it.
    await this.queue.add(
      name,
      { command, request, checkpoints: {}, ...extra },
      { jobId, ...(opts.delayMs ? { delay: opts.delayMs } : {}) },
    );
    return { jobId, duplicate: !first };
  }

  /** Stops the queue's connections. */
  async close(): Promise<void> {
    await this.queue.close();
  }
}
