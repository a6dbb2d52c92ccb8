/** Job name → processor. Every job in `JOB_NAMES` has exactly one. */
import { AlertStore } from '../src/alerts/store.js';
import { EnvironmentRegistry } from '../src/environments/registry.js';
import type { ProcessorMap } from '../src/queue/worker.js';
import { alertsCheckJob } from './alerts-check.js';
import { alertsSignalJob } from './alerts-signal.js';
import { approvalExpireJob } from './approval-expire.js';
import { approvalRequestJob } from './approval-request.js';
import type { JobDeps } from './deps.js';
import { envCreateJob } from './env-create.js';
import { envDeleteJob } from './env-delete.js';
import { envExpirySweepJob, envExtendJob } from './env-expiry.js';
import { envListJob, envStatusJob } from './env-read.js';
import { envUpdateJob } from './env-update.js';
import { homePublishJob } from './home-publish.js';
import { lbDisableJob, lbEnableJob, lbStatusJob } from './lb.js';
import { pingJob } from './ops-ping.js';
import { rdsIoCreditsJob } from './rds-io-credits.js';
import { rdsJanitorJob } from './rds-janitor.js';
import { rdsRestoreJob } from './rds-restore.js';
import { stepCompleteJob } from './step-complete.js';

export type { JobDeps } from './deps.js';

/** The processors, bound to their dependencies. */
export function createProcessors(deps: JobDeps): ProcessorMap {
  const alerts = new AlertStore(deps.redis, deps.config.queuePrefix, { confirmer: deps.confirmer });
  const environments = new EnvironmentRegistry(deps.redis, deps.config.queuePrefix, deps.confirmer);
  return {
    'ops.ping': (job, ctx) => pingJob(job, ctx, deps),
    'env.create': (job, ctx) => envCreateJob(job, ctx, deps),
    'env.delete': (job, ctx) => envDeleteJob(job, ctx, deps),
    'env.extend': (job, ctx) => envExtendJob(job, ctx, deps),
    'env.expiry-sweep': (job) => envExpirySweepJob(job, deps),
    'env.list': (job, ctx) => envListJob(job, ctx, deps),
    'env.status': (job, ctx) => envStatusJob(job, ctx, deps),
    'env.update': (job, ctx) => envUpdateJob(job, ctx, deps),
    'lb.disable': (job, ctx) => lbDisableJob(job, ctx, deps),
    'lb.enable': (job, ctx) => lbEnableJob(job, ctx, deps),
    'lb.status': (job, ctx) => lbStatusJob(job, ctx, deps),
    'rds.restore-table': (job, ctx) => rdsRestoreJob(job, ctx, deps),
    'rds.io-credits': (job, ctx) => rdsIoCreditsJob(job, ctx, deps),
    'rds.janitor': (job) => rdsJanitorJob(job, deps),
    'approval.request': (job, ctx) => approvalRequestJob(job, ctx, deps),
    'approval.expire': (job) => approvalExpireJob(job, deps),
    'alerts.check': (job) => alertsCheckJob(job, { ...deps, alerts }),
    'alerts.signal': (job) => alertsSignalJob(job, { ...deps, alerts, environments }),
    'home.publish': (job) => homePublishJob(job, { ...deps, alerts }),
    'step.complete': (job) => stepCompleteJob(job, deps),
  };
}
