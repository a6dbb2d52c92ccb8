/**
 * Conformance: the RDS calls a table restore makes (src/aws/rds.ts), as far as moto goes — describe,
 * point-in-time restore into a tagged temporary instance in the source's network, read back, delete,
 * and "not found" as absence. moto restores no data (the sandbox's PITR tests do), so the job itself
 * runs on the sandbox; this checks the calls' shapes and answers against an emulator nobody here wrote.
 */
import { randomBytes } from 'node:crypto';
import { RDSClient } from '@aws-sdk/client-rds';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import {
  deleteDbInstance,
  describeDbInstance,
  listDbInstances,
  restoreToPointInTime,
} from '../../src/aws/rds.js';
import { temporaryInstanceId } from '../../src/domain/restore.js';
import { createMotoDbInstance, motoConfig } from './world.js';

const S = randomBytes(3).toString('hex');
const SOURCE = `shop-${S}`;
let rds: RDSClient;

beforeAll(async () => {
  rds = new RDSClient(motoConfig(inject('motoUrl')));
  await createMotoDbInstance(rds, SOURCE, { allocatedStorage: 50, backupRetentionPeriod: 7 });
});

describe('restore-table’s RDS calls on moto', () => {
  it('restores a point in time into a tagged temporary instance, reads it back and deletes it', async () => {
    const source = await describeDbInstance(rds, SOURCE);
    expect(source).toMatchObject({ id: SOURCE, engine: 'mysql', instanceClass: 'db.t3.medium' });
    expect(await describeDbInstance(rds, `missing-${S}`)).toBeUndefined();

    const target = temporaryInstanceId('orders', `j${S}`);
    await restoreToPointInTime(rds, {
      // biome-ignore lint/style/noNonNullAssertion: asserted just above
      source: source!,
      target,
      at: new Date(Date.now() - 5 * 60_000),
      instanceClass: 'db.t3.small',
      tags: { 'capstan:temporary': 'true', 'capstan:job': `j${S}` },
    });
    const restored = await describeDbInstance(rds, target);
    expect(restored).toMatchObject({ id: target, instanceClass: 'db.t3.small' });
    expect(restored?.tags).toMatchObject({ 'capstan:temporary': 'true', 'capstan:job': `j${S}` });
    expect((await listDbInstances(rds)).map((d) => d.id)).toEqual(expect.arrayContaining([SOURCE, target]));

    await deleteDbInstance(rds, target);
    const after = await describeDbInstance(rds, target);
    // AWS: "deleting" for a while, then gone; moto deletes at once.
    expect(after === undefined || after.status === 'deleting').toBe(true);
    expect(await describeDbInstance(rds, SOURCE)).toBeDefined();
  });
});
