/**
 * The demo's `orders-db`: a sandbox RDS instance (gp2, 100 GiB, db.m5.large) backed by a real
 * `mariadbd` from `scripts/services`, holding the `shop` schema with a few hours of history, so a
 * point-in-time restore really brings deleted rows back.
 *
 * Built once and reused: a later start finds the instance in the sandbox world (kept in Redis) and
 * its server's data (kept under `.services`), and only starts the server again. Anything half
 * built (a crash, a purged folder, a reset world) is built again from scratch.
 *
 * How the history becomes restorable:
 *   1. schema and older data, then the base backup (`takeBaseBackup`: dump + new binary log);
 *   2. the history, each batch under `SET TIMESTAMP = <its second>` so its binary-log events carry
 *      that time (from four hours ago to now, in order);
 *   3. the instance is added with its creation and base backup dated just before the history, so
 *      the restorable window covers it.
 * The replay stops at the first transaction stamped at or after the time asked for, whatever the
 * time of the events the log starts with (devkit/sandbox/pitr/mariadb.ts), so the back-dated history
 * replays although the log itself was opened now.
 */
import mysql from 'mysql2/promise';
import type { Logger } from 'pino';
import type { Sandbox, WorldStore } from '../../sandbox/index.js';
import { destroyServer, type PitrState, pitrState } from '../../sandbox/pitr/index.js';
import { type BackingServer, startServer, takeBaseBackup } from '../../sandbox/pitr/mariadb.js';
import { DEMO_STORAGE_GIB } from './io-credit-history.js';
import {
  BASE_CUSTOMERS,
  BASE_INVOICES,
  BASE_ORDERS,
  planShopHistory,
  type ShopIncident,
  shopBaseStatements,
  shopSchemaStatements,
} from './shop-history.js';
import { ORDERS_DB } from './world.js';

/** The `scripts/services` name of the demo's server (folder `.services/mariadb-demo-orders-db`). */
export const DEMO_DB_SERVER = 'demo-orders-db';

/** How much history the demo writes. */
export const HISTORY_HOURS = 4;

/** What the demo keeps beside `extension.pitr` on the instance: what its history holds. */
export interface DemoDbState {
  /** Sandbox epoch ms. */
  historyFrom: number;
  historyTo: number;
  /** The clean-up that went wrong (sandbox epoch ms), with how many invoices it deleted and zeroed. */
  incident?: { at: number; deleted: number; zeroed: number };
}

/** The demo database, ready. */
export interface OrdersDb {
  server: BackingServer;
  /** `built`: made now; `reused`: found from an earlier start. */
  origin: 'built' | 'reused';
  state: DemoDbState;
}

/** The demo state kept on a sandbox DB instance, if it is a complete demo instance. */
export function demoDbState(extension: Record<string, unknown> | undefined): DemoDbState | undefined {
  const demo = extension?.demo as DemoDbState | undefined;
  return demo && typeof demo.historyTo === 'number' ? demo : undefined;
}

async function connect(server: BackingServer): Promise<mysql.Connection> {
  return mysql.createConnection({
    host: '127.0.0.1',
    port: server.port,
    user: server.user,
    password: server.password,
    dateStrings: true,
    charset: 'utf8mb4',
  });
}

async function hasShop(conn: mysql.Connection): Promise<boolean> {
  const [rows] = await conn.query(
    "SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_schema = 'shop' AND table_name IN ('customers', 'orders', 'billing')",
  );
  return Number((rows as Array<{ n: number }>)[0]?.n) === 3;
}

/** Options for {@link ensureOrdersDb}. */
export interface EnsureOrdersDbOptions {
  sandbox: Sandbox;
  /** The world's store (to update a reused instance's backup in place). */
  store: WorldStore;
  logger: Logger;
  /** Server name for a new instance (default {@link DEMO_DB_SERVER}). */
  serverName?: string;
}

/** Makes sure `orders-db` exists, with its server running and its history written. */
export async function ensureOrdersDb(options: EnsureOrdersDbOptions): Promise<OrdersDb> {
  const { sandbox, store, logger } = options;
  const world = await sandbox.snapshot();
  const existing = world.dbInstances[ORDERS_DB];
  const pitr = existing ? pitrState(existing) : undefined;
  if (existing && !pitr) {
    throw new Error(
      `the sandbox world already has a DB instance ${ORDERS_DB} with no MariaDB server behind it; ` +
        'use another REDIS_URL or CAPSTAN_QUEUE_PREFIX, or delete that world',
    );
  }
  const name = pitr?.server ?? options.serverName ?? DEMO_DB_SERVER;
  // A server left from a world that no longer exists holds history nobody can restore: start afresh.
  if (!existing) await destroyServer(name);
  // The port it had, so the instance's endpoint stays right; another one if that port was taken since.
  const server = await startServer(name, pitr?.port).catch((error: unknown) => {
    if (pitr?.port === undefined) throw error;
    logger.warn(
      { err: error, port: pitr.port },
      'local mode: orders-db cannot have its port back; moving it',
    );
    return startServer(name);
  });
  const conn = await connect(server);
  try {
    const demo = existing ? demoDbState(existing.extension) : undefined;
    if (existing && pitr && demo && (await hasShop(conn))) {
      if (server.port !== pitr.port) {
        await store.transact((w) => {
          const db = w.dbInstances[ORDERS_DB];
          const state = db ? pitrState(db) : undefined;
          if (!db || !state) return;
          db.extension = { ...db.extension, pitr: { ...state, port: server.port } };
          db.endpoint = { ...db.endpoint, port: server.port };
        });
      }
      logger.info({ port: server.port }, 'local mode: reusing the demo database orders-db');
      return { server, origin: 'reused', state: demo };
    }
    logger.info({ port: server.port }, 'local mode: building the demo database orders-db');
    const state = await buildShop(conn, server, world.clockOffsetMs);
    const pitrNow: PitrState = {
      server: name,
      port: server.port,
      user: server.user,
      backup: state.backup,
    };
    const extension = { pitr: pitrNow, demo: state.demo };
    if (!existing) {
      await sandbox.seed({
        dbInstances: [
          {
            id: ORDERS_DB,
            engine: 'mysql',
            engineVersion: '8.0.39',
            instanceClass: 'db.m5.large',
            storageType: 'gp2',
            allocatedStorage: DEMO_STORAGE_GIB,
            masterUsername: server.user,
            backupRetentionPeriod: 7,
            createdAt: state.backup.takenAt,
            endpoint: { address: '127.0.0.1', port: server.port },
            tags: { team: 'shop', 'capstan:demo': 'true' },
            extension,
          },
        ],
      });
    } else {
      await store.transact((w) => {
        const db = w.dbInstances[ORDERS_DB];
        if (!db) return;
        db.extension = { ...db.extension, ...extension };
        db.endpoint = { ...db.endpoint, address: '127.0.0.1', port: server.port };
        db.createdAt = Math.min(db.createdAt, state.backup.takenAt);
      });
    }
    return { server, origin: 'built', state: state.demo };
  } finally {
    await conn.end().catch(() => undefined);
  }
}

/** Writes schema, older data, base backup and history; returns the backup (dated as said) and the demo state. */
async function buildShop(
  conn: mysql.Connection,
  server: BackingServer,
  clockOffsetMs: number,
): Promise<{ backup: PitrState['backup']; demo: DemoDbState }> {
  const nowSec = Math.floor(Date.now() / 1000);
  const from = nowSec - HISTORY_HOURS * 3600;
  const backedUpAt = from - 120;
  await conn.query('DROP DATABASE IF EXISTS shop');
  for (const sql of shopSchemaStatements()) await conn.query(sql);
  for (const s of shopBaseStatements(backedUpAt - 60)) await conn.query(s.sql, s.values);

  const backup = await takeBaseBackup(server);

  const history = planShopHistory({
    from,
    to: nowSec,
    next: { customer: BASE_CUSTOMERS + 1, order: BASE_ORDERS + 1, invoice: BASE_INVOICES + 1 },
    existingCustomers: BASE_CUSTOMERS,
    seed: nowSec,
  });
  for (const batch of history.batches) {
    await conn.query('SET TIMESTAMP = ?', [batch.at]);
    for (const s of batch.statements) await conn.query(s.sql, s.values);
  }
  await conn.query('SET TIMESTAMP = DEFAULT');

  const toSandbox = (epochSec: number) => epochSec * 1000 + clockOffsetMs;
  const incident: ShopIncident | undefined = history.incident;
  return {
    backup: { ...backup, takenAt: toSandbox(backedUpAt) },
    demo: {
      historyFrom: toSandbox(from),
      historyTo: toSandbox(nowSec),
      ...(incident
        ? {
            incident: {
              at: toSandbox(incident.at),
              deleted: incident.deletedInvoiceIds.length,
              zeroed: incident.zeroedInvoiceIds.length,
            },
          }
        : {}),
    },
  };
}

/**
 * A steady read workload, so `performance_schema` has a cause to name for `/rds io-credits`:
 * lookups of orders by customer e-mail (no index on `orders.customer_email`: each one scans the
 * table) beside ordinary indexed lookups. A burst now, then a few every `everyMs`. Reads only.
 */
export async function startShopWorkload(
  server: BackingServer,
  logger: Logger,
  everyMs = 20_000,
): Promise<{ stop(): Promise<void> }> {
  const conn = await connect(server);
  conn.on('error', (err) => logger.debug({ err }, 'demo workload connection error'));
  let n = 0;
  const round = async (count: number) => {
    for (let i = 0; i < count; i++) {
      n += 1;
      const customer = 1 + ((n * 37) % BASE_CUSTOMERS);
      await conn.query('SELECT id, total FROM shop.orders WHERE customer_email = ?', [
        `customer${customer}@example.com`,
      ]);
      await conn.query('SELECT id, name FROM shop.customers WHERE email = ?', [
        `customer${customer}@example.com`,
      ]);
      await conn.query('SELECT total, status FROM shop.orders WHERE id = ?', [
        1 + ((n * 7919) % BASE_ORDERS),
      ]);
    }
  };
  // A clean slate, and statement samples kept, so the report's cause and EXPLAIN are about this workload.
  await conn.query('TRUNCATE performance_schema.events_statements_summary_by_digest');
  await conn.query(
    "UPDATE performance_schema.setup_consumers SET ENABLED = 'YES' WHERE NAME IN ('events_statements_current', 'events_statements_history_long')",
  );
  await round(60);
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    round(4)
      .catch((err: unknown) => logger.debug({ err }, 'demo workload round failed'))
      .finally(() => {
        running = false;
      });
  }, everyMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await conn.end().catch(() => undefined);
    },
  };
}
