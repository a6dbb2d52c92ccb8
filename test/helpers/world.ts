/**
 * The demo-like sandbox world the tests and the drills seed (pure, free of vitest): two subnets, a
 * launch template, a target group, and per environment an Auto Scaling group `<env>-web` with 3
 * instances InService behind the target group, with lifecycle steps of a few hundred milliseconds.
 */
import type { SandboxSeed, SandboxTiming, World } from '../../devkit/sandbox/index.js';

/** The `web` target group of the tests' world (the demo world's too). */
export const WEB_TG =
  'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/web-tg/0123456789abcdef';

/** Lifecycle steps quick enough for tests, slow enough for their states to be seen. */
export const TIMING = {
  instanceLaunch: 300,
  healthCheck: 200,
  standby: 200,
  exitStandby: 300,
  terminate: 200,
  asgDelete: 200,
  deregistration: 200,
} satisfies Partial<SandboxTiming>;

/** Options for {@link worldSeed}. */
export interface WorldSeedOptions {
  /** One group `<env>-web` (tagged `capstan:env`) each. */
  environments: readonly string[];
  /** The launch template the groups launch from; default `web-lt`. */
  launchTemplate?: string;
  /** The target group the groups are behind; default `web-tg` ({@link WEB_TG}). */
  targetGroup?: { name: string; arn: string };
  /** The groups' bounds (default 1 to 4) and health check type (default ELB). */
  min?: number;
  max?: number;
  healthCheckType?: 'ELB' | 'EC2';
  /** Default {@link TIMING}. */
  timing?: Partial<SandboxTiming>;
}

/** The seed of the world; spread more resources (databases, metrics) over it as needed. */
export function worldSeed(options: WorldSeedOptions): SandboxSeed {
  const launchTemplate = options.launchTemplate ?? 'web-lt';
  const tg = options.targetGroup ?? { name: 'web-tg', arn: WEB_TG };
  return {
    timing: options.timing ?? TIMING,
    subnets: [
      { id: 'subnet-0aaa11111', vpcId: 'vpc-0123abcd', availabilityZone: 'eu-west-1a', cidr: '10.0.1.0/24' },
      { id: 'subnet-0bbb22222', vpcId: 'vpc-0123abcd', availabilityZone: 'eu-west-1b', cidr: '10.0.2.0/24' },
    ],
    launchTemplates: [
      { name: launchTemplate, versions: [{ imageId: 'ami-0abc12345', instanceType: 't3.small' }] },
    ],
    targetGroups: [{ name: tg.name, arn: tg.arn, port: 8080, vpcId: 'vpc-0123abcd' }],
    autoScalingGroups: options.environments.map((env) => ({
      name: `${env}-web`,
      launchTemplate,
      min: options.min ?? 1,
      max: options.max ?? 4,
      desired: 3,
      subnets: ['subnet-0aaa11111'],
      targetGroups: [tg.arn],
      tags: { 'capstan:env': env },
      healthCheckType: options.healthCheckType ?? 'ELB',
      ready: true,
    })),
  };
}

/** A group's instances that are not terminated. */
export function liveInstances(world: World, group: string) {
  return Object.values(world.instances).filter((i) => i.group === group && i.state !== 'terminated');
}

/**
 * The group of an environment Capstan made from the `web` blueprint for `owner` (2 instances,
 * tagged as env-create tags it: env, owner, version, expiry, blueprint).
 */
export function ownedEnvironmentGroup(env: string, owner: string, version: string, expiresAt: string) {
  return {
    name: `capstan-env-${env}`,
    launchTemplate: 'web-lt',
    min: 0,
    max: 4,
    desired: 2,
    subnets: ['subnet-0aaa11111'],
    targetGroups: [WEB_TG],
    tags: {
      'capstan:env': env,
      'capstan:owner': owner,
      'capstan:version': version,
      'capstan:expires-at': expiresAt,
      'capstan:blueprint': 'web',
    },
    healthCheckType: 'EC2' as const,
    ready: true,
  };
}
