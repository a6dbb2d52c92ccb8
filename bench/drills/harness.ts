/**
 * What every drill stands on: a real Capstan (web in this process, workers as child processes that
 * can be killed), the fake Slack Web API, a Redis (the caller's single node or other topology —
 * Cluster, Sentinel, TLS — given by its `REDIS_*` variables, or a private single node), and the
 * sandbox beneath the workers' SDK clients. Free of vitest, so `npm run drill` and the CI tests in
 * `test/drills` run the same code; the running of Capstan itself is the tests' own
 * (`test/helpers/run-capstan.ts`).
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { freePort, type RedisService, startRedis } from '../../devkit/local/services.js';
import { type FakeMessage, messageText, startFakeSlack } from '../../devkit/local/slack-api.js';
import { createSandbox, type Sandbox } from '../../devkit/sandbox/index.js';
import { pitrExtension } from '../../devkit/sandbox/pitr/index.js';
import type { Role } from '../../src/main.js';
import {
  type CapstanProcess,
  type RunningCapstan,
  runCapstan,
  type SlackRequests,
  slackRequests,
} from '../../test/helpers/run-capstan.js';
import { waitFor } from '../../test/helpers/wait-for.js';

/** The signing secret drill requests are signed with. */
export const DRILL_SIGNING_SECRET = 'drill-signing-secret-0123456789';

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

/** A worker (or web) process started by a drill. */
export type WorkerProcess = CapstanProcess;

/** Another `capstan web` process, and signed requests to it. */
export interface WebProcess extends SlackRequests {
  worker: WorkerProcess;
  eventsUrl: string;
}

/** A Capstan under drill and what it talks to. */
export interface DrillWorld extends RunningCapstan {
  /** The single node's URL; empty when the world runs on `redisEnv`. */
  redisUrl: string;
  /** The `REDIS_*` variables every process of this world runs with (`REDIS_URL` for a single node). */
  redisEnv: Record<string, string>;
  sandbox: Sandbox;
  /** Starts `capstan worker` as a child process with the same configuration. */
  spawnWorker(extraEnv?: Record<string, string>): WorkerProcess;
  /** Starts another `capstan web` process; resolves once it answers /health. */
  spawnWeb(extraEnv?: Record<string, string>): Promise<WebProcess>;
}

/** Options for {@link startDrillWorld}. */
export interface DrillWorldOptions {
  role?: Role;
  redisUrl?: string;
  /**
   * `REDIS_*` variables of another topology (REDIS_CLUSTER_NODES, REDIS_SENTINELS +
   * REDIS_SENTINEL_NAME, a rediss:// REDIS_URL + REDIS_TLS_CA_FILE…), over `redisUrl`.
   */
  redisEnv?: Record<string, string>;
  configYaml: string;
  env?: Record<string, string>;
  /**
   * Keep the sandbox's world ("AWS") on a Redis of its own (CAPSTAN_SANDBOX_REDIS_URL), as AWS is
   * apart from Capstan's Redis: a drill that fails Capstan's Redis over must not roll AWS back too.
   */
  sandboxRedis?: boolean;
}

/** The variables that choose a Redis topology (`src/config.ts`): one set at a time. */
const REDIS_TOPOLOGY_VARIABLES = [
  'REDIS_URL',
  'REDIS_CLUSTER_NODES',
  'REDIS_SENTINELS',
  'REDIS_SENTINEL_NAME',
  'REDIS_USERNAME',
  'REDIS_PASSWORD',
  'REDIS_TLS_CA_FILE',
  'REDIS_TLS_SERVERNAME',
] as const;

/** Starts Capstan for a drill. Always call `stop()`. */
export async function startDrillWorld(options: DrillWorldOptions): Promise<DrillWorld> {
  const ownRedis: RedisService | undefined =
    options.redisUrl || options.redisEnv ? undefined : await startRedis(await freePort());
  const redisUrl = options.redisEnv ? '' : (options.redisUrl ?? ownRedis?.url ?? '');
  // The topology's variables, and the others blanked: a REDIS_URL in this process's own environment
  // (which child processes inherit) must not turn a Cluster's workers into "two topologies at once".
  const redisEnv = options.redisEnv
    ? { ...Object.fromEntries(REDIS_TOPOLOGY_VARIABLES.map((k) => [k, ''])), ...options.redisEnv }
    : { REDIS_URL: redisUrl };
  const worldRedis = options.sandboxRedis ? await startRedis(await freePort()) : undefined;
  const fake = await startFakeSlack();
  const running = await runCapstan({
    role: options.role ?? 'web',
    fake,
    ...(options.redisEnv ? { redisEnv } : { redisUrl }),
    prefix: `{drill-${randomBytes(4).toString('hex')}}`,
    botToken: 'xoxb-drill-0000-secret',
    signingSecret: DRILL_SIGNING_SECRET,
    configYaml: options.configYaml,
    logLevel: process.env.CAPSTAN_DRILL_LOG_LEVEL ?? 'silent',
    env: {
      CAPSTAN_AWS: 'sandbox',
      CAPSTAN_POLL_INTERVAL_MS: '100',
      CAPSTAN_WAIT_TIMEOUT_MS: '60000',
      CAPSTAN_JOB_LOCK_MS: '2000',
      ...(worldRedis ? { CAPSTAN_SANDBOX_REDIS_URL: worldRedis.url } : {}),
      ...options.env,
    },
    // The drill's connection rides out a Redis restart.
    rideOutOutages: true,
  });
  const { redis, prefix } = running;
  redis.on('error', () => undefined);
  const sandboxConnection = worldRedis ? new Redis(worldRedis.url) : undefined;
  sandboxConnection?.on('error', () => undefined);
  const sandbox = createSandbox({ redis: sandboxConnection ?? redis, prefix, extensions: [pitrExtension()] });

  return {
    ...running,
    redisUrl,
    redisEnv,
    sandbox,
    spawnWorker(extraEnv = {}) {
      return running.spawn(['worker'], extraEnv);
    },
    async spawnWeb(extraEnv = {}) {
      const port = await freePort();
      const worker = running.spawn(['web'], { ...extraEnv, PORT: String(port) });
      const base = `http://127.0.0.1:${port}`;
      await waitFor(
        async () => {
          if (worker.proc.exitCode !== null) throw new Error(`web exited:\n${worker.output()}`);
          return (await fetch(`${base}/health`).catch(() => undefined))?.status === 200;
        },
        { timeoutMs: 60_000, intervalMs: 100, message: 'a web process to answer /health' },
      );
      const eventsUrl = `${base}/slack/events`;
      return { worker, eventsUrl, ...slackRequests(eventsUrl, DRILL_SIGNING_SECRET, fake) };
    },
    async stop() {
      await running.stop();
      await fake.close();
      sandboxConnection?.disconnect();
      await worldRedis?.stop({ purge: true });
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

/** Whether a progress message shows a finished job (or an approval request that was closed). */
export function isFinal(message: FakeMessage): boolean {
  return /(done|failed|cancelled) in|: (approved|rejected|expired): /.test(messageText(message));
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
