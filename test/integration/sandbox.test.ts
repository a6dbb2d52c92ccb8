/**
 * The AWS sandbox beneath the real SDK v3 clients, over a real Redis: state across calls,
 * lifecycles on the clock, AWS's own errors, SDK waiters/paginators/retries, shared worlds.
 */
import { randomBytes } from 'node:crypto';
import {
  AlreadyExistsFault,
  AttachInstancesCommand,
  AutoScalingClient,
  AutoScalingServiceException,
  CreateAutoScalingGroupCommand,
  CreateOrUpdateTagsCommand,
  DeleteAutoScalingGroupCommand,
  DescribeAutoScalingGroupsCommand,
  DescribeAutoScalingInstancesCommand,
  DescribeScalingActivitiesCommand,
  DescribeTagsCommand,
  EnterStandbyCommand,
  ExitStandbyCommand,
  paginateDescribeAutoScalingGroups,
  ResourceInUseFault,
  ResumeProcessesCommand,
  ScalingActivityInProgressFault,
  SetDesiredCapacityCommand,
  SuspendProcessesCommand,
  UpdateAutoScalingGroupCommand,
  waitUntilGroupInService,
  waitUntilGroupNotExists,
} from '@aws-sdk/client-auto-scaling';
import {
  CloudWatchClient,
  GetMetricDataCommand,
  GetMetricStatisticsCommand,
} from '@aws-sdk/client-cloudwatch';
import {
  CreateLaunchTemplateVersionCommand,
  DeleteLaunchTemplateCommand,
  DescribeInstancesCommand,
  DescribeLaunchTemplatesCommand,
  DescribeLaunchTemplateVersionsCommand,
  EC2Client,
  EC2ServiceException,
} from '@aws-sdk/client-ec2';
import {
  DescribeTargetGroupsCommand,
  DescribeTargetHealthCommand,
  ElasticLoadBalancingV2Client,
  TargetGroupNotFoundException,
  waitUntilTargetInService,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import {
  AddTagsToResourceCommand,
  DBInstanceNotFoundFault,
  DeleteDBInstanceCommand,
  DescribeDBInstancesCommand,
  ListTagsForResourceCommand,
  RDSClient,
} from '@aws-sdk/client-rds';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createSandbox, type Sandbox, type SandboxTiming } from '../../devkit/sandbox/index.js';

const prefix = `{t-${randomBytes(4).toString('hex')}}`;
const timing: Partial<SandboxTiming> = {
  // Long enough that a state checked right after the call that caused it is still there on a busy machine.
  instanceLaunch: 300,
  healthCheck: 200,
  deregistration: 300,
  standby: 300,
  exitStandby: 300,
  terminate: 300,
  asgDelete: 150,
  dbCreate: 200,
  dbDelete: 200,
};
const region = 'eu-west-1';
const credentials = { accessKeyId: 'sandbox', secretAccessKey: 'sandbox' };
const SUBNETS = 'subnet-0a1b2c3d4e5f60001,subnet-0a1b2c3d4e5f60002';
/** Waiters poll fast against the sandbox (their AWS defaults are 15 s or more). */
const fast = { minDelay: 0.05, maxDelay: 0.2, maxWaitTime: 10 };

let redis: Redis;
let other: Redis;
let sandbox: Sandbox;
let asg: AutoScalingClient;
let ec2: EC2Client;
let elb: ElasticLoadBalancingV2Client;
let rds: RDSClient;
let cw: CloudWatchClient;
let webTg: string;

async function until<T>(probe: () => Promise<T | undefined | false>, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function failure(
  promise: Promise<unknown>,
): Promise<Error & { Code?: string; $metadata?: { httpStatusCode?: number; attempts?: number } }> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the call to fail');
}

async function group(name: string) {
  const out = await asg.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [name] }));
  return out.AutoScalingGroups?.[0];
}

async function createGroup(
  name: string,
  extra: Partial<ConstructorParameters<typeof CreateAutoScalingGroupCommand>[0]> = {},
) {
  await asg.send(
    new CreateAutoScalingGroupCommand({
      AutoScalingGroupName: name,
      LaunchTemplate: { LaunchTemplateName: 'web', Version: '$Default' },
      MinSize: 0,
      MaxSize: 4,
      DesiredCapacity: 0,
      VPCZoneIdentifier: SUBNETS,
      ...extra,
    }),
  );
}

beforeAll(async () => {
  redis = new Redis(inject('redisUrl'));
  other = new Redis(inject('redisUrl'));
  sandbox = createSandbox({ redis, prefix, timing });
  await sandbox.reset();
  await sandbox.loadSeedFile('test/fixtures/sandbox/world.yml');
  asg = sandbox.attach(new AutoScalingClient({ region, credentials }));
  ec2 = sandbox.attach(new EC2Client({ region, credentials }));
  elb = sandbox.attach(new ElasticLoadBalancingV2Client({ region, credentials }));
  rds = sandbox.attach(new RDSClient({ region, credentials }));
  cw = sandbox.attach(new CloudWatchClient({ region, credentials }));
  const tgs = await elb.send(new DescribeTargetGroupsCommand({ Names: ['web-tg'] }));
  webTg = tgs.TargetGroups?.[0]?.TargetGroupArn ?? '';
});

afterAll(async () => {
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length > 0) await redis.del(...keys);
  await redis.quit();
  await other.quit();
});

describe('Auto Scaling group lifecycle', () => {
  const name = 'web-a';
  let ids: string[] = [];

  it('launches the instances of a new group: Pending, then InService and healthy in its target group', async () => {
    await createGroup(name, {
      MinSize: 2,
      DesiredCapacity: 2,
      TargetGroupARNs: [webTg],
      Tags: [
        { Key: 'env', Value: 'a', PropagateAtLaunch: true },
        { Key: 'owner', Value: 'ops', PropagateAtLaunch: false },
      ],
    });
    const fresh = await group(name);
    expect(fresh?.DesiredCapacity).toBe(2);
    expect(fresh?.Instances?.map((i) => i.LifecycleState)).toEqual(['Pending', 'Pending']);
    ids = (fresh?.Instances ?? []).map((i) => i.InstanceId as string);

    await waitUntilGroupInService({ client: asg, ...fast }, { AutoScalingGroupNames: [name] });
    const ready = await group(name);
    expect(ready?.Instances?.map((i) => [i.LifecycleState, i.HealthStatus])).toEqual([
      ['InService', 'Healthy'],
      ['InService', 'Healthy'],
    ]);
    // Balanced over the two subnets' zones.
    expect(new Set(ready?.Instances?.map((i) => i.AvailabilityZone))).toEqual(
      new Set(['eu-west-1a', 'eu-west-1b']),
    );

    await waitUntilTargetInService(
      { client: elb, ...fast },
      { TargetGroupArn: webTg, Targets: ids.map((Id) => ({ Id })) },
    );
    const health = await elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: webTg }));
    expect(
      health.TargetHealthDescriptions?.map((d) => [
        d.Target?.Id,
        d.Target?.Port,
        d.TargetHealth?.State,
      ]).sort(),
    ).toEqual(ids.map((id) => [id, 8080, 'healthy']).sort());

    const ec2View = await ec2.send(
      new DescribeInstancesCommand({ Filters: [{ Name: 'tag:aws:autoscaling:groupName', Values: [name] }] }),
    );
    const instances = (ec2View.Reservations ?? []).flatMap((r) => r.Instances ?? []);
    expect(instances.map((i) => i.InstanceId).sort()).toEqual([...ids].sort());
    for (const i of instances) {
      expect(i.State?.Name).toBe('running');
      expect(i.ImageId).toBe('ami-0aaaaaaaaaaaaaaa1');
      expect(i.InstanceType).toBe('t3.small');
      expect(i.PrivateIpAddress).toMatch(/^127\.20\.[12]\.\d+$/);
      expect(i.LaunchTime).toBeInstanceOf(Date);
      const tags = Object.fromEntries((i.Tags ?? []).map((t) => [t.Key, t.Value]));
      expect(tags).toMatchObject({ env: 'a', app: 'web', 'aws:autoscaling:groupName': name });
      expect(tags.owner).toBeUndefined();
    }

    // State, not only messages: each instance went through its lifecycle in order.
    const world = await sandbox.snapshot();
    for (const id of ids) {
      const states = world.instances[id]?.history.map((h) => h.state);
      expect(states).toEqual(['Pending', 'running', 'InService']);
    }
  });

  it('moves an instance to Standby (deregistered, desired −1) and back (InService and healthy again)', async () => {
    const [first, second] = ids as [string, string];
    // Standby with a smaller desired capacity needs room under the minimum.
    await asg.send(new UpdateAutoScalingGroupCommand({ AutoScalingGroupName: name, MinSize: 1 }));
    const entered = await asg.send(
      new EnterStandbyCommand({
        AutoScalingGroupName: name,
        InstanceIds: [first],
        ShouldDecrementDesiredCapacity: true,
      }),
    );
    expect(entered.Activities?.[0]?.Description).toBe(`Moving EC2 instance to Standby: ${first}`);
    expect(entered.Activities?.[0]?.StatusCode).toBe('InProgress');
    const entering = await group(name);
    expect(entering?.DesiredCapacity).toBe(1);
    expect(entering?.Instances?.find((i) => i.InstanceId === first)?.LifecycleState).toBe('EnteringStandby');
    const draining = await elb.send(
      new DescribeTargetHealthCommand({ TargetGroupArn: webTg, Targets: [{ Id: first }] }),
    );
    expect(draining.TargetHealthDescriptions?.[0]?.TargetHealth).toMatchObject({
      State: 'draining',
      Reason: 'Target.DeregistrationInProgress',
    });

    await until(
      async () =>
        (await group(name))?.Instances?.find((i) => i.InstanceId === first)?.LifecycleState === 'Standby',
    );
    const standby = await group(name);
    // No replacement: a Standby instance does not count toward the desired capacity.
    expect(standby?.Instances?.map((i) => i.LifecycleState).sort()).toEqual(['InService', 'Standby']);
    await until(async () => {
      const h = await elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: webTg }));
      return h.TargetHealthDescriptions?.length === 1 && h.TargetHealthDescriptions[0]?.Target?.Id === second;
    });
    const gone = await elb.send(
      new DescribeTargetHealthCommand({ TargetGroupArn: webTg, Targets: [{ Id: first }] }),
    );
    expect(gone.TargetHealthDescriptions?.[0]?.TargetHealth?.Reason).toBe('Target.NotRegistered');

    // Only an InService instance can enter Standby.
    const notInService = await failure(
      asg.send(
        new EnterStandbyCommand({
          AutoScalingGroupName: name,
          InstanceIds: [first],
          ShouldDecrementDesiredCapacity: true,
        }),
      ),
    );
    expect(notInService.name).toBe('ValidationError');
    expect(notInService).toBeInstanceOf(AutoScalingServiceException);

    await asg.send(new ExitStandbyCommand({ AutoScalingGroupName: name, InstanceIds: [first] }));
    const exiting = await group(name);
    expect(exiting?.DesiredCapacity).toBe(2);
    expect(exiting?.Instances?.find((i) => i.InstanceId === first)?.LifecycleState).toBe('Pending');
    await waitUntilGroupInService({ client: asg, ...fast }, { AutoScalingGroupNames: [name] });
    await waitUntilTargetInService(
      { client: elb, ...fast },
      { TargetGroupArn: webTg, Targets: [{ Id: first }] },
    );
    const back = await group(name);
    expect(back?.Instances?.map((i) => i.LifecycleState)).toEqual(['InService', 'InService']);

    const details = await asg.send(new DescribeAutoScalingInstancesCommand({ InstanceIds: [first] }));
    expect(details.AutoScalingInstances?.[0]).toMatchObject({
      AutoScalingGroupName: name,
      LifecycleState: 'InService',
      HealthStatus: 'HEALTHY',
    });
    const activities = await asg.send(new DescribeScalingActivitiesCommand({ AutoScalingGroupName: name }));
    expect(activities.Activities?.[0]?.Description).toBe(`Moving EC2 instance out of Standby: ${first}`);
  });

  it('suspends and resumes processes: no launches while Launch is suspended', async () => {
    await asg.send(new SuspendProcessesCommand({ AutoScalingGroupName: name, ScalingProcesses: ['Launch'] }));
    expect((await group(name))?.SuspendedProcesses).toEqual([
      { ProcessName: 'Launch', SuspensionReason: expect.stringMatching(/^User suspended at \d{4}-/) },
    ]);
    await asg.send(new SetDesiredCapacityCommand({ AutoScalingGroupName: name, DesiredCapacity: 3 }));
    await new Promise((r) => setTimeout(r, 400));
    expect((await group(name))?.Instances).toHaveLength(2);

    await asg.send(new ResumeProcessesCommand({ AutoScalingGroupName: name }));
    const resumed = await group(name);
    expect(resumed?.SuspendedProcesses).toEqual([]);
    expect(resumed?.Instances?.map((i) => i.LifecycleState)).toEqual(['InService', 'InService', 'Pending']);
    const third = resumed?.Instances?.[2]?.InstanceId as string;
    await until(async () => (await group(name))?.Instances?.every((i) => i.LifecycleState === 'InService'));

    // Scaling in terminates the newest instance.
    await asg.send(new SetDesiredCapacityCommand({ AutoScalingGroupName: name, DesiredCapacity: 2 }));
    expect((await group(name))?.Instances?.find((i) => i.InstanceId === third)?.LifecycleState).toBe(
      'Terminating',
    );
    const shutting = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [third] }));
    expect(shutting.Reservations?.[0]?.Instances?.[0]?.State?.Name).toBe('shutting-down');
    await until(async () => (await group(name))?.Instances?.length === 2);
    const done = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [third] }));
    expect(done.Reservations?.[0]?.Instances?.[0]?.State).toEqual({ Code: 48, Name: 'terminated' });
  });

  it('refuses to delete a group with instances, then deletes it once scaled to zero', async () => {
    const inUse = await failure(asg.send(new DeleteAutoScalingGroupCommand({ AutoScalingGroupName: name })));
    expect(inUse.name).toBe('ResourceInUseFault');
    expect(inUse.Code).toBe('ResourceInUse');
    expect(inUse).toBeInstanceOf(ResourceInUseFault);
    expect(inUse).toBeInstanceOf(AutoScalingServiceException);
    expect(inUse.$metadata?.httpStatusCode).toBe(400);

    await asg.send(
      new UpdateAutoScalingGroupCommand({ AutoScalingGroupName: name, MinSize: 0, DesiredCapacity: 0 }),
    );
    const members = (await group(name))?.Instances ?? [];
    expect(members.map((i) => i.LifecycleState)).toEqual(['Terminating', 'Terminating']);
    // Still terminating: a scaling activity is in progress.
    const busy = await failure(asg.send(new DeleteAutoScalingGroupCommand({ AutoScalingGroupName: name })));
    expect(busy).toBeInstanceOf(ScalingActivityInProgressFault);

    await until(async () => (await group(name))?.Instances?.length === 0);
    await asg.send(new DeleteAutoScalingGroupCommand({ AutoScalingGroupName: name }));
    expect((await group(name))?.Status).toBe('Delete in progress');
    const modify = await failure(
      asg.send(new SetDesiredCapacityCommand({ AutoScalingGroupName: name, DesiredCapacity: 1 })),
    );
    expect(modify.name).toBe('ValidationError');
    await waitUntilGroupNotExists({ client: asg, ...fast }, { AutoScalingGroupNames: [name] });
    expect(await group(name)).toBeUndefined();

    const ec2View = await ec2.send(new DescribeInstancesCommand({ InstanceIds: ids }));
    expect(ec2View.Reservations?.flatMap((r) => r.Instances ?? []).map((i) => i.State?.Name)).toEqual([
      'terminated',
      'terminated',
    ]);
  });

  it('force-deletes a group with running instances: Delete in progress, instances terminated, then gone', async () => {
    await createGroup('web-force', { MinSize: 1, DesiredCapacity: 1 });
    await waitUntilGroupInService({ client: asg, ...fast }, { AutoScalingGroupNames: ['web-force'] });
    const id = (await group('web-force'))?.Instances?.[0]?.InstanceId as string;
    await asg.send(
      new DeleteAutoScalingGroupCommand({ AutoScalingGroupName: 'web-force', ForceDelete: true }),
    );
    const deleting = await group('web-force');
    expect(deleting?.Status).toBe('Delete in progress');
    expect(deleting?.Instances?.[0]?.LifecycleState).toBe('Terminating');
    await waitUntilGroupNotExists({ client: asg, ...fast }, { AutoScalingGroupNames: ['web-force'] });
    const view = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }));
    expect(view.Reservations?.[0]?.Instances?.[0]?.State?.Name).toBe('terminated');
  });
});

describe('AWS errors', () => {
  it('answers AlreadyExists, ValidationError and EC2/ELB/RDS codes as the SDK reports them', async () => {
    await createGroup('dup');
    const dup = await failure(createGroup('dup'));
    expect(dup.name).toBe('AlreadyExistsFault');
    expect(dup.Code).toBe('AlreadyExists');
    expect(dup).toBeInstanceOf(AlreadyExistsFault);

    const unknown = await failure(
      asg.send(new UpdateAutoScalingGroupCommand({ AutoScalingGroupName: 'nope', DesiredCapacity: 1 })),
    );
    expect(unknown.name).toBe('ValidationError');
    expect(unknown).toBeInstanceOf(AutoScalingServiceException);
    expect(unknown.message).toContain("'nope' not found");

    const badTemplate = await failure(
      createGroup('bad-lt', { LaunchTemplate: { LaunchTemplateName: 'missing' } }),
    );
    expect(badTemplate.name).toBe('ValidationError');
    const badSizes = await failure(createGroup('bad-sizes', { MinSize: 3, MaxSize: 2 }));
    expect(badSizes.message).toBe('Max bound, 2, must be greater than or equal to min bound, 3');

    const missing = await failure(
      ec2.send(new DescribeInstancesCommand({ InstanceIds: ['i-0123456789abcdef0'] })),
    );
    expect(missing.name).toBe('InvalidInstanceID.NotFound');
    expect(missing).toBeInstanceOf(EC2ServiceException);
    const malformed = await failure(ec2.send(new DescribeInstancesCommand({ InstanceIds: ['i-xyz'] })));
    expect(malformed.name).toBe('InvalidInstanceID.Malformed');

    const tg = await failure(elb.send(new DescribeTargetGroupsCommand({ Names: ['no-such-tg'] })));
    expect(tg).toBeInstanceOf(TargetGroupNotFoundException);
    expect(tg.Code).toBe('TargetGroupNotFound');

    const db = await failure(
      rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: 'no-such-db' })),
    );
    expect(db).toBeInstanceOf(DBInstanceNotFoundFault);
    expect(db.$metadata?.httpStatusCode).toBe(404);
  });

  it('fails loudly on commands it does not emulate', async () => {
    const error = await failure(
      asg.send(new AttachInstancesCommand({ AutoScalingGroupName: 'dup', InstanceIds: [] })),
    );
    expect(error.name).toBe('UnsupportedOperation');
    expect(error.message).toContain('AutoScaling:AttachInstances');
  });
});

describe('EC2 launch templates', () => {
  it('describes seeded templates and adds versions over a source version', async () => {
    const lts = await ec2.send(
      new DescribeLaunchTemplatesCommand({ Filters: [{ Name: 'tag:team', Values: ['web'] }] }),
    );
    expect(
      lts.LaunchTemplates?.map((t) => [t.LaunchTemplateName, t.DefaultVersionNumber, t.LatestVersionNumber]),
    ).toEqual([['web', 1, 2]]);
    const created = await ec2.send(
      new CreateLaunchTemplateVersionCommand({
        LaunchTemplateName: 'web',
        SourceVersion: '1',
        VersionDescription: 'large',
        LaunchTemplateData: { InstanceType: 't3.large' },
      }),
    );
    expect(created.LaunchTemplateVersion?.VersionNumber).toBe(3);
    const latest = await ec2.send(
      new DescribeLaunchTemplateVersionsCommand({ LaunchTemplateName: 'web', Versions: ['$Latest'] }),
    );
    expect(latest.LaunchTemplateVersions?.[0]?.LaunchTemplateData).toMatchObject({
      ImageId: 'ami-0aaaaaaaaaaaaaaa1',
      InstanceType: 't3.large',
    });
    const gone = await failure(
      ec2.send(new DeleteLaunchTemplateCommand({ LaunchTemplateName: 'never-made' })),
    );
    expect(gone.name).toBe('InvalidLaunchTemplateName.NotFoundException');
  });
});

describe('paging, sharing and faults', () => {
  it('pages DescribeAutoScalingGroups with the SDK paginator', async () => {
    for (const n of ['page-1', 'page-2', 'page-3']) {
      await createGroup(n, { Tags: [{ Key: 'suite', Value: 'paging' }] });
    }
    const pages: string[][] = [];
    for await (const page of paginateDescribeAutoScalingGroups(
      { client: asg, pageSize: 1 },
      { Filters: [{ Name: 'tag:suite', Values: ['paging'] }] },
    )) {
      pages.push((page.AutoScalingGroups ?? []).map((g) => g.AutoScalingGroupName as string));
    }
    expect(pages).toEqual([['page-1'], ['page-2'], ['page-3']]);
  });

  it('shares one world between separate sandbox objects (as separate processes would)', async () => {
    const second = createSandbox({ redis: other, prefix, timing });
    const asg2 = second.attach(new AutoScalingClient({ region, credentials }));
    await asg2.send(
      new CreateAutoScalingGroupCommand({
        AutoScalingGroupName: 'shared',
        LaunchTemplate: { LaunchTemplateName: 'web' },
        MinSize: 1,
        MaxSize: 2,
        VPCZoneIdentifier: SUBNETS,
      }),
    );
    const seen = await group('shared');
    expect(seen?.Instances).toHaveLength(1);
    // Concurrent writers from both: optimistic transactions lose no update.
    await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        (i % 2 ? asg : asg2).send(
          new CreateOrUpdateTagsCommand({
            Tags: [
              { ResourceId: 'shared', ResourceType: 'auto-scaling-group', Key: `k${i}`, Value: String(i) },
            ],
          }),
        ),
      ),
    );
    const tags = await asg2.send(
      new DescribeTagsCommand({ Filters: [{ Name: 'auto-scaling-group', Values: ['shared'] }] }),
    );
    expect(tags.Tags?.map((t) => t.Key).sort()).toEqual(Array.from({ length: 12 }, (_, i) => `k${i}`).sort());
    await waitUntilGroupInService({ client: asg2, ...fast }, { AutoScalingGroupNames: ['shared'] });
    expect((await group('shared'))?.Instances?.[0]?.LifecycleState).toBe('InService');
  });

  it('injects throttling that the SDK retries through, and counts it', async () => {
    const patient = sandbox.attach(new AutoScalingClient({ region, credentials, maxAttempts: 10 }));
    await sandbox.setFaults({ throttleRate: 0.3, seed: 7 });
    const before = (await sandbox.faults()).counters.throttling;
    let retried = 0;
    for (let i = 0; i < 8; i++) {
      const out = await patient.send(
        new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: ['shared'] }),
      );
      expect(out.AutoScalingGroups?.[0]?.AutoScalingGroupName).toBe('shared');
      if ((out.$metadata.attempts ?? 1) > 1) retried += 1;
    }
    const after = await sandbox.faults();
    expect(after.counters.throttling).toBeGreaterThan(before);
    expect(after.counters.byCommand['AutoScaling:DescribeAutoScalingGroups']?.throttling).toBeGreaterThan(0);
    expect(retried).toBeGreaterThan(0);

    // Out of attempts: the caller sees AWS's throttling error.
    await sandbox.setFaults({ throttleRate: 0, transientRate: 1 });
    const impatient = sandbox.attach(new RDSClient({ region, credentials, maxAttempts: 2 }));
    const error = await failure(impatient.send(new DescribeDBInstancesCommand({})));
    expect(['InternalFailure', 'ServiceUnavailable']).toContain(error.name);
    expect(error.$metadata?.attempts).toBe(2);
    await sandbox.setFaults({ throttleRate: 0, transientRate: 0 });
    expect((await sandbox.faults()).counters.transient).toBeGreaterThanOrEqual(2);
  });
});

describe('RDS', () => {
  it('describes a seeded DB instance with its storage, endpoint and tags', async () => {
    const out = await rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: 'orders-db' }));
    const db = out.DBInstances?.[0];
    expect(db).toMatchObject({
      DBInstanceIdentifier: 'orders-db',
      Engine: 'mysql',
      EngineVersion: '8.0.39',
      DBInstanceClass: 'db.r6g.large',
      DBInstanceStatus: 'available',
      AllocatedStorage: 200,
      StorageType: 'gp3',
      Iops: 3000,
      StorageThroughput: 125,
      Endpoint: { Address: '127.0.0.1', Port: 3307 },
      MultiAZ: true,
      DeletionProtection: true,
      TagList: [{ Key: 'env', Value: 'prod' }],
    });
    expect(db?.InstanceCreateTime?.getTime()).toBeLessThan(Date.now() - 29 * 86_400_000);
    expect(db?.LatestRestorableTime?.getTime()).toBeGreaterThan(Date.now() - 10 * 60_000);

    await rds.send(
      new AddTagsToResourceCommand({
        ResourceName: db?.DBInstanceArn,
        Tags: [{ Key: 'team', Value: 'orders' }],
      }),
    );
    const tags = await rds.send(new ListTagsForResourceCommand({ ResourceName: db?.DBInstanceArn }));
    expect(tags.TagList).toEqual([
      { Key: 'env', Value: 'prod' },
      { Key: 'team', Value: 'orders' },
    ]);

    const protectedDb = await failure(
      rds.send(new DeleteDBInstanceCommand({ DBInstanceIdentifier: 'orders-db', SkipFinalSnapshot: true })),
    );
    expect(protectedDb.name).toBe('InvalidParameterCombination');
  });

  it('deletes a DB instance: deleting, then gone', async () => {
    const out = await rds.send(
      new DeleteDBInstanceCommand({ DBInstanceIdentifier: 'scratch-db', SkipFinalSnapshot: true }),
    );
    expect(out.DBInstance?.DBInstanceStatus).toBe('deleting');
    await until(async () => {
      const e = await failure(
        rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: 'scratch-db' })),
      ).catch(() => undefined);
      return e?.name === 'DBInstanceNotFoundFault';
    });
  });
});

describe('CloudWatch', () => {
  it('aggregates stored points per period and statistic', async () => {
    const t0 = Math.floor(Date.now() / 3_600_000) * 3_600_000 - 3_600_000;
    await sandbox.putMetricData({
      namespace: 'AWS/RDS',
      metricName: 'WriteIOPS',
      dimensions: { DBInstanceIdentifier: 'orders-db' },
      unit: 'Count/Second',
      points: [
        { t: t0, v: 10 },
        { t: t0 + 60_000, v: 20 },
        { t: t0 + 120_000, v: 30 },
        { t: t0 + 300_000, v: 40 },
        { t: t0 + 360_000, v: 60 },
      ],
    });
    const metric = {
      Namespace: 'AWS/RDS',
      MetricName: 'WriteIOPS',
      Dimensions: [{ Name: 'DBInstanceIdentifier', Value: 'orders-db' }],
    };
    const stat = (Id: string, Stat: string) => ({ Id, MetricStat: { Metric: metric, Period: 300, Stat } });
    const out = await cw.send(
      new GetMetricDataCommand({
        StartTime: new Date(t0),
        EndTime: new Date(t0 + 3_600_000),
        MetricDataQueries: [
          stat('avg', 'Average'),
          stat('max', 'Maximum'),
          stat('n', 'SampleCount'),
          stat('sum', 'Sum'),
          stat('p50', 'p50'),
        ],
      }),
    );
    const byId = Object.fromEntries((out.MetricDataResults ?? []).map((r) => [r.Id, r]));
    // Newest first, as GetMetricData scans by default.
    expect(byId.avg?.Timestamps).toEqual([new Date(t0 + 300_000), new Date(t0)]);
    expect(byId.avg?.Values).toEqual([50, 20]);
    expect(byId.max?.Values).toEqual([60, 30]);
    expect(byId.n?.Values).toEqual([2, 3]);
    expect(byId.sum?.Values).toEqual([100, 60]);
    expect(byId.p50?.Values).toEqual([40, 20]);
    expect(byId.avg?.StatusCode).toBe('Complete');

    const stats = await cw.send(
      new GetMetricStatisticsCommand({
        ...metric,
        StartTime: new Date(t0),
        EndTime: new Date(t0 + 600_000),
        Period: 300,
        Statistics: ['Minimum', 'Average'],
      }),
    );
    expect(stats.Datapoints).toEqual([
      { Timestamp: new Date(t0), Minimum: 10, Average: 20, Unit: 'Count/Second' },
      { Timestamp: new Date(t0 + 300_000), Minimum: 40, Average: 50, Unit: 'Count/Second' },
    ]);
  });
});
