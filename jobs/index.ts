/** Job name → processor. Every job in `JOB_NAMES` has exactly one. */
import type { Redis } from 'ioredis';
import type { ApprovalStore } from '../src/approvals/store.js';
import type { Config } from '../src/config.js';
import type { JobProducer } from '../src/queue/producer.js';
import type { ProcessorMap } from '../src/queue/worker.js';
import type { SlackNotifier } from '../src/slack/notifier.js';
import { approvalExpireJob } from './approval-expire.js';
import { approvalRequestJob } from './approval-request.js';
import { pingJob } from './ops-ping.js';

/** What processors need from the composition root. */
export interface JobDeps {
  config: Config;
  redis: Redis;
  approvals: ApprovalStore;
  notifier: SlackNotifier;
  producer: JobProducer;
}

/** The processors, bound to their dependencies. */
export function createProcessors(deps: JobDeps): ProcessorMap {
  return {
    'ops.ping': (job, ctx) => pingJob(job, ctx, deps),
    'approval.request': (job, ctx) => approvalRequestJob(job, ctx, deps),
    'approval.expire': (job) => approvalExpireJob(job, deps),
  };
}
