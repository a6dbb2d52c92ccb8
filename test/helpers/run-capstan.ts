/**
 * Running a real Capstan, shared by the tests (`test/helpers/capstan.ts`) and the drills
 * (`bench/drills/harness.ts`): the Bolt app in this process on an ephemeral loopback port,
 * `capstan worker` / `capstan web` as child processes with the same configuration, and requests
 * to the Bolt receiver signed as Slack signs them. Free of vitest, so `npm run drill` can use it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Job, Queue } from 'bullmq';
import { Cluster } from 'ioredis';
import { pino } from 'pino';
import {
  appHomeOpenedBody,
  blockActionsBody,
  functionExecutedBody,
  homeBlockActionsBody,
  messageShortcutBody,
  postToSlackEndpoint,
  type SlackEndpointResult,
  slashCommandBody,
  type ViewSubmissionOptions,
  viewSubmissionBody,
} from '../../devkit/local/signed-request.js';
import type {
  FakeFunctionDefinition,
  FakeFunctionExecution,
  FakeMessage,
  FakeSlack,
  FakeView,
} from '../../devkit/local/slack-api.js';
import { type Config, readConfig } from '../../src/config.js';
import { type Capstan, type Role, startCapstan } from '../../src/main.js';
import { type JobData, QUEUE_NAME } from '../../src/queue/contract.js';
import { closeRedis, createRedis, type RedisClient } from '../../src/redis.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Every state a job can be in, for listing the queue's jobs. */
export const JOB_STATES = ['wait', 'active', 'delayed', 'completed', 'failed', 'prioritized'] as const;

/** Writes `content` to a new temporary folder (named from `prefix`) as `name`; returns its path. */
export function writeTempFile(prefix: string, name: string, content: string): string {
  const path = join(mkdtempSync(join(tmpdir(), prefix)), name);
  writeFileSync(path, content);
  return path;
}

/** Requests to a Bolt receiver, signed and shaped as Slack sends them. */
export interface SlackRequests {
  /** Sends a slash command as `userId` (default U0ALICE) in `channelId` (default C0OPS). */
  slash(
    command: string,
    text: string,
    opts?: { userId?: string; channelId?: string; triggerId?: string; headers?: Record<string, string> },
  ): Promise<SlackEndpointResult>;
  /** Clicks a button on `message` as `userId`. */
  click(userId: string, message: FakeMessage, actionId: string, value: string): Promise<SlackEndpointResult>;
  /** Uses message shortcut `callbackId` on `message` as `userId` (trigger issued by the fake). */
  shortcut(userId: string, message: FakeMessage, callbackId: string): Promise<SlackEndpointResult>;
  /** Submits `view` with `values` as `userId`; a plain ack closes it in the fake, as in Slack. */
  submitView(
    userId: string,
    view: FakeView,
    values: ViewSubmissionOptions['values'],
  ): Promise<SlackEndpointResult>;
  /** `userId` opens Capstan's Home tab (`app_home_opened`, with the tab as last published). */
  openHome(userId: string, opts?: { tab?: 'home' | 'messages' }): Promise<SlackEndpointResult>;
  /**
   * `userId` clicks the button with `actionId` and `value` on their Home tab as the fake holds it
   * (the payload carries that view, as Slack's does); `blockId` overrides the block it is found in.
   */
  clickHome(userId: string, actionId: string, value: string, blockId?: string): Promise<SlackEndpointResult>;
  /**
   * A workflow runs Capstan's step `callbackId` (declared as `definition`, the manifest's
   * `functions.<callbackId>`) with `inputs`: the fake starts the execution and Slack's signed
   * `function_executed` event is sent. The execution shows how the app ended the step.
   */
  runStep(
    callbackId: string,
    definition: FakeFunctionDefinition,
    inputs: Record<string, unknown>,
  ): Promise<{ execution: FakeFunctionExecution; result: SlackEndpointResult }>;
}

/** Requests to the receiver at `eventsUrl`, signed with `secret`; `fake` issues triggers and closes views. */
export function slackRequests(eventsUrl: string, secret: string, fake: FakeSlack): SlackRequests {
  return {
    slash(command, text, opts = {}) {
      const body = slashCommandBody({
        command,
        text,
        userId: opts.userId ?? 'U0ALICE',
        channelId: opts.channelId ?? 'C0OPS',
        ...(opts.triggerId ? { triggerId: opts.triggerId } : {}),
      });
      return postToSlackEndpoint(eventsUrl, body, {
        secret,
        ...(opts.headers ? { headers: opts.headers } : {}),
      });
    },
    click(userId, message, actionId, value) {
      const body = blockActionsBody({
        userId,
        actionId,
        value,
        channelId: message.channel,
        messageTs: message.ts,
        message,
      });
      return postToSlackEndpoint(eventsUrl, body, { secret });
    },
    shortcut(userId, message, callbackId) {
      const body = messageShortcutBody({
        userId,
        callbackId,
        channelId: message.channel,
        messageTs: message.ts,
        messageText: message.text,
        ...(message.user ? { messageUserId: message.user } : {}),
        ...(message.thread_ts ? { threadTs: message.thread_ts } : {}),
        triggerId: fake.issueTrigger(userId),
      });
      return postToSlackEndpoint(eventsUrl, body, { secret });
    },
    async submitView(userId, view, values) {
      const body = viewSubmissionBody({ userId, view, values, triggerId: fake.issueTrigger(userId) });
      const result = await postToSlackEndpoint(eventsUrl, body, { secret });
      if (result.status === 200 && result.body.trim() === '') fake.closeView(view.id);
      return result;
    },
    openHome(userId, opts = {}) {
      const view = fake.homeView(userId);
      const body = appHomeOpenedBody({
        userId,
        ...(view ? { view } : {}),
        ...(opts.tab ? { tab: opts.tab } : {}),
      });
      return postToSlackEndpoint(eventsUrl, body, { secret });
    },
    async runStep(callbackId, definition, inputs) {
      const execution = fake.functions.start(callbackId, definition, inputs);
      const result = await postToSlackEndpoint(eventsUrl, functionExecutedBody({ execution }), { secret });
      return { execution, result };
    },
    clickHome(userId, actionId, value, blockId) {
      const view = fake.homeView(userId);
      if (!view) throw new Error(`${userId} has no Home tab to click on`);
      const body = homeBlockActionsBody({
        userId,
        view,
        actionId,
        value,
        ...(blockId ? { blockId } : {}),
        triggerId: fake.issueTrigger(userId),
      });
      return postToSlackEndpoint(eventsUrl, body, { secret });
    },
  };
}

/** A Capstan child process (`capstan worker`, `capstan web`). */
export interface CapstanProcess {
  proc: ChildProcess;
  readonly pid: number;
  /** Resolves when the process has exited (however). */
  exited: Promise<void>;
  /** SIGKILL, and wait for the exit. */
  kill(): Promise<void>;
  /** The tail of what it printed. */
  output(): string;
}

/**
 * Starts `capstan <args>` (from source) as a child process with `env` over this process's own
 * environment. CAPSTAN_DRILL_DEBUG_DIR=<dir> keeps every child's whole output there, for digging
 * into a failure.
 */
export function spawnCapstan(args: string[], env: Record<string, string>): CapstanProcess {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let tail = '';
  const keep = (chunk: Buffer) => {
    tail = (tail + chunk.toString()).slice(-20_000);
  };
  proc.stdout?.on('data', keep);
  proc.stderr?.on('data', keep);
  const debugDir = process.env.CAPSTAN_DRILL_DEBUG_DIR;
  if (debugDir) {
    const file = createWriteStream(join(debugDir, `${args[0]}-${proc.pid}.log`));
    proc.stdout?.pipe(file);
    proc.stderr?.pipe(file);
  }
  const exited = proc.exitCode !== null ? Promise.resolve() : once(proc, 'exit').then(() => undefined);
  return {
    proc,
    pid: proc.pid ?? 0,
    exited,
    async kill() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      await exited;
    },
    output: () => tail,
  };
}

/** Options for {@link runCapstan}. */
export interface RunCapstanOptions {
  role: Role;
  fake: FakeSlack;
  /** A single Redis node's URL; or `redisEnv` for another topology. */
  redisUrl?: string;
  /** `REDIS_*` variables (REDIS_CLUSTER_NODES, REDIS_SENTINELS…), over `redisUrl`. */
  redisEnv?: Record<string, string>;
  /** The key prefix (a hash tag, e.g. `{t-1a2b3c4d}`) that keeps this Capstan's keys apart. */
  prefix: string;
  botToken: string;
  /** The secret requests are signed with. */
  signingSecret: string;
  /** YAML configuration (written to a temporary file named by CAPSTAN_CONFIG). */
  configYaml?: string;
  logLevel: string;
  /** Settings over the common ones (these win). */
  env?: Record<string, string>;
  /** This side's own connection waits out a Redis outage instead of failing commands after 3 tries. */
  rideOutOutages?: boolean;
}

/** A Capstan running in this process, what it talks to, and the processes started beside it. */
export interface RunningCapstan extends SlackRequests {
  capstan: Capstan;
  config: Config;
  /** Environment the in-process Capstan was configured with, for spawning more processes alike. */
  env: Record<string, string>;
  fake: FakeSlack;
  /** This side's own connection. */
  redis: RedisClient;
  prefix: string;
  /** Keys matching `pattern` (KEYS on every primary of a Cluster: Capstan's keys share one slot). */
  keys(pattern: string): Promise<string[]>;
  /** The queue, for looking at its jobs. */
  queue: Queue<JobData>;
  eventsUrl: string;
  baseUrl: string;
  /** Jobs named `name` in any state. */
  jobsNamed(name: string): Promise<Job<JobData>[]>;
  /** Starts `capstan <args>` as a child process with the same configuration (port 0 unless `extraEnv` says); stopped by `stop()`. */
  spawn(args: string[], extraEnv?: Record<string, string>): CapstanProcess;
  /** Kills the child processes, stops Capstan, removes its keys; the fake Slack is the caller's. */
  stop(): Promise<void>;
}

/** Starts Capstan as `options.role` in this process. Always call `stop()`. */
export async function runCapstan(options: RunCapstanOptions): Promise<RunningCapstan> {
  const { fake, prefix } = options;
  const env: Record<string, string> = {
    SLACK_BOT_TOKEN: options.botToken,
    SLACK_SIGNING_SECRET: options.signingSecret,
    SLACK_API_URL: fake.url,
    PORT: '0',
    HOST: '127.0.0.1',
    ...(options.redisUrl ? { REDIS_URL: options.redisUrl } : {}),
    ...options.redisEnv,
    CAPSTAN_QUEUE_PREFIX: prefix,
    CAPSTAN_REPORTER_INTERVAL_MS: '50',
    CAPSTAN_JOB_LOCK_MS: '4000',
    CAPSTAN_STALLED_INTERVAL_MS: '1000',
    CAPSTAN_SHUTDOWN_GRACE_MS: '5000',
    LOG_LEVEL: options.logLevel,
    ...(options.configYaml
      ? { CAPSTAN_CONFIG: writeTempFile('capstan-config-', 'capstan.yml', options.configYaml) }
      : {}),
    ...options.env,
  };
  const config = readConfig(env);
  const capstan = await startCapstan(options.role, config, pino({ level: env.LOG_LEVEL ?? 'silent' }));
  const redis = createRedis(config.redis, {
    forWorker: options.rideOutOutages ?? false,
    name: 'capstan-test',
  });
  const keys = (pattern: string) => keysMatching(redis, pattern);
  const queue = new Queue<JobData>(QUEUE_NAME, { connection: redis, prefix });
  queue.on('error', () => undefined);
  const baseUrl = `http://127.0.0.1:${capstan.port}`;
  const eventsUrl = `${baseUrl}/slack/events`;
  const children: CapstanProcess[] = [];

  return {
    capstan,
    config,
    env,
    fake,
    redis,
    prefix,
    keys,
    queue,
    eventsUrl,
    baseUrl,
    ...slackRequests(eventsUrl, options.signingSecret, fake),
    async jobsNamed(name) {
      const jobs = await queue.getJobs([...JOB_STATES]);
      return jobs.filter((j): j is Job<JobData> => j?.name === name);
    },
    spawn(args, extraEnv = {}) {
      const child = spawnCapstan(args, { ...env, PORT: '0', ...extraEnv });
      children.push(child);
      return child;
    },
    async stop() {
      await Promise.allSettled(children.map((c) => c.kill()));
      await capstan.stop();
      await queue.close().catch(() => undefined);
      const mine = await keys(`${prefix}*`).catch(() => [] as string[]);
      // One DEL per key: a Cluster refuses a multi-key DEL only when slots differ, and ours do not,
      // but a test's own keys may sit outside the prefix's slot.
      await Promise.all(mine.map((key) => redis.del(key).catch(() => undefined)));
      await closeRedis(redis);
    },
  };
}

/** KEYS `pattern` on a single node, or on every primary of a Cluster. */
export async function keysMatching(redis: RedisClient, pattern: string): Promise<string[]> {
  if (!(redis instanceof Cluster)) return redis.keys(pattern);
  const perNode = await Promise.all(redis.nodes('master').map((node) => node.keys(pattern)));
  return perNode.flat();
}
