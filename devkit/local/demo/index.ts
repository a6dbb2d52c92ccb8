/**
 * The demo world local mode runs on: the sandbox seeded with the `web` blueprint's resources and
 * the protected `prod` environment (3 instances behind a target group), `orders-db` backed by a
 * real MariaDB with a few hours of shop history, a draining `BurstBalance` for it with a CloudWatch
 * alarm publishing to the SNS topic `capstan-alarms` (Capstan's `/aws/sns` subscribed once it
 * listens: alarms.ts), and a read workload whose full scans `/rds io-credits` can name. Idempotent:
 * a second start reuses it.
 */
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import type { RedisClient } from '../../../src/redis.js';
import { createSandbox, WorldStore } from '../../sandbox/index.js';
import { pitrExtension } from '../../sandbox/pitr/index.js';
import type { DemoAlarmsOutcome } from './alarms.js';
import { connectDemoAlarms, removeDemoAlarm } from './alarms.js';
import { ioCreditHistory } from './io-credit-history.js';
import { ensureOrdersDb, type OrdersDb, startShopWorkload } from './orders-db.js';
import { demoAwsSeed, ORDERS_DB } from './world.js';

export {
  DEMO_BURST_ALARM,
  DEMO_BURST_THRESHOLD,
  type DemoAlarmsOutcome,
  demoBurstAlarm,
} from './alarms.js';
export { ALLOW_AWS_VARIABLE, localAwsRefusal, realAwsSignals } from './aws-guard.js';
export { DEMO_DB_SERVER, type DemoDbState, type OrdersDb } from './orders-db.js';
export {
  DEMO_ALARM_TOPIC_ARN,
  DEMO_CHANNELS,
  DEMO_USERS,
  type DemoChannel,
  type DemoUser,
  ORDERS_DB,
  PROD_GROUP,
} from './world.js';

/** The demo configuration (YAML, beside this module in the source tree; read from there when built too). */
export const DEMO_CONFIG_PATH: string = fileURLToPath(
  new URL(
    import.meta.url.includes('/dist/devkit/')
      ? '../../../../devkit/local/demo/demo-config.yml'
      : './demo-config.yml',
    import.meta.url,
  ),
);

/** The variable the demo configuration names for `orders-db`'s password. */
export const DEMO_DB_PASSWORD_VARIABLE = 'CAPSTAN_DEMO_DB_PASSWORD';

/** How long before start-up the demo's I/O credits began to drain. */
const DRAIN_STARTED_HOURS_AGO = 6;
const HOUR = 3_600_000;

/** The demo world, running. */
export interface DemoWorld {
  ordersDb: OrdersDb;
  /**
   * Once Capstan listens: subscribes its `POST /aws/sns` (`endpoint`) to the alarms' topic and, once
   * Capstan has confirmed that, creates the demo alarm. Runs in the background until done or stopped.
   */
  connectAlarms(endpoint: string): Promise<DemoAlarmsOutcome>;
  stop(): Promise<void>;
}

/** Options for {@link startDemoWorld}. */
export interface DemoWorldOptions {
  /** The Redis the sandbox world lives in (Capstan's own). */
  redis: RedisClient;
  /** Capstan's key prefix (the world is at `<prefix>:sandbox:world`). */
  prefix: string;
  logger: Logger;
}

/** Seeds the sandbox and builds (or reuses) `orders-db`; keeps its metrics and workload going until stopped. */
export async function startDemoWorld(options: DemoWorldOptions): Promise<DemoWorld> {
  const { redis, prefix, logger } = options;
  const sandbox = createSandbox({ redis, prefix, extensions: [pitrExtension()] });
  await sandbox.seed(demoAwsSeed());
  // Made again once Capstan's subscription to its topic is confirmed (connectAlarms).
  await removeDemoAlarm(sandbox);
  const ordersDb = await ensureOrdersDb({ sandbox, store: new WorldStore(redis, prefix), logger });

  // The last day of metrics is written again at every start (points on 5-minute marks replace
  // the earlier ones), then extended as time passes, so the chart always ends now.
  const world = await sandbox.snapshot();
  const sandboxNow = () => Date.now() + world.clockOffsetMs;
  const drainStartedAt = sandboxNow() - DRAIN_STARTED_HOURS_AGO * HOUR;
  let written = sandboxNow();
  await sandbox.putMetricData(
    ioCreditHistory({ dbInstanceId: ORDERS_DB, from: written - 24 * HOUR, to: written, drainStartedAt }),
  );
  const metricsTimer = setInterval(() => {
    const to = sandboxNow();
    const from = written;
    written = to;
    sandbox
      .putMetricData(ioCreditHistory({ dbInstanceId: ORDERS_DB, from, to, drainStartedAt }))
      .catch((err: unknown) => logger.debug({ err }, 'demo metrics update failed'));
  }, 60_000);
  metricsTimer.unref();

  const workload = await startShopWorkload(ordersDb.server, logger);
  const stopping = new AbortController();
  const connecting = new Set<Promise<unknown>>();
  return {
    ordersDb,
    connectAlarms(endpoint) {
      const connected = connectDemoAlarms({
        redis,
        prefix,
        sandbox,
        endpoint,
        logger,
        signal: stopping.signal,
      });
      const settled = connected.catch((err: unknown) =>
        logger.warn({ err }, 'local mode: could not connect the demo alarm to Capstan'),
      );
      connecting.add(settled);
      void settled.finally(() => connecting.delete(settled));
      return connected;
    },
    async stop() {
      stopping.abort();
      clearInterval(metricsTimer);
      await Promise.all(connecting);
      await workload.stop();
    },
  };
}
