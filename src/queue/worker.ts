/**
 * Worker wiring: runs each job through its processor with a reporter, checkpoints, metrics and a
 * clean way out on shutdown (the job goes back to the queue at its next checkpoint).
 */
import { hostname } from 'node:os';
import { DelayedError, type Job, UnrecoverableError, WaitingError, Worker } from 'bullmq';
import type { Logger } from 'pino';
import type { AuditLog } from '../audit/index.js';
import { CancelledError, describeForUser, UserError } from '../errors.js';
import type { Metrics } from '../observability/metrics.js';
import { lockTargetOf } from '../policy/index.js';
import type { RedisClient } from '../redis.js';
import {
  type Checkpoints,
  type JobData,
  type JobDataOf,
  type JobName,
  type JobResult,
  QUEUE_NAME,
  SILENT_JOBS,
} from './contract.js';
import type { JobsAdmin } from './jobs-admin.js';
import type { TargetLocks } from './locks.js';
import type { JobReporting, ReporterFactory } from './reporting.js';

/** What a processor gets besides its job. */
export interface JobContext {
  reporter: JobReporting;
  /** Aborted when the worker is shutting down. */
  signal: AbortSignal;
  /** The checkpoints written so far (by this attempt or an earlier one). */
  checkpoints: Readonly<Checkpoints>;
  /** Records that a step finished, with what later steps need from it. */
  checkpoint(key: string, value: unknown): Promise<void>;
  /**
   * The value an earlier attempt settled under `key`, or `compute()`'s, checkpointed now: decisions
   * a retried job must not take again differently (a plan, the instances it acts on).
   */
  remember<T>(key: string, compute: () => T | Promise<T>): Promise<T>;
  /**
   * Call between steps: when the worker is shutting down, returns the job to the queue (it resumes
   * at its first unfinished step on another worker) instead of starting the next step; when someone
   * cancelled the job, throws {@link CancelledError} so the processor cleans up and stops.
   */
  betweenSteps(): Promise<void>;
  /** Where this attempt runs, e.g. `host:1234`. */
  workerId: string;
  /**
   * Call right after creating something and before checkpointing it (`what` names the step, e.g.
   * `temporary-instance`): the instant where a crash strands what was made unless a resumed attempt
   * can adopt it. Nothing happens here in production; the kill drill aims its kills at it.
   */
  created(what: string): Promise<void>;
}

/**
 * Told when a job has ended for good (done, waiting for people, cancelled, or failed for the last
 * time), after its outcome is reported; not for quiet scheduled runs. What it throws is logged.
 */
export type FinishedHook = (event: { name: JobName; data: JobData; outcome: string }) => Promise<void>;

/**
 * Told when a job has ended for good, with its outcome and what it read back, before it is recorded
 * as ended: what it throws makes the attempt fail (and retry), so what must follow a job's end — a
 * Workflow Builder step's end — is never lost to a crash in between.
 */
export type EndedHook = (event: {
  name: JobName;
  jobId: string;
  data: JobData;
  outcome: JobResult['outcome'] | 'failed';
  summary: string;
  facts?: JobResult['facts'];
}) => Promise<void>;

/** Told of each {@link JobContext.created} (the kill drill's hook). */
export type CreatedHook = (event: { jobId: string; job: string; what: string }) => Promise<void>;

/** A job's processor: reads like a runbook, one named step after another. */
export type JobProcessor<N extends JobName = JobName> = (
  job: Job<JobDataOf<N>>,
  ctx: JobContext,
) => Promise<JobResult>;

/** Processors by job name, each reading its own job's data. */
export type ProcessorMap = { readonly [N in JobName]: JobProcessor<N> };

/** How to start workers. */
export interface WorkerHostOptions {
  connection: RedisClient;
  prefix: string;
  concurrency: number;
  lockDurationMs: number;
  stalledIntervalMs: number;
  shutdownGraceMs: number;
  processors: ProcessorMap;
  /** Makes each job's reporter (Slack's, in production). */
  reporterFor: ReporterFactory;
  logger: Logger;
  metrics: Metrics;
  jobsAdmin: JobsAdmin;
  locks: TargetLocks;
  audit: AuditLog;
  /** Called at each {@link JobContext.created}; absent in production. */
  onCreated?: CreatedHook;
  /** Called when a job has ended (main.ts re-publishes the Home tabs it changed). */
  onFinished?: FinishedHook;
  /** Called when a job has ended, before it is recorded so (main.ts ends the workflow step it carries). */
  onEnded?: EndedHook;
}

/** A running job holds its target's lock for this long at a time, renewing it as it goes. */
const LOCK_LEASE_MS = 60_000;
/** How often a job whose target is busy looks again. */
const LOCK_RETRY_MS = 5_000;

/** A running BullMQ worker and how to stop it cleanly. */
export interface WorkerHost {
  worker: Worker<JobData, JobResult>;
  /** True once the worker has connected and is taking jobs. */
  isReady(): boolean;
  /** Stops taking jobs; running jobs reach a checkpoint and return to the queue, or finish. */
  stop(): Promise<void>;
}

/** Starts a worker on the jobs queue. */
export function startWorkerHost(opts: WorkerHostOptions): WorkerHost {
  const workerId = `${hostname()}:${process.pid}`;
  const stopping = new AbortController();
  let ready = false;

  const worker = new Worker<JobData, JobResult>(
    QUEUE_NAME,
    (job, token) => runJob(job, token, opts, workerId, stopping.signal),
    {
      connection: opts.connection,
      prefix: opts.prefix,
      concurrency: opts.concurrency,
      lockDuration: opts.lockDurationMs,
      stalledInterval: opts.stalledIntervalMs,
      // A job whose worker died is put back this many times before it is failed.
      maxStalledCount: 3,
      autorun: true,
    },
  );
  worker.on('ready', () => {
    ready = true;
  });
  worker.on('error', (err) => opts.logger.error({ err }, 'worker error'));
  worker.on('failed', (job, err) => {
    if (job)
      opts.logger.warn({ jobId: job.id, name: job.name, attemptsMade: job.attemptsMade, err }, 'job failed');
  });

  return {
    worker,
    isReady: () => ready && worker.isRunning(),
    async stop() {
      stopping.abort();
      const graceful = worker.close();
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), opts.shutdownGraceMs);
      });
      const outcome = await Promise.race([graceful.then(() => 'closed' as const), timeout]);
      clearTimeout(timer);
      if (outcome === 'timeout') {
        // Jobs still running lose their lock and are picked up again by another worker.
        opts.logger.warn('jobs did not reach a checkpoint in time; closing the worker anyway');
        await worker.close(true);
      }
    },
  };
}

async function runJob(
  job: Job<JobData>,
  token: string | undefined,
  opts: WorkerHostOptions,
  workerId: string,
  signal: AbortSignal,
): Promise<JobResult> {
  const name = job.name as JobName;
  // The producer wrote this job's data under its name (`JobProducer.enqueue` checks the pair), so
  // this is the one place the name is taken to say what the data is.
  const processor = opts.processors[name] as
    | ((job: Job<JobData>, ctx: JobContext) => Promise<JobResult>)
    | undefined;
  const log = opts.logger.child({ jobId: job.id, job: name, attempt: job.attemptsMade + 1 });
  if (!processor) throw new UnrecoverableError(`no processor for job ${job.name}`);

  // Checkpoint writes are serialised: the reporter and the processor both write job data.
  let writes: Promise<void> = Promise.resolve();
  const checkpoint = (key: string, value: unknown): Promise<void> => {
    job.data.checkpoints[key] = value;
    const data = structuredClone(job.data);
    writes = writes.then(() => job.updateData(data));
    return writes;
  };

  // An earlier attempt got as far as reporting (even if it died before its message's ts was kept).
  const resumed = job.data.checkpoints.reporter !== undefined;
  const reporter = opts.reporterFor({
    jobId: String(job.id),
    request: job.data.request,
    queuedAt: job.timestamp,
    checkpoint: job.data.checkpoints.reporter,
    persist: (snapshot) => checkpoint('reporter', snapshot),
    logger: log,
  });

  const started = Date.now();
  const finished = (outcome: string, summary: string) => {
    opts.metrics.jobs.inc({ name, outcome });
    opts.metrics.jobSeconds.observe({ name, outcome }, (Date.now() - started) / 1000);
    return opts.audit
      .appendOnce(
        {
          kind: 'job',
          actor: job.data.request.userId,
          subject: `job ${job.id}`,
          outcome,
          detail: { name, text: job.data.request.text, summary },
        },
        // One entry per attempt's ending, however often this attempt's ending is written.
        `job:${job.id}:${job.attemptsMade}`,
      )
      .catch((err: unknown) => log.warn({ err }, 'audit append failed'))
      .then(() => opts.onFinished?.({ name, data: job.data, outcome }))
      .catch((err: unknown) => log.warn({ err }, 'after-job hook failed'));
  };

  // A command job holds its target's lock while it runs (approval and timer jobs do not).
  const { command } = job.data;
  const lockTarget = command && job.name === command.kind ? lockTargetOf(command) : undefined;
  const holder = {
    jobId: String(job.id),
    userId: job.data.request.userId,
    action: job.data.request.text,
    since: Date.now(),
  };
  let renewTimer: NodeJS.Timeout | undefined;
  let keepLock = false;
  // The target is free again before the outcome is announced, so whoever reads "done" can act on it.
  let released = false;
  const releaseLock = async () => {
    clearInterval(renewTimer);
    if (!lockTarget || released) return;
    released = true;
    await opts.locks.release(lockTarget, holder.jobId).catch(() => false);
  };

  try {
    if (lockTarget) {
      const lock = await opts.locks.acquire(lockTarget, holder, LOCK_LEASE_MS);
      if (!lock.acquired) {
        keepLock = true;
        reporter.info(
          `waiting: ${lockTarget} is busy with job ${lock.holder.jobId} (\`${lock.holder.action}\` by <@${lock.holder.userId}>)`,
        );
        await reporter.flush();
        await job.moveToDelayed(Date.now() + LOCK_RETRY_MS, token);
        throw new DelayedError();
      }
      renewTimer = setInterval(() => {
        opts.locks.renew(lockTarget, holder, LOCK_LEASE_MS).then(
          (held) => held || log.error({ lockTarget }, 'lost the lock on the target'),
          (err: unknown) => log.warn({ err }, 'lock renewal failed'),
        );
      }, LOCK_LEASE_MS / 3);
    }
    const silent = SILENT_JOBS.has(job.name);
    if (resumed) reporter.info(`resumed on worker ${workerId} (attempt ${job.attemptsMade + 1})`);
    if (!silent) await reporter.start();
    const result = await processor(job, {
      reporter,
      signal,
      // Read live: BullMQ's updateData replaces job.data, so a captured object would miss this
      // attempt's own checkpoints after the first write.
      get checkpoints() {
        return job.data.checkpoints;
      },
      checkpoint,
      async remember<T>(key: string, compute: () => T | Promise<T>): Promise<T> {
        if (key in job.data.checkpoints) return job.data.checkpoints[key] as T;
        const value = await compute();
        await checkpoint(key, value);
        return value;
      },
      workerId,
      async created(what: string) {
        await opts.onCreated?.({ jobId: String(job.id), job: job.name, what });
      },
      async betweenSteps() {
        if (job.id && (await opts.jobsAdmin.cancelRequested(job.id))) throw new CancelledError();
        if (!signal.aborted) return;
        await reporter.flush();
        await writes;
        log.info('worker stopping: returning the job to the queue');
        keepLock = true;
        await job.moveToWait(token);
        throw new WaitingError();
      },
    });
    await releaseLock();
    if (!silent && !result.reported) {
      if (result.outcome === 'cancelled') await reporter.cancelled(result.summary);
      else if (result.outcome === 'waiting')
        await reporter.waiting(result.waitingFor ?? 'people', result.summary);
      else await reporter.done(result.summary);
    }
    await writes;
    await opts.onEnded?.({
      name,
      jobId: String(job.id),
      data: job.data,
      outcome: result.outcome,
      summary: result.summary,
      ...(result.facts ? { facts: result.facts } : {}),
    });
    if (!result.quiet) await finished(result.outcome, result.summary);
    else opts.metrics.jobs.inc({ name, outcome: result.outcome });
    log.info({ outcome: result.outcome }, 'job finished');
    return result;
  } catch (error) {
    if (error instanceof WaitingError || error instanceof DelayedError) throw error;
    if (error instanceof CancelledError) {
      await releaseLock();
      await reporter.cancelled(error.message);
      await writes;
      await opts.onEnded?.({
        name,
        jobId: String(job.id),
        data: job.data,
        outcome: 'cancelled',
        summary: error.message,
      });
      await finished('cancelled', error.message);
      return { outcome: 'cancelled', summary: error.message };
    }
    const attempts = job.opts.attempts ?? 1;
    const final = error instanceof UserError || job.attemptsMade + 1 >= attempts;
    log.error({ err: error, final }, 'job attempt failed');
    if (final) {
      await releaseLock();
      await reporter.fail(error);
      await writes;
      // The job is failed whatever happens here: a hook that cannot run is logged, not retried.
      await opts
        .onEnded?.({
          name,
          jobId: String(job.id),
          data: job.data,
          outcome: 'failed',
          summary: describeForUser(error),
        })
        .catch((err: unknown) => log.error({ err }, 'after-failure hook failed'));
      await finished('failed', describeForUser(error));
      throw error instanceof UserError ? new UnrecoverableError(error.message) : error;
    }
    // The lock stays with the job across its retries.
    keepLock = true;
    reporter.warn(
      `attempt ${job.attemptsMade + 1} of ${attempts} failed: ${describeForUser(error)} — retrying`,
    );
    await reporter.flush();
    await writes;
    throw error;
  } finally {
    clearInterval(renewTimer);
    if (!keepLock) await releaseLock();
  }
}
