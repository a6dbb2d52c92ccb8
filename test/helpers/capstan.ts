/**
 * Runs a real Capstan for a test: the Bolt app on an ephemeral loopback port, BullMQ workers on the
 * tests' Redis under a fresh key prefix, and Slack's Web API answered by the local fake.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { inject } from 'vitest';
import { type Config, readConfig } from '../../src/config.js';
import { type Capstan, type Role, startCapstan } from '../../src/main.js';
import { QUEUE_NAME } from '../../src/queue/contract.js';
import { type FakeMessage, type FakeSlack, type FakeView, startFakeSlack } from './fake-slack.js';
import {
  blockActionsBody,
  messageShortcutBody,
  postToSlackEndpoint,
  type SlackEndpointResult,
  slashCommandBody,
  type ViewSubmissionOptions,
  viewSubmissionBody,
} from './signed-request.js';

/** The signing secret test requests are signed with. */
export const TEST_SIGNING_SECRET = 'test-signing-secret-0123456789';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** A Capstan under test and what it talks to. */
export interface TestCapstan {
  capstan: Capstan;
  config: Config;
  /** Environment the in-process Capstan was configured with, for spawning more workers alike. */
  env: Record<string, string>;
  fake: FakeSlack;
  redis: Redis;
  eventsUrl: string;
  baseUrl: string;
  /** Clicks a button on a message, as user `userId`, like Slack does. */
  click(userId: string, message: FakeMessage, actionId: string, value: string): Promise<SlackEndpointResult>;
  /** Uses message shortcut `callbackId` on `message`, as user `userId`, like Slack does (trigger issued by the fake). */
  shortcut(userId: string, message: FakeMessage, callbackId: string): Promise<SlackEndpointResult>;
  /** Submits `view` with `values`, as user `userId`; a plain ack closes it in the fake, as in Slack. */
  submitView(
    userId: string,
    view: FakeView,
    values: ViewSubmissionOptions['values'],
  ): Promise<SlackEndpointResult>;
  /** Sends a signed slash command, like Slack does. */
  slash(
    command: string,
    text: string,
    opts?: { userId?: string; channelId?: string; triggerId?: string },
  ): Promise<SlackEndpointResult>;
  /** The ids of the queue's jobs named `name`, in any state. */
  jobsOf(name: string): Promise<string[]>;
  /** Counts of the queue's jobs by state. */
  jobCounts(): Promise<Record<string, number>>;
  /** Starts `capstan worker` as a separate process with the same configuration. */
  spawnWorker(extraEnv?: Record<string, string>): ChildProcess;
  stop(): Promise<void>;
}

/** Options for {@link startTestCapstan}. */
export interface TestCapstanOptions {
  role?: Role;
  env?: Record<string, string>;
  fake?: FakeSlack;
  /** YAML configuration (written to a temporary file named by CAPSTAN_CONFIG). */
  configYaml?: string;
}

function writeConfig(yaml: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'capstan-test-config-'));
  const path = join(dir, 'capstan.yml');
  writeFileSync(path, yaml);
  return path;
}

/** Starts Capstan for a test. Call `stop()` in `afterEach`/`afterAll`. */
export async function startTestCapstan(options: TestCapstanOptions = {}): Promise<TestCapstan> {
  const fake = options.fake ?? (await startFakeSlack());
  const redisUrl = inject('redisUrl');
  const prefix = `{t-${randomBytes(4).toString('hex')}}`;
  const env: Record<string, string> = {
    SLACK_BOT_TOKEN: 'xoxb-test-0000-secret',
    SLACK_SIGNING_SECRET: TEST_SIGNING_SECRET,
    SLACK_API_URL: fake.url,
    PORT: '0',
    HOST: '127.0.0.1',
    REDIS_URL: redisUrl,
    CAPSTAN_QUEUE_PREFIX: prefix,
    CAPSTAN_REPORTER_INTERVAL_MS: '50',
    CAPSTAN_JOB_LOCK_MS: '4000',
    CAPSTAN_STALLED_INTERVAL_MS: '1000',
    CAPSTAN_SHUTDOWN_GRACE_MS: '5000',
    LOG_LEVEL: process.env.CAPSTAN_TEST_LOG_LEVEL ?? 'silent',
    ...(options.configYaml ? { CAPSTAN_CONFIG: writeConfig(options.configYaml) } : {}),
    ...options.env,
  };
  const config = readConfig(env);
  const logger = pino({ level: env.LOG_LEVEL ?? 'silent' });
  const capstan = await startCapstan(options.role ?? 'start', config, logger);
  const redis = new Redis(redisUrl);
  const baseUrl = `http://127.0.0.1:${capstan.port}`;
  const eventsUrl = `${baseUrl}/slack/events`;
  const children: ChildProcess[] = [];

  return {
    capstan,
    config,
    env,
    fake,
    redis,
    eventsUrl,
    baseUrl,
    slash(command, text, opts = {}) {
      const body = slashCommandBody({
        command,
        text,
        userId: opts.userId ?? 'U0ALICE',
        channelId: opts.channelId ?? 'C0OPS',
        ...(opts.triggerId ? { triggerId: opts.triggerId } : {}),
      });
      return postToSlackEndpoint(eventsUrl, body, { secret: TEST_SIGNING_SECRET });
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
      return postToSlackEndpoint(eventsUrl, body, { secret: TEST_SIGNING_SECRET });
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
      return postToSlackEndpoint(eventsUrl, body, { secret: TEST_SIGNING_SECRET });
    },
    async submitView(userId, view, values) {
      const body = viewSubmissionBody({ userId, view, values, triggerId: fake.issueTrigger(userId) });
      const result = await postToSlackEndpoint(eventsUrl, body, { secret: TEST_SIGNING_SECRET });
      if (result.status === 200 && result.body.trim() === '') fake.closeView(view.id);
      return result;
    },
    async jobsOf(name) {
      const q = new Queue(QUEUE_NAME, { connection: redis, prefix });
      try {
        const jobs = await q.getJobs(['wait', 'active', 'delayed', 'completed', 'failed', 'prioritized']);
        return jobs.filter((j) => j?.name === name).map((j) => String(j.id));
      } finally {
        await q.close();
      }
    },
    async jobCounts() {
      const q = new Queue(QUEUE_NAME, { connection: redis, prefix });
      try {
        return await q.getJobCounts('wait', 'active', 'delayed', 'completed', 'failed', 'prioritized');
      } finally {
        await q.close();
      }
    },
    spawnWorker(extraEnv = {}) {
      const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', 'worker'], {
        cwd: ROOT,
        env: { ...process.env, ...env, PORT: '0', ...extraEnv },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      children.push(child);
      return child;
    },
    async stop() {
      for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
      await capstan.stop();
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length > 0) await redis.del(...keys);
      await redis.quit();
      if (!options.fake) await fake.close();
    },
  };
}
