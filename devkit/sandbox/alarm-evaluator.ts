/**
 * The sandbox's CloudWatch alarm evaluator: on an interval, each alarm of the world is evaluated on
 * the world's metrics (the data GetMetricData answers with, on the sandbox clock), and a change of
 * state publishes the alarm's notification to the SNS topics of its new state's actions.
 *
 * Any number of processes may run it over one world: each alarm is evaluated once per interval
 * across them (a Redis `SET NX PX` claim per alarm), and a state change is saved by one optimistic
 * transaction on the world, so exactly one process sees each transition and publishes it.
 * A publication that fails is logged, not retried (SNS's own retries are not emulated).
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { RedisClient } from '../../src/redis.js';
import { type AlarmTransition, alarmNotification, transitionTopics } from './alarms.js';
import { evaluateAlarmInWorld } from './cloudwatch.js';
import { worldNow } from './lifecycle.js';
import type { WorldStore } from './store.js';

/** What a publication to one subscription came to. */
export interface DeliveryResult {
  subscriptionArn: string;
  endpoint: string;
  messageId: string;
  /** The endpoint's HTTP status, when it answered. */
  status?: number;
  /** Why there was no answer (refused, timed out, not a loopback endpoint). */
  error?: string;
}

/** Publishes to a topic: one result per confirmed subscription. */
export type Publisher = (
  topicArn: string,
  message: { subject?: string; message: string },
) => Promise<DeliveryResult[]>;

/** A transition, and what publishing it came to (by topic). */
export interface PublishedTransition extends AlarmTransition {
  deliveries: Record<string, DeliveryResult[] | { error: string }>;
}

export interface AlarmEvaluatorOptions {
  redis: RedisClient;
  prefix: string;
  store: WorldStore;
  publish: Publisher;
  /** The process clock (epoch ms); the world's clock offset is added to it. Default Date.now. */
  clock?: () => number;
  /** How often alarms are evaluated; default 5 s. */
  intervalMs?: number;
  logger?: Logger;
}

/** The claim key for one alarm's evaluation in the current interval. */
export function alarmClaimKey(prefix: string, name: string): string {
  return `${prefix}:sandbox:alarms:claim:${name}`;
}

export const DEFAULT_ALARM_INTERVAL_MS = 5_000;

/**
 * One round: every alarm not evaluated by another process within the interval is evaluated, and
 * each change of state is published. Returns the transitions this process saw.
 */
export async function evaluateAlarmsOnce(options: AlarmEvaluatorOptions): Promise<PublishedTransition[]> {
  const { redis, prefix, store, logger } = options;
  const clock = options.clock ?? Date.now;
  const intervalMs = options.intervalMs ?? DEFAULT_ALARM_INTERVAL_MS;
  const names = Object.keys((await store.read()).alarms ?? {});
  const claimMs = Math.max(100, intervalMs - 100);
  const out: PublishedTransition[] = [];
  for (const name of names) {
    const claimed = await redis.set(alarmClaimKey(prefix, name), randomUUID(), 'PX', claimMs, 'NX');
    if (claimed !== 'OK') continue;
    const transition = await store.transact((world) =>
      evaluateAlarmInWorld(world, name, worldNow(world, clock())),
    );
    if (!transition) continue;
    logger?.info(
      {
        alarm: name,
        from: transition.oldState,
        to: transition.newState,
        reason: transition.alarm.state.reason,
      },
      'sandbox: CloudWatch alarm changed state',
    );
    out.push({ ...transition, deliveries: await publishTransition(transition, options.publish, logger) });
  }
  return out;
}

async function publishTransition(
  transition: AlarmTransition,
  publish: Publisher,
  logger: Logger | undefined,
): Promise<PublishedTransition['deliveries']> {
  const deliveries: PublishedTransition['deliveries'] = {};
  const notification = alarmNotification(transition);
  for (const topicArn of transitionTopics(transition)) {
    try {
      const results = await publish(topicArn, notification);
      deliveries[topicArn] = results;
      for (const r of results.filter((x) => x.error || !x.status || x.status >= 300)) {
        logger?.warn(
          { alarm: transition.alarm.name, topicArn, endpoint: r.endpoint, status: r.status, error: r.error },
          'sandbox: an alarm notification was not accepted by its endpoint',
        );
      }
    } catch (error) {
      deliveries[topicArn] = { error: (error as Error).message };
      logger?.warn(
        { alarm: transition.alarm.name, topicArn, err: error },
        'sandbox: could not publish an alarm notification',
      );
    }
  }
  return deliveries;
}

/** A running evaluator. */
export interface AlarmEvaluator {
  /** One round now (claims apply as to the timer's rounds). */
  runOnce(): Promise<PublishedTransition[]>;
  /** Stops the timer and waits for a round in progress. */
  stop(): Promise<void>;
}

/**
 * Evaluates the world's alarms every `intervalMs` until stopped, after running `before` (e.g.
 * delivering pending subscription confirmations) in each round.
 */
export function startAlarmEvaluator(
  options: AlarmEvaluatorOptions & { before?: () => Promise<unknown> },
): AlarmEvaluator {
  let running: Promise<PublishedTransition[]> | undefined;
  let stopped = false;
  const round = async (): Promise<PublishedTransition[]> => {
    await options.before?.();
    return evaluateAlarmsOnce(options);
  };
  const runOnce = (): Promise<PublishedTransition[]> => {
    const current = (running ?? Promise.resolve([]))
      .catch(() => [])
      .then(() => round())
      .finally(() => {
        if (running === current) running = undefined;
      });
    running = current;
    return current;
  };
  const timer = setInterval(() => {
    if (stopped || running) return;
    runOnce().catch((err: unknown) => options.logger?.warn({ err }, 'sandbox: alarm evaluation failed'));
  }, options.intervalMs ?? DEFAULT_ALARM_INTERVAL_MS);
  timer.unref();
  return {
    runOnce,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running?.catch(() => undefined);
    },
  };
}
