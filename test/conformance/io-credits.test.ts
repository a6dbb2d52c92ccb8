/**
 * Conformance: `/rds io-credits`' AWS part against moto — the instance from RDS
 * (DescribeDBInstances) and its I/O metrics from CloudWatch (GetMetricData), for an instance not
 * under `databases:` (so no MySQL is asked).
 *
 * MOTO GAP cloudwatch-compression: moto 5.2.1 cannot read a gzip-compressed PutMetricData body (the
 * SDK compresses large ones); the test's own client turns compression off to put the metrics.
 */
import { randomBytes } from 'node:crypto';
import { CloudWatchClient, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { RDSClient } from '@aws-sdk/client-rds';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startTestCapstan, type TestCapstan } from '../helpers/capstan.js';
import { finished } from '../helpers/sandbox-world.js';
import { createMotoDbInstance, motoConfig, pointSdkAtMoto, REGION } from './world.js';

const DB = `orders-${randomBytes(3).toString('hex')}`;
let tc: TestCapstan;

beforeAll(async () => {
  const endpoint = inject('motoUrl');
  pointSdkAtMoto(endpoint);
  const config = motoConfig(endpoint);
  const rds = new RDSClient(config);
  await createMotoDbInstance(rds, DB);
  // Three hours of minute points, as RDS publishes them.
  const cw = new CloudWatchClient({ ...config, disableRequestCompression: true });
  const now = Date.now();
  for (const metric of ['ReadIOPS', 'WriteIOPS', 'BurstBalance']) {
    const points = Array.from({ length: 180 }, (_, i) => ({
      MetricName: metric,
      Dimensions: [{ Name: 'DBInstanceIdentifier', Value: DB }],
      Timestamp: new Date(now - (180 - i) * 60_000),
      Value: metric === 'BurstBalance' ? 90 - i * 0.3 : 400 + (i % 7) * 10,
      Unit: (metric === 'BurstBalance' ? 'Percent' : 'Count/Second') as 'Percent' | 'Count/Second',
    }));
    for (let i = 0; i < points.length; i += 150) {
      await cw.send(new PutMetricDataCommand({ Namespace: 'AWS/RDS', MetricData: points.slice(i, i + 150) }));
    }
  }
  tc = await startTestCapstan({
    configYaml: `aws: { region: ${REGION} }\nroles: { engineers: { users: [U0ALICE] } }\n`,
    env: { CAPSTAN_AWS: 'aws' },
  });
});

afterAll(async () => {
  await tc?.stop();
});

describe('/rds io-credits on moto', () => {
  it('reads the instance from RDS and its I/O metrics from CloudWatch', async () => {
    await tc.slash('/rds', `io-credits ${DB} --hours 3`);
    const text = await finished(tc, `/rds io-credits ${DB} --hours 3`, undefined, 30_000);
    expect(text).toMatch(/done in/);
    // The RDS part: the instance as RDS describes it.
    expect(text).toContain('gp2 100 GiB');
    expect(text).toContain(DB);
    // The CloudWatch part: the metrics put above, read back through GetMetricData.
    expect(text).not.toContain('CloudWatch could not be read');
    expect(text).not.toContain('CloudWatch has no AWS/RDS data');
    expect(text).not.toContain('no BurstBalance data');
    expect(text).not.toContain('no ReadIOPS/WriteIOPS data');
  });
});
