/**
 * The sandbox account most drills act on: a blueprint `drill` that makes its own launch template
 * (so a duplicate would show), an unprotected environment `stage` (group `stage-web`, 3 instances
 * behind a target group), and optionally `orders-db`, a sandbox DB instance backed by a real
 * `mariadbd` (binary log on) holding `shop.billing`. The seed is the tests' world's
 * (`test/helpers/world.ts`) under the drills' names.
 */
import { randomBytes } from 'node:crypto';
import mysql from 'mysql2/promise';
import type { SandboxSeed } from '../../devkit/sandbox/index.js';
import { createBackedDbInstance, destroyServer } from '../../devkit/sandbox/pitr/index.js';
import { TIMING, type WorldSeedOptions, worldSeed } from '../../test/helpers/world.js';
import { type DrillWorld, startDrillWorld } from './harness.js';

export { liveInstances, TIMING } from '../../test/helpers/world.js';

export const TG = 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/drill-tg/0123456789abcdef';

/** The live server's root password (scripts/services). */
export const DB_PASSWORD = process.env.CAPSTAN_MYSQL_ROOT_PASSWORD ?? 'capstan';

/** Options for {@link drillConfig}. */
export interface DrillConfigOptions {
  /** Default U0ALICE and U0BOB. */
  engineers?: readonly string[];
  /** Default U0CAROL and U0DAVE. */
  approvers?: readonly string[];
  /** Also a protected environment `prod` (group `prod-web`). */
  prod?: boolean;
}

/** The drills' configuration: blueprint `drill`, environment `stage`, database `orders-db`. */
export function drillConfig(options: DrillConfigOptions = {}): string {
  const engineers = options.engineers ?? ['U0ALICE', 'U0BOB'];
  const approvers = options.approvers ?? ['U0CAROL', 'U0DAVE'];
  return `
slack: { approvalsChannel: C0APPROVALS, notificationsChannel: C0NOTICES }
aws: { region: eu-west-1 }
defaultBlueprint: drill
blueprints:
  drill:
    ami: ami-0abc12345
    instanceType: t3.small
    subnets: [subnet-0aaa11111, subnet-0bbb22222]
    targetGroups: [${TG}]
    size: { min: 0, max: 4, desired: 2 }
    ttl: 8h
    sharedTargetGroups: true # stage and prod (when declared) are behind the same target group on purpose
environments:
  stage: { blueprint: drill, asgName: stage-web }
${options.prod ? '  prod: { blueprint: drill, asgName: prod-web }\n' : ''}roles:
  engineers: { users: [${engineers.join(', ')}] }
  approvers: { users: [${approvers.join(', ')}] }
${options.prod ? 'policy:\n  environments:\n    prod: { protected: true }\n' : ''}databases:
  orders-db: { user: root, passwordEnv: DRILL_DB_PASSWORD, tls: 'off' }
`;
}

/** The drills' configuration as most drills use it. */
export const DRILL_CONFIG = drillConfig();

/**
 * The drills' sandbox account: groups `<env>-web` of 3 instances launching from `stage-lt`, behind
 * the `drill-tg` target group.
 */
export function drillSeed(options: Omit<WorldSeedOptions, 'launchTemplate' | 'targetGroup'>): SandboxSeed {
  return worldSeed({ launchTemplate: 'stage-lt', targetGroup: { name: 'drill-tg', arn: TG }, ...options });
}

/** Rows of `shop.billing` as they were at the moment restores go back to. */
export const BILLING_ROWS = 2_000;

/** A fingerprint of a table: row count, distinct ids, and an order-free checksum of the rows. */
export interface Fingerprint {
  count: number;
  distinct: number;
  checksum: string;
}

/** The drill world with its database. */
export interface AccountWorld {
  world: DrillWorld;
  /** Connection to `orders-db`'s live server (undefined without a database). */
  live?: mysql.Connection;
  /** The moment restores go back to (ISO-8601). */
  noted: string;
  /** `shop.billing` as it was at `noted`, as it is after the damage, and after merge-missing. */
  expected: { original: Fingerprint; damaged: Fingerprint; merged: Fingerprint };
  fingerprint(table: string): Promise<Fingerprint>;
  /** Tables of `shop` named like `pattern`. */
  tablesLike(pattern: string): Promise<string[]>;
  /** Puts `shop.billing` back in its damaged state (rows deleted and changed after `noted`). */
  resetBilling(): Promise<void>;
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Starts a drill world on the sandbox account, with `orders-db` when `database` is set. */
export async function startAccountWorld(options: {
  redisUrl?: string;
  database?: boolean;
  env?: Record<string, string>;
  /** `stage-web`'s MinSize (default the seed's, 1). */
  min?: number;
}): Promise<AccountWorld> {
  const world = await startDrillWorld({
    configYaml: DRILL_CONFIG,
    ...(options.redisUrl ? { redisUrl: options.redisUrl } : {}),
    env: { DRILL_DB_PASSWORD: DB_PASSWORD, ...options.env },
  });
  const { sandbox } = world;
  await sandbox.seed(
    drillSeed({
      environments: ['stage'],
      ...(options.min !== undefined ? { min: options.min } : {}),
      timing: { ...TIMING, dbCreate: 300, dbDelete: 300, restorableLag: 300 },
    }),
  );
  const empty: Fingerprint = { count: 0, distinct: 0, checksum: '' };
  const expected = { original: empty, damaged: empty, merged: empty };
  if (!options.database) {
    return {
      world,
      noted: new Date().toISOString(),
      expected,
      fingerprint: async () => empty,
      tablesLike: async () => [],
      resetBilling: async () => undefined,
      stop: () => world.stop(),
    };
  }

  const serverName = `drill-orders-${randomBytes(3).toString('hex')}`;
  let live: mysql.Connection | undefined;
  try {
    const { server } = await createBackedDbInstance(sandbox, {
      id: 'orders-db',
      engine: 'mysql',
      storageType: 'gp2',
      allocatedStorage: 100,
      server: { name: serverName },
    });
    live = await mysql.createConnection({
      host: '127.0.0.1',
      port: server.port,
      user: 'root',
      password: DB_PASSWORD,
      multipleStatements: true,
    });
  } catch (error) {
    await world.stop();
    await destroyServer(serverName).catch(() => undefined);
    throw error;
  }
  const conn = live;
  const fingerprint = async (table: string): Promise<Fingerprint> => {
    const [rows] = await conn.query(
      `SELECT COUNT(*) AS n, COUNT(DISTINCT id) AS ids, BIT_XOR(CRC32(CONCAT_WS('#', id, amount, note))) AS x FROM shop.\`${table}\``,
    );
    const [r] = rows as Array<{ n: number; ids: number; x: string | null }>;
    return { count: Number(r?.n), distinct: Number(r?.ids), checksum: String(r?.x) };
  };
  const original = `SELECT seq, seq * 1.5, CONCAT('invoice ', seq, ' 🧾') FROM shop.seq_1_to_${BILLING_ROWS}`;
  const damage = (table: string) =>
    `DELETE FROM shop.\`${table}\` WHERE id MOD 10 = 3; UPDATE shop.\`${table}\` SET amount = 0, note = 'zeroed' WHERE id MOD 10 = 5;`;
  await conn.query('CREATE DATABASE shop');
  await conn.query(
    'CREATE TABLE shop.billing (id INT PRIMARY KEY, amount DECIMAL(12,2) NOT NULL, note VARCHAR(100) CHARACTER SET utf8mb4)',
  );
  await conn.query(`INSERT INTO shop.billing ${original}`);
  // Binary-log times have whole seconds: keep the noted moment clear of both sides.
  await sleep(1_200);
  const noted = new Date().toISOString();
  await sleep(1_200);
  await conn.query(damage('billing'));
  // Reference tables for the expected outcomes (made after `noted`, so no restore sees them).
  await conn.query(
    'CREATE TABLE shop.ref_original LIKE shop.billing; CREATE TABLE shop.ref_damaged LIKE shop.billing; CREATE TABLE shop.ref_merged LIKE shop.billing',
  );
  await conn.query(`INSERT INTO shop.ref_original ${original}`);
  await conn.query(`INSERT INTO shop.ref_damaged ${original}; ${damage('ref_damaged')}`);
  await conn.query(
    `INSERT INTO shop.ref_merged SELECT * FROM shop.ref_damaged; INSERT INTO shop.ref_merged SELECT * FROM shop.ref_original WHERE id MOD 10 = 3`,
  );
  expected.original = await fingerprint('ref_original');
  expected.damaged = await fingerprint('ref_damaged');
  expected.merged = await fingerprint('ref_merged');

  return {
    world,
    live,
    noted,
    expected,
    fingerprint,
    async tablesLike(pattern) {
      const [rows] = await conn.query('SHOW TABLES FROM shop LIKE ?', [pattern]);
      return (rows as Array<Record<string, string>>).map((r) => Object.values(r)[0] ?? '');
    },
    async resetBilling() {
      await conn.query('DELETE FROM shop.billing; INSERT INTO shop.billing SELECT * FROM shop.ref_damaged');
    },
    async stop() {
      await conn.end().catch(() => undefined);
      await world.stop();
      await destroyServer(serverName).catch(() => undefined);
    },
  };
}

/** Every resource id seen while watching the sandbox: to show nothing was made twice. */
export interface ResourceLog {
  groups: Set<string>;
  launchTemplates: Set<string>;
  dbInstances: Set<string>;
  /** Instance ids by group. */
  instancesByGroup: Map<string, Set<string>>;
}

/** Polls the sandbox world every `intervalMs` until stopped, logging every resource it sees. */
export function watchResources(
  world: DrillWorld,
  intervalMs = 100,
): { log: ResourceLog; stop(): Promise<ResourceLog> } {
  const log: ResourceLog = {
    groups: new Set(),
    launchTemplates: new Set(),
    dbInstances: new Set(),
    instancesByGroup: new Map(),
  };
  let running = true;
  const loop = (async () => {
    while (running) {
      try {
        const w = await world.sandbox.snapshot();
        for (const g of Object.keys(w.groups)) log.groups.add(g);
        for (const [id, lt] of Object.entries(w.launchTemplates)) log.launchTemplates.add(`${lt.name}:${id}`);
        for (const id of Object.keys(w.dbInstances)) log.dbInstances.add(id);
        for (const i of Object.values(w.instances)) {
          if (!i.group) continue;
          const set = log.instancesByGroup.get(i.group) ?? new Set<string>();
          set.add(i.id);
          log.instancesByGroup.set(i.group, set);
        }
      } catch {
        // A contended read: the next one sees the same world.
      }
      await sleep(intervalMs);
    }
  })();
  return {
    log,
    async stop() {
      running = false;
      await loop;
      return log;
    },
  };
}
