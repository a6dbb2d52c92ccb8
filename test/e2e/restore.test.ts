/**
 * Point-in-time table restore end to end: signed /rds restore-table → job → the sandbox restores a
 * real temporary mariadbd from a base backup and the binary log → copy, verify, diff → side table,
 * merge of the missing rows, or swap (approved) → the temporary instance is always deleted.
 */
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSandbox, type Sandbox } from '../../devkit/sandbox/index.js';
import {
  createBackedDbInstance,
  destroyServer,
  pitrExtension,
  restoredServerName,
} from '../../devkit/sandbox/pitr/index.js';
import { APPROVE_ACTION } from '../../src/slack/blocks/approval.js';
import { startTestCapstan, type TestCapstan } from '../helpers/capstan.js';
import { messageText } from '../helpers/fake-slack.js';
import { finished } from '../helpers/sandbox-world.js';
import { waitFor } from '../helpers/wait-for.js';

const password = process.env.CAPSTAN_MYSQL_ROOT_PASSWORD ?? 'capstan';
const CONFIG = `
slack: { approvalsChannel: C0APPROVALS, notificationsChannel: C0NOTICES }
aws: { region: eu-west-1 }
roles:
  engineers: { users: [U0ALICE] }
  approvers: { users: [U0CAROL] }
databases:
  orders-db: { user: root, passwordEnv: TEST_DB_PASSWORD, tls: 'off' }
`;

let tc: TestCapstan;
let sandbox: Sandbox;
let live: mysql.Connection;
let noted = '';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function rows(table: string): Promise<Array<{ id: number; amount: string; note: string }>> {
  const [result] = await live.query(`SELECT id, amount, note FROM shop.\`${table}\` ORDER BY id`);
  return result as Array<{ id: number; amount: string; note: string }>;
}

async function temporaryInstances(): Promise<string[]> {
  const world = await sandbox.snapshot();
  return Object.keys(world.dbInstances).filter((id) => id.startsWith('capstan-restore-'));
}

beforeAll(async () => {
  tc = await startTestCapstan({
    configYaml: CONFIG,
    env: {
      CAPSTAN_AWS: 'sandbox',
      CAPSTAN_POLL_INTERVAL_MS: '100',
      CAPSTAN_JANITOR_MS: '500',
      TEST_DB_PASSWORD: password,
    },
  });
  sandbox = createSandbox({ redis: tc.redis, prefix: tc.config.queuePrefix, extensions: [pitrExtension()] });
  await sandbox.setTiming({ dbCreate: 300, dbDelete: 300, restorableLag: 300 });
  const { server } = await createBackedDbInstance(sandbox, { id: 'orders-db', engine: 'mysql' });
  live = await mysql.createConnection({
    host: '127.0.0.1',
    port: server.port,
    user: 'root',
    password,
    dateStrings: true,
  });
  await live.query('CREATE DATABASE shop');
  await live.query(
    'CREATE TABLE shop.billing (id INT PRIMARY KEY, amount DECIMAL(10,2) NOT NULL, note VARCHAR(100) CHARACTER SET utf8mb4)',
  );
  const values = Array.from({ length: 10 }, (_, i) => [i + 1, `${(i + 1) * 10}.50`, `invoice ${i + 1} 🧾`]);
  await live.query('INSERT INTO shop.billing VALUES ?', [values]);
  // Binary-log times have whole seconds: keep the noted moment clear of both sides.
  await sleep(1_200);
  noted = new Date().toISOString();
  await sleep(1_200);
  await live.query('DELETE FROM shop.billing WHERE id IN (2, 3, 4)');
  await live.query("UPDATE shop.billing SET amount = 0, note = 'zeroed' WHERE id IN (5, 6)");
  await sleep(500);
}, 120_000);

afterAll(async () => {
  await live?.end().catch(() => undefined);
  await tc?.stop();
  await destroyServer(restoredServerName('orders-db')).catch(() => undefined);
});

describe('/rds restore-table', () => {
  it('restores the table beside the live one, shows what differs, and deletes the temporary instance', async () => {
    const reply = await tc.slash('/rds', `restore-table orders-db shop.billing --at ${noted}`);
    expect(JSON.parse(reply.body).text).toContain('Queued as job');
    const text = await finished(
      tc,
      `/rds restore-table orders-db shop.billing --at ${noted}`,
      undefined,
      90_000,
    );
    expect(text).toContain('Restored `shop.billing` as it was at');
    expect(text).toContain('10 rows in `shop.billing__restored_');
    expect(text).toContain('3 row(s) deleted since');
    expect(text).toContain('2 row(s) changed since');
    expect(text).toContain('0 row(s) inserted since');
    const [tables] = await live.query("SHOW TABLES FROM shop LIKE 'billing__restored_%'");
    const restored = Object.values((tables as Array<Record<string, string>>)[0] ?? {})[0] ?? '';
    const back = await rows(restored);
    expect(back).toHaveLength(10);
    expect(back.find((r) => r.id === 3)).toEqual({ id: 3, amount: '30.50', note: 'invoice 3 🧾' });
    expect(back.find((r) => r.id === 5)?.amount).toBe('50.50');
    expect(await rows('billing')).toHaveLength(7);
    expect(await temporaryInstances()).toEqual([]);
    await live.query(`DROP TABLE shop.\`${restored}\``);
  }, 120_000);

  it('merge-missing puts back exactly the deleted rows, and leaves the changed ones as they are', async () => {
    await tc.slash('/rds', `restore-table orders-db shop.billing --at ${noted} --mode merge-missing`);
    const text = await finished(
      tc,
      `/rds restore-table orders-db shop.billing --at ${noted} --mode merge-missing`,
      undefined,
      90_000,
    );
    expect(text).toContain('put back 3 row(s) missing from the live table');
    const now = await rows('billing');
    expect(now.map((r) => r.id)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(now.find((r) => r.id === 2)?.note).toBe('invoice 2 🧾');
    expect(now.find((r) => r.id === 5)?.amount).toBe('0.00');
    expect(await temporaryInstances()).toEqual([]);
    const [tables] = await live.query("SHOW TABLES FROM shop LIKE 'billing__restored_%'");
    for (const t of tables as Array<Record<string, string>>)
      await live.query(`DROP TABLE shop.\`${Object.values(t)[0]}\``);
  }, 120_000);

  it('refuses a time outside the restorable window, naming the window, and creates nothing', async () => {
    await tc.slash('/rds', 'restore-table orders-db shop.billing --at 2020-01-01T00:00:00Z');
    const text = await finished(tc, '/rds restore-table orders-db shop.billing --at 2020-01-01T00:00:00Z');
    expect(text).toMatch(
      /Cannot restore to that moment: 2020-01-01T00:00:00.000Z is outside the restorable window of this instance: \S+ to \S+/,
    );
    expect(await temporaryInstances()).toEqual([]);
  });

  it('replace needs an approval, then swaps atomically and keeps the old table', async () => {
    const reply = await tc.slash('/rds', `restore-table orders-db shop.billing --at ${noted} --mode replace`);
    expect(JSON.parse(reply.body).text).toContain('needs an approval from role `approvers`');
    const request = await waitFor(() => tc.fake.messagesIn('C0APPROVALS').at(-1));
    const id = JSON.stringify(request.blocks).match(/"value":"(j[0-9a-f]+)"/)?.[1] ?? '';
    await tc.click('U0CAROL', request, APPROVE_ACTION, id);
    const text = await finished(
      tc,
      `/rds restore-table orders-db shop.billing --at ${noted} --mode replace`,
      /Replaced/,
      90_000,
    );
    expect(text).toContain('To undo: `RENAME TABLE shop.billing TO shop.billing__restored_');
    const now = await rows('billing');
    expect(now.find((r) => r.id === 5)?.amount).toBe('50.50');
    const [before] = await live.query("SHOW TABLES FROM shop LIKE 'billing__before_restore_%'");
    expect(before as unknown[]).toHaveLength(1);
    expect(await temporaryInstances()).toEqual([]);
    const replaceMessages = tc.fake.messagesIn('C0OPS').filter((m) => /--mode replace/.test(messageText(m)));
    expect(replaceMessages.some((m) => /failed in/.test(messageText(m)))).toBe(false);
  }, 120_000);

  it('the janitor deletes a temporary instance a lost job left behind, and says so', async () => {
    await sandbox.seed({
      dbInstances: [
        {
          id: 'capstan-restore-old-abc123',
          tags: { 'capstan:temporary': 'true', 'capstan:job': 'jlost0000001' },
          createdAt: '-2d',
        },
      ],
    });
    await waitFor(
      async () => (await sandbox.snapshot()).dbInstances['capstan-restore-old-abc123'] === undefined,
      { timeoutMs: 20_000 },
    );
    const notice = await waitFor(() =>
      tc.fake.messagesIn('C0NOTICES').find((m) => /capstan-restore-old-abc123/.test(messageText(m))),
    );
    expect(messageText(notice)).toContain(
      'Deleted leftover temporary restore instance `capstan-restore-old-abc123` (job `jlost0000001`',
    );
    // The live instance is never touched.
    expect((await sandbox.snapshot()).dbInstances['orders-db']).toBeDefined();
  });

  it('refuses identifier injection before anything runs', async () => {
    const jobsBefore = (await tc.jobsOf('rds.restore-table')).length;
    const rowsBefore = (await rows('billing')).length;
    for (const text of [
      'restore-table orders-db "shop.billing; DROP TABLE shop.billing" --at "15m ago"',
      'restore-table orders-db shop.`billing` --at "15m ago"',
      "restore-table orders-db shop.billing' OR '1'='1 --at \"15m ago\"",
      'restore-table "orders-db --at x" shop.billing --at "15m ago"',
    ]) {
      const reply = JSON.parse((await tc.slash('/rds', text)).body) as { text: string };
      expect(reply.text).toMatch(/^:warning: /);
      expect(reply.text).toContain('Usage:');
    }
    expect(await tc.jobsOf('rds.restore-table')).toHaveLength(jobsBefore);
    expect(await rows('billing')).toHaveLength(rowsBefore);
  });
});
