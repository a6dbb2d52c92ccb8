/**
 * The demo's CloudWatch alarm: `orders-db`'s BurstBalance below 25 % (the average of three 5-minute
 * periods), publishing to the SNS topic `capstan-alarms`, which Capstan's own `POST /aws/sns`
 * subscribes to — so an ALARM notification reaches Capstan, signed as AWS signs it, seconds after
 * local mode starts.
 *
 * The I/O-credit story (io-credit-history.ts) has the balance at about 17 % at start-up and falling
 * (empty about 70 minutes later), so the alarm goes from INSUFFICIENT_DATA to ALARM at its first
 * evaluation. It is created at every start, once Capstan has confirmed the subscription (or has not
 * within half a minute), so each start publishes one ALARM to the Capstan that is listening: before
 * that there is no alarm to evaluate (startDemoWorld deletes the last run's).
 */
import type { PutMetricAlarmCommandInput } from '@aws-sdk/client-cloudwatch';
import type { Logger } from 'pino';
import type { RedisClient } from '../../../src/redis.js';
import type { Sandbox } from '../../sandbox/index.js';
import { openSnsSandbox } from '../../sandbox/sns.js';
import { DEMO_ALARM_TOPIC_ARN, ORDERS_DB } from './world.js';

/** The demo alarm's name. */
export const DEMO_BURST_ALARM = `${ORDERS_DB}-burst-balance-low`;

/**
 * BurstBalance below this (percent) is an alarm. The story's last three whole 5-minute periods at
 * start-up read about 18–21 %, so 25 puts the alarm in ALARM at its first evaluation.
 */
export const DEMO_BURST_THRESHOLD = 25;

/** The demo alarm, as PutMetricAlarm takes it: notifies the topic on ALARM and on OK. */
export function demoBurstAlarm(): PutMetricAlarmCommandInput {
  return {
    AlarmName: DEMO_BURST_ALARM,
    AlarmDescription: `${ORDERS_DB} is running out of gp2 I/O credits: reads and writes will be held to the volume's baseline`,
    Namespace: 'AWS/RDS',
    MetricName: 'BurstBalance',
    Dimensions: [{ Name: 'DBInstanceIdentifier', Value: ORDERS_DB }],
    Statistic: 'Average',
    Period: 300,
    EvaluationPeriods: 3,
    Threshold: DEMO_BURST_THRESHOLD,
    ComparisonOperator: 'LessThanThreshold',
    TreatMissingData: 'missing',
    AlarmActions: [DEMO_ALARM_TOPIC_ARN],
    OKActions: [DEMO_ALARM_TOPIC_ARN],
  };
}

/** Deletes the last run's demo alarm (it is created again once Capstan's subscription is confirmed). */
export async function removeDemoAlarm(sandbox: Sandbox): Promise<void> {
  const world = await sandbox.snapshot();
  if (world.alarms?.[DEMO_BURST_ALARM])
    await sandbox.call('CloudWatch', 'DeleteAlarms', { AlarmNames: [DEMO_BURST_ALARM] });
}

/** Options for {@link connectDemoAlarms}. */
export interface ConnectDemoAlarmsOptions {
  redis: RedisClient;
  prefix: string;
  sandbox: Sandbox;
  /** Capstan's `POST /aws/sns` (`http://127.0.0.1:<port>/aws/sns`). */
  endpoint: string;
  logger: Logger;
  /** Stops waiting for the confirmation. */
  signal: AbortSignal;
  /** How long to wait for Capstan to confirm; default 30 s. */
  confirmWithinMs?: number;
}

/** What {@link connectDemoAlarms} came to. */
export interface DemoAlarmsOutcome {
  /** Whether Capstan confirmed its subscription to the topic. */
  confirmed: boolean;
  /** Whether the alarm was created (not when stopped first). */
  alarm: boolean;
}

/**
 * Subscribes Capstan's endpoint to the demo topic (dropping the subscriptions of earlier runs on
 * other ports), waits for Capstan to confirm it, then creates the demo alarm.
 */
export async function connectDemoAlarms(options: ConnectDemoAlarmsOptions): Promise<DemoAlarmsOutcome> {
  const { sandbox, endpoint, logger, signal } = options;
  const sns = await openSnsSandbox({ redis: options.redis, prefix: options.prefix, logger });
  await sns.createTopic(DEMO_ALARM_TOPIC_ARN);
  for (const s of (await sns.topic(DEMO_ALARM_TOPIC_ARN))?.subscriptions ?? []) {
    if (s.endpoint !== endpoint) await sns.unsubscribe(s.arn);
  }
  const { subscription } = await sns.subscribe(DEMO_ALARM_TOPIC_ARN, endpoint);
  let confirmed = subscription.status === 'confirmed';
  const deadline = Date.now() + (options.confirmWithinMs ?? 30_000);
  while (!confirmed && !signal.aborted && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    const topic = await sns.topic(DEMO_ALARM_TOPIC_ARN);
    confirmed =
      topic?.subscriptions.some((s) => s.endpoint === endpoint && s.status === 'confirmed') ?? false;
  }
  if (signal.aborted) return { confirmed, alarm: false };
  if (confirmed)
    logger.info(
      { topic: DEMO_ALARM_TOPIC_ARN, endpoint },
      'local mode: Capstan confirmed its SNS subscription',
    );
  else
    logger.warn(
      { topic: DEMO_ALARM_TOPIC_ARN, endpoint },
      'local mode: Capstan did not confirm its SNS subscription; the demo alarm will notify no one',
    );
  await sandbox.call('CloudWatch', 'PutMetricAlarm', demoBurstAlarm());
  logger.info({ alarm: DEMO_BURST_ALARM }, 'local mode: demo CloudWatch alarm created');
  return { confirmed, alarm: true };
}
