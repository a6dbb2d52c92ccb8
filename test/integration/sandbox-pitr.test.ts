/**
 * Real point-in-time recovery in the sandbox: a DB instance backed by a real mariadbd, restored
 * through the real RDSClient to a new mariadbd holding the data as it was.
 */
import { randomBytes } from 'node:crypto';
import {
  DeleteDBInstanceCommand,
  DescribeDBInstancesCommand,
  RDSClient,
  RestoreDBInstanceToPointInTimeCommand,
} from '@aws-sdk/client-rds';
import { Redis } from 'ioredis';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createSandbox, type Sandbox } from '../../devkit/sandbox/index.js';
import {
  createBackedDbInstance,
  destroyServer,
  pitrExtension,
  restoredServerName,
  serverDir,
  serverExists,
} from '../../devkit/sandbox/pitr/index.js';

const tag = randomBytes(3).toString('hex');
const prefix = `{pitr-${tag}}`;
const SOURCE = `pitr-src-${tag}`;
const TARGET = `pitr-old-${tag}`;
const password = process.env.CAPSTAN_MYSQL_ROOT_PASSWORD ?? 'capstan';

let redis: Redis;
let sandbox: Sandbox;
let rds: RDSClient;
let sourcePort: number;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function connect(port: number) {
  return mysql.createConnection({ host: '127.0.0.1', port, user: 'root', password });
}

async function failure(promise: Promise<unknown>): Promise<Error & { Code?: string }> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the call to fail');
}

beforeAll(async () => {
  redis = new Redis(inject('redisUrl'));
  sandbox = createSandbox({ redis, prefix, extensions: [pitrExtension()] });
  await sandbox.setTiming({ dbCreate: 200, dbDelete: 200, restorableLag: 300 });
  rds = sandbox.attach(
    new RDSClient({
      region: 'eu-west-1',
      credentials: { accessKeyId: 'sandbox', secretAccessKey: 'sandbox' },
    }),
  );
  const { server } = await createBackedDbInstance(sandbox, {
    id: SOURCE,
    vpcSecurityGroupIds: ['sg-0123456789abcdef0'],
    tags: { team: 'billing' },
  });
  sourcePort = server.port;
}, 60_000);

afterAll(async () => {
  await destroyServer(restoredServerName(SOURCE)).catch(() => {});
  await destroyServer(restoredServerName(TARGET)).catch(() => {});
  await sandbox?.reset();
  rds?.destroy();
  redis?.disconnect();
}, 60_000);

describe('sandbox point-in-time recovery with real mariadbd', () => {
  it('brings deleted rows and old values back, refuses times outside the window, cleans up on delete', async () => {
    const source = await rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: SOURCE }));
    const srcView = source.DBInstances?.[0];
    expect(srcView?.Endpoint).toMatchObject({ Address: '127.0.0.1', Port: sourcePort });
    const created = srcView?.InstanceCreateTime?.getTime() ?? 0;

    const live = await connect(sourcePort);
    try {
      await live.query('CREATE DATABASE shop');
      await live.query(
        'CREATE TABLE shop.billing (id INT PRIMARY KEY, amount DECIMAL(10,2), note VARCHAR(40))',
      );
      await live.query(
        "INSERT INTO shop.billing VALUES (1, 10.00, 'one'), (2, 20.00, 'two'), (3, 30.00, 'three'), (4, 40.00, 'four')",
      );
      // Binary-log timestamps are whole seconds: keep the noted time in a later second than the
      // inserts and an earlier one than the damage.
      await sleep(1_100);
      const noted = new Date();
      await sleep(1_100);
      await live.query('DELETE FROM shop.billing WHERE id IN (2, 4)');
      await live.query("UPDATE shop.billing SET amount = 99.99, note = 'changed' WHERE id = 3");
      await live.query("INSERT INTO shop.billing VALUES (5, 50.00, 'five')");
      await sleep(400); // past restorableLag

      const described = await rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: SOURCE }));
      const latest = described.DBInstances?.[0]?.LatestRestorableTime?.getTime() ?? 0;
      expect(latest).toBeGreaterThan(noted.getTime());
      expect(Date.now() - latest).toBeLessThan(5_000);

      // Before the instance existed → InvalidRestoreFault; target name taken → DBInstanceAlreadyExists.
      const early = await failure(
        rds.send(
          new RestoreDBInstanceToPointInTimeCommand({
            SourceDBInstanceIdentifier: SOURCE,
            TargetDBInstanceIdentifier: TARGET,
            RestoreTime: new Date(created - 60_000),
          }),
        ),
      );
      expect(early.name).toBe('InvalidRestoreFault');
      const taken = await failure(
        rds.send(
          new RestoreDBInstanceToPointInTimeCommand({
            SourceDBInstanceIdentifier: SOURCE,
            TargetDBInstanceIdentifier: SOURCE,
            RestoreTime: noted,
          }),
        ),
      );
      expect(taken.name).toBe('DBInstanceAlreadyExistsFault');
      expect(await serverExists(restoredServerName(TARGET))).toBe(false);

      const restored = await rds.send(
        new RestoreDBInstanceToPointInTimeCommand({
          SourceDBInstanceIdentifier: SOURCE,
          TargetDBInstanceIdentifier: TARGET,
          RestoreTime: noted,
          VpcSecurityGroupIds: ['sg-0123456789abcdef0'],
          DBInstanceClass: 'db.t3.small',
          MultiAZ: false,
          PubliclyAccessible: false,
          DeletionProtection: false,
          Tags: [{ Key: 'capstan:temporary', Value: 'true' }],
        }),
      );
      expect(restored.DBInstance).toMatchObject({
        DBInstanceIdentifier: TARGET,
        DBInstanceStatus: 'creating',
        DBInstanceClass: 'db.t3.small',
        MultiAZ: false,
        TagList: [{ Key: 'capstan:temporary', Value: 'true' }],
      });

      await sleep(300);
      const after = await rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: TARGET }));
      const view = after.DBInstances?.[0];
      expect(view?.DBInstanceStatus).toBe('available');
      expect(view?.Endpoint?.Address).toBe('127.0.0.1');
      const port = view?.Endpoint?.Port ?? 0;
      expect(port).not.toBe(sourcePort);

      const old = await connect(port);
      try {
        const [rows] = await old.query('SELECT id, amount, note FROM shop.billing ORDER BY id');
        expect(rows).toEqual([
          { id: 1, amount: '10.00', note: 'one' },
          { id: 2, amount: '20.00', note: 'two' },
          { id: 3, amount: '30.00', note: 'three' },
          { id: 4, amount: '40.00', note: 'four' },
        ]);
      } finally {
        await old.end();
      }
      // The live instance is untouched.
      const [liveRows] = await live.query('SELECT id FROM shop.billing ORDER BY id');
      expect(liveRows).toEqual([{ id: 1 }, { id: 3 }, { id: 5 }]);

      // Delete the restored instance → its server stops and its folder goes.
      const dir = serverDir(restoredServerName(TARGET));
      expect(await serverExists(restoredServerName(TARGET))).toBe(true);
      await rds.send(new DeleteDBInstanceCommand({ DBInstanceIdentifier: TARGET, SkipFinalSnapshot: true }));
      expect(await serverExists(restoredServerName(TARGET))).toBe(false);
      await expect(connect(port)).rejects.toThrow();
      expect(dir).toContain(`mariadb-pitr-${TARGET}`);

      // A refused delete (no final-snapshot choice) leaves the server alone…
      const refused = await failure(rds.send(new DeleteDBInstanceCommand({ DBInstanceIdentifier: SOURCE })));
      expect(refused.name).toBe('InvalidParameterCombination');
      const [still] = await live.query('SELECT COUNT(*) AS n FROM shop.billing');
      expect(still).toEqual([{ n: 3 }]);
      // …and deleting the source stops its server too.
      await live.end();
      await rds.send(new DeleteDBInstanceCommand({ DBInstanceIdentifier: SOURCE, SkipFinalSnapshot: true }));
      expect(await serverExists(restoredServerName(SOURCE))).toBe(false);
    } finally {
      await live.end().catch(() => {});
    }
  }, 60_000);

  it('restores an instance without a backing server as a plain sandbox instance (UseLatestRestorableTime)', async () => {
    await sandbox.seed({ dbInstances: [{ id: `plain-${tag}`, createdAt: '-1h' }] });
    const out = await rds.send(
      new RestoreDBInstanceToPointInTimeCommand({
        SourceDBInstanceIdentifier: `plain-${tag}`,
        TargetDBInstanceIdentifier: `plain-copy-${tag}`,
        UseLatestRestorableTime: true,
      }),
    );
    expect(out.DBInstance).toMatchObject({ DBInstanceStatus: 'creating' });
    expect(out.DBInstance?.Endpoint).toBeUndefined();
    const both = await failure(
      rds.send(
        new RestoreDBInstanceToPointInTimeCommand({
          SourceDBInstanceIdentifier: `plain-${tag}`,
          TargetDBInstanceIdentifier: `plain-other-${tag}`,
          UseLatestRestorableTime: true,
          RestoreTime: new Date(),
        }),
      ),
    );
    expect(both.name).toBe('InvalidParameterCombination');
    const missing = await failure(
      rds.send(
        new RestoreDBInstanceToPointInTimeCommand({
          SourceDBInstanceIdentifier: `nope-${tag}`,
          TargetDBInstanceIdentifier: `plain-other-${tag}`,
          UseLatestRestorableTime: true,
        }),
      ),
    );
    expect(missing.name).toBe('DBInstanceNotFoundFault');
  });
});
