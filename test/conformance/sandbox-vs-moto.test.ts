/**
 * The same calls against Capstan's sandbox and against moto, compared: the answer's shape, the error
 * code, the rule. Expected values come from AWS's API reference (linked per case), so a case shows
 * which of the two departs from AWS; the sandbox is fixed to match AWS, and where moto departs the
 * case names the gap and asserts only the sandbox.
 */
import { randomBytes } from 'node:crypto';
import {
  type AutoScalingClient,
  CreateAutoScalingGroupCommand,
  DescribeAutoScalingGroupsCommand,
  EnterStandbyCommand,
  UpdateAutoScalingGroupCommand,
} from '@aws-sdk/client-auto-scaling';
import { DescribeLaunchTemplatesCommand, type EC2Client } from '@aws-sdk/client-ec2';
import {
  DescribeTargetHealthCommand,
  type ElasticLoadBalancingV2Client,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createSandbox } from '../../devkit/sandbox/index.js';
import { createAwsClientFactory } from '../../src/aws/clients.js';
import { WEB_TG, worldSeed } from '../helpers/world.js';
import { motoClients, seedMoto } from './world.js';

interface Side {
  name: 'sandbox' | 'moto';
  autoScaling: AutoScalingClient;
  ec2: EC2Client;
  elbv2: ElasticLoadBalancingV2Client;
  subnets: string[];
  launchTemplate: string;
  targetGroup: string;
}

const S = randomBytes(3).toString('hex');
let redis: Redis;
const sides: Side[] = [];

beforeAll(async () => {
  redis = new Redis(inject('redisUrl'));
  const sandbox = createSandbox({ redis, prefix: `{cmp-${S}}` });
  await sandbox.seed(worldSeed({ environments: [] }));
  const sc = createAwsClientFactory({ sandbox }).clients({ region: 'eu-west-1' });
  sides.push({
    name: 'sandbox',
    autoScaling: sc.autoScaling,
    ec2: sc.ec2,
    elbv2: sc.elbv2,
    subnets: ['subnet-0aaa11111'],
    launchTemplate: 'web-lt',
    targetGroup: WEB_TG,
  });
  const mc = motoClients(inject('motoUrl'));
  const world = await seedMoto(mc, `cmp${S}`);
  sides.push({
    name: 'moto',
    ...mc,
    subnets: world.subnets,
    launchTemplate: `web-lt-cmp${S}`,
    targetGroup: world.previewTargetGroupArn,
  });
});

afterAll(async () => {
  redis?.disconnect();
});

/** The error code of a call that fails, or 'ok'. */
async function outcome(call: () => Promise<unknown>): Promise<string> {
  try {
    await call();
    return 'ok';
  } catch (error) {
    return (error as { name?: string }).name ?? String(error);
  }
}

/**
 * `code` is AWS's documented answer on the sandbox; on moto too, unless `motoGap` names where moto
 * departs from AWS (then moto's own answer is pinned, so a moto that is fixed shows up here).
 */
function expectAws(side: Side, code: string, aws: string, motoGap?: { gap: string; answers: string }): void {
  if (side.name === 'moto' && motoGap)
    expect([side.name, motoGap.gap, code]).toEqual([side.name, motoGap.gap, motoGap.answers]);
  else expect([side.name, code]).toEqual([side.name, aws]);
}

async function group(side: Side, name: string, sizes: { min: number; max: number; desired: number }) {
  await side.autoScaling.send(
    new CreateAutoScalingGroupCommand({
      AutoScalingGroupName: name,
      LaunchTemplate: { LaunchTemplateName: side.launchTemplate, Version: '$Latest' },
      MinSize: sizes.min,
      MaxSize: sizes.max,
      DesiredCapacity: sizes.desired,
      VPCZoneIdentifier: side.subnets.join(','),
      TargetGroupARNs: [side.targetGroup],
    }),
  );
}

async function waitInService(side: Side, name: string, count: number): Promise<string[]> {
  for (let i = 0; i < 100; i++) {
    const g = (
      await side.autoScaling.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [name] }))
    ).AutoScalingGroups?.[0];
    const ids = (g?.Instances ?? [])
      .filter((x) => x.LifecycleState === 'InService')
      .map((x) => x.InstanceId ?? '');
    if (ids.length >= count) return ids;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${side.name}: ${name} never had ${count} instances InService`);
}

describe('sandbox and moto answer as AWS does', () => {
  it('CreateAutoScalingGroup twice with one name: AlreadyExists (API_CreateAutoScalingGroup, Errors)', async () => {
    for (const side of sides) {
      const name = `dup-${S}`;
      await group(side, name, { min: 0, max: 1, desired: 0 });
      expectAws(
        side,
        await outcome(() => group(side, name, { min: 0, max: 1, desired: 0 })),
        'AlreadyExistsFault',
        {
          gap: 'MOTO GAP duplicate-group: a second CreateAutoScalingGroup with the same name succeeds',
          answers: 'ok',
        },
      );
    }
  });

  it('DescribeAutoScalingGroups of an unknown name: an empty list, not an error', async () => {
    for (const side of sides) {
      const out = await side.autoScaling.send(
        new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [`nothing-${S}`] }),
      );
      expect([side.name, out.AutoScalingGroups]).toEqual([side.name, []]);
    }
  });

  it('UpdateAutoScalingGroup with a desired capacity above MaxSize: ValidationError', async () => {
    for (const side of sides) {
      const name = `upd-${S}`;
      await group(side, name, { min: 0, max: 2, desired: 0 });
      const code = await outcome(() =>
        side.autoScaling.send(
          new UpdateAutoScalingGroupCommand({ AutoScalingGroupName: name, DesiredCapacity: 3 }),
        ),
      );
      expectAws(side, code, 'ValidationError', {
        gap: 'MOTO GAP standby-below-min: EnterStandby decrements the desired capacity below MinSize',
        answers: 'ok',
      });
    }
  });

  it('UpdateAutoScalingGroup raising MinSize above the desired capacity raises the desired capacity to it', async () => {
    // https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_UpdateAutoScalingGroup.html: "If you
    // specify a new value for MinSize without specifying a value for DesiredCapacity, and the new MinSize
    // is larger than the current size of the group, this sets the group's DesiredCapacity to the new MinSize value."
    for (const side of sides) {
      const name = `minup-${S}`;
      await group(side, name, { min: 0, max: 3, desired: 0 });
      await side.autoScaling.send(
        new UpdateAutoScalingGroupCommand({ AutoScalingGroupName: name, MinSize: 2 }),
      );
      const g = (
        await side.autoScaling.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [name] }))
      ).AutoScalingGroups?.[0];
      expect([side.name, g?.MinSize, g?.DesiredCapacity]).toEqual([side.name, 2, 2]);
    }
  });

  it('EnterStandby with a decrement below MinSize: ValidationError (API_EnterStandby)', async () => {
    for (const side of sides) {
      const name = `sb-${S}`;
      await group(side, name, { min: 2, max: 3, desired: 2 });
      const ids = await waitInService(side, name, 2);
      const code = await outcome(() =>
        side.autoScaling.send(
          new EnterStandbyCommand({
            AutoScalingGroupName: name,
            InstanceIds: ids.slice(0, 1),
            ShouldDecrementDesiredCapacity: true,
          }),
        ),
      );
      expectAws(side, code, 'ValidationError', {
        gap: 'MOTO GAP standby-below-min: EnterStandby decrements the desired capacity below MinSize',
        answers: 'ok',
      });
    }
  });

  it('DescribeLaunchTemplates of an unknown name: InvalidLaunchTemplateName.NotFoundException', async () => {
    for (const side of sides) {
      const code = await outcome(() =>
        side.ec2.send(new DescribeLaunchTemplatesCommand({ LaunchTemplateNames: [`nothing-${S}`] })),
      );
      expectAws(side, code, 'InvalidLaunchTemplateName.NotFoundException');
    }
  });

  it('DescribeTargetHealth of an unknown target group: TargetGroupNotFound', async () => {
    for (const side of sides) {
      const arn = side.targetGroup.replace(/\/[0-9a-f]+$/, '/00000000deadbeef');
      const code = await outcome(() =>
        side.elbv2.send(new DescribeTargetHealthCommand({ TargetGroupArn: arn })),
      );
      expectAws(side, code, 'TargetGroupNotFoundException');
    }
  });
});
