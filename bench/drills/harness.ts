/**
 * What every drill stands on: a real Capstan (web in this process, workers as child processes that
 * can be killed), the fake Slack Web API, a Redis (the caller's, or a private one), and the
 * sandbox beneath the workers' SDK clients. Free of vitest, so `npm run drill` and the CI tests in
 * `test/drills` run the same code.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Job, Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { type Config, readConfig } from '../../src/config.js';
import { freePort, type RedisService, startRedis } from '../../src/local/services.js';
import {
  blockActionsBody,
  postToSlackEndpoint,
  type SlackEndpointResult,
  slashCommandBody,
} from '../../src/local/signed-request.js';
import { type FakeMessage, type FakeSlack, messageText, startFakeSlack } from '../../src/local/slack-api.js';
import { type Capstan, type Role, startCapstan } from '../../src/main.js';
import { type JobData, QUEUE_NAME } from '../../src/queue/contract.js';
import { createSandbox, type Sandbox } from '../../src/sandbox/index.js';
import { pitrExtension } from '../../src/sandbox/pitr/index.js';
import { waitFor } from '../../test/helpers/wait-for.js';

/** The signing secret drill requests are signed with. */
export const DRILL_SIGNING_SECRET = 'drill-signing-secret-0123456789';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** What one drill reports: a row of the printed table. */
export interface DrillResult {
  drill: string;
  runs: number;
  passed: number;
  /** What was checked, in a few words. */
  checked: string;
  /** Figures worth printing under the table (latencies, throughput…). */
  figures?: Record<string, string>;
  /** Why runs failed (one line each). */
  failures: string[];
}

/** Options every drill takes. */
export interface DrillOptions {
  /** How many runs (the drill's own unit: kills per job kind, requests, commands…). */
  count: number;
  /** A Redis to use (under a fresh key prefix); default: a private one on a free port, removed after. */
  redisUrl?: string;
  /** Progress lines; default silent. */
  log?: (line: string) => void;
}

/** A worker process started by a drill. */
export interface WorkerProcess {
  proc: ChildProcess;
  readonly pid: number;
  /** Resolves when the process has exited (however). */
  exited: Promise<void>;
  /** SIGKILL, and wait for the exit. */
  kill(): Promise<void>;
  /** The tail of what it printed. */
  output(): string;
}

/** A Capstan under drill and what it talks to. */
export interface DrillWorld {
  capstan: Capstan;
  config: Config;
  env: Record<string, string>;
  fake: FakeSlack;
  /** The drill's own connection. */
  redis: Redis;
  redisUrl: string;
  prefix: string;
  eventsUrl: string;
  baseUrl: string;
  sandbox: Sandbox;
  /** Sends a signed slash command as `userId` (default U0ALICE) in `channelId` (default C0OPS). */
  slash(
    command: string,
    text: string,
    opts?: { userId?: string; channelId?: string; triggerId?: string },
  ): Promise<SlackEndpointResult>;
  /** Clicks a button on `message` as `userId`. */
  click(userId: string, message: FakeMessage, actionId: string, value: string): Promise<SlackEndpointResult>;
  /** A queue handle on the drill's connection (closed by `stop`). */
  queue: Queue<JobData>;
  /** Jobs named `name` in any state. */
  jobsNamed(name: string): Promise<Job<JobData>[]>;
  /** Starts `capstan worker` as a child process with the same configuration. */
  spawnWorker(extraEnv?: Record<string, string>): WorkerProcess;
  /** Starts another `capstan web` process; resolves with its events URL once it answers /health. */
  spawnWeb(extraEnv?: Record<string, string>): Promise<{ worker: WorkerProcess; eventsUrl: string }>;
  stop(): Promise<void>;
}

/** Options for {@link startDrillWorld}. */
export interface DrillWorldOptions {
  role?: Role;
  redisUrl?: string;
  configYaml: string;
  env?: Record<string, string>;
}

/** Starts Capstan for a drill. Always call `stop()`. */
export async function startDrillWorld(options: DrillWorldOptions): Promise<DrillWorld> {
  const ownRedis: RedisService | undefined = options.redisUrl
    ? undefined
    : await startRedis(await freePort());
  const redisUrl = options.redisUrl ?? ownRedis?.url ?? '';
  const fake = await startFakeSlack();
  const prefix = `{drill-${randomBytes(4).toString('hex')}}`;
  const dir = mkdtempSync(join(tmpdir(), 'capstan-drill-'));
  const configPath = join(dir, 'capstan.yml');
  writeFileSync(configPath, options.configYaml);
  const env: Record<string, string> = {
    SLACK_BOT_TOKEN: 'xoxb-drill-0000-secret',
    SLACK_SIGNING_SECRET: DRILL_SIGNING_SECRET,
    SLACK_API_URL: fake.url,
    PORT: '0',
    HOST: '127.0.0.1',
    REDIS_URL: redisUrl,
    CAPSTAN_QUEUE_PREFIX: prefix,
    CAPSTAN_CONFIG: configPath,
    CAPSTAN_AWS: 'sandbox',
    CAPSTAN_REPORTER_INTERVAL_MS: '50',
    CAPSTAN_POLL_INTERVAL_MS: '100',
    CAPSTAN_WAIT_TIMEOUT_MS: '60000',
    CAPSTAN_JOB_LOCK_MS: '2000',
    CAPSTAN_STALLED_INTERVAL_MS: '1000',
    CAPSTAN_SHUTDOWN_GRACE_MS: '5000',
    LOG_LEVEL: process.env.CAPSTAN_DRILL_LOG_LEVEL ?? 'silent',
    ...options.env,
  };
  const config = readConfig(env);
  const capstan = await startCapstan(
    options.role ?? 'web',
    config,
    pino({ level: env.LOG_LEVEL ?? 'silent' }),
  );
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: null });
  redis.on('error', () => undefined);
  const sandbox = createSandbox({ redis, prefix, extensions: [pitrExtension()] });
  const baseUrl = `http://127.0.0.1:${capstan.port}`;
  const eventsUrl = `${baseUrl}/slack/events`;
  const queue = new Queue<JobData>(QUEUE_NAME, { connection: redis, prefix });
  queue.on('error', () => undefined);
  const children: WorkerProcess[] = [];

  const start = (args: string[], extraEnv: Record<string, string>): WorkerProcess => {
    const proc = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', ...args], {
      cwd: ROOT,
      env: { ...process.env, ...env, PORT: '0', ...extraEnv },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let tail = '';
    const keep = (chunk: Buffer) => {
      tail = (tail + chunk.toString()).slice(-20_000);
    };
    proc.stdout?.on('data', keep);
    proc.stderr?.on('data', keep);
    // For digging into a failed drill: CAPSTAN_DRILL_DEBUG_DIR=<dir> keeps every child's whole output.
    const debugDir = process.env.CAPSTAN_DRILL_DEBUG_DIR;
    if (debugDir) {
      const file = createWriteStream(join(debugDir, `${args[0]}-${proc.pid}.log`));
      proc.stdout?.pipe(file);
      proc.stderr?.pipe(file);
    }
    const exited = proc.exitCode !== null ? Promise.resolve() : once(proc, 'exit').then(() => undefined);
    const child: WorkerProcess = {
      proc,
      pid: proc.pid ?? 0,
      exited,
      async kill() {
        if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
        await exited;
      },
      output: () => tail,
    };
    children.push(child);
    return child;
  };

  return {
    capstan,
    config,
    env,
    fake,
    redis,
    redisUrl,
    prefix,
    eventsUrl,
    baseUrl,
    sandbox,
    queue,
    slash(command, text, opts = {}) {
      const body = slashCommandBody({
        command,
        text,
        userId: opts.userId ?? 'U0ALICE',
        channelId: opts.channelId ?? 'C0OPS',
        ...(opts.triggerId ? { triggerId: opts.triggerId } : {}),
      });
      return postToSlackEndpoint(eventsUrl, body, { secret: DRILL_SIGNING_SECRET });
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
      return postToSlackEndpoint(eventsUrl, body, { secret: DRILL_SIGNING_SECRET });
    },
    async jobsNamed(name) {
      const jobs = await queue.getJobs(['wait', 'active', 'delayed', 'completed', 'failed', 'prioritized']);
      return jobs.filter((j): j is Job<JobData> => j?.name === name);
    },
    spawnWorker(extraEnv = {}) {
      return start(['worker'], extraEnv);
    },
    async spawnWeb(extraEnv = {}) {
      const port = await freePort();
      const worker = start(['web'], { ...extraEnv, PORT: String(port) });
      const base = `http://127.0.0.1:${port}`;
      await waitFor(
        async () => {
          if (worker.proc.exitCode !== null) throw new Error(`web exited:\n${worker.output()}`);
          return (await fetch(`${base}/health`).catch(() => undefined))?.status === 200;
        },
        { timeoutMs: 60_000, intervalMs: 100, message: 'a web process to answer /health' },
      );
      return { worker, eventsUrl: `${base}/slack/events` };
    },
    async stop() {
      await Promise.allSettled(children.map((c) => c.kill()));
      await capstan.stop();
      await queue.close().catch(() => undefined);
      const keys = await redis.keys(`${prefix}*`).catch(() => [] as string[]);
      if (keys.length > 0) await redis.del(...keys).catch(() => undefined);
      redis.disconnect();
      await fake.close();
      await ownRedis?.stop({ purge: true });
    },
  };
}

/** Waits until the queue has a worker attached (the web process reports ready). */
export async function workerAttached(world: DrillWorld, timeoutMs = 60_000): Promise<void> {
  await waitFor(async () => (await fetch(`${world.baseUrl}/ready`)).status === 200, {
    timeoutMs,
    intervalMs: 50,
    message: 'a worker to attach to the queue',
  });
}

/** The progress messages (thread replies in C0OPS) of jobs asked for by exactly `text`. */
export function progressMessages(world: DrillWorld, text: string, channel = 'C0OPS'): FakeMessage[] {
  return world.fake
    .messagesIn(channel)
    .filter((m) => m.thread_ts && m.thread_ts !== m.ts && messageText(m).includes(`\`${text}\``));
}

/** Whether a progress message shows a finished job. */
export function isFinal(message: FakeMessage): boolean {
  return /(done|failed|cancelled) in/.test(messageText(message));
}

/** The final text of the progress message of the job asked for by `text`, once finished. */
export async function finalText(world: DrillWorld, text: string, timeoutMs = 60_000): Promise<string> {
  const m = await waitFor(() => progressMessages(world, text).filter(isFinal).at(-1), {
    timeoutMs,
    intervalMs: 50,
    message: `the job for ${text} to finish`,
  });
  return messageText(m);
}

/** A random integer in [lo, hi]. */
export function randomInt(lo: number, hi: number): number {
  return lo + Math.floor(Math.random() * (hi - lo + 1));
}

/** The value at quantile `q` of `values` (nearest rank). */
export function quantile(values: number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? Number.NaN;
}

/** Runs `check`; a thrown error becomes a failure line instead of ending the drill. */
export async function attempt(
  failures: string[],
  label: string,
  check: () => Promise<void>,
): Promise<boolean> {
  try {
    await check();
    return true;
  } catch (error) {
    failures.push(`${label}: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`);
    return false;
  }
}

/** Throws `message` unless `ok`. */
export function check(ok: unknown, message: string): asserts ok {
  if (!ok) throw new Error(message);
}
