/** The demo world's pure parts: the shop history plan, the I/O-credit story, the demo config, the banner. */
import { describe, expect, it } from 'vitest';
import type { DemoWorld } from '../../devkit/local/demo/index.js';
import { DEMO_CONFIG_PATH, DEMO_DB_PASSWORD_VARIABLE, DEMO_USERS } from '../../devkit/local/demo/index.js';
import {
  GP2_BUCKET_CREDITS,
  gp2BaselineIops,
  ioCreditHistory,
  ioCreditPointAt,
} from '../../devkit/local/demo/io-credit-history.js';
import { planShopHistory, shopBaseStatements } from '../../devkit/local/demo/shop-history.js';
import { localModeBanner } from '../../devkit/local/local-mode.js';
import { readConfig } from '../../src/config.js';

const NOW = 1_795_320_000;
const plan = (seed = 7) =>
  planShopHistory({
    from: NOW - 4 * 3600,
    to: NOW,
    next: { customer: 401, order: 20_001, invoice: 501 },
    existingCustomers: 400,
    seed,
  });

describe('planShopHistory', () => {
  it('writes four hours of activity in time order, inside the window', () => {
    const { batches } = plan();
    expect(batches.length).toBeGreaterThan(48);
    for (let i = 1; i < batches.length; i++) {
      expect(batches[i]?.at).toBeGreaterThanOrEqual(batches[i - 1]?.at ?? 0);
    }
    expect(batches[0]?.at).toBeGreaterThanOrEqual(NOW - 4 * 3600);
    expect(batches.at(-1)?.at).toBeLessThanOrEqual(NOW + 1);
  });

  it('ends with a clean-up 15 minutes ago that deletes a dozen older invoices and zeroes a few', () => {
    const { batches, incident } = plan();
    expect(incident?.at).toBe(NOW - 900);
    expect(incident?.deletedInvoiceIds).toHaveLength(12);
    expect(incident?.zeroedInvoiceIds).toHaveLength(4);
    // Every invoice it touches was issued between 3 h and 45 min before it: a restore to 30m ago has them.
    const issuedAt = new Map<number, number>();
    for (const b of batches)
      for (const s of b.statements)
        if (s.sql.startsWith('INSERT INTO shop.billing')) issuedAt.set(Number(s.values[0]), b.at);
    for (const id of [...(incident?.deletedInvoiceIds ?? []), ...(incident?.zeroedInvoiceIds ?? [])]) {
      const at = issuedAt.get(id) ?? Number.NaN;
      expect(at).toBeLessThanOrEqual(NOW - 900 - 45 * 60 + 1);
      expect(at).toBeGreaterThanOrEqual(NOW - 900 - 3 * 3600);
    }
    const after = batches.filter((b) => b.at > NOW - 900);
    expect(after.some((b) => b.what === 'orders')).toBe(true);
    expect(batches.filter((b) => b.what === 'incident')).toHaveLength(1);
  });

  it('is reproducible, continues the ids it is given, and has a value for every placeholder', () => {
    expect(plan(3)).toEqual(plan(3));
    const { batches, next } = plan();
    const invoices = batches.flatMap((b) =>
      b.statements
        .filter((s) => s.sql.startsWith('INSERT INTO shop.billing'))
        .map((s) => Number(s.values[0])),
    );
    expect(invoices[0]).toBe(501);
    expect(next.invoice).toBe(501 + invoices.length);
    for (const s of [...batches.flatMap((b) => b.statements), ...shopBaseStatements(NOW)]) {
      expect(s.sql.split('?').length - 1).toBe(s.values.length);
    }
  });

  it('plans no incident when the history is too short to hold one', () => {
    const short = planShopHistory({
      from: NOW - 600,
      to: NOW,
      next: { customer: 1, order: 1, invoice: 1 },
      existingCustomers: 0,
    });
    expect(short.incident).toBeUndefined();
  });
});

describe('the I/O-credit story', () => {
  const HOUR = 3_600_000;
  const now = NOW * 1000;
  const drain = now - 6 * HOUR;

  it('keeps the bucket full before the drain, then drains it by the gp2 arithmetic', () => {
    expect(ioCreditPointAt(drain - HOUR, drain).burstBalance).toBe(100);
    const p = ioCreditPointAt(now, drain);
    const net = 430 + 80 - gp2BaselineIops(100);
    const expected = ((GP2_BUCKET_CREDITS - net * 6 * 3600) / GP2_BUCKET_CREDITS) * 100;
    expect(p.burstBalance).toBeCloseTo(expected, 0);
    expect(p.burstBalance).toBeGreaterThan(5);
    expect(p.burstBalance).toBeLessThan(30);
    expect(p.readIops + p.writeIops).toBeGreaterThan(300);
  });

  it('holds I/O a little under the 300 IOPS baseline once the bucket is empty, while the queue and latency climb', () => {
    const empty = ioCreditPointAt(now + 3 * HOUR, drain);
    const before = ioCreditPointAt(drain - HOUR, drain);
    expect(empty.burstBalance).toBe(0);
    expect(empty.readIops + empty.writeIops).toBeCloseTo(300, -1);
    expect(empty.readIops + empty.writeIops).toBeLessThan(300);
    expect(empty.diskQueueDepth).toBeGreaterThan(10 * before.diskQueueDepth);
    expect(empty.readLatency).toBeGreaterThan(10 * before.readLatency);
  });

  it('gives six series on 5-minute marks, so a later start replaces its points', () => {
    const series = ioCreditHistory({
      dbInstanceId: 'orders-db',
      from: now - 24 * HOUR,
      to: now,
      drainStartedAt: drain,
    });
    expect(series.map((s) => s.metricName)).toEqual([
      'BurstBalance',
      'ReadIOPS',
      'WriteIOPS',
      'DiskQueueDepth',
      'ReadLatency',
      'WriteLatency',
    ]);
    for (const s of series) {
      expect(s.dimensions).toEqual({ DBInstanceIdentifier: 'orders-db' });
      expect(s.points?.length).toBe(24 * 12 + 1);
      for (const p of s.points ?? []) expect(Number(p.t) % 300_000).toBe(0);
    }
    const burst = series[0]?.points?.map((p) => p.v) ?? [];
    expect(burst[0]).toBe(100);
    expect(burst.at(-1)).toBeLessThan(30);
  });
});

describe('the demo configuration', () => {
  it('has two engineers and one approver, a protected prod, and orders-db with its password from the environment', () => {
    const config = readConfig({ CAPSTAN_CONFIG: DEMO_CONFIG_PATH, [DEMO_DB_PASSWORD_VARIABLE]: 'pw' });
    expect(config.slack.mode).toBe('local');
    expect(config.file.roles.engineers?.users).toEqual(['U0ALICE', 'U0BOB']);
    expect(config.file.roles.approvers?.users).toEqual(['U0CAROL']);
    expect(config.file.policy.environments.prod?.protected).toBe(true);
    expect(config.file.environments.prod).toMatchObject({ blueprint: 'web', asgName: 'prod-web' });
    expect(config.file.blueprints.web).toBeDefined();
    // A stack blueprint whose versions are the template directories next to the config file.
    expect(config.file.blueprints.shop).toMatchObject({
      kind: 'stack',
      versionParameter: 'EnvironmentVersion',
    });
    expect(config.file.databases['orders-db']).toMatchObject({ user: 'root', tls: 'off' });
    expect(config.databasePasswords['orders-db']).toBe('pw');
    // Alerts into #notices, quick enough to watch one open and resolve in a demo.
    expect(config.file.alerts).toMatchObject({
      enabled: true,
      quietPeriod: 60_000,
      default: { channel: 'C0NOTICES' },
    });
    expect(config.file.alerts.checks.standby.maxAge).toBe(120_000);
    expect(DEMO_USERS.map((u) => u.id)).toEqual(['U0ALICE', 'U0BOB', 'U0CAROL']);
  });
});

describe('localModeBanner', () => {
  it('says it listens on loopback only, where the console is, who to be, and when to restore to', () => {
    const now = NOW * 1000;
    const demo = {
      ordersDb: {
        server: { name: 'demo-orders-db', port: 3399, user: 'root', password: 'secret-pw' },
        origin: 'built',
        state: {
          historyFrom: now - 4 * 3_600_000,
          historyTo: now,
          incident: { at: now - 900_000, deleted: 12, zeroed: 4 },
        },
      },
      connectAlarms: async () => ({ confirmed: true, alarm: true }),
      stop: async () => undefined,
    } satisfies DemoWorld;
    const text = localModeBanner({
      baseUrl: 'http://127.0.0.1:3000',
      consoleUrl: 'http://127.0.0.1:3001/console',
      users: DEMO_USERS,
      channels: [{ id: 'C0OPS', name: 'ops' }],
      demo,
      now,
    });
    expect(text).toContain('loopback only (127.0.0.1)');
    expect(text).toContain('Console:  http://127.0.0.1:3001/console');
    expect(text).toContain('carol (U0CAROL, approver)');
    expect(text).toContain('#ops (C0OPS)');
    expect(text).toContain('/rds restore-table orders-db shop.billing --at "20m ago"');
    expect(text).not.toContain('secret-pw');
    expect(text).toContain(
      'CloudWatch alarm orders-db-burst-balance-low (BurstBalance < 25 % over 3 × 5 min)',
    );
    expect(text).toContain('SNS topic capstan-alarms → http://127.0.0.1:3000/aws/sns');
  });
});
