/**
 * The conformance suite's world, made in moto through the AWS SDK as a user would have it in AWS: a
 * VPC with two subnets, a launch template, a target group, and `legacy-web`, a group that predates
 * Capstan (no `capstan:env` tag) declared in the config as environment `legacy`.
 */
import {
  AutoScalingClient,
  CreateAutoScalingGroupCommand,
  DescribeAutoScalingGroupsCommand,
} from '@aws-sdk/client-auto-scaling';
import {
  CreateLaunchTemplateCommand,
  CreateSubnetCommand,
  CreateVpcCommand,
  DescribeInstancesCommand,
  EC2Client,
} from '@aws-sdk/client-ec2';
import {
  CreateTargetGroupCommand,
  DescribeTargetHealthCommand,
  ElasticLoadBalancingV2Client,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { CreateDBInstanceCommand, type RDSClient } from '@aws-sdk/client-rds';

export const REGION = 'us-east-1';

/** An SDK client's configuration for moto at `endpoint`. */
export function motoConfig(endpoint: string) {
  return { region: REGION, endpoint, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } };
}

/**
 * Points the AWS SDK at moto through its own variables, as a user would set them: the Capstan under
 * test reads them itself.
 */
export function pointSdkAtMoto(endpoint: string): void {
  process.env.AWS_ENDPOINT_URL = endpoint;
  process.env.AWS_ACCESS_KEY_ID = 'testing';
  process.env.AWS_SECRET_ACCESS_KEY = 'testing';
  process.env.AWS_REGION = REGION;
}

/**
 * The environment of a Capstan under test on moto: the real-AWS path (the SDK, pointed at moto by
 * {@link pointSdkAtMoto}), polling fast, giving up on a wait within a test's time.
 */
export const CAPSTAN_ON_MOTO: Record<string, string> = {
  CAPSTAN_AWS: 'aws',
  CAPSTAN_POLL_INTERVAL_MS: '200',
  CAPSTAN_WAIT_TIMEOUT_MS: '20000',
};

/** Creates a MySQL DB instance on gp2 storage in moto. */
export async function createMotoDbInstance(
  rds: RDSClient,
  id: string,
  extra: { allocatedStorage?: number; backupRetentionPeriod?: number } = {},
): Promise<void> {
  await rds.send(
    new CreateDBInstanceCommand({
      DBInstanceIdentifier: id,
      Engine: 'mysql',
      DBInstanceClass: 'db.t3.medium',
      AllocatedStorage: extra.allocatedStorage ?? 100,
      StorageType: 'gp2',
      MasterUsername: 'admin',
      MasterUserPassword: 'not-a-real-password-1',
      ...(extra.backupRetentionPeriod === undefined
        ? {}
        : { BackupRetentionPeriod: extra.backupRetentionPeriod }),
    }),
  );
}

/** SDK clients on moto, as the tests read its state. */
export function motoClients(endpoint: string) {
  const config = motoConfig(endpoint);
  return {
    autoScaling: new AutoScalingClient(config),
    ec2: new EC2Client(config),
    elbv2: new ElasticLoadBalancingV2Client(config),
  };
}

export type MotoClients = ReturnType<typeof motoClients>;

/** What the world holds, for the config and the assertions. */
export interface MotoWorld {
  subnets: string[];
  targetGroupArn: string;
  previewTargetGroupArn: string;
}

/** A VPC `10.<octet>.0.0/16` with a subnet in each of us-east-1a and us-east-1b. */
export async function createVpcWithSubnets(
  c: MotoClients,
  octet: number,
): Promise<{ vpcId: string; subnets: string[] }> {
  const vpc = await c.ec2.send(new CreateVpcCommand({ CidrBlock: `10.${octet}.0.0/16` }));
  const vpcId = vpc.Vpc?.VpcId ?? '';
  const subnets: string[] = [];
  for (const [i, az] of ['us-east-1a', 'us-east-1b'].entries()) {
    const s = await c.ec2.send(
      new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: `10.${octet}.${i + 1}.0/24`, AvailabilityZone: az }),
    );
    subnets.push(s.Subnet?.SubnetId ?? '');
  }
  return { vpcId, subnets };
}

/** An HTTP target group of instances on port 8080 in `vpcId`; its ARN. */
export async function createTargetGroup(c: MotoClients, vpcId: string, name: string): Promise<string> {
  const out = await c.elbv2.send(
    new CreateTargetGroupCommand({
      Name: name,
      Protocol: 'HTTP',
      Port: 8080,
      VpcId: vpcId,
      TargetType: 'instance',
    }),
  );
  return out.TargetGroups?.[0]?.TargetGroupArn ?? '';
}

/** Makes the world in moto. */
export async function seedMoto(c: MotoClients, suffix: string): Promise<MotoWorld> {
  const { vpcId, subnets } = await createVpcWithSubnets(c, 0);
  await c.ec2.send(
    new CreateLaunchTemplateCommand({
      LaunchTemplateName: `web-lt-${suffix}`,
      LaunchTemplateData: { ImageId: 'ami-12c6146b', InstanceType: 't3.small' },
    }),
  );
  const tg = (name: string) => createTargetGroup(c, vpcId, name);
  const targetGroupArn = await tg(`web-${suffix}`);
  const previewTargetGroupArn = await tg(`preview-${suffix}`);
  await c.autoScaling.send(
    new CreateAutoScalingGroupCommand({
      AutoScalingGroupName: `legacy-web-${suffix}`,
      LaunchTemplate: { LaunchTemplateName: `web-lt-${suffix}`, Version: '$Latest' },
      MinSize: 1,
      MaxSize: 3,
      DesiredCapacity: 2,
      VPCZoneIdentifier: subnets.join(','),
      TargetGroupARNs: [targetGroupArn],
      Tags: [{ Key: 'team', Value: 'payments', PropagateAtLaunch: true }],
    }),
  );
  return { subnets, targetGroupArn, previewTargetGroupArn };
}

/** A group as moto has it. */
export async function groupIn(c: MotoClients, name: string) {
  const out = await c.autoScaling.send(
    new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [name] }),
  );
  return out.AutoScalingGroups?.[0];
}

/** Targets registered in a target group, by id → state. */
export async function targetsIn(c: MotoClients, arn: string): Promise<Map<string, string>> {
  const out = await c.elbv2.send(new DescribeTargetHealthCommand({ TargetGroupArn: arn }));
  return new Map(
    (out.TargetHealthDescriptions ?? []).map((d) => [d.Target?.Id ?? '', d.TargetHealth?.State ?? '']),
  );
}

/** Instances (not terminated) carrying tag `key` = `value`. */
export async function instancesTagged(c: MotoClients, key: string, value: string) {
  const out = await c.ec2.send(
    new DescribeInstancesCommand({
      Filters: [
        { Name: `tag:${key}`, Values: [value] },
        { Name: 'instance-state-name', Values: ['pending', 'running', 'stopping', 'stopped'] },
      ],
    }),
  );
  return (out.Reservations ?? []).flatMap((r) => r.Instances ?? []);
}
