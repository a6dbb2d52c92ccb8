/**
 * How every AWS job opens: its command, where it acts (an environment's or a database's placement),
 * its AWS clients acting for the person who asked, and its waits (which checkpoint between polls).
 */
import type { Job } from 'bullmq';
import type { AwsClients, AwsPlacement } from '../src/aws/clients.js';
import { type EnvironmentRef, resolveEnvironment } from '../src/domain/env.js';
import { jobWaits, type WaitOptions } from '../src/domain/wait.js';
import type { CommandJobName, JobDataOf } from '../src/queue/contract.js';
import type { JobContext } from '../src/queue/worker.js';
import type { EnvJobDeps } from './deps.js';

/** What a job starts with. */
export interface OpenedJob<N extends CommandJobName> {
  command: JobDataOf<N>['command'];
  clients: AwsClients;
  wait: Omit<WaitOptions, 'what'>;
}

/** Opens a command job that acts at `placement`. */
export function openJob<N extends CommandJobName>(
  job: Job<JobDataOf<N>>,
  ctx: JobContext,
  deps: EnvJobDeps,
  placement: AwsPlacement,
): OpenedJob<N> {
  return {
    command: job.data.command,
    clients: deps.aws.clients(placement, job.data.request.userId),
    wait: jobWaits(deps.config.waits, () => ctx.betweenSteps()),
  };
}

/** The jobs that act on one named environment. */
type EnvironmentJobName =
  | 'env.delete'
  | 'env.extend'
  | 'env.status'
  | 'lb.disable'
  | 'lb.enable'
  | 'lb.status';

/** Opens a job on the environment `name` (declared in the config, or made from a blueprint). */
export function openEnvironmentJob<N extends EnvironmentJobName>(
  job: Job<JobDataOf<N>>,
  ctx: JobContext,
  deps: EnvJobDeps,
  name: string,
): OpenedJob<N> & { env: EnvironmentRef } {
  const env = resolveEnvironment(deps.config, name, undefined);
  return { env, ...openJob(job, ctx, deps, env.placement) };
}
