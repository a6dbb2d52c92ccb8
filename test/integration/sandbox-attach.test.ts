/**
 * `capstan sandbox attach-db`: one's own MariaDB (its own user and password, binary log on) bound to
 * a sandbox DB instance through the documented command, then restored to a moment through the real
 * RDSClient: the deleted row comes back. The password stays in its environment variable, never in
 * the sandbox's world nor the command's output.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { RDSClient, RestoreDBInstanceToPointInTimeCommand } from '@aws-sdk/client-rds';
import { Redis } from 'ioredis';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createSandbox, type Sandbox } from '../../devkit/sandbox/index.js';
import { binlogProblems, readAttachArgs } from '../../devkit/sandbox/pitr/attach.js';
import { destroyServer, pitrExtension, restoredServerName } from '../../devkit/sandbox/pitr/index.js';
import { freePort, type MariaDbService, startMariaDb } from '../helpers/services.js';
import { waitFor } from '../helpers/wait-for.js';

const tag = randomBytes(3).toString('hex');
const prefix = `{attach-${tag}}`;
const INSTANCE = `shop-db-${tag}`;
const TARGET = `shop-old-${tag}`;
const OWNER_PASSWORD = `owner-pw-${tag}`;

let redis: Redis;
let sandbox: Sandbox;
let rds: RDSClient;
let own: MariaDbService;
let conn: mysql.Connection;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs `capstan sandbox …` as a user would, in its own process. */
function capstanSandbox(args: string[], env: Record<string, string> = {}) {
  return new Promise<{ code: number; out: string }>((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'src/main.ts', 'sandbox', ...args],
      {
        env: { ...process.env, REDIS_URL: inject('redisUrl'), CAPSTAN_QUEUE_PREFIX: prefix, ...env },
        timeout: 120_000,
      },
      (error, stdout, stderr) =>
        resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, out: stdout + stderr }),
    );
  });
}

beforeAll(async () => {
  redis = new Redis(inject('redisUrl'));
  sandbox = createSandbox({ redis, prefix, extensions: [pitrExtension()] });
  await sandbox.setTiming({ dbCreate: 200, dbDelete: 200 });
  rds = sandbox.attach(
    new RDSClient({
      region: 'eu-west-1',
      credentials: { accessKeyId: 'sandbox', secretAccessKey: 'sandbox' },
    }),
  );
  own = await startMariaDb({ port: await freePort(), name: `attach-own-${tag}` });
  const root = await mysql.createConnection({
    host: '127.0.0.1',
    port: own.port,
    user: own.user,
    password: own.password,
  });
  // The server's owner, with their own password: not the sandbox's root.
  await root.query("CREATE USER 'owner'@'%' IDENTIFIED BY ?", [OWNER_PASSWORD]);
  await root.query("GRANT ALL PRIVILEGES ON *.* TO 'owner'@'%'");
  await root.end();
  conn = await mysql.createConnection({
    host: '127.0.0.1',
    port: own.port,
    user: 'owner',
    password: OWNER_PASSWORD,
  });
  await conn.query('CREATE DATABASE shop');
  await conn.query('CREATE TABLE shop.billing (id INT PRIMARY KEY, note VARCHAR(20))');
  await conn.query("INSERT INTO shop.billing VALUES (1, 'one'), (2, 'two')");
}, 120_000);

afterAll(async () => {
  await conn?.end().catch(() => undefined);
  await destroyServer(restoredServerName(TARGET)).catch(() => undefined);
  await own?.stop({ purge: true }).catch(() => undefined);
  await sandbox?.reset();
  rds?.destroy();
  redis?.disconnect();
}, 60_000);

describe('capstan sandbox attach-db', () => {
  it('reads its arguments and says what is wrong with them', () => {
    expect(readAttachArgs(['db1', '--host', 'h', '--port', '3306', '--user', 'u'])).toEqual({
      error: '--password-env is required',
    });
    expect(
      readAttachArgs(['db1', '--host', 'h', '--port', '3306', '--user', 'u', '--password-env', 'hunter2!']),
    ).toMatchObject({ error: expect.stringContaining('names an environment variable') });
    expect(
      readAttachArgs([
        'db1',
        '--host',
        'h',
        '--port',
        '3306',
        '--user',
        'u',
        '--password-env',
        'PW',
        '--restorable-lag',
        '2',
      ]),
    ).toMatchObject({
      instance: 'db1',
      port: 3306,
      passwordEnv: 'PW',
      restorableLagMs: 2000,
      engine: 'mysql',
    });
  });

  it('needs the binary log on, in ROW or MIXED format', () => {
    expect(binlogProblems({ log_bin: 'ON', binlog_format: 'ROW' })).toEqual([]);
    expect(binlogProblems({ log_bin: 'OFF', binlog_format: 'ROW' })[0]).toContain('the binary log is off');
    expect(binlogProblems({ log_bin: 'ON', binlog_format: 'STATEMENT' })[0]).toContain(
      'binlog_format is STATEMENT',
    );
  });

  it('refuses when the password variable is not set, and attaches nothing', async () => {
    const run = await capstanSandbox([
      'attach-db',
      `nopw-${tag}`,
      '--host',
      '127.0.0.1',
      '--port',
      String(own.port),
      '--user',
      'owner',
      '--password-env',
      'NOT_SET_ANYWHERE',
    ]);
    expect(run.code).toBe(1);
    expect(run.out).toContain('NOT_SET_ANYWHERE is not set');
    expect((await sandbox.snapshot()).dbInstances[`nopw-${tag}`]).toBeUndefined();
  }, 60_000);

  it('binds the instance to the server, takes the base backup, says so; a restore brings back a deleted row', async () => {
    const run = await capstanSandbox(
      [
        'attach-db',
        INSTANCE,
        '--host',
        '127.0.0.1',
        '--port',
        String(own.port),
        '--user',
        'owner',
        '--password-env',
        'SHOP_DB_PASSWORD',
        '--restorable-lag',
        '0.3',
      ],
      { SHOP_DB_PASSWORD: OWNER_PASSWORD },
    );
    expect(run.code, run.out).toBe(0);
    expect(run.out).toContain('binary log on, binlog_format ROW');
    expect(run.out).toMatch(/took the base backup \S+base\.sql \(binary log \S+ at \d+\)/);
    expect(run.out).toContain(
      `bound sandbox DB instance ${INSTANCE} to it; workers read the password from SHOP_DB_PASSWORD`,
    );
    expect(run.out).toContain('latest restorable time is now 0.3 s behind the clock');
    expect(run.out).not.toContain(OWNER_PASSWORD);
    const world = await sandbox.snapshot();
    expect(JSON.stringify(world)).not.toContain(OWNER_PASSWORD);
    expect(world.dbInstances[INSTANCE]?.extension?.pitr).toMatchObject({
      attached: true,
      user: 'owner',
      passwordEnv: 'SHOP_DB_PASSWORD',
      port: own.port,
    });

    await sleep(1_100);
    const noted = new Date();
    await sleep(1_100);
    await conn.query('DELETE FROM shop.billing WHERE id = 2');
    await sleep(500);
    // The worker side (this process) reads the password from the variable the command named.
    process.env.SHOP_DB_PASSWORD = OWNER_PASSWORD;
    await rds.send(
      new RestoreDBInstanceToPointInTimeCommand({
        SourceDBInstanceIdentifier: INSTANCE,
        TargetDBInstanceIdentifier: TARGET,
        RestoreTime: noted,
      }),
    );
    const restored = await waitFor(async () => (await sandbox.snapshot()).dbInstances[TARGET]?.endpoint, {
      timeoutMs: 60_000,
    });
    const back = await mysql.createConnection({
      host: '127.0.0.1',
      port: restored.port,
      user: 'root',
      password: process.env.CAPSTAN_MYSQL_ROOT_PASSWORD ?? 'capstan',
    });
    const [rows] = await back.query('SELECT id, note FROM shop.billing ORDER BY id');
    await back.end();
    expect(rows).toEqual([
      { id: 1, note: 'one' },
      { id: 2, note: 'two' },
    ]);
    // The attached server itself is untouched by the restore.
    const [live] = await conn.query('SELECT COUNT(*) AS n FROM shop.billing');
    expect((live as Array<{ n: number }>)[0]?.n).toBe(1);
  }, 180_000);
});
