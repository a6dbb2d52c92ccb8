/**
 * What jobs need from the composition root: {@link JobDeps} is everything `main.ts` hands over;
 * each job takes only the part it uses, named here so no job imports another job's types.
 */

import type { Agent } from 'node:https';
import type { AlertStore } from '../src/alerts/store.js';
import type { ApprovalStore } from '../src/approvals/store.js';
import type { AuditLog } from '../src/audit/index.js';
import type { AwsClientFactory } from '../src/aws/clients.js';
import type { Config } from '../src/config.js';
import type { EnvironmentRegistry } from '../src/environments/registry.js';
import type { HomeTabs } from '../src/home/tabs.js';
import type { JobsAdmin } from '../src/queue/jobs-admin.js';
import type { JobProducer } from '../src/queue/producer.js';
import type { RedisClient, WriteConfirmer } from '../src/redis.js';
import type { SlackNotifier } from '../src/slack/notifier.js';
import type { StepEnder } from '../src/slack/step-ender.js';
import type { StepExecutions } from '../src/steps/store.js';

/** Everything the processors are bound to. */
export interface JobDeps {
  config: Config;
  redis: RedisClient;
  /** Confirms writes a failover must not lose (alert state, the environment registry, standby records), when replicated. */
  confirmer?: WriteConfirmer;
  approvals: ApprovalStore;
  notifier: SlackNotifier;
  producer: JobProducer;
  aws: AwsClientFactory;
  /** The HTTPS agent SNS is reached with (the sandbox's in sandbox mode; Node's default otherwise). */
  snsAgent?: () => Promise<Agent>;
  /** The queue's jobs, as `/ops jobs` reads them (a person's jobs on their Home tab). */
  jobsAdmin: JobsAdmin;
  /** The audit log (its latest entries on an admin's Home tab). */
  audit: AuditLog;
  /** People's Home tabs: who opened theirs, and publishing them. */
  homes: HomeTabs;
  /** Workflow Builder step executions: their tokens and how each ends. */
  steps: StepExecutions;
  /** Delivers a step's end to Slack. */
  stepEnder: StepEnder;
}

/** Environment jobs (and every job that reads environments): the configuration and AWS. */
export type EnvJobDeps = Pick<JobDeps, 'config' | 'aws'>;
/** Creating and deleting environments: also the registry of which blueprint each was made from. */
export type EnvLifecycleDeps = Pick<JobDeps, 'config' | 'aws' | 'redis' | 'confirmer'>;
/** Reading an environment's instances, with who put which in Standby (the records live in Redis). */
export type EnvStatusDeps = Pick<JobDeps, 'config' | 'aws' | 'redis'>;
/** Load balancer jobs: environments, standby records, and the producer (a disable schedules its re-enable). */
export type LbJobDeps = Pick<JobDeps, 'config' | 'aws' | 'redis' | 'producer' | 'confirmer'>;
/** The expiry sweep: environments, the producer (it enqueues deletions), the notifier, and Redis (which stack's owner was warned). */
export type ExpiryDeps = Pick<JobDeps, 'config' | 'aws' | 'producer' | 'notifier' | 'redis' | 'confirmer'>;
/** The temporary-instance janitor. */
export type JanitorDeps = Pick<JobDeps, 'config' | 'aws' | 'notifier'>;
/** `ops.ping`: a round trip to Redis. */
export type PingDeps = Pick<JobDeps, 'redis'>;
/** Posting an approval request and planning what it would do. */
export type ApprovalRequestDeps = Pick<JobDeps, 'config' | 'aws' | 'approvals' | 'notifier' | 'producer'>;
/** Closing an approval request nobody decided (and deleting an unapproved update's change set, ending a step waiting on it). */
export type ApprovalExpireDeps = Pick<JobDeps, 'approvals' | 'notifier' | 'config' | 'aws' | 'steps'>;
/** Delivering a Workflow Builder step's end. */
export type StepCompleteDeps = Pick<JobDeps, 'steps' | 'stepEnder'>;

/** `alerts.signal`: what the scheduled checks use, the environments' activity, and how SNS is reached. */
export interface AlertsSignalDeps extends AlertsCheckDeps {
  environments: EnvironmentRegistry;
  /** The HTTPS agent SubscribeURLs are fetched with (the sandbox's in sandbox mode). */
  snsAgent?: () => Promise<Agent>;
}

/** Building and publishing a person's Home tab: everything it shows, and Slack. */
export interface HomePublishDeps
  extends Pick<JobDeps, 'config' | 'aws' | 'approvals' | 'notifier' | 'jobsAdmin' | 'audit' | 'homes'> {
  alerts: AlertStore;
}

/** The scheduled alert checks. */
export interface AlertsCheckDeps extends EnvJobDeps {
  /** Standby records (who put an instance in Standby, since when). */
  redis: RedisClient;
  notifier: SlackNotifier;
  producer: Pick<JobProducer, 'queue'>;
  /** Alert state (Redis). */
  alerts: AlertStore;
  /** The Home tabs that show alerts, re-published when what they show of one changes. */
  homes?: HomeTabs;
  /** The clock (epoch ms); tests may move it. */
  now?: () => number;
}
