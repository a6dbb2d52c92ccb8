import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createSandbox, type Sandbox } from '../../devkit/sandbox/index.js';
import {
  type LocalCapstan,
  localEnv,
  printed,
  removeLocalServices,
  startLocal,
  stopLocal,
} from '../helpers/local-mode.js';
import { freePort } from '../helpers/services.js';
import { postToSlackEndpoint, slashCommandBody } from '../helpers/signed-request.js';
import { waitFor } from '../helpers/wait-for.js';

const PASSWORD = process.env.CAPSTAN_MYSQL_ROOT_PASSWORD ?? 'capstan';

const servicesDir = mkdtempSync(join(tmpdir(), 'capstan-local-'));
const prefix = `{local-${randomBytes(3).toString('hex')}}`;
let redis: Redis;
let sandbox: Sandbox;
let first: LocalCapstan;
let port: number;

/** The environment of a clean machine with no Slack credentials, plus `extra`. */
function cleanEnv(extra: Record<string, string> = {}): Record<string, string> {
  return localEnv(prefix, servicesDir, extra);
}

/**
 * Types `/command text` into the terminal, the way a person uses local mode without the console:
 * only this process knows the signing secret, so this is the way in. Returns Capstan's answer line.
 */
async function slash(command: string, text: string): Promise<string> {
  const from = first.out().length;
  first.child.stdin?.write(`${command} ${text}\n`);
  const [line] = await printed(first, /\[\d{3} in \d+ ms\][^\n]*/, 10_000, from);
  return line;
}

/** A GET or POST to Capstan's port with `host` as the Host header (as a rebinding page would send it). */
function requestWithHost(
  host: string,
  path: string,
  body?: string,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: body === undefined ? 'GET' : 'POST',
        headers: {
          host,
          ...(body === undefined ? {} : { 'content-type': 'application/x-www-form-urlencoded' }),
        },
      },
      (res) => {
        let text = '';
        res.on('data', (d: Buffer) => {
          text += d.toString('utf8');
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

beforeAll(async () => {
  redis = new Redis(inject('redisUrl'));
  sandbox = createSandbox({ redis, prefix });
  port = await freePort();
  first = startLocal(cleanEnv({ PORT: String(port) }));
  await printed(first, /In this terminal you are alice/, 80_000);
}, 90_000);

afterAll(async () => {
  await stopLocal(first);
  await removeLocalServices(servicesDir);
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length > 0) await redis.del(...keys);
  redis.disconnect();
}, 60_000);

describe('npm start with nothing configured', () => {
  it('says where its console is and that it listens on loopback only', async () => {
    const out = first.out();
    expect(out).toContain(`Listening on loopback only (127.0.0.1): http://127.0.0.1:${port}/slack/events`);
    const consoleUrl = /Console: {2}(http:\/\/127\.0\.0\.1:\d+\/console)/.exec(out)?.[1] ?? '';
    expect(consoleUrl).not.toBe('');
    expect((await fetch(consoleUrl)).status).toBe(200);
    expect(out).toContain('alice (U0ALICE, engineer), bob (U0BOB, engineer), carol (U0CAROL, approver)');
    expect(out).toContain('#ops (C0OPS)');
    // The database password is never printed.
    expect(out + first.err()).not.toMatch(/mysql:\/\/root:[^@]+@|CAPSTAN_DEMO_DB_PASSWORD=/);
  });

  it('built the demo world: prod with 3 instances in service, orders-db answering, BurstBalance draining', async () => {
    const world = await sandbox.snapshot();
    const prod = Object.values(world.instances).filter((i) => i.group === 'prod-web');
    expect(prod).toHaveLength(3);
    expect(prod.every((i) => i.lifecycle === 'InService')).toBe(true);
    const tg = Object.values(world.targetGroups).find((t) => t.name === 'web-tg');
    expect(tg?.targets.filter((t) => t.state === 'healthy')).toHaveLength(3);

    const db = world.dbInstances['orders-db'];
    expect(db).toMatchObject({ status: 'available', storageType: 'gp2', allocatedStorage: 100 });
    expect(db?.instanceClass).toBe('db.m5.large');
    // The restorable window covers the history: the instance and its backup predate it.
    expect(db?.createdAt).toBeLessThan(Date.now() - 4 * 3_600_000);
    const live = await mysql.createConnection({
      host: db?.endpoint.address,
      port: db?.endpoint.port,
      user: 'root',
      password: PASSWORD,
    });
    try {
      const [rows] = await live.query('SELECT COUNT(*) AS n FROM shop.billing');
      expect(Number((rows as Array<{ n: number }>)[0]?.n)).toBeGreaterThan(500);
      const [orders] = await live.query('SELECT COUNT(*) AS n FROM shop.orders');
      expect(Number((orders as Array<{ n: number }>)[0]?.n)).toBeGreaterThan(20_000);
    } finally {
      await live.end();
    }

    const burst = world.metrics.find(
      (s) => s.metricName === 'BurstBalance' && s.dimensions.some((d) => d.Value === 'orders-db'),
    );
    expect(burst?.points.length).toBeGreaterThan(200);
    expect(burst?.points[0]?.v).toBe(100);
    expect(burst?.points.at(-1)?.v).toBeLessThan(30);
    const read = world.metrics.find((s) => s.metricName === 'ReadIOPS');
    expect(read?.points.at(-1)?.v).toBeGreaterThan(300);
  });

  it('answers /env list typed in its terminal (signed in-process as Slack signs), with prod', async () => {
    const from = first.out().length;
    const reply = await slash('/env', 'list');
    expect(reply).toMatch(/^\[200 in \d+ ms\] \(only you\) :hourglass_flowing_sand: Queued as job/);
    const [line] = await printed(
      first,
      /done in [\d.]+ m?s — \*Environments\* \(1\)\n.*\*prod\*.*3\/3 in service/,
      20_000,
      from,
    );
    expect(line).toContain('*prod*');
  });

  it('creates an environment from the demo stack blueprint: a CloudFormation stack of version 1.0.0', async () => {
    const from = first.out().length;
    const reply = await slash('/env', 'create shop-1 --blueprint shop --version 1.0.0');
    expect(reply).toContain('Queued as job');
    await printed(
      first,
      /Environment `shop-1` is up: stack capstan-env-shop-1 CREATE_COMPLETE with 3 resource\(s\)/,
      60_000,
      from,
    );
    const stack = Object.values((await sandbox.snapshot()).stacks ?? {}).find(
      (s) => s.name === 'capstan-env-shop-1' && s.status === 'CREATE_COMPLETE',
    );
    const tags = Object.fromEntries((stack?.tags ?? []).map((t) => [t.Key, t.Value]));
    expect(tags).toMatchObject({
      'capstan:env': 'shop-1',
      'capstan:version': '1.0.0',
      'capstan:blueprint': 'shop',
    });
    expect(stack?.parameters.EnvironmentVersion).toBe('1.0.0');
  });

  it('restores shop.billing to 30m ago beside the live table, with the invoices deleted 15 minutes ago back', async () => {
    const from = first.out().length;
    const reply = await slash('/rds', 'restore-table orders-db shop.billing --at "30m ago"');
    expect(reply).toContain('Queued as job');
    await printed(first, /Restored `shop\.billing` as it was at/, 60_000, from);
    const report = first.out().slice(from);
    expect(report).toContain('12 row(s) deleted since');
    expect(report).toContain('4 row(s) changed since');

    const db = (await sandbox.snapshot()).dbInstances['orders-db'];
    const live = await mysql.createConnection({
      host: '127.0.0.1',
      port: db?.endpoint.port,
      user: 'root',
      password: PASSWORD,
    });
    try {
      const [tables] = await live.query("SHOW TABLES FROM shop LIKE 'billing__restored_%'");
      const restored = Object.values((tables as Array<Record<string, string>>)[0] ?? {})[0] ?? '';
      expect(restored).toMatch(/^billing__restored_\d{12}$/);
      const [back] = await live.query(
        `SELECT r.id, r.amount, r.note FROM shop.\`${restored}\` r LEFT JOIN shop.billing b ON b.id = r.id WHERE b.id IS NULL`,
      );
      const missing = back as Array<{ id: number; amount: string; note: string }>;
      expect(missing).toHaveLength(12);
      for (const row of missing) {
        expect(Number(row.amount)).toBeGreaterThan(0);
        expect(row.note).toBe(`invoice ${row.id} 🧾`);
      }
      const [zeroed] = await live.query(
        `SELECT COUNT(*) AS n FROM shop.\`${restored}\` r JOIN shop.billing b ON b.id = r.id WHERE b.amount = 0 AND r.amount > 0`,
      );
      expect(Number((zeroed as Array<{ n: number }>)[0]?.n)).toBe(4);
    } finally {
      await live.end();
    }
    // The temporary instance is gone.
    await waitFor(
      async () =>
        Object.keys((await sandbox.snapshot()).dbInstances).every((id) => !id.startsWith('capstan-restore-')),
      { timeoutMs: 20_000 },
    );
  }, 90_000);
});

describe('exposure of a local Capstan', () => {
  it('signs with a secret of its own: a request signed with the old public constant, or any guess, is refused', async () => {
    for (const secret of ['capstan-local-signing-secret', 'test-signing-secret-0123456789']) {
      const body = slashCommandBody({ command: '/ops', text: 'ping', userId: 'U0ALICE', channelId: 'C0OPS' });
      const res = await postToSlackEndpoint(`http://127.0.0.1:${port}/slack/events`, body, { secret });
      expect(res.status).toBe(401);
    }
    // The secret is never printed.
    expect(first.out() + first.err()).not.toMatch(/[0-9a-f]{64}/i);
  });

  it('answers every route only for Host 127.0.0.1:<port> or localhost:<port> (421 for a rebinding page)', async () => {
    const body = slashCommandBody({ command: '/ops', text: 'ping', userId: 'U0ALICE', channelId: 'C0OPS' });
    for (const host of ['evil.example', `evil.example:${port}`, `127.0.0.1.nip.io:${port}`, '127.0.0.1']) {
      for (const path of ['/health', '/ready', '/metrics']) {
        expect((await requestWithHost(host, path)).status, `${host} ${path}`).toBe(421);
      }
      expect((await requestWithHost(host, '/slack/events', body)).status, `${host} POST`).toBe(421);
    }
    expect((await requestWithHost(`127.0.0.1:${port}`, '/health')).status).toBe(200);
    expect((await requestWithHost(`localhost:${port}`, '/health')).status).toBe(200);
    // Unsigned, but to the right host: past the host check, refused as unsigned (401).
    expect((await requestWithHost(`localhost:${port}`, '/slack/events', body)).status).toBe(401);
  });
});

describe('real AWS credentials', () => {
  it('refuses to start with AWS_ACCESS_KEY_ID set, naming it and the override, before starting anything', async () => {
    const refused = startLocal(
      cleanEnv({ PORT: String(await freePort()), AWS_ACCESS_KEY_ID: 'AKIAIOSFODNN7EXAMPLE' }),
    );
    const code = await refused.exited;
    expect(code).not.toBe(0);
    expect(refused.err()).toContain('AWS_ACCESS_KEY_ID is set');
    expect(refused.err()).toContain('CAPSTAN_LOCAL_ALLOW_AWS=1');
    expect(refused.err()).not.toContain('AKIAIOSFODNN7EXAMPLE');
    expect(refused.out()).not.toContain('Listening');
  }, 30_000);

  it('starts with the override, and a second start reuses the demo world', async () => {
    const before = (await sandbox.snapshot()).dbInstances['orders-db'];
    await stopLocal(first);
    const second = startLocal(
      cleanEnv({
        PORT: String(await freePort()),
        AWS_ACCESS_KEY_ID: 'AKIAIOSFODNN7EXAMPLE',
        CAPSTAN_LOCAL_ALLOW_AWS: '1',
      }),
    );
    try {
      await printed(second, /In this terminal you are alice/, 60_000);
      expect(second.out()).toContain(`MariaDB on 127.0.0.1:${before?.endpoint.port}, reused)`);
      const after = (await sandbox.snapshot()).dbInstances['orders-db'];
      expect(after?.createdAt).toBe(before?.createdAt);
      expect(after?.extension).toEqual(before?.extension);
    } finally {
      await stopLocal(second);
    }
  }, 90_000);
});
