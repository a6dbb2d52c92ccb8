/**
 * The point-in-time restore world: Capstan on the sandbox with `orders-db`, a sandbox DB instance
 * backed by a real `mariadbd` (binary log on) so a restore really brings deleted rows back, and a
 * connection to its live server.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import mysql from 'mysql2/promise';
import { createSandbox, type Sandbox } from '../../devkit/sandbox/index.js';
import { createBackedDbInstance, destroyServer, pitrExtension } from '../../devkit/sandbox/pitr/index.js';
import { startTestCapstan, type TestCapstan } from './capstan.js';

/** The live server's root password (scripts/services). */
export const DB_PASSWORD = process.env.CAPSTAN_MYSQL_ROOT_PASSWORD ?? 'capstan';

/** The configuration of the restore tests; `extra` is appended (top-level YAML keys). */
export function restoreConfig(extra = ''): string {
  return `
slack: { approvalsChannel: C0APPROVALS, notificationsChannel: C0NOTICES }
aws: { region: eu-west-1 }
roles:
  engineers: { users: [U0ALICE] }
  approvers: { users: [U0CAROL] }
databases:
  orders-db: { user: root, passwordEnv: TEST_DB_PASSWORD, tls: 'off' }
${extra}`;
}

/** A row of `shop.billing`. */
export interface BillingRow {
  id: number;
  amount: string;
  note: string;
}

/** A running restore world. */
export interface RestoreWorld {
  tc: TestCapstan;
  sandbox: Sandbox;
  /** A connection to `orders-db`'s live server. */
  live: mysql.Connection;
  /** The rows of `shop.<table>`, by id. */
  rows(table: string): Promise<BillingRow[]>;
  /** Ids of the temporary restore instances that exist now. */
  temporaryInstances(): Promise<string[]>;
  /** Creates `shop.billing` with rows 1–10 (`amount` = id × 10 + .50, `note` = `invoice <id> 🧾`). */
  seedBilling(): Promise<void>;
  /**
   * After the seed, lets a moment pass and deletes invoices 2, 3 and 4 (binary-log times have whole
   * seconds: the moment falls well after the insert and before the delete); returns that moment, in
   * Unix seconds.
   */
  deleteInvoicesAfterAMoment(): Promise<number>;
  stop(): Promise<void>;
}

/** Starts Capstan on the sandbox with the PITR-backed `orders-db`. */
export async function startRestoreWorld(
  options: { configYaml?: string; env?: Record<string, string> } = {},
): Promise<RestoreWorld> {
  const tc = await startTestCapstan({
    configYaml: options.configYaml ?? restoreConfig(),
    env: {
      CAPSTAN_AWS: 'sandbox',
      CAPSTAN_POLL_INTERVAL_MS: '100',
      TEST_DB_PASSWORD: DB_PASSWORD,
      ...options.env,
    },
  });
  const sandbox = createSandbox({
    redis: tc.redis,
    prefix: tc.config.queuePrefix,
    extensions: [pitrExtension()],
  });
  await sandbox.setTiming({ dbCreate: 300, dbDelete: 300, restorableLag: 300 });
  // A server name of this world's own: other test files may run their `orders-db` at the same time.
  const serverName = `pitr-orders-db-${randomBytes(3).toString('hex')}`;
  const { server } = await createBackedDbInstance(sandbox, {
    id: 'orders-db',
    engine: 'mysql',
    server: { name: serverName },
  }).catch(async (error: unknown) => {
    await tc.stop();
    await destroyServer(serverName).catch(() => undefined);
    throw error;
  });
  const live = await mysql.createConnection({
    host: '127.0.0.1',
    port: server.port,
    user: 'root',
    password: DB_PASSWORD,
    dateStrings: true,
  });
  return {
    tc,
    sandbox,
    live,
    async rows(table) {
      const [result] = await live.query(`SELECT id, amount, note FROM shop.\`${table}\` ORDER BY id`);
      return result as BillingRow[];
    },
    async temporaryInstances() {
      const world = await sandbox.snapshot();
      return Object.keys(world.dbInstances).filter((id) => id.startsWith('capstan-restore-'));
    },
    async seedBilling() {
      await live.query('CREATE DATABASE shop');
      await live.query(
        'CREATE TABLE shop.billing (id INT PRIMARY KEY, amount DECIMAL(10,2) NOT NULL, note VARCHAR(100) CHARACTER SET utf8mb4)',
      );
      const values = Array.from({ length: 10 }, (_, i) => [
        i + 1,
        `${(i + 1) * 10}.50`,
        `invoice ${i + 1} 🧾`,
      ]);
      await live.query('INSERT INTO shop.billing VALUES ?', [values]);
    },
    async deleteInvoicesAfterAMoment() {
      await sleep(2_200);
      const moment = Math.floor(Date.now() / 1000);
      await sleep(1_500);
      await live.query('DELETE FROM shop.billing WHERE id IN (2, 3, 4)');
      await sleep(500);
      return moment;
    },
    async stop() {
      await live.end().catch(() => undefined);
      await tc.stop();
      await destroyServer(serverName).catch(() => undefined);
    },
  };
}
