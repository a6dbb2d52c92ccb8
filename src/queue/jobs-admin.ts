/** `/ops jobs` and `/ops cancel`: what is queued or running, and stopping it. */
import type { Job, Queue } from 'bullmq';
import type { RedisClient } from '../redis.js';
import { INTERNAL_JOBS, type JobData, type JobResult } from './contract.js';

/** One queued or running job, as `/ops jobs` shows it. */
export interface JobSummary {
  id: string;
  name: string;
  /** The command as typed. */
  text: string;
  userId: string;
  state: 'running' | 'queued';
  /** Queued since, or running since (epoch ms). */
  since: number;
  /** The step it is on, when running. */
  step?: string;
  /** The request's channel and thread, where its progress message is (once it has one). */
  channelId: string;
  threadTs?: string;
}

/** A job of someone's that has finished, as their Home tab shows it. */
export interface FinishedJobSummary {
  id: string;
  name: string;
  text: string;
  userId: string;
  /** `waiting`: it did its part and waits for people (an approval request). */
  state: 'done' | 'failed' | 'cancelled' | 'waiting';
  /** When it finished (epoch ms). */
  at: number;
  /** The request's channel and thread, where its progress message is. */
  channelId: string;
  threadTs?: string;
}

/** The outcome of a cancel request. */
export type CancelOutcome =
  | { outcome: 'removed'; job: Job<JobData> }
  | { outcome: 'signalled'; job: Job<JobData> }
  | { outcome: 'finished'; state: string }
  | { outcome: 'not-found' };

/** How long a cancel request for a running job stands. */
const CANCEL_TTL_SECONDS = 24 * 60 * 60;

/** Reads and stops jobs on the queue. */
export class JobsAdmin {
  private readonly queue: Queue<JobData>;
  private readonly redis: RedisClient;
  private readonly prefix: string;

  constructor(queue: Queue<JobData>, redis: RedisClient, prefix: string) {
    this.queue = queue;
    this.redis = redis;
    this.prefix = prefix;
  }

  /** Queued and running command jobs, oldest first (internal jobs such as expiry timers left out). */
  async list(limit = 50): Promise<JobSummary[]> {
    const [active, queued] = await Promise.all([
      this.queue.getJobs(['active'], 0, limit - 1, true),
      this.queue.getJobs(['waiting', 'prioritized', 'delayed'], 0, limit - 1, true),
    ]);
    const summarise = (job: Job<JobData>, running: boolean): JobSummary => {
      const steps = job.data.checkpoints.reporter?.state.steps ?? [];
      const step = steps.findLast((s) => s.state === 'running')?.name;
      const threadTs = job.data.request.threadTs ?? job.data.checkpoints.reporter?.rootTs;
      return {
        id: String(job.id),
        name: job.name,
        text: job.data.request.text,
        userId: job.data.request.userId,
        state: running ? 'running' : 'queued',
        since: running ? (job.processedOn ?? job.timestamp) : job.timestamp,
        ...(running && step ? { step } : {}),
        channelId: job.data.request.channelId,
        ...(threadTs ? { threadTs } : {}),
      };
    };
    const visible = (job: Job<JobData> | undefined): job is Job<JobData> =>
      Boolean(job?.id) && job !== undefined && !INTERNAL_JOBS.has(job.name);
    return [
      ...active.filter(visible).map((job) => summarise(job, true)),
      ...queued.filter(visible).map((job) => summarise(job, false)),
    ].sort((a, b) => a.since - b.since);
  }

  /**
   * `userId`'s command jobs that finished lately, newest first: the latest `scan` finished jobs of
   * everyone are read (BullMQ keeps them a day), `limit` of theirs returned.
   */
  async finishedOf(userId: string, limit = 10, scan = 200): Promise<FinishedJobSummary[]> {
    const jobs = await this.queue.getJobs(['completed', 'failed'], 0, scan - 1, false);
    const mine = jobs.filter(
      (job): job is Job<JobData> =>
        Boolean(job?.id) && job?.data.request.userId === userId && !INTERNAL_JOBS.has(job.name),
    );
    return mine
      .map((job): FinishedJobSummary => {
        const result = job.returnvalue as JobResult | null | undefined;
        const state = job.failedReason && !result ? 'failed' : (result?.outcome ?? 'done');
        const { request } = job.data;
        const threadTs = request.threadTs ?? job.data.checkpoints.reporter?.rootTs;
        return {
          id: String(job.id),
          name: job.name,
          text: request.text,
          userId: request.userId,
          state,
          at: job.finishedOn ?? job.timestamp,
          channelId: request.channelId,
          ...(threadTs ? { threadTs } : {}),
        };
      })
      .sort((a, b) => b.at - a.at)
      .slice(0, limit);
  }

  /** The job, if it exists. */
  async get(jobId: string): Promise<Job<JobData> | undefined> {
    return (await this.queue.getJob(jobId)) ?? undefined;
  }

  /** Removes a queued job, or asks a running one to stop at its next step. */
  async cancel(jobId: string): Promise<CancelOutcome> {
    const job = await this.get(jobId);
    if (!job) return { outcome: 'not-found' };
    const state = await job.getState();
    if (
      state === 'waiting' ||
      state === 'delayed' ||
      state === 'prioritized' ||
      state === 'waiting-children'
    ) {
      try {
        await job.remove();
        return { outcome: 'removed', job };
      } catch {
        // It was picked up between the two calls: stop it as a running job instead.
      }
    }
    if (state === 'completed' || state === 'failed') return { outcome: 'finished', state };
    await this.redis.set(this.cancelKey(jobId), '1', 'EX', CANCEL_TTL_SECONDS);
    return { outcome: 'signalled', job };
  }

  /** Whether someone asked `jobId` to stop. */
  async cancelRequested(jobId: string): Promise<boolean> {
    return (await this.redis.exists(this.cancelKey(jobId))) === 1;
  }

  private cancelKey(jobId: string): string {
    return `${this.prefix}:cancel:${jobId}`;
  }
}
