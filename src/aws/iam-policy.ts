/**
 * Which AWS calls each command makes — one table, keyed by the command catalog (and the background
 * jobs) — and the least-privilege IAM policy for a loaded configuration built from it
 * (`capstan iam-policy [--markdown]`; the README's permission section is generated from it too).
 * A test records every SDK call the conformance suite makes and fails when one is not in this table.
 *
 * Scoping follows what each action supports (https://docs.aws.amazon.com/service-authorization/latest/reference/):
 * Describe and Get read calls take no resource-level permissions and need `Resource: "*"`; Auto Scaling
 * changes are scoped to the group names Capstan owns or the config declares; launch templates and RDS
 * temporary instances by Capstan's tags.
 */

import type { CatalogKind } from '../catalog.js';
import type { Config } from '../config.js';

/** Jobs that run on a schedule or on their own (a Home tab being built) rather than for a command. */
export type BackgroundJob = 'env.expiry-sweep' | 'rds.janitor' | 'alerts.check' | 'home.publish';

/** Following a stack environment: its status, its events, its resources. */
const STACK_READ = [
  'cloudformation:DescribeStacks',
  'cloudformation:DescribeStackEvents',
  'cloudformation:ListStackResources',
] as const;
/** Reading a stack blueprint's templates from S3 (ListObjectsV2 is authorised as s3:ListBucket). */
const TEMPLATE_READ = ['s3:GetObject', 's3:ListBucket'] as const;

/**
 * The IAM actions each command's job makes (`service:Action`, as SDK command names map to them).
 * Every catalog command has an entry (none for those answered by the web process, which never calls AWS).
 */
export const AWS_CALLS: Record<CatalogKind | BackgroundJob, readonly string[]> = {
  'env.create': [
    'autoscaling:DescribeAutoScalingGroups',
    'autoscaling:CreateAutoScalingGroup',
    'ec2:DescribeLaunchTemplates',
    'ec2:CreateLaunchTemplate',
    'elasticloadbalancing:DescribeTargetHealth',
    ...STACK_READ,
    ...TEMPLATE_READ,
    'cloudformation:ValidateTemplate',
    'cloudformation:CreateStack',
  ],
  'env.delete': [
    ...STACK_READ,
    'cloudformation:DeleteStack',
    'autoscaling:DescribeAutoScalingGroups',
    'autoscaling:UpdateAutoScalingGroup',
    'autoscaling:EnterStandby',
    'autoscaling:DeleteAutoScalingGroup',
    'ec2:DescribeInstances',
    'ec2:DescribeLaunchTemplates',
    'ec2:DeleteLaunchTemplate',
  ],
  'env.extend': [
    'autoscaling:DescribeAutoScalingGroups',
    'autoscaling:CreateOrUpdateTags',
    ...STACK_READ,
    'cloudformation:UpdateStack',
  ],
  'env.list': ['autoscaling:DescribeAutoScalingGroups', 'cloudformation:DescribeStacks'],
  'env.status': [
    'autoscaling:DescribeAutoScalingGroups',
    'elasticloadbalancing:DescribeTargetHealth',
    ...STACK_READ,
    ...TEMPLATE_READ,
  ],
  'env.update': [
    ...STACK_READ,
    ...TEMPLATE_READ,
    'cloudformation:ValidateTemplate',
    'cloudformation:CreateChangeSet',
    'cloudformation:DescribeChangeSet',
    'cloudformation:ExecuteChangeSet',
    'cloudformation:DeleteChangeSet',
  ],
  'lb.disable': [
    'autoscaling:DescribeAutoScalingGroups',
    'autoscaling:SuspendProcesses',
    'autoscaling:ResumeProcesses',
    'autoscaling:CreateOrUpdateTags',
    'autoscaling:DeleteTags',
    'autoscaling:UpdateAutoScalingGroup',
    'autoscaling:EnterStandby',
  ],
  'lb.enable': [
    'autoscaling:DescribeAutoScalingGroups',
    'autoscaling:ExitStandby',
    'autoscaling:ResumeProcesses',
    'autoscaling:CreateOrUpdateTags',
    'autoscaling:DeleteTags',
    'autoscaling:UpdateAutoScalingGroup',
    'elasticloadbalancing:DescribeTargetHealth',
    'ec2:DescribeInstances',
  ],
  'lb.status': ['autoscaling:DescribeAutoScalingGroups', 'elasticloadbalancing:DescribeTargetHealth'],
  'rds.restore-table': [
    'rds:DescribeDBInstances',
    'rds:RestoreDBInstanceToPointInTime',
    'rds:AddTagsToResource',
    'rds:DeleteDBInstance',
    'secretsmanager:GetSecretValue',
    'rds-db:connect',
  ],
  'rds.io-credits': ['rds:DescribeDBInstances', 'cloudwatch:GetMetricData'],
  'ops.help': [],
  'ops.jobs': [],
  'ops.cancel': [],
  'ops.audit': [],
  'ops.ping': [],
  'env.expiry-sweep': [
    'autoscaling:DescribeAutoScalingGroups',
    'autoscaling:CreateOrUpdateTags',
    'cloudformation:DescribeStacks',
  ],
  'rds.janitor': ['rds:DescribeDBInstances', 'rds:DeleteDBInstance'],
  'alerts.check': [
    'autoscaling:DescribeAutoScalingGroups',
    'rds:DescribeDBInstances',
    'cloudwatch:GetMetricData',
  ],
  // A person's Home tab lists the environments they own.
  'home.publish': ['autoscaling:DescribeAutoScalingGroups', 'cloudformation:DescribeStacks'],
};

/** SDK client class → IAM service prefix. */
export const SERVICE_PREFIX: Record<string, string> = {
  AutoScalingClient: 'autoscaling',
  EC2Client: 'ec2',
  ElasticLoadBalancingV2Client: 'elasticloadbalancing',
  RDSClient: 'rds',
  CloudWatchClient: 'cloudwatch',
  SecretsManagerClient: 'secretsmanager',
  CloudFormationClient: 'cloudformation',
  S3Client: 's3',
};

/** The IAM action an SDK call needs: `AutoScalingClient` + `EnterStandbyCommand` → `autoscaling:EnterStandby`. */
export function iamActionOf(clientName: string, commandName: string): string {
  const action = `${SERVICE_PREFIX[clientName] ?? clientName}:${commandName.replace(/Command$/, '')}`;
  return ACTION_ALIASES[action] ?? action;
}

/** SDK calls authorised under another action's name. */
const ACTION_ALIASES: Record<string, string> = { 's3:ListObjectsV2': 's3:ListBucket' };

/** Every action in the table. */
export function allActions(): string[] {
  return [...new Set(Object.values(AWS_CALLS).flat())].sort();
}

/** One IAM policy statement. */
export interface PolicyStatement {
  Sid: string;
  Effect: 'Allow';
  Action: string[];
  Resource: string | string[];
  Condition?: Record<string, Record<string, string | string[]>>;
}

/** An IAM policy document. */
export interface PolicyDocument {
  Version: '2012-10-17';
  Statement: PolicyStatement[];
}

const READ_ONLY =
  /^((autoscaling|ec2|elasticloadbalancing|rds|cloudwatch):(Describe|Get)|cloudformation:(Describe|List|ValidateTemplate))/;

/** The least-privilege policy for `config`: the table's actions, each scoped as tightly as AWS allows. */
export function iamPolicyFor(config: Config): PolicyDocument {
  const actions = new Set(allActions());
  const take = (pred: (a: string) => boolean) => {
    const picked = [...actions].filter(pred).sort();
    for (const a of picked) actions.delete(a);
    return picked;
  };
  const statements: PolicyStatement[] = [];
  // Read calls support no resource-level permissions.
  statements.push({ Sid: 'Read', Effect: 'Allow', Action: take((a) => READ_ONLY.test(a)), Resource: '*' });

  const groupNames = [
    'capstan-env-*',
    ...Object.entries(config.file.environments).map(([name, e]) => e.asgName ?? `capstan-env-${name}`),
  ];
  statements.push({
    Sid: 'AutoScalingGroupsOfEnvironments',
    Effect: 'Allow',
    Action: take((a) => a.startsWith('autoscaling:')),
    Resource: [...new Set(groupNames)].map(
      (g) => `arn:aws:autoscaling:*:*:autoScalingGroup:*:autoScalingGroupName/${g}`,
    ),
  });

  statements.push({
    Sid: 'LaunchTemplatesCapstanCreates',
    Effect: 'Allow',
    Action: take((a) => a === 'ec2:CreateLaunchTemplate'),
    Resource: '*',
    Condition: { StringLike: { 'aws:RequestTag/capstan:env': '*' } },
  });
  statements.push({
    Sid: 'LaunchTemplatesCapstanDeletes',
    Effect: 'Allow',
    Action: take((a) => a === 'ec2:DeleteLaunchTemplate'),
    Resource: '*',
    Condition: { StringLike: { 'aws:ResourceTag/capstan:env': '*' } },
  });
  // Creating a group from a launch template launches instances as the caller, and tags them
  // (https://docs.aws.amazon.com/autoscaling/ec2/userguide/ec2-auto-scaling-launch-template-permissions.html).
  statements.push({
    Sid: 'LaunchFromTemplates',
    Effect: 'Allow',
    Action: ['ec2:RunInstances', 'ec2:CreateTags'],
    Resource: '*',
  });
  statements.push({
    Sid: 'PassInstanceProfileRoles',
    Effect: 'Allow',
    Action: ['iam:PassRole'],
    Resource: '*',
    Condition: { StringEquals: { 'iam:PassedToService': 'ec2.amazonaws.com' } },
  });
  // The first group in an account creates Auto Scaling's service-linked role.
  statements.push({
    Sid: 'AutoScalingServiceLinkedRole',
    Effect: 'Allow',
    Action: ['iam:CreateServiceLinkedRole'],
    Resource: 'arn:aws:iam::*:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling',
    Condition: { StringLike: { 'iam:AWSServiceName': 'autoscaling.amazonaws.com' } },
  });

  // Stack environments: only the stacks Capstan names. CloudFormation makes a template's resources
  // with these same credentials, so the template's own resources need their permissions too.
  statements.push({
    Sid: 'StacksOfEnvironments',
    Effect: 'Allow',
    Action: take((a) => a.startsWith('cloudformation:')),
    Resource: [
      'arn:aws:cloudformation:*:*:stack/capstan-env-*/*',
      'arn:aws:cloudformation:*:*:changeSet/capstan-update-*/*',
    ],
  });
  const buckets = [
    ...new Set(
      Object.values(config.file.blueprints).flatMap((b) => {
        if (b.kind !== 'stack') return [];
        const m = /^s3:\/\/([^/]+)\/|^https:\/\/([^/.]+)\.s3[.-]|^https:\/\/s3[.-][^/]*\/([^/]+)\//.exec(
          b.template,
        );
        return m ? [m[1] ?? m[2] ?? m[3] ?? ''] : [];
      }),
    ),
  ].filter(Boolean);
  take((a) => a.startsWith('s3:'));
  if (buckets.length > 0) {
    statements.push({
      Sid: 'StackTemplates',
      Effect: 'Allow',
      Action: ['s3:GetObject', 's3:ListBucket'],
      Resource: buckets.flatMap((b) => [`arn:aws:s3:::${b}`, `arn:aws:s3:::${b}/*`]),
    });
  }

  const dbIds = Object.keys(config.file.databases);
  // The restore reads from the configured instances and makes (and deletes) `capstan-restore-*` ones.
  const dbArns = [...dbIds.map((id) => `arn:aws:rds:*:*:db:${id}`), 'arn:aws:rds:*:*:db:capstan-restore-*'];
  const rdsWrite = take((a) => a.startsWith('rds:'));
  if (rdsWrite.length > 0) {
    statements.push({
      Sid: 'RestoreTemporaryInstances',
      Effect: 'Allow',
      Action: rdsWrite,
      // A point-in-time restore also names the subnet group, parameter group and option group it uses.
      Resource: [...dbArns, 'arn:aws:rds:*:*:subgrp:*', 'arn:aws:rds:*:*:pg:*', 'arn:aws:rds:*:*:og:*'],
    });
  }
  const secrets = Object.values(config.file.databases).flatMap((d) => (d.secret ? [d.secret] : []));
  take((a) => a === 'secretsmanager:GetSecretValue');
  if (secrets.length > 0) {
    statements.push({
      Sid: 'DatabasePasswords',
      Effect: 'Allow',
      Action: ['secretsmanager:GetSecretValue'],
      // A name's ARN ends in six random characters.
      Resource: secrets.map((s) =>
        s.startsWith('arn:') ? s : `arn:aws:secretsmanager:*:*:secret:${s}-??????`,
      ),
    });
  }
  take((a) => a === 'rds-db:connect');
  const iamUsers = Object.values(config.file.databases).flatMap((d) => (d.iamAuth ? [d.user] : []));
  if (iamUsers.length > 0) {
    statements.push({
      Sid: 'DatabaseIamAuth',
      Effect: 'Allow',
      Action: ['rds-db:connect'],
      Resource: [...new Set(iamUsers)].map((u) => `arn:aws:rds-db:*:*:dbuser:*/${u}`),
    });
  }
  const roles = [
    config.file.aws.roleArn,
    ...Object.values(config.file.blueprints).map((b) => b.roleArn),
    ...Object.values(config.file.environments).map((e) => e.roleArn),
    ...Object.values(config.file.databases).map((d) => d.roleArn),
  ].filter((r): r is string => Boolean(r));
  if (roles.length > 0) {
    statements.push({
      Sid: 'AssumeRoles',
      Effect: 'Allow',
      Action: ['sts:AssumeRole'],
      Resource: [...new Set(roles)],
    });
  }
  if (actions.size > 0) {
    statements.push({ Sid: 'Other', Effect: 'Allow', Action: [...actions].sort(), Resource: '*' });
  }
  return { Version: '2012-10-17', Statement: statements.filter((s) => s.Action.length > 0) };
}

/** The README's permission section: which calls each command makes, from {@link AWS_CALLS}. */
export function iamMarkdown(): string {
  const rows = Object.entries(AWS_CALLS)
    .filter(([, calls]) => calls.length > 0)
    .map(([kind, calls]) => `- \`${kind}\`: ${calls.map((c) => `\`${c}\``).join(', ')}`);
  return [
    ...rows,
    '',
    'Besides these, creating an environment from a launch template needs `ec2:RunInstances` and `ec2:CreateTags`,',
    '`iam:PassRole` for its instance profile, and `iam:CreateServiceLinkedRole` the first time Auto Scaling is used',
    'in an account; `sts:AssumeRole` on each `roleArn` the config names. CloudFormation creates a stack',
    "blueprint's resources with Capstan's credentials, so those need the permissions its template's resources",
    'need. `capstan iam-policy` prints the whole',
    'policy for your config, each action scoped as tightly as AWS allows (Describe calls need `Resource: "*"`).',
  ].join('\n');
}
