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
import { type RedisClient, type WriteConfirmer, writeDurably } from '../redis.js';
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
  /**
   * Sentinel's write confirmer (absent otherwise). A clean failover leaves the old primary taking
   * writes for seconds, then dropping them: a job fetched there in that window is still waiting on
   * the new primary (another worker will run it), and a job's ending written there is lost (its job
   * stays active until BullMQ's stalled check, and its target stays locked). So each job starts, and
   * ends, only on a primary the sentinels confirm: see {@link onConfirmedPrimary}.
   */
  failoverGuard?: WriteConfirmer;
  /**
   * The deployment's write confirmer (Cluster, Sentinel): each checkpoint is confirmed before the
   * job goes on, so a failover cannot drop it and have a resumed job repeat its step.
   */
  confirmer?: WriteConfirmer;
}

/** A running job holds its target's lock for this long at a time, renewing it as it goes. */
const LOCK_LEASE_MS = 60_000;
/** How often a job whose target is busy looks again. */
const LOCK_RETRY_MS = 5_000;

/**
 * Whether job ARGV[1] is still this attempt's on the primary: in the active list and locked with
 * token ARGV[2], or its lock lapsed (renewals made on an old primary were lost with it), in which
 * case the lock is taken back for ARGV[3] ms. 1 if so; 0 when the job is not active there (it was
 * fetched on an old primary); -1 when another attempt holds it.
 */
const RECLAIM_JOB = `
if not redis.call('LPOS', KEYS[1], ARGV[1]) then return 0 end
local held = redis.call('GET', KEYS[2])
if held and held ~= ARGV[2] then return -1 end
redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
return 1`;

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

  const worker: Worker<JobData, JobResult> = new Worker<JobData, JobResult>(
    QUEUE_NAME,
    (job, token) => runJob(job, token, opts, workerId, stopping.signal, worker),
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

/** Where a connection is (`host:port` of the node it reached), to tell whether it moved. */
function nodeOf(client: RedisClient): string {
  const stream = (client as { stream?: { remoteAddress?: string; remotePort?: number } }).stream;
  return `${stream?.remoteAddress ?? ''}:${stream?.remotePort ?? ''}`;
}

/**
 * Under Sentinel ({@link WorkerHostOptions.failoverGuard}): waits until the sentinels confirm the
 * worker's connection is on the primary with no failover under way, and says whether the job is
 * still this attempt's there (active, locked with its token or its lock lapsed, then taken back).
 * Asked with `ending` when the job ends: if a failover happened since `ending.startedOn` (the
 * connection is on another node, or had to wait now), what the job wrote may have been dropped
 * with the old primary, so `ending.reapply` writes it again on the new one first. Without a guard
 * it resolves to true at once.
 */
async function onConfirmedPrimary(
  opts: WorkerHostOptions,
  worker: Worker<JobData, JobResult>,
  job: Job<JobData>,
  token: string | undefined,
  log: Logger,
  ending?: { startedOn: string; reapply: () => Promise<void> },
): Promise<boolean> {
  const guard = opts.failoverGuard;
  if (!guard || !token || !job.id) return true;
  const jobId = job.id;
  const active = worker.toKey('active');
  const onRetry = (reason: string) =>
    log.warn({ reason }, 'waiting for the sentinels to confirm the primary');
  const settled = await writeDurably(guard, opts.connection, active, async () => undefined, { onRetry });
  if (!settled.confirmed) log.warn('the sentinels did not confirm the primary in time; going on');
  const moved =
    settled.results.length > 1 || (ending !== undefined && nodeOf(opts.connection) !== ending.startedOn);
  if (ending && !moved) return true;
  const reclaimed = await writeDurably(
    guard,
    opts.connection,
    active,
    async () => {
      if (ending) await ending.reapply();
      return Number(
        await opts.connection.eval(
          RECLAIM_JOB,
          2,
          active,
          `${worker.toKey(jobId)}:lock`,
          jobId,
          token,
          opts.lockDurationMs,
        ),
      );
    },
    { onRetry },
  );
  return reclaimed.results.at(-1) === 1;
}

async function runJob(
  job: Job<JobData>,
  token: string | undefined,
  opts: WorkerHostOptions,
  workerId: string,
  signal: AbortSignal,
  worker: Worker<JobData, JobResult>,
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
    writes = writes.then(async () => {
      // Written again until confirmed (the same data: harmless), on the new primary after a failover.
      const { confirmed } = await writeDurably(
        opts.confirmer,
        opts.connection,
        worker.toKey(String(job.id)),
        () => job.updateData(data),
      );
      if (!confirmed) log.warn({ key }, 'checkpoint written without confirming a failover cannot lose it');
    });
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

  // Fetched on an old primary during a failover, the job is still waiting on the new one: it is
  // left to the worker that fetches it there. (BullMQ leaves a job alone after a WaitingError.)
  if (!(await onConfirmedPrimary(opts, worker, job, token, log))) {
    log.warn('this job was fetched on a primary a failover left: it runs from the new primary');
    throw new WaitingError();
  }
  // What a job wrote on an old primary after a failover is written again on the new one before
  // BullMQ records its end there: its data (checkpoints), its target's release.
  const startedOn = nodeOf(opts.connection);
  const confirmEnd = () =>
    onConfirmedPrimary(opts, worker, job, token, log, {
      startedOn,
      reapply: async () => {
        await job.updateData(job.data);
        if (released && lockTarget) await opts.locks.release(lockTarget, holder.jobId).catch(() => false);
      },
    }).then((ours) => {
      if (!ours) log.warn('after a failover this job is no longer held by this attempt on the primary');
    });

  try {
    if (lockTarget) {
      const lock = await opts.locks.acquire(lockTarget, holder, LOCK_LEASE_MS);
      if (!lock.acquired) {
        keepLock = true;
        reporter.info(
          `waiting: ${lockTarget} is busy with job ${lock.holder.jobId} (\`${lock.holder.action}\` by <@${lock.holder.userId}>)`,
        );
        await reporter.flush();
        await confirmEnd();
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
        await confirmEnd();
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
    await confirmEnd();
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
      await confirmEnd();
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
      await confirmEnd();
      throw error instanceof UserError ? new UnrecoverableError(error.message) : error;
    }
    // The lock stays with the job across its retries.
    keepLock = true;
    reporter.warn(
      `attempt ${job.attemptsMade + 1} of ${attempts} failed: ${describeForUser(error)} — retrying`,
    );
    await reporter.flush();
    await writes;
    await confirmEnd();
    throw error;
  } finally {
    clearInterval(renewTimer);
    if (!keepLock) await releaseLock();
  }
}
