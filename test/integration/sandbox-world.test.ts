/**
 * The sandbox's pure parts (lifecycle engine, reconciliation, aggregation, faults, seeds) as
 * functions of (world, input, now), plus the injected clock over a real Redis.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  advanceWorld,
  aggregate,
  applySeed,
  type CallContext,
  createSandbox,
  DEFAULT_TIMING,
  drawFault,
  emptyWorld,
  groupMembers,
  HANDLERS,
  parseSeed,
  reconcileAll,
  SandboxSeedError,
  type SandboxTiming,
  seededUniform,
  statistic,
  type World,
} from '../../devkit/sandbox/index.js';

const timing: SandboxTiming = {
  ...DEFAULT_TIMING,
  instanceLaunch: 100,
  healthCheck: 100,
  deregistration: 50,
  standby: 50,
  exitStandby: 50,
  terminate: 100,
  asgDelete: 50,
};
const T0 = Date.UTC(2025, 0, 1, 12);

const seed = parseSeed({
  subnets: [
    { id: 'subnet-0000000000000000a', vpcId: 'vpc-1', availabilityZone: 'eu-west-1a', cidr: '10.1.0.0/24' },
    { id: 'subnet-0000000000000000b', vpcId: 'vpc-1', availabilityZone: 'eu-west-1b', cidr: '10.1.1.0/24' },
  ],
  launchTemplates: [{ name: 'app', versions: [{ imageId: 'ami-1', instanceType: 't3.micro' }] }],
  targetGroups: [{ name: 'app-tg', port: 80 }],
});

/** Runs a command as the sandbox does: advance to `now`, apply, reconcile. */
function run(world: World, service: keyof typeof HANDLERS, command: string, input: object, now: number) {
  advanceWorld(world, now, timing);
  const ctx: CallContext = { world, now, timing };
  const out = HANDLERS[service][command]?.(ctx, input);
  reconcileAll(world, now, timing);
  return out;
}

function worldWithGroup(desired: number): World {
  const world = emptyWorld('unit');
  applySeed(world, seed, T0, timing);
  const tg = Object.keys(world.targetGroups)[0] as string;
  run(
    world,
    'AutoScaling',
    'CreateAutoScalingGroup',
    {
      AutoScalingGroupName: 'g',
      LaunchTemplate: { LaunchTemplateName: 'app' },
      MinSize: 0,
      MaxSize: 5,
      DesiredCapacity: desired,
      VPCZoneIdentifier: 'subnet-0000000000000000a,subnet-0000000000000000b',
      TargetGroupARNs: [tg],
    },
    T0,
  );
  return world;
}

describe('lifecycle engine (pure)', () => {
  it('applies transitions at their due time, whatever the steps it is advanced in', () => {
    const stepwise = worldWithGroup(3);
    const atOnce = structuredClone(stepwise);
    for (let t = T0; t < T0 + 1_000; t += 7) advanceWorld(stepwise, t, timing);
    advanceWorld(stepwise, T0 + 1_000, timing);
    advanceWorld(atOnce, T0 + 1_000, timing);
    expect(atOnce).toEqual(stepwise);
    const [inst] = groupMembers(atOnce, 'g');
    expect(inst?.history).toEqual([
      { state: 'Pending', at: T0 },
      { state: 'running', at: T0 + 100 },
      { state: 'InService', at: T0 + 100 },
    ]);
    const tg = Object.values(atOnce.targetGroups)[0];
    expect(tg?.targets.map((t) => [t.state, t.history.at(-1)?.at])).toEqual([
      ['healthy', T0 + 200],
      ['healthy', T0 + 200],
      ['healthy', T0 + 200],
    ]);
  });

  it('is deterministic: the same calls on the same world give the same world', () => {
    const a = worldWithGroup(2);
    const b = worldWithGroup(2);
    expect(a).toEqual(b);
  });

  it('does not count Standby toward desired, and scales in newest first, sparing protected instances', () => {
    const world = worldWithGroup(3);
    advanceWorld(world, T0 + 500, timing);
    const [oldest, middle, newest] = groupMembers(world, 'g').map((i) => i.id) as [string, string, string];
    run(
      world,
      'AutoScaling',
      'EnterStandby',
      { AutoScalingGroupName: 'g', InstanceIds: [oldest], ShouldDecrementDesiredCapacity: false },
      T0 + 500,
    );
    // Not decremented: a replacement launches at once.
    const members = groupMembers(world, 'g');
    expect(members.map((i) => i.lifecycle)).toEqual(['EnteringStandby', 'InService', 'InService', 'Pending']);
    advanceWorld(world, T0 + 1_000, timing);
    expect(world.groups.g?.desired).toBe(3);
    const latest = groupMembers(world, 'g').at(-1)?.id as string;

    const middleInst = world.instances[middle];
    if (middleInst) middleInst.protectedFromScaleIn = true;
    run(
      world,
      'AutoScaling',
      'SetDesiredCapacity',
      { AutoScalingGroupName: 'g', DesiredCapacity: 1 },
      T0 + 1_000,
    );
    const lifecycles = Object.fromEntries(groupMembers(world, 'g').map((i) => [i.id, i.lifecycle]));
    expect(lifecycles).toEqual({
      [oldest]: 'Standby',
      [middle]: 'InService',
      [newest]: 'Terminating',
      [latest]: 'Terminating',
    });
  });

  it('replaces an instance marked Unhealthy unless ReplaceUnhealthy is suspended', () => {
    const world = worldWithGroup(1);
    advanceWorld(world, T0 + 500, timing);
    const id = groupMembers(world, 'g')[0]?.id as string;
    run(
      world,
      'AutoScaling',
      'SuspendProcesses',
      { AutoScalingGroupName: 'g', ScalingProcesses: ['ReplaceUnhealthy'] },
      T0 + 500,
    );
    run(world, 'AutoScaling', 'SetInstanceHealth', { InstanceId: id, HealthStatus: 'Unhealthy' }, T0 + 500);
    expect(groupMembers(world, 'g').map((i) => i.lifecycle)).toEqual(['InService']);
    run(world, 'AutoScaling', 'ResumeProcesses', { AutoScalingGroupName: 'g' }, T0 + 600);
    expect(groupMembers(world, 'g').map((i) => [i.id === id, i.lifecycle])).toEqual([
      [true, 'Terminating'],
      [false, 'Pending'],
    ]);
  });
});

describe('aggregation, faults and seeds (pure)', () => {
  it('aggregates points into epoch-aligned period buckets', () => {
    const points = [
      { t: 0, v: 1 },
      { t: 30_000, v: 3 },
      { t: 60_000, v: 10 },
      { t: 119_999, v: 20 },
      { t: 120_000, v: 99 },
    ];
    expect(aggregate(points, 0, 120_000, 60, 'Average')).toEqual([
      { t: 0, v: 2 },
      { t: 60_000, v: 15 },
    ]);
    expect(statistic('p90', [1, 2, 3, 4, 5, 6, 7, 8, 9, 10])).toBe(9);
    expect(statistic('SampleCount', [5, 5])).toBe(2);
  });

  it('injects faults at the configured rate, reproducibly with a seed', () => {
    const draw = (seedValue: number) => {
      const world = emptyWorld();
      world.faults = { throttleRate: 0.2, transientRate: 0.1, seed: seedValue };
      return Array.from({ length: 2_000 }, () => drawFault(world, 'EC2', 'DescribeInstances')?.code ?? 'ok');
    };
    const first = draw(42);
    expect(draw(42)).toEqual(first);
    const throttled = first.filter((c) => c === 'RequestLimitExceeded').length / first.length;
    const transient = first.filter((c) => c === 'InternalError' || c === 'Unavailable').length / first.length;
    expect(throttled).toBeGreaterThan(0.15);
    expect(throttled).toBeLessThan(0.25);
    expect(transient).toBeGreaterThan(0.06);
    expect(transient).toBeLessThan(0.14);
    expect(seededUniform(1, 0)).not.toBe(seededUniform(2, 0));
  });

  it('seeds idempotently; a ready group starts InService and healthy', () => {
    const world = emptyWorld('seed');
    const ready = parseSeed({
      ...seed,
      autoScalingGroups: [
        {
          name: 'live',
          launchTemplate: 'app',
          min: 2,
          max: 4,
          subnets: ['subnet-0000000000000000a'],
          targetGroups: ['app-tg'],
          tags: { env: 'live' },
          ready: true,
        },
      ],
    });
    applySeed(world, ready, T0, timing);
    const once = structuredClone(world);
    applySeed(world, ready, T0, timing);
    expect(world).toEqual(once);
    expect(groupMembers(world, 'live').map((i) => [i.lifecycle, i.state])).toEqual([
      ['InService', 'running'],
      ['InService', 'running'],
    ]);
    expect(Object.values(world.targetGroups)[0]?.targets.map((t) => t.state)).toEqual(['healthy', 'healthy']);
    expect(groupMembers(world, 'live')[0]?.tags).toContainEqual({ Key: 'env', Value: 'live' });
  });

  it('names what is wrong in a bad seed', () => {
    expect(() =>
      parseSeed({ subnets: [{ id: 'subnet-1', vpcId: 'v', availabilityZone: 'a', cidr: 'nope' }] }),
    ).toThrow(SandboxSeedError);
    expect(() => parseSeed({ groups: [] })).toThrow(/groups/);
    const badGroup = parseSeed({
      ...seed,
      autoScalingGroups: [{ name: 'lost', launchTemplate: 'app', min: 0, max: 1, subnets: ['subnet-0nope'] }],
    });
    expect(() => applySeed(emptyWorld(), badGroup, T0, timing)).toThrow(
      "autoScalingGroups lost: The subnet ID 'subnet-0nope' does not exist",
    );
  });
});

describe('injected clock over Redis', () => {
  let redis: Redis;
  const prefix = `{t-${randomBytes(4).toString('hex')}}`;

  beforeAll(() => {
    redis = new Redis(inject('redisUrl'));
  });
  afterAll(async () => {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
  });

  it('moves every process sharing the world forward with advance(ms)', async () => {
    const frozen = () => T0;
    const a = createSandbox({
      redis,
      prefix,
      now: frozen,
      timing: { instanceLaunch: 10_000, healthCheck: 5_000 },
    });
    const b = createSandbox({ redis, prefix, now: frozen });
    await a.seed({ ...seed, timing: { instanceLaunch: 10_000, healthCheck: 5_000 } });
    await b.call('AutoScaling', 'CreateAutoScalingGroup', {
      AutoScalingGroupName: 'clocked',
      LaunchTemplate: { LaunchTemplateName: 'app' },
      MinSize: 1,
      MaxSize: 1,
      VPCZoneIdentifier: 'subnet-0000000000000000a',
      TargetGroupARNs: Object.keys((await a.snapshot()).targetGroups),
    });
    const pending = await b.snapshot();
    expect(groupMembers(pending, 'clocked').map((i) => i.lifecycle)).toEqual(['Pending']);

    // The world's own timing (from the seed) applies to b too, whose options gave none.
    await a.advance(9_999);
    expect(groupMembers(await b.snapshot(), 'clocked').map((i) => i.lifecycle)).toEqual(['Pending']);
    const later = await a.advance(1);
    expect(groupMembers(later, 'clocked').map((i) => i.lifecycle)).toEqual(['InService']);
    const out = await b.call<{ TargetHealthDescriptions: { TargetHealth: { State: string } }[] }>(
      'ElasticLoadBalancingV2',
      'DescribeTargetHealth',
      { TargetGroupArn: Object.keys(later.targetGroups)[0] },
    );
    expect(out.TargetHealthDescriptions.map((d) => d.TargetHealth.State)).toEqual(['initial']);
    await b.advance(5_000);
    const healthy = await a.call<{ TargetHealthDescriptions: { TargetHealth: { State: string } }[] }>(
      'ElasticLoadBalancingV2',
      'DescribeTargetHealth',
      { TargetGroupArn: Object.keys(later.targetGroups)[0] },
    );
    expect(healthy.TargetHealthDescriptions.map((d) => d.TargetHealth.State)).toEqual(['healthy']);
  });
});
