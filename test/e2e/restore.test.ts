/**
 * Point-in-time table restore end to end: signed /rds restore-table → job → the sandbox restores a
 * real temporary mariadbd from a base backup and the binary log → copy, verify, diff → side table,
 * merge of the missing rows, or swap (approved) → the temporary instance is always deleted.
 */
import { Queue } from 'bullmq';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSandbox, type Sandbox } from '../../devkit/sandbox/index.js';
import {
  createBackedDbInstance,
  destroyServer,
  pitrExtension,
  restoredServerName,
} from '../../devkit/sandbox/pitr/index.js';
import { QUEUE_NAME } from '../../src/queue/contract.js';
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
  # The same server, as a user granted nothing on the schema \`secret\`.
  payroll-db: { user: capstan_limited, passwordEnv: TEST_LIMITED_PASSWORD, tls: 'off' }
  # The same server, with a password that is wrong.
  ledger-db: { user: root, passwordEnv: TEST_WRONG_PASSWORD, tls: 'off' }
`;
const LIMITED_PASSWORD = 'limited-pw-0123';

let tc: TestCapstan;
let sandbox: Sandbox;
let live: mysql.Connection;
let noted = '';
/** `shop.audit$notes` (no key, duplicate rows) as it was at `noted`, and as it is after. */
let notesAtNoted = '';
let notesDamaged = '';
/** `shop.orders` (secondary and unique keys) as it was at `noted`. */
let ordersAtNoted = '';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function rows(table: string): Promise<Array<{ id: number; amount: string; note: string }>> {
  const [result] = await live.query(`SELECT id, amount, note FROM shop.\`${table}\` ORDER BY id`);
  return result as Array<{ id: number; amount: string; note: string }>;
}

async function temporaryInstances(): Promise<string[]> {
  const world = await sandbox.snapshot();
  return Object.keys(world.dbInstances).filter((id) => id.startsWith('capstan-restore-'));
}

/**
 * A multiset fingerprint of a table without a key: row count and the sorted row hashes (so two
 * identical rows count twice), computed here with plain SQL, independently of Capstan's checksums.
 */
async function notesFingerprint(table: string): Promise<string> {
  const [result] = await live.query(
    `SELECT COUNT(*) AS n, GROUP_CONCAT(h ORDER BY h SEPARATOR ',') AS hs FROM (SELECT MD5(CONCAT_WS('#', at, who, note, flags + 0, kind, doc, HEX(payload), shout)) AS h FROM shop.\`${table}\`) x`,
  );
  const [r] = result as Array<{ n: number; hs: string | null }>;
  return `${r?.n}:${r?.hs ?? ''}`;
}

async function ordersFingerprint(table: string): Promise<string> {
  const [result] = await live.query(
    `SELECT COUNT(*) AS n, SUM(CRC32(CONCAT_WS('#', id, a, b, code, name))) AS x FROM shop.\`${table}\``,
  );
  const [r] = result as Array<{ n: number; x: string }>;
  return `${r?.n}:${r?.x}`;
}

async function tablesLike(pattern: string): Promise<string[]> {
  const [result] = await live.query('SHOW TABLES FROM shop LIKE ?', [pattern]);
  return (result as Array<Record<string, string>>).map((r) => Object.values(r)[0] ?? '');
}

/** Every temporary restore instance that exists at any moment until `stop()` (polled every 50 ms). */
function watchTemporaryInstances(): { stop(): Promise<Set<string>> } {
  const seen = new Set<string>();
  let running = true;
  const loop = (async () => {
    while (running) {
      for (const id of await temporaryInstances()) seen.add(id);
      await sleep(50);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      for (const id of await temporaryInstances()) seen.add(id);
      return seen;
    },
  };
}

/** The BullMQ job of the newest `rds.restore-table` request, with its attempts. */
async function lastRestoreJob(): Promise<{ attemptsMade: number; state: string; failedReason?: string }> {
  const q = new Queue(QUEUE_NAME, { connection: tc.redis, prefix: tc.config.queuePrefix });
  try {
    const jobs = (await q.getJobs(['completed', 'failed', 'active', 'wait', 'delayed'])).filter(
      (j) => j?.name === 'rds.restore-table',
    );
    const job = jobs.sort((a, b) => b.timestamp - a.timestamp)[0];
    if (!job) throw new Error('no restore job');
    return { attemptsMade: job.attemptsMade, state: await job.getState(), failedReason: job.failedReason };
  } finally {
    await q.close();
  }
}

beforeAll(async () => {
  tc = await startTestCapstan({
    configYaml: CONFIG,
    env: {
      CAPSTAN_AWS: 'sandbox',
      CAPSTAN_POLL_INTERVAL_MS: '100',
      CAPSTAN_JANITOR_MS: '500',
      TEST_DB_PASSWORD: password,
      TEST_LIMITED_PASSWORD: LIMITED_PASSWORD,
      TEST_WRONG_PASSWORD: 'not-the-password',
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
  // No primary or unique key, identical rows, and awkward types: a `$` in the name, DATETIME(6), BIT,
  // ENUM, JSON, a BLOB, emoji and a generated column.
  await live.query(
    "CREATE TABLE shop.`audit$notes` (at DATETIME(6) NOT NULL, who VARCHAR(20), note TEXT CHARACTER SET utf8mb4, flags BIT(3), kind ENUM('login','logout'), doc JSON, payload BLOB, shout VARCHAR(40) AS (UPPER(who)) VIRTUAL) COMMENT='who did what'",
  );
  const note = (at: string, who: string, text: string, flags: number, kind: string) => [
    at,
    who,
    text,
    flags,
    kind,
    JSON.stringify({ who, n: flags }),
    Buffer.from([0, flags, 255]),
  ];
  const notes = [
    note('2026-12-01 10:00:00.123456', 'ana', 'signed in 🔑', 1, 'login'),
    note('2026-12-01 10:00:00.123456', 'ana', 'signed in 🔑', 1, 'login'),
    note('2026-12-01 10:00:00.123456', 'ana', 'signed in 🔑', 1, 'login'),
    note('2026-12-01 11:00:00.000001', 'bo', 'left', 2, 'logout'),
    note('2026-12-01 11:00:00.000001', 'bo', 'left', 2, 'logout'),
    note('2026-12-01 12:00:00.5', 'cy', null as unknown as string, 7, 'login'),
  ];
  await live.query('INSERT INTO shop.`audit$notes` (at, who, note, flags, kind, doc, payload) VALUES ?', [
    notes,
  ]);
  // A user who may work on `shop` but has no privilege at all on the schema `secret`.
  await live.query('CREATE DATABASE secret');
  await live.query('CREATE TABLE secret.payroll (id INT PRIMARY KEY, salary INT)');
  await live.query('INSERT INTO secret.payroll VALUES (1, 100), (2, 200)');
  await live.query("CREATE USER 'capstan_limited'@'%' IDENTIFIED BY ?", [LIMITED_PASSWORD]);
  await live.query("GRANT SELECT, INSERT, CREATE, ALTER, DROP ON shop.* TO 'capstan_limited'@'%'");
  // A table shaped like real ones: secondary keys (built after the load) and a unique key (kept during it).
  await live.query(
    `CREATE TABLE shop.orders (id INT NOT NULL AUTO_INCREMENT, a INT NOT NULL, b INT NOT NULL, code VARCHAR(20) NOT NULL,
       name VARCHAR(60) CHARACTER SET utf8mb4 NOT NULL, PRIMARY KEY (id), KEY ab (a, b), UNIQUE KEY code (code), KEY name (name))
     COMMENT='orders'`,
  );
  await live.query(
    "INSERT INTO shop.orders (a, b, code, name) SELECT seq % 7, seq % 13, CONCAT('o-', seq), CONCAT('customer ', seq % 50, ' 🛒') FROM shop.seq_1_to_500",
  );
  ordersAtNoted = await ordersFingerprint('orders');
  notesAtNoted = await notesFingerprint('audit$notes');
  // Binary-log times have whole seconds: keep the noted moment clear of both sides.
  await sleep(1_200);
  noted = new Date().toISOString();
  await sleep(1_200);
  await live.query('DELETE FROM shop.billing WHERE id IN (2, 3, 4)');
  await live.query("UPDATE shop.billing SET amount = 0, note = 'zeroed' WHERE id IN (5, 6)");
  // One of three identical rows goes, one row changes, and one more duplicate arrives.
  await live.query('DELETE FROM shop.orders WHERE id MOD 10 = 3');
  await live.query("DELETE FROM shop.`audit$notes` WHERE who = 'ana' LIMIT 1");
  await live.query("UPDATE shop.`audit$notes` SET note = 'edited' WHERE who = 'cy'");
  await live.query(
    "INSERT INTO shop.`audit$notes` (at, who, note, flags, kind) VALUES ('2026-12-02 09:00:00', 'bo', 'left', 2, 'logout')",
  );
  notesDamaged = await notesFingerprint('audit$notes');
  // The other two names for the same server, as the sandbox sees them.
  const orders = (await sandbox.snapshot()).dbInstances['orders-db'];
  await sandbox.seed({
    dbInstances: ['payroll-db', 'ledger-db'].map((id) => ({
      id,
      engine: 'mysql',
      createdAt: '-1d',
      endpoint: { address: '127.0.0.1', port: server.port },
      extension: structuredClone(orders?.extension ?? {}),
    })),
  });
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

  it('a table with secondary and unique keys comes back with the same definition and rows, its keys built after the load', async () => {
    const text = `/rds restore-table orders-db shop.orders --at ${noted}`;
    await tc.slash('/rds', `restore-table orders-db shop.orders --at ${noted}`);
    const outcome = await finished(tc, text, undefined, 90_000);
    expect(outcome).toContain('500 rows in `shop.orders__restored_');
    // The progress said how the copy was cut up and why, and that the definition was verified.
    expect(outcome).toMatch(
      /copying in 1 range of ~\d+ (KB|MB) transactions \(\d+ cores, 3 indexes, 2 built after the load/,
    );
    expect(outcome).toContain('definition the same, 500 rows, checksums equal');
    const [restored] = await tablesLike('orders__restored_%');
    expect(await ordersFingerprint(restored ?? '')).toBe(ordersAtNoted);
    const definition = async (table: string) => {
      const [r] = await live.query(`SHOW CREATE TABLE shop.\`${table}\``);
      return String(Object.values((r as Array<Record<string, string>>)[0] ?? {})[1])
        .replace(/^CREATE TABLE `[^`]+`/, '')
        .replace(/ AUTO_INCREMENT=\d+/, '')
        .replace(/ COMMENT='[^']*'/, '');
    };
    expect(await definition(restored ?? '')).toBe(await definition('orders'));
    expect(await definition(restored ?? '')).toContain('KEY `ab` (`a`,`b`)');
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

  it('side-table on a table without a key brings back every row, duplicates included, and says rows cannot be matched', async () => {
    const watch = watchTemporaryInstances();
    const text = `/rds restore-table orders-db shop.audit$notes --at ${noted}`;
    await tc.slash('/rds', text.slice(5));
    const final = await finished(tc, text, undefined, 90_000);
    const temps = await watch.stop();
    expect(final).toMatch(/done in/);
    expect(final).toContain('6 rows in `shop.audit$notes__restored_');
    expect(final).toContain('no primary or unique key, so rows cannot be matched');
    const [restored] = await tablesLike('audit$notes__restored_%');
    expect(await notesFingerprint(restored ?? '')).toBe(notesAtNoted);
    expect(await notesFingerprint('audit$notes')).toBe(notesDamaged);
    expect(temps.size).toBe(1);
    expect(await temporaryInstances()).toEqual([]);
    await live.query(`DROP TABLE shop.\`${restored}\``);
  }, 120_000);

  it('merge-missing on a table without a key is refused before anything runs, offering side-table', async () => {
    const watch = watchTemporaryInstances();
    const text = `/rds restore-table orders-db shop.audit$notes --at ${noted} --mode merge-missing`;
    await tc.slash('/rds', text.slice(5));
    const final = await finished(tc, text, undefined, 30_000);
    const temps = await watch.stop();
    expect(final).toMatch(/failed in/);
    expect(final).toContain(
      'has no primary or unique key, so Capstan cannot tell which of its rows are missing',
    );
    expect(final).toContain('Use --mode side-table');
    expect(final).not.toMatch(/put back/);
    expect(temps.size).toBe(0);
    expect(await tablesLike('audit$notes__restored_%')).toEqual([]);
    expect(await notesFingerprint('audit$notes')).toBe(notesDamaged);
    expect((await lastRestoreJob()).attemptsMade).toBe(1);
  }, 60_000);

  it('replace on a table without a key really swaps (RENAME needs no key), keeps the old table, and says so only then', async () => {
    const watch = watchTemporaryInstances();
    const text = `/rds restore-table orders-db shop.audit$notes --at ${noted} --mode replace`;
    const reply = await tc.slash('/rds', text.slice(5));
    expect(JSON.parse(reply.body).text).toContain('needs an approval');
    const request = await waitFor(() =>
      tc.fake.messagesIn('C0APPROVALS').find((m) => /audit\$notes/.test(messageText(m))),
    );
    const id = JSON.stringify(request.blocks).match(/"value":"(j[0-9a-f]+)"/)?.[1] ?? '';
    await tc.click('U0CAROL', request, APPROVE_ACTION, id);
    const final = await finished(tc, text, /Replaced|failed in/, 90_000);
    const temps = await watch.stop();
    expect(final).toContain('Replaced `shop.audit$notes` with its state at');
    // What the message claims is what the database holds.
    expect(await notesFingerprint('audit$notes')).toBe(notesAtNoted);
    const kept = await tablesLike('audit$notes__before_restore_%');
    expect(kept).toHaveLength(1);
    expect(final).toContain(`kept as \`shop.${kept[0]}\``);
    expect(await notesFingerprint(kept[0] ?? '')).toBe(notesDamaged);
    expect(await tablesLike('audit$notes__restored_%')).toEqual([]);
    // The swapped-in table has its own comment back, not the job's mark.
    const [comment] = await live.query(
      "SELECT TABLE_COMMENT AS c FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'shop' AND TABLE_NAME = 'audit$notes'",
    );
    expect((comment as Array<{ c: string }>)[0]?.c).toBe('who did what');
    expect(temps.size).toBe(1);
    expect(await temporaryInstances()).toEqual([]);
  }, 120_000);

  it('a schema the database user may not touch is refused before anything is created, as the user’s problem, never retried', async () => {
    const watch = watchTemporaryInstances();
    const text = `/rds restore-table payroll-db secret.payroll --at ${noted}`;
    await tc.slash('/rds', text.slice(5));
    const final = await finished(tc, text, undefined, 30_000);
    const temps = await watch.stop();
    expect(final).toMatch(/failed in/);
    expect(final).toContain('(`capstan_limited`) may not restore `secret.payroll` in side-table mode');
    expect(final).toContain('CREATE on `secret.*`');
    expect(final).not.toContain('internal error');
    expect(temps.size).toBe(0);
    const job = await lastRestoreJob();
    expect(job.state).toBe('failed');
    expect(job.attemptsMade).toBe(1);
  }, 60_000);

  it('a refused login is the user’s problem too: no temporary instance, no retry, no password shown', async () => {
    const watch = watchTemporaryInstances();
    const text = `/rds restore-table ledger-db shop.billing --at ${noted}`;
    await tc.slash('/rds', text.slice(5));
    const final = await finished(tc, text, undefined, 30_000);
    const temps = await watch.stop();
    expect(final).toMatch(/failed in/);
    expect(final).toContain('the login was refused');
    expect(final).not.toContain('internal error');
    expect(final).not.toContain('not-the-password');
    expect(temps.size).toBe(0);
    expect((await lastRestoreJob()).attemptsMade).toBe(1);
  }, 60_000);

  it('refuses a side table name that is taken by a table without this job’s mark, before creating anything', async () => {
    const watch = watchTemporaryInstances();
    const at = new Date(noted);
    const stamp = at.toISOString().slice(0, 16).replace(/[-:T]/g, '');
    const taken = `billing__restored_${stamp}`;
    await live.query(`CREATE TABLE shop.\`${taken}\` (x INT) COMMENT='capstan:job=jsomeoneelse'`);
    const text = `/rds restore-table orders-db shop.billing --at ${noted}`;
    const before = tc.fake.messagesIn('C0OPS').length;
    await tc.slash('/rds', text.slice(5));
    const final = await waitFor(
      () =>
        tc.fake
          .messagesIn('C0OPS')
          .slice(before)
          .map((m) => messageText(m))
          .find((t) => t.includes(`${text}*`) && /failed in/.test(t)),
      { timeoutMs: 30_000 },
    );
    const temps = await watch.stop();
    expect(final).toContain(`\`shop.${taken}\` already exists; Capstan never overwrites a table`);
    expect(temps.size).toBe(0);
    const [rows] = await live.query(`SELECT COUNT(*) AS n FROM shop.\`${taken}\``);
    expect((rows as Array<{ n: number }>)[0]?.n).toBe(0);
    await live.query(`DROP TABLE shop.\`${taken}\``);
  }, 60_000);

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
