/**
 * Runs a real Capstan for a test: the Bolt app on an ephemeral loopback port, BullMQ workers on the
 * tests' Redis under a fresh key prefix, and Slack's Web API answered by the local fake.
 */
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import type { Role } from '../../src/main.js';
import { type FakeSlack, startFakeSlack } from './fake-slack.js';
import { JOB_STATES, type RunningCapstan, runCapstan } from './run-capstan.js';

/** The signing secret test requests are signed with. */
export const TEST_SIGNING_SECRET = 'test-signing-secret-0123456789';

/** A Capstan under test and what it talks to. */
export interface TestCapstan extends RunningCapstan {
  /** The ids of the queue's jobs named `name`, in any state. */
  jobsOf(name: string): Promise<string[]>;
  /** Counts of the queue's jobs by state. */
  jobCounts(): Promise<Record<string, number>>;
  /** Starts `capstan worker` as a separate process with the same configuration. */
  spawnWorker(extraEnv?: Record<string, string>): ChildProcess;
}

/** Options for {@link startTestCapstan}. */
export interface TestCapstanOptions {
  role?: Role;
  env?: Record<string, string>;
  fake?: FakeSlack;
  /** YAML configuration (written to a temporary file named by CAPSTAN_CONFIG). */
  configYaml?: string;
}

/** Starts Capstan for a test. Call `stop()` in `afterEach`/`afterAll`. */
export async function startTestCapstan(options: TestCapstanOptions = {}): Promise<TestCapstan> {
  const fake = options.fake ?? (await startFakeSlack());
  const running = await runCapstan({
    role: options.role ?? 'start',
    fake,
    ...redisTarget(),
    prefix: `{t-${randomBytes(4).toString('hex')}}`,
    botToken: 'xoxb-test-0000-secret',
    signingSecret: TEST_SIGNING_SECRET,
    logLevel: process.env.CAPSTAN_TEST_LOG_LEVEL ?? 'silent',
    ...(options.configYaml ? { configYaml: options.configYaml } : {}),
    ...(options.env ? { env: options.env } : {}),
  });
  return {
    ...running,
    async jobsOf(name) {
      return (await running.jobsNamed(name)).map((j) => String(j.id));
    },
    jobCounts() {
      return running.queue.getJobCounts(...JOB_STATES);
    },
    spawnWorker(extraEnv = {}) {
      return running.spawn(['worker'], extraEnv).proc;
    },
    async stop() {
      await running.stop();
      if (!options.fake) await fake.close();
    },
  };
}

/** The tests' Redis: the run's single node, or the topology the suite was started with. */
export function redisTarget(): { redisUrl: string } | { redisEnv: Record<string, string> } {
  const env = inject('redisEnv');
  return env && Object.keys(env).length > 0 ? { redisEnv: env } : { redisUrl: inject('redisUrl') };
}
