/** Elastic Load Balancing v2: target groups and the health of their targets. */
import type {
  DeregisterTargetsCommandInput,
  DescribeTargetGroupsCommandInput,
  DescribeTargetGroupsCommandOutput,
  DescribeTargetHealthCommandInput,
  DescribeTargetHealthCommandOutput,
  RegisterTargetsCommandInput,
  TargetGroup,
  TargetHealthDescription,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import type { CallContext, HandlerTable, Out } from './context.js';
import { elbError } from './errors.js';
import { deregisterTarget, registerTarget } from './lifecycle.js';
import { paginate } from './util.js';
import { nextHex, type SandboxTiming, type TargetGroupState, type TargetState, type World } from './world.js';

/** Adds a target group (seeding and CloudFormation use it; Capstan itself never creates one). */
export function addTargetGroup(
  world: World,
  spec: {
    name: string;
    arn?: string;
    protocol: string;
    port: number;
    vpcId?: string;
    healthCheckPath: string;
    loadBalancerArns?: string[];
    tags?: Record<string, string>;
  },
): TargetGroupState {
  const arn =
    spec.arn ??
    `arn:aws:elasticloadbalancing:${world.region}:${world.accountId}:targetgroup/${spec.name}/${nextHex(world, 16)}`;
  const tg: TargetGroupState = {
    arn,
    name: spec.name,
    protocol: spec.protocol,
    port: spec.port,
    vpcId: spec.vpcId ?? Object.values(world.subnets)[0]?.vpcId ?? 'vpc-00000000000000000',
    healthCheckPath: spec.healthCheckPath,
    loadBalancerArns: spec.loadBalancerArns ?? [
      `arn:aws:elasticloadbalancing:${world.region}:${world.accountId}:loadbalancer/app/${spec.name}/${nextHex(world, 16)}`,
    ],
    targets: [],
    tags: { ...(spec.tags ?? {}) },
  };
  world.targetGroups[arn] = tg;
  return tg;
}

export function targetGroupView(tg: TargetGroupState): TargetGroup {
  return {
    TargetGroupArn: tg.arn,
    TargetGroupName: tg.name,
    Protocol: tg.protocol as TargetGroup['Protocol'],
    Port: tg.port,
    VpcId: tg.vpcId,
    HealthCheckProtocol: tg.protocol as TargetGroup['Protocol'],
    HealthCheckPort: 'traffic-port',
    HealthCheckEnabled: true,
    HealthCheckIntervalSeconds: 30,
    HealthCheckTimeoutSeconds: 5,
    HealthyThresholdCount: 5,
    UnhealthyThresholdCount: 2,
    HealthCheckPath: tg.healthCheckPath,
    Matcher: { HttpCode: '200' },
    LoadBalancerArns: [...tg.loadBalancerArns],
    TargetType: 'instance',
    ProtocolVersion: 'HTTP1',
    IpAddressType: 'ipv4',
  };
}

function findGroup(world: World, arn: string | undefined): TargetGroupState {
  const tg = arn ? world.targetGroups[arn] : undefined;
  if (!tg) throw elbError('TargetGroupNotFound', `Target groups '${arn ?? ''}' not found`);
  return tg;
}

function describeTargetGroups(
  ctx: CallContext,
  input: DescribeTargetGroupsCommandInput,
): Out<DescribeTargetGroupsCommandOutput> {
  const { world } = ctx;
  const arns = input.TargetGroupArns ?? [];
  const names = input.Names ?? [];
  if (arns.length > 0 && names.length > 0) {
    throw elbError(
      'ValidationError',
      'Target group names and target group ARNs cannot be specified at the same time',
    );
  }
  let groups = Object.values(world.targetGroups).sort((a, b) => a.name.localeCompare(b.name));
  if (arns.length > 0) {
    if (arns.some((a) => !world.targetGroups[a]))
      throw elbError('TargetGroupNotFound', 'One or more target groups not found');
    groups = groups.filter((g) => arns.includes(g.arn));
  }
  if (names.length > 0) {
    if (names.some((n) => !groups.some((g) => g.name === n))) {
      throw elbError('TargetGroupNotFound', 'One or more target groups not found');
    }
    groups = groups.filter((g) => names.includes(g.name));
  }
  if (input.LoadBalancerArn)
    groups = groups.filter((g) => g.loadBalancerArns.includes(input.LoadBalancerArn as string));
  const size = input.PageSize ?? 400;
  if (!Number.isInteger(size) || size < 1 || size > 400)
    throw elbError('ValidationError', 'PageSize must be between 1 and 400');
  const { page, next } = paginate(groups, input.Marker, size, () =>
    elbError('ValidationError', 'Invalid marker'),
  );
  return { TargetGroups: page.map(targetGroupView), NextMarker: next };
}

const REASONS: Record<string, { Reason?: string; Description?: string }> = {
  healthy: {},
  draining: {
    Reason: 'Target.DeregistrationInProgress',
    Description: 'Target deregistration is in progress',
  },
  unhealthy: { Reason: 'Target.FailedHealthChecks', Description: 'Health checks failed' },
};

function healthView(
  world: World,
  t: TargetState,
  now: number,
  timing: SandboxTiming,
): TargetHealthDescription {
  let health: { State: string; Reason?: string; Description?: string };
  if (t.state === 'initial') {
    health =
      now - t.registeredAt < timing.healthCheck / 2
        ? {
            State: 'initial',
            Reason: 'Elb.RegistrationInProgress',
            Description: 'Target registration is in progress',
          }
        : {
            State: 'initial',
            Reason: 'Elb.InitialHealthChecking',
            Description: 'Initial health checks in progress',
          };
  } else if (t.state === 'unused') {
    const inst = world.instances[t.id];
    health = {
      State: 'unused',
      Reason: 'Target.InvalidState',
      Description: `Target is in the ${inst?.state === 'terminated' ? 'terminated' : 'stopped'} state`,
    };
  } else {
    health = { State: t.state, ...(REASONS[t.state] ?? {}) };
  }
  return {
    Target: { Id: t.id, Port: t.port },
    HealthCheckPort: String(t.port),
    TargetHealth: health as TargetHealthDescription['TargetHealth'],
    AdministrativeOverride: {
      State: 'no_override',
      Reason: 'AdministrativeOverride.NoOverride',
      Description: 'No override is currently active on target',
    },
  };
}

function describeTargetHealth(
  ctx: CallContext,
  input: DescribeTargetHealthCommandInput,
): Out<DescribeTargetHealthCommandOutput> {
  const { world, now, timing } = ctx;
  const tg = findGroup(world, input.TargetGroupArn);
  if (!input.Targets || input.Targets.length === 0) {
    return { TargetHealthDescriptions: tg.targets.map((t) => healthView(world, t, now, timing)) };
  }
  const out: TargetHealthDescription[] = [];
  for (const wanted of input.Targets) {
    const id = wanted.Id ?? '';
    if (!world.instances[id])
      throw elbError('InvalidTarget', `The following targets are not valid instances: '${id}'`);
    const port = wanted.Port ?? tg.port;
    const t = tg.targets.find((x) => x.id === id && x.port === port);
    if (t) {
      out.push(healthView(world, t, now, timing));
    } else {
      out.push({
        Target: { Id: id, Port: port },
        HealthCheckPort: String(port),
        TargetHealth: {
          State: 'unused',
          Reason: 'Target.NotRegistered',
          Description: 'Target is not registered to the target group',
        },
      });
    }
  }
  return { TargetHealthDescriptions: out };
}

function targetsOf(input: {
  Targets?: { Id?: string; Port?: number }[] | undefined;
}): { Id: string; Port?: number }[] {
  if (!input.Targets || input.Targets.length === 0)
    throw elbError('ValidationError', 'Targets must contain at least one target');
  return input.Targets.map((t) => {
    if (!t.Id) throw elbError('ValidationError', 'A target ID is required');
    return { Id: t.Id, Port: t.Port };
  });
}

/** The target group and targets a (de)registration names, refusing ids that are not instances. */
function knownTargets(ctx: CallContext, input: RegisterTargetsCommandInput | DeregisterTargetsCommandInput) {
  const tg = findGroup(ctx.world, input.TargetGroupArn);
  const targets = targetsOf(input);
  const invalid = targets.filter((t) => !ctx.world.instances[t.Id]).map((t) => `'${t.Id}'`);
  if (invalid.length > 0)
    throw elbError('InvalidTarget', `The following targets are not valid instances: ${invalid.join(', ')}`);
  return { tg, targets };
}

function registerTargets(ctx: CallContext, input: RegisterTargetsCommandInput): Out<object> {
  const { world, now, timing } = ctx;
  const { tg, targets } = knownTargets(ctx, input);
  const notRunning = targets
    .filter((t) => {
      const s = world.instances[t.Id]?.state;
      return s !== 'pending' && s !== 'running';
    })
    .map((t) => `'${t.Id}'`);
  if (notRunning.length > 0) {
    throw elbError(
      'InvalidTarget',
      `The following targets are not in a running state and cannot be registered: ${notRunning.join(', ')}`,
    );
  }
  for (const t of targets) registerTarget(tg, t.Id, t.Port ?? tg.port, now, timing);
  return {};
}

function deregisterTargets(ctx: CallContext, input: DeregisterTargetsCommandInput): Out<object> {
  const { now, timing } = ctx;
  const { tg, targets } = knownTargets(ctx, input);
  for (const t of targets) deregisterTarget(tg, t.Id, t.Port ?? tg.port, now, timing);
  return {};
}

export const elbv2Handlers: HandlerTable = {
  DescribeTargetGroups: describeTargetGroups,
  DescribeTargetHealth: describeTargetHealth,
  RegisterTargets: registerTargets,
  DeregisterTargets: deregisterTargets,
};
