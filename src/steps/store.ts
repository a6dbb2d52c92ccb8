/**
 * Workflow Builder step executions in Redis: the execution's token (kept here, never in job data,
 * logs or messages), and how the step ends — decided once, by whoever first knows (the job's end, a
 * rejection, an expiry, a refusal at intake), then delivered to Slack once by the `step.complete`
 * job, whose id comes from the execution: a crash or retry neither ends a step twice nor never.
 *
 *   `${prefix}:step:<executionId>`  hash: token, callbackId, ending (JSON), delivered (how Slack took it)
 */

import type { StepRun } from '../queue/contract.js';
import type { JobProducer } from '../queue/producer.js';
import { type RedisClient, type WriteConfirmer, writeDurably } from '../redis.js';
import type { StepEnding } from './outputs.js';

/** What is known of one execution. */
export interface StepState {
  /** The execution's token (`bot_access_token` of the `function_executed` event). */
  token?: string;
  callbackId?: string;
  /** How the step ends, once decided. */
  ending?: StepEnding;
  /** How Slack took the ending, once delivered: `completed`, `failed`, or `already ended`. */
  delivered?: string;
}

/**
 * How long an execution is remembered. A step waits for its job (and maybe an approval, whose
 * timeout is configured in minutes to hours); a week covers every wait Capstan allows.
 */
const RETAIN_SECONDS = 7 * 24 * 60 * 60;

// KEYS: the execution. ARGV: the ending (JSON), retention. Keeps the first ending; returns the kept one.
const DECIDE = `
redis.call('HSETNX', KEYS[1], 'ending', ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[2])
return redis.call('HGET', KEYS[1], 'ending')
`;

/** Step executions. */
export class StepExecutions {
  readonly #redis: RedisClient;
  readonly #prefix: string;
  readonly #producer: Pick<JobProducer, 'enqueueStepEnd'>;
  readonly #confirmer: WriteConfirmer | undefined;

  /** @param confirmer for a replicated deployment: each write is confirmed (see {@link writeDurably}). */
  constructor(
    redis: RedisClient,
    prefix: string,
    producer: Pick<JobProducer, 'enqueueStepEnd'>,
    confirmer?: WriteConfirmer,
  ) {
    this.#redis = redis;
    this.#prefix = prefix;
    this.#producer = producer;
    this.#confirmer = confirmer;
  }

  #key(executionId: string): string {
    return `${this.#prefix}:step:${executionId}`;
  }

  /** Records a new execution and its token (a repeated delivery of the event changes nothing). */
  async open(run: StepRun, token: string | undefined): Promise<void> {
    const key = this.#key(run.executionId);
    await writeDurably(this.#confirmer, this.#redis, key, () =>
      this.#redis
        .multi()
        .hsetnx(key, 'callbackId', run.callbackId)
        .hsetnx(key, 'token', token ?? '')
        .expire(key, RETAIN_SECONDS)
        .exec(),
    );
  }

  /** What is known of `executionId`. */
  async state(executionId: string): Promise<StepState> {
    const fields = await this.#redis.hgetall(this.#key(executionId));
    return {
      ...(fields.token ? { token: fields.token } : {}),
      ...(fields.callbackId ? { callbackId: fields.callbackId } : {}),
      ...(fields.ending ? { ending: JSON.parse(fields.ending) as StepEnding } : {}),
      ...(fields.delivered ? { delivered: fields.delivered } : {}),
    };
  }

  /** Keeps `ending` unless the step's end was already decided; returns the one kept. */
  async decide(executionId: string, ending: StepEnding): Promise<StepEnding> {
    const key = this.#key(executionId);
    const { results } = await writeDurably(this.#confirmer, this.#redis, key, () =>
      this.#redis.eval(DECIDE, 1, key, JSON.stringify(ending), String(RETAIN_SECONDS)),
    );
    // The last attempt's answer is what the primary keeps.
    const kept = results.at(-1) as string | null;
    return kept ? (JSON.parse(kept) as StepEnding) : ending;
  }

  /** Records that Slack took the step's end (`how`); the token is no longer needed. */
  async delivered(executionId: string, how: string): Promise<void> {
    const key = this.#key(executionId);
    await writeDurably(this.#confirmer, this.#redis, key, () =>
      this.#redis.multi().hset(key, 'delivered', how).hdel(key, 'token').exec(),
    );
  }

  /**
   * Ends the step: keeps `ending` (unless one was decided before) and queues its delivery to Slack,
   * once per execution however often this is called.
   */
  async end(run: StepRun, ending: StepEnding, userId: string): Promise<StepEnding> {
    const kept = await this.decide(run.executionId, ending);
    await this.#producer.enqueueStepEnd(run, userId);
    return kept;
  }
}
