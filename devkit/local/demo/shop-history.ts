/**
 * The demo shop's data (pure): the schema, a base of older data, and a few hours of history
 * (customers signing up, orders placed, invoices issued, orders shipped) ending in an incident
 * about 15 minutes ago — a clean-up that deleted and zeroed invoices it should not have — so a
 * restore of `shop.billing` to "30m ago" has something to bring back.
 *
 * Each history batch carries the second it happened at: the writer runs `SET TIMESTAMP = <at>`
 * before its statements, so the binary log stamps its events with that time and a point-in-time
 * restore replays exactly the batches before the moment asked for. Batches are in ascending time
 * order, as a binary log must be for `mariadb-binlog --stop-datetime`.
 */

/** One statement with its `?` values (run as a prepared-style query by mysql2). */
export interface ShopStatement {
  sql: string;
  values: Array<string | number>;
}

/** Statements that happened at one moment. */
export interface HistoryBatch {
  /** Epoch seconds. */
  at: number;
  /** What happened, for logs and tests. */
  what: 'signup' | 'orders' | 'incident';
  statements: ShopStatement[];
}

/** The next free id of each table (one more than the largest id there). */
export interface NextIds {
  customer: number;
  order: number;
  invoice: number;
}

/** The clean-up that went wrong. */
export interface ShopIncident {
  /** Epoch seconds. */
  at: number;
  /** Invoices deleted. */
  deletedInvoiceIds: number[];
  /** Invoices whose amount was set to 0. */
  zeroedInvoiceIds: number[];
}

/** A history plan: the batches in time order, the incident, and the ids that come next. */
export interface ShopHistory {
  batches: HistoryBatch[];
  incident: ShopIncident | undefined;
  next: NextIds;
}

/** Options for {@link planShopHistory}. */
export interface ShopHistoryOptions {
  /** First moment of history, epoch seconds. */
  from: number;
  /** Last moment (now), epoch seconds. */
  to: number;
  /** Where ids continue from (a refresh continues the data already there). */
  next: NextIds;
  /** Customers that exist before `from` (orders are placed by them and new ones). */
  existingCustomers: number;
  /** Seconds between two steps of ordinary activity (default 300). */
  stepSeconds?: number;
  /** How long before `to` the incident happens, in seconds (default 900: 15 minutes). */
  incidentAgoSeconds?: number;
  /** Seed of the pseudo-random choices, so a plan is reproducible (default 1). */
  seed?: number;
}

/** Customers, orders and invoices the base data holds. */
export const BASE_CUSTOMERS = 400;
export const BASE_ORDERS = 20_000;
export const BASE_INVOICES = 500;

/** The schema. `orders.customer_email` has no index on purpose: the demo workload scans for it. */
export function shopSchemaStatements(): string[] {
  return [
    'CREATE DATABASE IF NOT EXISTS shop',
    `CREATE TABLE IF NOT EXISTS shop.customers (
       id INT PRIMARY KEY, email VARCHAR(80) NOT NULL, name VARCHAR(80) CHARACTER SET utf8mb4 NOT NULL,
       created_at DATETIME NOT NULL, KEY (email))`,
    `CREATE TABLE IF NOT EXISTS shop.orders (
       id INT PRIMARY KEY, customer_id INT NOT NULL, customer_email VARCHAR(80) NOT NULL,
       total DECIMAL(10,2) NOT NULL, status VARCHAR(16) NOT NULL, created_at DATETIME NOT NULL, KEY (customer_id))`,
    `CREATE TABLE IF NOT EXISTS shop.billing (
       id INT PRIMARY KEY, order_id INT NOT NULL, amount DECIMAL(10,2) NOT NULL,
       note VARCHAR(100) CHARACTER SET utf8mb4 NOT NULL, issued_at DATETIME NOT NULL, KEY (order_id))`,
  ];
}

/**
 * The older data, as of `before` (epoch seconds): {@link BASE_CUSTOMERS} customers, {@link BASE_ORDERS}
 * delivered orders over the previous weeks (made with MariaDB's sequence engine), and invoices for
 * the latest {@link BASE_INVOICES} of them. Written before the base backup, so it is in every restore.
 */
export function shopBaseStatements(before: number): ShopStatement[] {
  const orderSpacing = 120;
  return [
    {
      sql: `INSERT INTO shop.customers
            SELECT seq, CONCAT('customer', seq, '@example.com'), CONCAT('Customer ', seq),
                   FROM_UNIXTIME(? - (? - seq + 1) * 3600)
            FROM shop.seq_1_to_${BASE_CUSTOMERS}`,
      values: [before, BASE_CUSTOMERS],
    },
    {
      sql: `INSERT INTO shop.orders
            SELECT seq, 1 + seq MOD ?, CONCAT('customer', 1 + seq MOD ?, '@example.com'),
                   5 + (seq * 7919 MOD 20000) / 100, 'delivered', FROM_UNIXTIME(? - (? - seq + 1) * ?)
            FROM shop.seq_1_to_${BASE_ORDERS}`,
      values: [BASE_CUSTOMERS, BASE_CUSTOMERS, before, BASE_ORDERS, orderSpacing],
    },
    {
      sql: `INSERT INTO shop.billing
            SELECT seq, o.id, o.total, CONCAT('invoice ', seq, ' 🧾'), o.created_at + INTERVAL 1 MINUTE
            FROM shop.seq_1_to_${BASE_INVOICES} s JOIN shop.orders o ON o.id = ? - ? + s.seq`,
      values: [BASE_ORDERS, BASE_INVOICES],
    },
  ];
}

/** A small deterministic generator (mulberry32): the same seed gives the same plan. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

function datetime(epochSeconds: number): string {
  return new Date(epochSeconds * 1000).toISOString().slice(0, 19).replace('T', ' ');
}

/**
 * Plans the history from `from` to `to`: every step a few orders with their invoices, now and then
 * a new customer and a shipment, and — `incidentAgoSeconds` before `to` — a clean-up job that
 * deletes a dozen invoices issued one to three hours earlier and zeroes a few more.
 */
export function planShopHistory(options: ShopHistoryOptions): ShopHistory {
  const step = options.stepSeconds ?? 300;
  const incidentAt = options.to - (options.incidentAgoSeconds ?? 900);
  const rand = random(options.seed ?? 1);
  const next = { ...options.next };
  let customers = options.existingCustomers;
  const batches: HistoryBatch[] = [];
  const invoicesByTime: Array<{ id: number; at: number }> = [];
  const placed: number[] = [];
  let incident: ShopIncident | undefined;

  const planIncident = (at: number): void => {
    // Invoices issued between three hours and 45 minutes before the incident: well inside the window.
    const candidates = invoicesByTime.filter((i) => i.at >= at - 3 * 3600 && i.at <= at - 45 * 60);
    if (candidates.length < 4) return;
    const deleted = candidates.filter((_, i) => i % 3 === 0).slice(0, 12);
    const zeroed = candidates.filter((_, i) => i % 3 === 1).slice(0, 4);
    const deletedIds = deleted.map((i) => i.id);
    const zeroedIds = zeroed.map((i) => i.id);
    incident = { at, deletedInvoiceIds: deletedIds, zeroedInvoiceIds: zeroedIds };
    batches.push({
      at,
      what: 'incident',
      statements: [
        {
          sql: `DELETE FROM shop.billing WHERE id IN (${deletedIds.map(() => '?').join(', ')})`,
          values: deletedIds,
        },
        {
          sql: `UPDATE shop.billing SET amount = 0, note = 'zeroed by cleanup job' WHERE id IN (${zeroedIds.map(() => '?').join(', ')})`,
          values: zeroedIds,
        },
      ],
    });
  };

  for (let at = options.from; at <= options.to; at += step) {
    if (!incident && at > incidentAt && incidentAt >= options.from) planIncident(incidentAt);
    if (rand() < 0.25) {
      customers += 1;
      const id = next.customer++;
      batches.push({
        at,
        what: 'signup',
        statements: [
          {
            sql: 'INSERT INTO shop.customers VALUES (?, ?, ?, FROM_UNIXTIME(?))',
            values: [id, `customer${id}@example.com`, `Customer ${id}`, at],
          },
        ],
      });
    }
    const statements: ShopStatement[] = [];
    const orders = 1 + Math.floor(rand() * 3);
    for (let n = 0; n < orders; n++) {
      const orderId = next.order++;
      const customer = 1 + Math.floor(rand() * Math.max(1, customers));
      const total = (5 + Math.floor(rand() * 20_000) / 100).toFixed(2);
      statements.push({
        sql: "INSERT INTO shop.orders VALUES (?, ?, ?, ?, 'paid', ?)",
        values: [orderId, customer, `customer${customer}@example.com`, total, datetime(at)],
      });
      const invoiceId = next.invoice++;
      statements.push({
        sql: 'INSERT INTO shop.billing VALUES (?, ?, ?, ?, ?)',
        values: [invoiceId, orderId, total, `invoice ${invoiceId} 🧾`, datetime(at)],
      });
      invoicesByTime.push({ id: invoiceId, at });
      placed.push(orderId);
    }
    if (placed.length > 6 && rand() < 0.5) {
      const shipped = placed.splice(0, 2);
      statements.push({
        sql: "UPDATE shop.orders SET status = 'shipped' WHERE id IN (?, ?)",
        values: shipped,
      });
    }
    // One second after the sign-up, so every batch has its own moment and the order stays strict.
    batches.push({ at: at + 1, what: 'orders', statements });
  }
  if (!incident && incidentAt >= options.from && incidentAt <= options.to) planIncident(incidentAt);
  batches.sort((a, b) => a.at - b.at);
  return { batches, incident, next };
}
