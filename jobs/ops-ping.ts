/**
 * `ops.ping`: proves the whole path — a worker picked the job up, reached Redis, and reports back
 * into the thread — with the time each part took.
 */
import type { Job } from 'bullmq';
import type { JobDataOf, JobResult } from '../src/queue/contract.js';
import type { JobContext } from '../src/queue/worker.js';
import { formatDuration } from '../src/slack/blocks/progress.js';
import type { PingDeps } from './deps.js';

/** Runs the ping job. */
export async function pingJob(
  job: Job<JobDataOf<'ops.ping'>>,
  ctx: JobContext,
  deps: PingDeps,
): Promise<JobResult> {
  const { reporter } = ctx;
  const queuedFor = (job.processedOn ?? Date.now()) - job.timestamp;
  await reporter.step(
    'Picked up by a worker',
    `${ctx.workerId}, after ${formatDuration(queuedFor)} in the queue`,
  );
  await ctx.betweenSteps();

  await reporter.step('Round trip to Redis');
  const t0 = performance.now();
  const answer = await deps.redis.ping();
  const redisMs = performance.now() - t0;
  if (answer !== 'PONG') throw new Error(`Redis answered ${answer} to PING`);
  reporter.progress(`${redisMs.toFixed(1)} ms`);
  await ctx.betweenSteps();

  const total = Date.now() - job.timestamp;
  return {
    outcome: 'done',
    summary: `pong from ${ctx.workerId} — queued ${formatDuration(queuedFor)}, Redis ${redisMs.toFixed(1)} ms, ${formatDuration(total)} from request to reply`,
  };
}
