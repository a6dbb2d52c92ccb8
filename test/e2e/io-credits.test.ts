/**
 * `/rds io-credits` end to end: a gp2 instance whose burst credits drained while one frequent
 * query scanned a table for want of an index (a real mariadbd with performance_schema on behind a
 * sandbox instance whose CloudWatch holds the series) → verdict, forecast, cause, recommendations
 * and a chart in the thread; gp3 and io1 instances get their own story; an unknown instance and an
 * unreachable database get a clear message and whatever part of the report could still be made.
 */
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../devkit/local/services.js';
import { createSandbox, type Sandbox } from '../../devkit/sandbox/index.js';
import { createBackedDbInstance, destroyServer } from '../../devkit/sandbox/pitr/index.js';
import { startTestCapstan, type TestCapstan } from '../helpers/capstan.js';
import { finished } from '../helpers/sandbox-world.js';

const password = process.env.CAPSTAN_MYSQL_ROOT_PASSWORD ?? 'capstan';
const SERVER = 'iocredits-ledger-db';
const MIN = 60_000;
const HOUR = 60 * MIN;

/**
 * 200 GiB gp2 volumes (600-IOPS baseline) whose credits ran out 2.5 h ago, by the last hour's IOPS: what a
 * throttled volume reports — a little under the baseline, never on it.
 */
const THROTTLED: Record<string, number> = { 'meter-a-db': 599.9, 'meter-b-db': 594, 'meter-c-db': 585 };
/** The end of the series: the start of the current 5-minute period, as CloudWatch aligns them. */
const SERIES_END = Math.floor(Date.now() / (5 * MIN)) * 5 * MIN;

/**
 * Bursting at ~900 IOPS drained the bucket at 300 credits/s (20 %/h); BurstBalance has been 0 or a hair above
 * since 2.5 h ago, one of its points is missing, and DiskQueueDepth and read latency rose when it ran out.
 */
function throttledSeries(id: string, lastHour: number) {
  const iops = (h: number) => (h < 1 ? lastHour : h < 2.5 ? 600 - ((h * 7) % 4) : 880 + ((h * 37) % 40));
  const empty = (h: number) => h <= 2.5;
  return [
    rdsSeries(
      id,
      'BurstBalance',
      periods(
        SERIES_END,
        (h) =>
          empty(h) ? ([0, 0, 0.02, 0, 0.1][Math.round(h * 12) % 5] as number) : Math.min(100, 20 * (h - 2.5)),
        [1.5],
      ),
    ),
    rdsSeries(
      id,
      'ReadIOPS',
      periods(SERIES_END, (h) => iops(h) - 90),
    ),
    rdsSeries(
      id,
      'WriteIOPS',
      periods(SERIES_END, () => 90),
    ),
    rdsSeries(
      id,
      'DiskQueueDepth',
      periods(SERIES_END, (h) => (empty(h) ? 31 + ((h * 13) % 3) : 1.2 + ((h * 3) % 0.4))),
    ),
    rdsSeries(
      id,
      'ReadLatency',
      periods(SERIES_END, (h) => (empty(h) ? 0.042 : 0.0011 + ((h * 5) % 1) / 10_000)),
    ),
    rdsSeries(
      id,
      'WriteLatency',
      periods(SERIES_END, () => 0.0021),
    ),
  ];
}

let tc: TestCapstan;
let sandbox: Sandbox;
let live: mysql.Connection;

/** Points every 5 minutes over the last 24 h, valued by `f(hoursAgo)`. */
function day(f: (hoursAgo: number) => number): { t: number; v: number }[] {
  const now = Date.now();
  const points: { t: number; v: number }[] = [];
  for (let t = now - 24 * HOUR; t <= now; t += 5 * MIN) points.push({ t, v: f((now - t) / HOUR) });
  return points;
}

/**
 * Points as GetMetricData returns them: one per 5-minute period, stamped with the period's start, over the
 * 24 h before `end`, valued by `f(hoursAgo)`; periods in `missing` (hours ago) published nothing.
 */
function periods(
  end: number,
  f: (hoursAgo: number) => number,
  missing: number[] = [],
): { t: number; v: number }[] {
  const points: { t: number; v: number }[] = [];
  for (let t = end - 24 * HOUR; t <= end; t += 5 * MIN) {
    const h = (end - t) / HOUR;
    if (!missing.some((m) => Math.abs(m - h) < 1e-9)) points.push({ t, v: f(h) });
  }
  return points;
}

function rdsSeries(id: string, metricName: string, points: { t: number; v: number }[]) {
  return { namespace: 'AWS/RDS', metricName, dimensions: { DBInstanceIdentifier: id }, points };
}

beforeAll(async () => {
  const closed = await freePort();
  tc = await startTestCapstan({
    configYaml: `
aws: { region: eu-west-1 }
timezone: Europe/Paris
roles:
  engineers: { users: [U0ALICE] }
databases:
  ledger-db: { user: root, passwordEnv: TEST_DB_PASSWORD, tls: 'off' }
  ghost-db: { user: root, passwordEnv: TEST_DB_PASSWORD, tls: 'off' }
ioCredits:
  prices: { gp2PerGiBMonth: 0.1, gp3PerGiBMonth: 0.08 }
`,
    env: { CAPSTAN_AWS: 'sandbox', TEST_DB_PASSWORD: password },
  });
  sandbox = createSandbox({ redis: tc.redis, prefix: tc.config.queuePrefix });
  const { server } = await createBackedDbInstance(sandbox, {
    id: 'ledger-db',
    engine: 'mysql',
    instanceClass: 'db.m5.large',
    storageType: 'gp2',
    allocatedStorage: 100,
    server: { name: SERVER },
  });
  await sandbox.seed({
    dbInstances: [
      ...Object.keys(THROTTLED).map((id) => ({
        id,
        engine: 'mysql',
        instanceClass: 'db.m5.large',
        storageType: 'gp2',
        allocatedStorage: 200,
      })),
      { id: 'catalog-db', engine: 'mysql', storageType: 'gp3', allocatedStorage: 200 },
      { id: 'archive-db', engine: 'mysql', storageType: 'io1', allocatedStorage: 200, iops: 2000 },
      // Configured, but nothing listens at its endpoint.
      {
        id: 'ghost-db',
        engine: 'mysql',
        storageType: 'gp2',
        allocatedStorage: 50,
        endpoint: { address: '127.0.0.1', port: closed },
      },
    ],
  });
  // gp2 100 GiB: baseline 300 IOPS. Read IOPS crept up and drained the bucket, empty for the last 3 h.
  const read = (h: number) => (h > 3 ? 600 : 240);
  const write = (h: number) => (h > 3 ? 90 : 60);
  await sandbox.putMetricData([
    rdsSeries(
      'ledger-db',
      'BurstBalance',
      day((h) => (h > 3 ? Math.min(100, ((h - 3) / 21) * 100) : 0)),
    ),
    rdsSeries('ledger-db', 'ReadIOPS', day(read)),
    rdsSeries('ledger-db', 'WriteIOPS', day(write)),
    rdsSeries(
      'catalog-db',
      'ReadIOPS',
      day(() => 380),
    ),
    rdsSeries(
      'catalog-db',
      'WriteIOPS',
      day(() => 40),
    ),
    rdsSeries(
      'archive-db',
      'ReadIOPS',
      day(() => 1500),
    ),
    rdsSeries(
      'archive-db',
      'WriteIOPS',
      day(() => 300),
    ),
    rdsSeries(
      'ghost-db',
      'BurstBalance',
      day(() => 100),
    ),
    rdsSeries(
      'ghost-db',
      'ReadIOPS',
      day(() => 50),
    ),
    ...Object.entries(THROTTLED).flatMap(([id, lastHour]) => throttledSeries(id, lastHour)),
  ]);

  // The workload: ordinary indexed lookups, and one frequent query scanning `orders` by an unindexed column.
  live = await mysql.createConnection({ host: '127.0.0.1', port: server.port, user: 'root', password });
  await live.query('CREATE DATABASE shop');
  await live.query(
    'CREATE TABLE shop.orders (id INT PRIMARY KEY, customer_email VARCHAR(80), total DECIMAL(10,2))',
  );
  await live.query('CREATE TABLE shop.customers (id INT PRIMARY KEY, email VARCHAR(80), KEY (email))');
  await live.query(
    "INSERT INTO shop.orders SELECT seq, CONCAT('c', seq MOD 5000, '@example.com'), seq / 10 FROM shop.seq_1_to_20000",
  );
  await live.query(
    "INSERT INTO shop.customers SELECT seq, CONCAT('c', seq, '@example.com') FROM shop.seq_1_to_5000",
  );
  await live.query('TRUNCATE performance_schema.events_statements_summary_by_digest');
  for (let i = 0; i < 60; i++) {
    await live.query('SELECT id, total FROM shop.orders WHERE customer_email = ?', [`c${i}@example.com`]);
    await live.query('SELECT id FROM shop.customers WHERE email = ?', [`c${i}@example.com`]);
    await live.query('SELECT total FROM shop.orders WHERE id = ?', [i + 1]);
  }
}, 120_000);

afterAll(async () => {
  await live?.end().catch(() => undefined);
  await tc?.stop();
  await destroyServer(SERVER).catch(() => undefined);
});

describe('/rds io-credits', () => {
  it('finds the exhausted credits, the query that burns them, what to change, and draws the chart', async () => {
    await tc.slash('/rds', 'io-credits ledger-db');
    const report = await finished(tc, '/rds io-credits ledger-db', undefined, 60_000);
    expect(report).toContain('done in');
    // Verdict first. BurstBalance drains to 0 three hours before the end, reading 1 % or less (near enough to
    // empty) for its last 13 minutes of draining: empty since about 3 h 15 min ago, to the 5-minute period.
    expect(report).toMatch(
      // The day is said too when it is not today in that zone (e.g. just after midnight in Paris).
      /ledger-db: throttled: credits exhausted since (\d{1,2} [A-Z][a-z]{2} )?\d\d:\d\d UTC \/ (\d{1,2} [A-Z][a-z]{2} )?\d\d:\d\d Europe\/Paris, 3 h (1\d|20) min ago; held to the 300-IOPS baseline/,
    );
    expect(report).toMatch(/observed p95 69\d IOPS/);
    // The cause in the database: the scanning statement and its table, with the index as a hypothesis.
    expect(report).toMatch(/Likely cause: `SELECT .*customer_email.*` scanning `orders`/);
    expect(report).toContain('ran 60 times, examining 20,000 rows per call');
    expect(report).toMatch(
      /\*Query or index\* \(a hypothesis to check first\): .*index on orders\(customer_email\)/,
    );
    // What to change, with numbers: a gp2 size whose baseline covers p95 + 20 %, gp3 and its cost.
    expect(report).toMatch(/\*What to change\*/);
    expect(report).toMatch(/gp2/);
    expect(report).toMatch(/gp3/);
    expect(report).toMatch(/\$\d/);
    // The chart, uploaded into the same thread.
    const chart = tc.fake.files.find((f) => f.filename === 'ledger-db-io-credits.png');
    expect(chart?.completed).toBe(true);
    expect(chart?.bytes?.subarray(1, 4).toString()).toBe('PNG');
    const progress = tc.fake
      .messagesIn('C0OPS')
      .find((m) => m.thread_ts && m.thread_ts !== m.ts && /io-credits ledger-db/.test(JSON.stringify(m)));
    expect(chart?.thread_ts).toBe(progress?.thread_ts);
  }, 90_000);

  it('calls a gp2 volume held just under its baseline with BurstBalance at 0 throttled: 599.9, 594 and 585 IOPS on 600', async () => {
    // When the credits ran out, in `zone`: with the day too when that is not today there.
    const hhmm = (zone: string) => {
      const at = SERIES_END - 2.5 * HOUR;
      const day = new Intl.DateTimeFormat('en-GB', { timeZone: zone, day: 'numeric', month: 'short' });
      const time = new Intl.DateTimeFormat('en-GB', {
        timeZone: zone,
        hour: '2-digit',
        minute: '2-digit',
        hourCycle: 'h23',
      }).format(at);
      return day.format(at) === day.format(Date.now()) ? time : `${day.format(at)} ${time}`;
    };
    const ids = Object.keys(THROTTLED);
    await Promise.all(ids.map((id) => tc.slash('/rds', `io-credits ${id}`)));
    for (const id of ids) {
      const report = await finished(tc, `/rds io-credits ${id}`, undefined, 30_000);
      // 599.9 is said as such: rounded it would read as the baseline itself.
      const lastHour = THROTTLED[id] as number;
      expect(report, report).toContain(
        `:red_circle: *${id}: throttled: credits exhausted since ${hhmm('UTC')} UTC / ${hhmm('Europe/Paris')} Europe/Paris, 2 h `,
      );
      expect(report).toMatch(/2 h (30|35) min ago; held to the 600-IOPS baseline/);
      expect(report).toContain(`(last hour ${lastHour} IOPS`);
      expect(report).not.toMatch(/holding steady|refilling|:large_green_circle:/);
      // What on-call people look at next, against its usual level, called out with the throttling.
      expect(report).toMatch(
        /Since the credits ran out, DiskQueueDepth 3\d in the last hour against a usual 1\.\d \(\d+×\); read latency 42 ms in the last hour against a usual 1\.\d ms \(\d+×\): queries are waiting on storage\./,
      );
      expect(report).toMatch(/write latency 2\.1 ms in the last hour, near its usual 2\.1 ms/);
      // What to change agrees with the verdict, sized above the baseline, cheapest first, prices stated.
      const change = report.slice(report.indexOf('*What to change*'));
      expect(change).toMatch(/^\*What to change\*\n• \*Move to gp3 at 200 GiB\*/);
      expect(change).toMatch(
        /Provisioned IOPS: io2 with 1,\d{3} IOPS[\s\S]*Provisioned IOPS: io1 with 1,\d{3} IOPS/,
      );
      expect(change).toContain('$0.125/GiB-month + $0.10/IOPS-month');
    }
  }, 60_000);

  it('tells the gp3 story, and says the statements were not read for an unconfigured database', async () => {
    await tc.slash('/rds', 'io-credits catalog-db');
    const report = await finished(tc, '/rds io-credits catalog-db', undefined, 30_000);
    expect(report).toMatch(/no burst credits on gp3: baseline 3,000 IOPS covers observed p95 420/);
    expect(report).toContain('`catalog-db` is not under `databases:` in the config file');
  });

  it('tells the provisioned IOPS story for io1', async () => {
    await tc.slash('/rds', 'io-credits archive-db --hours 12');
    const report = await finished(tc, '/rds io-credits archive-db --hours 12', undefined, 30_000);
    expect(report).toMatch(/io1/);
    expect(report).toMatch(/2,000 (provisioned )?IOPS/);
    expect(report).not.toMatch(/credits exhausted/);
  });

  it('names an unknown instance clearly', async () => {
    await tc.slash('/rds', 'io-credits nosuch-db');
    const text = await finished(tc, '/rds io-credits nosuch-db', /failed/, 30_000);
    expect(text).toContain('There is no DB instance `nosuch-db` in eu-west-1');
  });

  it('still reports the AWS side when the database cannot be reached', async () => {
    await tc.slash('/rds', 'io-credits ghost-db');
    const report = await finished(tc, '/rds io-credits ghost-db', undefined, 60_000);
    expect(report).toContain('done in');
    expect(report).toMatch(/The database could not be asked \(.*\): no statements in this report/);
    expect(report).not.toContain(password === '' ? '\u0000' : password);
    expect(report).toMatch(/baseline/);
  }, 90_000);
});
