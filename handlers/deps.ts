/** What handlers need from the composition root. Handlers decide and enqueue; they never call AWS or MySQL. */
import type { Logger } from 'pino';
import type { AlertStore } from '../src/alerts/store.js';
import type { ApprovalStore } from '../src/approvals/store.js';
import type { AuditLog } from '../src/audit/index.js';
import type { Config } from '../src/config.js';
import type { EnvironmentRegistry } from '../src/environments/registry.js';
import type { HomeTabs } from '../src/home/tabs.js';
import type { Metrics } from '../src/observability/metrics.js';
import type { JobsAdmin } from '../src/queue/jobs-admin.js';
import type { TargetLocks } from '../src/queue/locks.js';
import type { JobProducer } from '../src/queue/producer.js';
import type { GroupDirectory } from '../src/slack/directory.js';
import type { StepExecutions } from '../src/steps/store.js';

/** Handler dependencies. */
export interface HandlerDeps {
  config: Config;
  producer: JobProducer;
  logger: Logger;
  metrics: Metrics;
  approvals: ApprovalStore;
  locks: TargetLocks;
  audit: AuditLog;
  jobsAdmin: JobsAdmin;
  directory: GroupDirectory;
  /** Status alerts (acknowledge, snooze). */
  alerts: AlertStore;
  /** Which blueprint each environment Capstan made comes from (a protected blueprint's rules apply). */
  environments: EnvironmentRegistry;
  /** Why the web process's Redis connection is down, in words (undefined while it is up). */
  redisProblem?: () => string | undefined;
  /** People's App Home tabs: who opened theirs, the answers to their clicks, publishing them. */
  homes: HomeTabs;
  /** Workflow Builder step executions: their tokens, and how each ends. */
  steps: StepExecutions;
}
