/**
 * The demo world's cast and AWS resources (pure): the people and channels of the demo workspace,
 * and the sandbox seed for the `web` blueprint's launch template and target group and the
 * protected `prod` environment — 3 instances InService behind the target group. The names match
 * `demo-config.yml`.
 */
import type { SandboxSeed } from '../../sandbox/index.js';

/** Someone in the demo workspace. */
export interface DemoUser {
  id: string;
  name: string;
  /** What they are in Capstan's demo policy. */
  title: string;
}

/** A channel of the demo workspace. */
export interface DemoChannel {
  id: string;
  name: string;
}

/** Two engineers and one approver (roles in demo-config.yml). */
export const DEMO_USERS: readonly DemoUser[] = [
  { id: 'U0ALICE', name: 'alice', title: 'engineer' },
  { id: 'U0BOB', name: 'bob', title: 'engineer' },
  { id: 'U0CAROL', name: 'carol', title: 'approver' },
];

/** Where people work (#ops), where approvals are asked (#approvals), and where notices go. */
export const DEMO_CHANNELS: readonly DemoChannel[] = [
  { id: 'C0OPS', name: 'ops' },
  { id: 'C0APPROVALS', name: 'approvals' },
  { id: 'C0NOTICES', name: 'notices' },
];

export const DEMO_REGION = 'eu-west-1';
export const DEMO_ACCOUNT = '123456789012';
export const DEMO_TARGET_GROUP_ARN = `arn:aws:elasticloadbalancing:${DEMO_REGION}:${DEMO_ACCOUNT}:targetgroup/web-tg/0123456789abcdef`;
/** The Auto Scaling group behind the `prod` environment. */
export const PROD_GROUP = 'prod-web';
/** The demo database instance. */
export const ORDERS_DB = 'orders-db';

/** The SNS topic the demo's CloudWatch alarms publish to (Capstan's `/aws/sns` subscribes to it). */
export const DEMO_ALARM_TOPIC_ARN = `arn:aws:sns:${DEMO_REGION}:${DEMO_ACCOUNT}:capstan-alarms`;

/** Subnets, launch template, target group, the `prod` group and the alarms' SNS topic. Idempotent like every seed. */
export function demoAwsSeed(): SandboxSeed {
  return {
    region: DEMO_REGION,
    accountId: DEMO_ACCOUNT,
    snsTopics: [{ arn: DEMO_ALARM_TOPIC_ARN }],
    subnets: [
      { id: 'subnet-0aaa11111', vpcId: 'vpc-0123abcd', availabilityZone: 'eu-west-1a', cidr: '10.0.1.0/24' },
      { id: 'subnet-0bbb22222', vpcId: 'vpc-0123abcd', availabilityZone: 'eu-west-1b', cidr: '10.0.2.0/24' },
    ],
    launchTemplates: [
      {
        name: 'web-lt',
        versions: [
          { imageId: 'ami-0abc12345', instanceType: 't3.small', description: 'web 1.41' },
          { imageId: 'ami-0def67890', instanceType: 't3.small', description: 'web 1.42' },
        ],
        defaultVersion: 2,
      },
    ],
    targetGroups: [{ name: 'web-tg', arn: DEMO_TARGET_GROUP_ARN, port: 8080, vpcId: 'vpc-0123abcd' }],
    autoScalingGroups: [
      {
        name: PROD_GROUP,
        launchTemplate: 'web-lt',
        min: 0,
        max: 6,
        desired: 3,
        subnets: ['subnet-0aaa11111', 'subnet-0bbb22222'],
        targetGroups: [DEMO_TARGET_GROUP_ARN],
        tags: { 'capstan:env': 'prod', team: 'shop' },
        healthCheckType: 'ELB',
        ready: true,
      },
    ],
  };
}
