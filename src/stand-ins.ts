/**
 * The seam between the product and its stand-ins (`devkit/`: the AWS sandbox, local mode with its
 * Slack stand-in and console). The product never imports them: `main.ts` loads them with
 * {@link loadStandIns}, only in local or sandbox mode, and the production build leaves them out.
 */

import type { Agent } from 'node:https';
import type { Logger } from 'pino';
import type { ClientAttacher } from './aws/clients.js';
import type { Config } from './config.js';
import type { CreatedHook } from './queue/worker.js';
import type { RedisClient } from './redis.js';

/** The AWS sandbox as the product sees it: something beneath the SDK clients, seeded from a file. */
export interface SandboxStandIn extends ClientAttacher {
  /** Adds the resources a YAML or JSON seed file names; idempotent. */
  loadSeedFile(path: string): Promise<void>;
}

/**
 * The sandbox's SNS as the product sees it: an agent for sns-payload-validator's `requestAgent` and
 * for the GET of a SubscribeURL. It reaches the sandbox's SNS (signing certificates, subscription
 * confirmations) for `sns.<region>.amazonaws.com` hosts and refuses every other host.
 */
export interface SnsStandIn {
  agent: Agent;
  close(): Promise<void>;
}

/** What local mode started: the configuration to run with, and how to stop it. */
export interface LocalWorldStandIn {
  config: Config;
  stop(): Promise<void>;
}

/** What `devkit/index.ts` gives `main.ts`. */
export interface StandIns {
  /** The sandbox over `redis` (every worker sharing it shares one world), point-in-time restores included. */
  createSandbox(options: { redis: RedisClient; prefix: string }): SandboxStandIn;
  /**
   * The sandbox's SNS over the world in `redis`: the agent to verify and confirm its messages with.
   * Unless `evaluateAlarms` is false (a web-only process may leave them to the workers), it also
   * evaluates the sandbox's CloudWatch alarms every few seconds (each alarm once per interval across
   * every process doing so) and publishes their notifications to their topics' subscriptions.
   */
  snsStandIn(options: {
    redis: RedisClient;
    prefix: string;
    logger?: Logger;
    evaluateAlarms?: boolean;
  }): Promise<SnsStandIn>;
  /**
   * Starts what local mode needs and returns the configuration to run with, or throws an error named
   * `LocalModeRefused` (real AWS credentials set without the override) whose message says why.
   */
  prepareLocalMode(config: Config, env: NodeJS.ProcessEnv, logger: Logger): Promise<LocalWorldStandIn>;
  /**
   * The kill drill's hook for {@link CreatedHook} (a worker that kills itself right after a create,
   * when its environment asks for it), or undefined.
   */
  createdHook(options: {
    env: NodeJS.ProcessEnv;
    redis: RedisClient;
    prefix: string;
  }): CreatedHook | undefined;
  /**
   * `capstan sandbox <subcommand> …` (e.g. `attach-db`): works on the sandbox's world in `redis` and
   * returns what to print and the exit code.
   */
  sandboxCommand(
    argv: string[],
    options: { redis: RedisClient; prefix: string; env: NodeJS.ProcessEnv },
  ): Promise<{ output: string; exitCode: number }>;
  /** Opens the console and the terminal on a running local-mode Capstan; prints where they are. */
  openLocalClients(
    world: LocalWorldStandIn,
    options: { port: number; logger: Logger },
  ): Promise<{ close(): Promise<void> }>;
}

/**
 * Loads the stand-ins. The specifier is a variable so that the production build does not follow it
 * (and so contains no devkit file); from `src/main.ts` (tsx) and `dist/src/main.js` alike it names
 * `devkit/index` beside `src/`.
 */
export async function loadStandIns(): Promise<StandIns> {
  const specifier = '../devkit/index.js';
  try {
    return (await import(specifier)) as StandIns;
  } catch (error) {
    throw new Error(
      `the stand-ins (devkit/) are not in this build, so local mode and CAPSTAN_AWS=sandbox are unavailable: ${(error as Error).message}`,
    );
  }
}
