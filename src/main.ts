#!/usr/bin/env node
import type { Server } from 'node:http';
import type { Logger } from 'pino';
import { type HandlerDeps, registerHandlers } from '../handlers/index.js';
import { createProcessors } from '../jobs/index.js';
import { AlertStore } from './alerts/store.js';
import { ApprovalStore } from './approvals/store.js';
import { AuditLog } from './audit/index.js';
import { createAwsClientFactory } from './aws/clients.js';
/**
 * Composition root and CLI: `capstan start` (web + worker in one process), `capstan web`,
 * `capstan worker`. Reads the configuration once, wires the parts, and shuts down cleanly on
 * SIGINT/SIGTERM: stop taking requests and jobs, let running jobs reach a checkpoint or return them
 * to the queue, close Redis.
 */
import { iamMarkdown, iamPolicyFor } from './aws/iam-policy.js';
import { type Config, describeRedis, readConfig, readRedisConfig } from './config.js';
import { EnvironmentRegistry } from './environments/registry.js';
import { ConfigError } from './errors.js';
import { HomeTabs, refreshAfterJob } from './home/tabs.js';
import { type ProbeSources, startProbeServer } from './http/probes.js';
import { createLogger } from './observability/logger.js';
import { createMetrics } from './observability/metrics.js';
import type { ScheduledJobName } from './queue/contract.js';
import { JobsAdmin } from './queue/jobs-admin.js';
import { TargetLocks } from './queue/locks.js';
import { JobProducer } from './queue/producer.js';
import { startWorkerHost, type WorkerHost } from './queue/worker.js';
import {
  closeRedis,
  createRedis,
  createWriteConfirmer,
  explainRedisError,
  type RedisClient,
  watchRedis,
} from './redis.js';
import { configuredGroupIds, createGroupDirectory } from './slack/directory.js';
import { createSlackClient, createSlackNotifier } from './slack/notifier.js';
import { slackReporterFactory } from './slack/reporter.js';
import { createStepEnder } from './slack/step-ender.js';
import { type LocalWorldStandIn, loadStandIns, type SnsStandIn } from './stand-ins.js';
import { stepEndingOf } from './steps/outputs.js';
import { StepExecutions } from './steps/store.js';
import { startWebApp, type WebApp } from './web/create-app.js';
import { snsRoute } from './web/sns-endpoint.js';

/** Which parts a process runs. */
export type Role = 'start' | 'web' | 'worker';

/** A running Capstan process. */
export interface Capstan {
  /** The HTTP port bound (web or probe server). */
  port: number;
  web?: WebApp;
  workerHost?: WorkerHost;
  stop(): Promise<void>;
}

/** How long `GET /ready` waits for Redis to answer PING. */
const READY_PING_TIMEOUT_MS = 2_000;

/** Starts the parts of Capstan that `role` names. Used by the CLI and by tests. */
export async function startCapstan(role: Role, config: Config, logger: Logger): Promise<Capstan> {
  const metrics = createMetrics();
  const redis = createRedis(config.redis, { name: `capstan-${role}`, autoPipelining: false });
  const redisWatch = watchRedis(redis, logger, 'redis');
  logger.info({ role }, `using ${describeRedis(config.redis)}`);
  const closers: Array<() => Promise<unknown>> = [];
  const connections = [redis];

  let workerHost: WorkerHost | undefined;
  // Both sides enqueue (commands; approval timers), so both have the producer and the stores.
  const confirmer = createWriteConfirmer(config.redis);
  const producer = new JobProducer(redis, config.queuePrefix, (err) => logger.warn({ err }, 'queue error'), {
    confirmer,
    onUnconfirmed: (jobId, reason) =>
      logger.warn(
        { jobId },
        `job ${jobId} acknowledged without confirming a failover cannot lose it: ${reason}`,
      ),
  });
  const approvals = new ApprovalStore(redis, config.queuePrefix, confirmer);
  const locks = new TargetLocks(redis, config.queuePrefix, confirmer);
  const audit = new AuditLog(redis, config.queuePrefix, logger, confirmer);
  const jobsAdmin = new JobsAdmin(producer.queue, redis, config.queuePrefix);
  const homes = new HomeTabs(redis, config.queuePrefix, producer);
  const steps = new StepExecutions(redis, config.queuePrefix, producer, confirmer);
  const slackClient = createSlackClient({
    token: config.slack.botToken,
    ...(config.slack.apiUrl ? { apiUrl: config.slack.apiUrl } : {}),
    logger,
  });
  const notReadyReasons = async (): Promise<string[]> => {
    const reasons: string[] = [];
    // Bounded: a command waits out a failover (about 20 s), a probe answers at once.
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), READY_PING_TIMEOUT_MS);
    });
    try {
      const pong = await Promise.race([redis.ping(), late]);
      if (pong === 'late')
        reasons.push(
          `redis unreachable: ${redisWatch.problem() ?? `no answer within ${READY_PING_TIMEOUT_MS} ms`}`,
        );
    } catch (err) {
      reasons.push(`redis unreachable: ${redisWatch.problem() ?? explainRedisError(err as Error)}`);
    } finally {
      clearTimeout(timer);
    }
    if (workerHost && !workerHost.isReady()) reasons.push('worker not attached to the queue');
    if (!workerHost && reasons.length === 0) {
      const workers = await producer.queue.getWorkersCount();
      if (workers === 0) reasons.push('no worker is attached to the queue');
    }
    return reasons;
  };
  const probes: ProbeSources = { notReadyReasons, registry: metrics.registry };

  // In sandbox mode the stand-ins are AWS: beneath the SDK clients, and SNS's HTTPS hosts (its
  // signing certificates and SubscribeURLs, reached through their agent, on loopback).
  const standIns = config.aws.mode === 'sandbox' ? await loadStandIns() : undefined;
  // The sandbox's world: in Capstan's Redis, or on a Redis of its own.
  const worldRedis = standIns ? sandboxRedisOf(config, () => redis) : undefined;
  if (worldRedis && worldRedis !== redis) connections.push(worldRedis);
  // Opened on first use, and again after a failure (it keeps its identity in Redis, which may be
  // down at start-up: start-up never waits on Redis).
  let snsOpening: Promise<SnsStandIn> | undefined;
  const openSns = standIns
    ? () =>
        (snsOpening ??= standIns
          .snsStandIn({
            redis: worldRedis ?? redis,
            prefix: config.queuePrefix,
            logger,
            // Alarms are evaluated where AWS is: in workers (a lone web process only verifies).
            evaluateAlarms: role !== 'web',
          })
          .catch((error: unknown) => {
            snsOpening = undefined;
            throw error;
          }))
    : undefined;
  const snsAgent = openSns ? async () => (await openSns()).agent : undefined;
  closers.push(async () => (await snsOpening?.catch(() => undefined))?.close());
  if (openSns && role !== 'web') {
    // Workers evaluate the sandbox's alarms: open it now, and retry until it opens.
    const retry = setInterval(() => {
      openSns().then(
        () => clearInterval(retry),
        (err: unknown) => logger.warn({ err }, 'the sandbox SNS could not open yet'),
      );
    }, 5_000);
    retry.unref();
    openSns().then(
      () => clearInterval(retry),
      () => undefined,
    );
    closers.push(async () => clearInterval(retry));
  }

  if (role !== 'web') {
    // AWS is reached only from workers; the sandbox keeps its world in Redis, shared by every worker.
    const sandbox = standIns?.createSandbox({ redis: worldRedis ?? redis, prefix: config.queuePrefix });
    // Only the sandbox's drills ever aim a kill at the instant after a create.
    const onCreated = standIns?.createdHook({ env: process.env, redis, prefix: config.queuePrefix });
    // Seeding is idempotent: every worker may seed the same file at start-up.
    if (sandbox && config.aws.sandboxSeed) await sandbox.loadSeedFile(config.aws.sandboxSeed);
    const aws = createAwsClientFactory(sandbox ? { sandbox } : {});
    closers.push(async () => aws.destroy());
    const workerRedis = createRedis(config.redis, { forWorker: true, name: 'capstan-worker' });
    watchRedis(workerRedis, logger, 'redis (worker)');
    connections.push(workerRedis);
    const notifier = createSlackNotifier(slackClient);
    workerHost = startWorkerHost({
      connection: workerRedis,
      prefix: config.queuePrefix,
      concurrency: config.worker.concurrency,
      lockDurationMs: config.worker.lockDurationMs,
      stalledIntervalMs: config.worker.stalledIntervalMs,
      shutdownGraceMs: config.worker.shutdownGraceMs,
      reporterFor: slackReporterFactory(notifier, config.reporter.minUpdateIntervalMs),
      processors: createProcessors({
        config,
        redis,
        confirmer,
        approvals,
        notifier,
        producer,
        aws,
        ...(snsAgent ? { snsAgent } : {}),
        jobsAdmin,
        audit,
        homes,
        steps,
        stepEnder: createStepEnder(slackClient),
      }),
      logger,
      metrics,
      jobsAdmin,
      locks,
      audit,
      ...(onCreated ? { onCreated } : {}),
      // Under Sentinel a job starts and ends only on a primary the sentinels confirm.
      ...(config.redis.mode === 'sentinel' ? { failoverGuard: confirmer } : {}),
      // Replicated, each checkpoint is confirmed before the job goes on.
      confirmer,
      // A job's end changes its requester's Home tab (and an approval request's, its deciders').
      onFinished: (event) => refreshAfterJob(homes, config.file, approvals, event),
      // A workflow step ends with the job it waits on: decided here, delivered by `step.complete`.
      onEnded: async (end) => {
        const step = stepEndingOf(end);
        if (step) await steps.end(step.run, step.ending, end.data.request.userId);
      },
    });
    const host = workerHost;
    closers.push(() => host.stop());
    // Scheduled checks run once per interval however many workers there are (BullMQ job
    // schedulers), only when there is something to check. Not awaited: start-up does not wait on Redis.
    const schedule = (name: ScheduledJobName, every: number) =>
      producer.queue
        .upsertJobScheduler(
          name,
          { every },
          {
            name,
            data: {
              request: {
                requestId: name,
                userId: 'capstan',
                channelId: '',
                text: name,
                source: 'schedule',
                receivedAt: 0,
              },
              checkpoints: {},
            },
          },
        )
        .catch((err: unknown) => logger.error({ err, name }, 'could not schedule a check'));
    if (Object.keys(config.file.blueprints).length > 0)
      void schedule('env.expiry-sweep', config.expirySweepMs);
    if (Object.keys(config.file.databases).length > 0) void schedule('rds.janitor', config.janitorMs);
    // Status alerts: only when the config file has an `alerts` section (each check keeps its own interval).
    if (config.file.alerts.enabled) void schedule('alerts.check', config.alertsCheckMs);
  }

  let web: WebApp | undefined;
  let probeServer: Server | undefined;
  if (role !== 'worker') {
    const directory = createGroupDirectory({
      client: slackClient,
      groupIds: configuredGroupIds(config.file.roles),
      logger,
      failClosedMs: config.file.policy.userGroupsFailClosedMinutes * 60_000,
    });
    // Not awaited: start-up does not wait on Slack; a group not loaded yet is fetched on first use.
    void directory.warm();
    const deps: HandlerDeps = {
      config,
      producer,
      logger,
      metrics,
      approvals,
      locks,
      audit,
      jobsAdmin,
      directory,
      alerts: new AlertStore(redis, config.queuePrefix, { confirmer }),
      environments: new EnvironmentRegistry(redis, config.queuePrefix, confirmer),
      redisProblem: () => redisWatch.problem(),
      homes,
      steps,
    };
    const snsEndpoint = snsRoute({
      topics: () => config.file.alerts.sns.topics,
      enqueue: (message) => producer.enqueueSignal(message),
      logger,
      count: (outcome) => metrics.slackRequests.inc({ kind: 'sns', outcome }),
      ...(snsAgent ? { agent: snsAgent } : {}),
    });
    web = await startWebApp({
      config,
      logger,
      probes,
      routes: [snsEndpoint],
      register: (app) => registerHandlers(app, deps),
    });
    // Stop taking requests before anything else closes.
    const started = web;
    closers.unshift(() => started.stop());
  } else {
    probeServer = await startProbeServer(probes, config.http.port, config.http.host);
    const server = probeServer;
    closers.unshift(() => new Promise((resolve) => server.close(resolve)));
  }
  closers.push(() => producer.close());
  closers.push(() => confirmer.close());
  closers.push(() => closeRedis(redis));

  const address = probeServer?.address();
  const port = web?.port ?? (address && typeof address === 'object' ? address.port : config.http.port);
  let stopping: Promise<void> | undefined;
  return {
    port,
    ...(web ? { web } : {}),
    ...(workerHost ? { workerHost } : {}),
    stop() {
      stopping ??= (async () => {
        // Each part gets a bounded time to close: a shutdown must end even when Redis is gone.
        const limitMs = config.worker.shutdownGraceMs + 5_000;
        for (const close of closers) {
          let timer: NodeJS.Timeout | undefined;
          const timeout = new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new Error(`did not close within ${limitMs} ms`)), limitMs);
          });
          try {
            await Promise.race([close(), timeout]);
          } catch (err) {
            logger.warn({ err }, 'error while shutting down');
          } finally {
            clearTimeout(timer);
          }
        }
        for (const connection of connections) connection.disconnect();
      })();
      return stopping;
    },
  };
}

const USAGE = 'usage: capstan start | web | worker | iam-policy [--markdown] | sandbox attach-db …';

/** The Redis the sandbox keeps its world in: CAPSTAN_SANDBOX_REDIS_URL's, else Capstan's (`redis()`). */
function sandboxRedisOf(config: Config, redis: () => RedisClient): RedisClient {
  const url = config.aws.sandboxRedisUrl;
  return url
    ? createRedis(readRedisConfig({ REDIS_URL: url }), { name: 'capstan-sandbox', autoPipelining: false })
    : redis();
}

/** `capstan sandbox …`: the sandbox's own commands (devkit), on the world in the configured Redis. */
async function sandboxCli(argv: string[], config: Config): Promise<void> {
  const redis = sandboxRedisOf(config, () =>
    createRedis(config.redis, { name: 'capstan-sandbox-cli', autoPipelining: false }),
  );
  try {
    const standIns = await loadStandIns();
    const { output, exitCode } = await standIns.sandboxCommand(argv, {
      redis,
      prefix: config.queuePrefix,
      env: process.env,
    });
    (exitCode === 0 ? process.stdout : process.stderr).write(output);
    process.exitCode = exitCode;
  } finally {
    redis.disconnect();
  }
}

/** `capstan iam-policy [--markdown]`: the least-privilege IAM policy for the loaded config, or the README table. */
function printIamPolicy(argv: string[]): void {
  if (argv.includes('--markdown')) {
    process.stdout.write(`${iamMarkdown()}\n`);
    return;
  }
  try {
    process.stdout.write(`${JSON.stringify(iamPolicyFor(readConfig(process.env)), null, 2)}\n`);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${error.message}\n`);
    process.exitCode = 2;
  }
}

async function cli(argv: string[]): Promise<void> {
  if (argv[0] === 'iam-policy') {
    printIamPolicy(argv.slice(1));
    return;
  }
  const role = (argv[0] ?? 'start') as Role;
  if ((role as string) === 'sandbox') {
    let config: Config;
    try {
      config = readConfig(process.env);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      process.stderr.write(`${error.message}\n`);
      process.exitCode = 2;
      return;
    }
    await sandboxCli(argv.slice(1), config);
    return;
  }
  if (!['start', 'web', 'worker'].includes(role)) {
    process.stderr.write(`${USAGE}\n`);
    process.exitCode = 2;
    return;
  }
  let config: Config;
  try {
    config = readConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exitCode = 2;
      return;
    }
    throw error;
  }
  const logger = createLogger(config.logLevel);
  // Local mode (no Slack credentials): services, the demo world, the Slack stand-in, the console.
  let local: LocalWorldStandIn | undefined;
  const standIns = config.slack.mode === 'local' && role === 'start' ? await loadStandIns() : undefined;
  if (standIns) {
    try {
      local = await standIns.prepareLocalMode(config, process.env, logger);
    } catch (error) {
      if (!(error instanceof Error && error.name === 'LocalModeRefused')) throw error;
      process.stderr.write(`${error.message}\n`);
      process.exitCode = 2;
      return;
    }
  }
  const capstan = await startCapstan(role, local?.config ?? config, logger);
  const localClients =
    local && standIns ? await standIns.openLocalClients(local, { port: capstan.port, logger }) : undefined;
  const shutdown = (signal: string) => {
    logger.info({ signal }, 'shutting down');
    Promise.resolve(localClients?.close())
      .then(() => capstan.stop())
      .then(() => local?.stop())
      .then(
        () => {
          logger.info('stopped');
          process.exit(0);
        },
        (err: unknown) => {
          logger.error({ err }, 'shutdown failed');
          process.exit(1);
        },
      );
  };
  process.once('SIGINT', () => shutdown('SIGINT'));
  process.once('SIGTERM', () => shutdown('SIGTERM'));
}

// Run the CLI only when executed directly, not when imported by tests.
const invokedPath = process.argv[1] ?? '';
if (import.meta.url === `file://${invokedPath}` || /[/\\]main\.(js|ts)$/.test(invokedPath)) {
  cli(process.argv.slice(2)).catch((error: unknown) => {
    process.stderr.write(`capstan: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
