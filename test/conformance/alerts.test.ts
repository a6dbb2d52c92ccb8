/**
 * Conformance: the scheduled alert checks read AWS through the real SDK against moto — an unhealthy
 * instance of a declared environment (DescribeAutoScalingGroups after SetInstanceHealth) and a low
 * BurstBalance (DescribeDBInstances, GetMetricData) — and open their alerts in the routed channels.
 * Not covered here: the replica-lag check (moto's read replicas publish no ReplicaLag) and the
 * temporary-instance check (needs an instance older than the configured age; moto's are new).
 */
import { randomBytes } from 'node:crypto';
import { SetInstanceHealthCommand } from '@aws-sdk/client-auto-scaling';
import { CloudWatchClient, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { RDSClient } from '@aws-sdk/client-rds';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startTestCapstan, type TestCapstan } from '../helpers/capstan.js';
import { messageText } from '../helpers/fake-slack.js';
import { waitFor } from '../helpers/wait-for.js';
import {
  createMotoDbInstance,
  groupIn,
  motoClients,
  motoConfig,
  pointSdkAtMoto,
  REGION,
  seedMoto,
} from './world.js';

const S = randomBytes(3).toString('hex');
const DB = `alerts-db-${S}`;
let tc: TestCapstan;
let unhealthyId = '';

beforeAll(async () => {
  const endpoint = inject('motoUrl');
  pointSdkAtMoto(endpoint);
  const c = motoClients(endpoint);
  const world = await seedMoto(c, S);
  unhealthyId = (await groupIn(c, `legacy-web-${S}`))?.Instances?.[0]?.InstanceId ?? '';
  await c.autoScaling.send(
    new SetInstanceHealthCommand({ InstanceId: unhealthyId, HealthStatus: 'Unhealthy' }),
  );
  const config = motoConfig(endpoint);
  await createMotoDbInstance(new RDSClient(config), DB);
  // moto cannot read a gzip-compressed PutMetricData body (MOTO GAP cloudwatch-compression).
  await new CloudWatchClient({ ...config, disableRequestCompression: true }).send(
    new PutMetricDataCommand({
      Namespace: 'AWS/RDS',
      MetricData: [
        {
          MetricName: 'BurstBalance',
          Dimensions: [{ Name: 'DBInstanceIdentifier', Value: DB }],
          Timestamp: new Date(Date.now() - 60_000),
          Value: 12,
          Unit: 'Percent',
        },
      ],
    }),
  );
  tc = await startTestCapstan({
    configYaml: `
aws: { region: ${REGION} }
blueprints:
  legacy:
    launchTemplate: { name: web-lt-${S}, version: '$Latest' }
    subnets: [${world.subnets.join(', ')}]
    targetGroups: [${world.targetGroupArn}]
environments:
  legacy: { blueprint: legacy, asgName: legacy-web-${S} }
roles:
  engineers: { users: [U0ALICE] }
  dba: { users: [U0DBA] }
alerts:
  quietPeriod: 2s
  databases: [${DB}]
  checks:
    unhealthy: { grace: 0s }
    failedJobs: { enabled: false }
  routes:
    - match: { check: burstBalance }
      channel: C0DBA
      roles: [dba]
  default: { channel: C0ALERTS, roles: [engineers] }
`,
    env: { CAPSTAN_AWS: 'aws', CAPSTAN_ALERTS_CHECK_MS: '300' },
  });
});

afterAll(async () => {
  await tc?.stop();
});

describe('alert checks on moto', () => {
  it('opens an alert for the unhealthy instance and one for the low burst balance, each in its channel', async () => {
    const unhealthy = await waitFor(
      () =>
        tc.fake
          .messagesIn('C0ALERTS', { topLevelOnly: true })
          .find((m) => messageText(m).includes('unhealthy')),
      { timeoutMs: 20_000 },
    );
    expect(messageText(unhealthy)).toContain(`Environment \`legacy\`: \`${unhealthyId}\` unhealthy`);
    const burst = await waitFor(() => tc.fake.messagesIn('C0DBA', { topLevelOnly: true })[0], {
      timeoutMs: 20_000,
    });
    expect(messageText(burst)).toContain(`BurstBalance of \`${DB}\` is 12%`);
  });
});
