/**
 * The sandbox's scope is frozen at the calls Capstan makes (the IAM table, src/aws/iam-policy.ts) plus
 * the few the tests, the demo world (its CloudWatch alarm) and the local console use to arrange and
 * inspect a world. A new
 * sandbox call must be one Capstan makes (in the table) or be added here on purpose.
 */
import { describe, expect, it } from 'vitest';
import { HANDLERS } from '../../devkit/sandbox/index.js';
import { allActions, iamActionOf } from '../../src/aws/iam-policy.js';

const CLIENT: Record<string, string> = {
  AutoScaling: 'AutoScalingClient',
  EC2: 'EC2Client',
  ElasticLoadBalancingV2: 'ElasticLoadBalancingV2Client',
  RDS: 'RDSClient',
  CloudWatch: 'CloudWatchClient',
  SecretsManager: 'SecretsManagerClient',
  CloudFormation: 'CloudFormationClient',
};

/** Emulated for tests, the demo world and the console, not called by Capstan's jobs. */
const ARRANGING = [
  'autoscaling:DescribeAutoScalingInstances',
  'autoscaling:DescribeScalingActivities',
  'autoscaling:DescribeTags',
  'autoscaling:SetDesiredCapacity',
  'autoscaling:SetInstanceHealth',
  'autoscaling:TerminateInstanceInAutoScalingGroup',
  // CloudFormation reads beside the ones the jobs make, for inspecting a stack in tests.
  'cloudformation:DescribeStackResources',
  'cloudformation:GetTemplate',
  'cloudformation:ListChangeSets',
  // Metric alarms: the demo world's alarm and its SNS notifications (devkit/sandbox/alarms.ts, sns.ts).
  'cloudwatch:DeleteAlarms',
  'cloudwatch:DescribeAlarms',
  'cloudwatch:GetMetricStatistics',
  'cloudwatch:ListMetrics',
  'cloudwatch:PutMetricAlarm',
  'cloudwatch:PutMetricData',
  'ec2:CreateLaunchTemplateVersion',
  'ec2:DescribeLaunchTemplateVersions',
  'ec2:DescribeSubnets',
  'ec2:ModifyLaunchTemplate',
  'elasticloadbalancing:DeregisterTargets',
  'elasticloadbalancing:DescribeTargetGroups',
  'elasticloadbalancing:RegisterTargets',
  'rds:ListTagsForResource',
  'rds:RemoveTagsFromResource',
  'secretsmanager:CreateSecret',
  'secretsmanager:PutSecretValue',
];

function emulated(): string[] {
  return Object.entries(HANDLERS)
    .flatMap(([service, table]) =>
      Object.keys(table).map((cmd) => iamActionOf(CLIENT[service] ?? service, cmd)),
    )
    .sort();
}

describe('the sandbox’s scope', () => {
  it('emulates the calls Capstan makes and the arranging calls, nothing else', () => {
    const table = new Set(allActions());
    expect(emulated().filter((a) => !table.has(a))).toEqual([...ARRANGING].sort());
  });

  it('emulates every call in the IAM table that is an SDK call', () => {
    const sdk = allActions().filter((a) => a.split(':')[0] !== 'rds-db');
    // Tags on a restore are given with RestoreDBInstanceToPointInTime itself (AddTagsToResource is the permission).
    // The restore itself is emulated by the PITR extension (devkit/sandbox/pitr), plugged in at start.
    // Stack templates kept in S3 are proven against moto (test/conformance); the sandbox reads template files.
    const needed = sdk.filter(
      (a) =>
        a !== 'rds:AddTagsToResource' && a !== 'rds:RestoreDBInstanceToPointInTime' && !a.startsWith('s3:'),
    );
    const have = new Set(emulated());
    expect(needed.filter((a) => !have.has(a))).toEqual([]);
  });
});
