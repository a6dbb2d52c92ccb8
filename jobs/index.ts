/** Job name → processor. Every job in `JOB_NAMES` has exactly one. */
import type { Redis } from 'ioredis';
import type { ProcessorMap } from '../src/queue/worker.js';
import { pingJob } from './ops-ping.js';

/** What processors need from the composition root. */
export interface JobDeps {
  redis: Redis;
}

/** The processors, bound to their dependencies. */
export function createProcessors(deps: JobDeps): ProcessorMap {
  return {
    'ops.ping': (job, ctx) => pingJob(job, ctx, deps),
  };
}
