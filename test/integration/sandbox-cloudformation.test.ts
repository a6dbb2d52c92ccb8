/**
 * CloudFormation in the AWS sandbox, through the real @aws-sdk/client-cloudformation client over a
 * real Redis: stacks whose resources are sandbox resources, events on the sandbox clock, rollbacks,
 * deletes that skip or fail, change sets and updates. Expectations follow the CloudFormation API
 * reference (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/).
 */
import { randomBytes } from 'node:crypto';
import { AutoScalingClient, DescribeAutoScalingGroupsCommand } from '@aws-sdk/client-auto-scaling';
import {
  AlreadyExistsException,
  ChangeSetNotFoundException,
  CloudFormationClient,
  CreateChangeSetCommand,
  CreateStackCommand,
  DeleteStackCommand,
  DescribeChangeSetCommand,
  DescribeStackEventsCommand,
  DescribeStacksCommand,
  ExecuteChangeSetCommand,
  ListStackResourcesCommand,
  type StackEvent,
  UpdateStackCommand,
  ValidateTemplateCommand,
  waitUntilStackDeleteComplete,
} from '@aws-sdk/client-cloudformation';
import { DescribeLaunchTemplatesCommand, EC2Client } from '@aws-sdk/client-ec2';
import {
  DescribeTargetHealthCommand,
  ElasticLoadBalancingV2Client,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createSandbox, type Sandbox, type SandboxTiming } from '../../devkit/sandbox/index.js';

const prefix = `{t-${randomBytes(4).toString('hex')}}`;
/** Each resource step takes 20 s of sandbox clock; tests move the clock with advance(), far beyond wall time. */
const STEP = 20_000;
const timing: Partial<SandboxTiming> = {
  stackResource: STEP,
  changeSet: STEP,
  instanceLaunch: 1_000,
  healthCheck: 1_000,
  terminate: 1_000,
  asgDelete: 1_000,
};
const region = 'eu-west-1';
const credentials = { accessKeyId: 'sandbox', secretAccessKey: 'sandbox' };
const SUBNETS = ['subnet-0a1b2c3d4e5f60001', 'subnet-0a1b2c3d4e5f60002'];

let redis: Redis;
let sandbox: Sandbox;
let cfn: CloudFormationClient;
let asg: AutoScalingClient;
let ec2: EC2Client;
let elb: ElasticLoadBalancingV2Client;

/** A launch template, a target group and an Auto Scaling group attached to it (YAML, short forms). */
const WEB = `
AWSTemplateFormatVersion: '2010-09-09'
Description: web tier
Parameters:
  Size:
    Type: Number
    Default: 2
    Description: instances
  Image:
    Type: String
    Default: ami-0aaaaaaaaaaaaaaa1
  Subnets:
    Type: CommaDelimitedList
    Default: ${SUBNETS.join(',')}
Resources:
  Template:
    Type: AWS::EC2::LaunchTemplate
    Properties:
      LaunchTemplateData:
        ImageId: !Ref Image
        InstanceType: t3.small
  Targets:
    Type: AWS::ElasticLoadBalancingV2::TargetGroup
    Properties:
      Port: 8080
      Protocol: HTTP
      VpcId: vpc-0c0ffee0c0ffee001
      HealthCheckPath: /health
  Group:
    Type: AWS::AutoScaling::AutoScalingGroup
    Properties:
      MinSize: !Ref Size
      MaxSize: 4
      DesiredCapacity: !Ref Size
      LaunchTemplate:
        LaunchTemplateId: !Ref Template
        Version: !GetAtt Template.LatestVersionNumber
      VPCZoneIdentifier: !Ref Subnets
      TargetGroupARNs: [!Ref Targets]
      Tags:
        - { Key: role, Value: web, PropagateAtLaunch: true }
Outputs:
  GroupName:
    Value: !Ref Group
    Description: the group
  Where:
    Value: !Sub '\${AWS::StackName} in \${AWS::Region}: \${Group} v\${Template.LatestVersionNumber}'
  Joined:
    Value: !Join ['/', [!Ref Template, !GetAtt Targets.TargetGroupName]]
`;

function failing(failOn: string[], reason: string, extra = ''): string {
  return JSON.stringify({
    Resources: {
      First: {
        Type: 'AWS::EC2::LaunchTemplate',
        Properties: { LaunchTemplateData: { ImageId: 'ami-0aaaaaaaaaaaaaaa1' } },
        ...(extra === 'retain' ? { DeletionPolicy: 'Retain' } : {}),
      },
      Breaker: {
        Type: 'Capstan::Sandbox::Failure',
        DependsOn: 'First',
        Properties: { FailOn: failOn, Reason: reason },
      },
    },
  });
}

async function stack(name: string) {
  const out = await cfn.send(new DescribeStacksCommand({ StackName: name }));
  return out.Stacks?.[0];
}

/** Events oldest first, as "Logical STATUS". */
async function events(name: string): Promise<StackEvent[]> {
  const out = await cfn.send(new DescribeStackEventsCommand({ StackName: name }));
  return [...(out.StackEvents ?? [])].reverse();
}

const line = (e: StackEvent) => `${e.LogicalResourceId} ${e.ResourceStatus}`;

async function failure(promise: Promise<unknown>): Promise<Error & { Code?: string }> {
  try {
    await promise;
  } catch (error) {
    return error as Error & { Code?: string };
  }
  throw new Error('expected the call to fail');
}

/** Moves the sandbox clock until the stack's status stops ending in _IN_PROGRESS. */
async function settle(name: string, maxSteps = 20): Promise<string> {
  for (let i = 0; i < maxSteps; i++) {
    const s = await stack(name);
    if (!s?.StackStatus?.endsWith('_IN_PROGRESS')) return s?.StackStatus ?? '';
    await sandbox.advance(STEP);
  }
  throw new Error(`${name} still in progress`);
}

beforeAll(async () => {
  redis = new Redis(inject('redisUrl'));
  sandbox = createSandbox({ redis, prefix, timing });
  await sandbox.reset();
  await sandbox.loadSeedFile('test/fixtures/sandbox/world.yml');
  cfn = sandbox.attach(new CloudFormationClient({ region, credentials }));
  asg = sandbox.attach(new AutoScalingClient({ region, credentials }));
  ec2 = sandbox.attach(new EC2Client({ region, credentials }));
  elb = sandbox.attach(new ElasticLoadBalancingV2Client({ region, credentials }));
});

afterAll(async () => {
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length > 0) await redis.del(...keys);
  await redis.quit();
});

describe('CreateStack', () => {
  let stackId = '';

  it('creates the resources in dependency order, one event per status change, as the clock moves', async () => {
    const created = await cfn.send(
      new CreateStackCommand({
        StackName: 'web',
        TemplateBody: WEB,
        Tags: [{ Key: 'env', Value: 'web' }],
        ClientRequestToken: 'create-web-1',
      }),
    );
    stackId = created.StackId ?? '';
    expect(stackId).toMatch(/^arn:aws:cloudformation:eu-west-1:123456789012:stack\/web\/[0-9a-f-]{36}$/);

    const first = await events('web');
    expect(first[0]).toMatchObject({
      LogicalResourceId: 'web',
      ResourceType: 'AWS::CloudFormation::Stack',
      ResourceStatus: 'CREATE_IN_PROGRESS',
      ResourceStatusReason: 'User Initiated',
      PhysicalResourceId: stackId,
      ClientRequestToken: 'create-web-1',
    });
    // The group needs the template and the target group: it has not started yet.
    expect(first.map(line)).toEqual([
      'web CREATE_IN_PROGRESS',
      'Template CREATE_IN_PROGRESS',
      'Template CREATE_IN_PROGRESS',
      'Targets CREATE_IN_PROGRESS',
      'Targets CREATE_IN_PROGRESS',
    ]);
    expect(first[2]?.ResourceStatusReason).toBe('Resource creation Initiated');
    expect(first[2]?.PhysicalResourceId).toMatch(/^lt-0[0-9a-f]{16}$/);
    expect((await stack('web'))?.StackStatus).toBe('CREATE_IN_PROGRESS');

    await sandbox.advance(STEP);
    const second = await events('web');
    expect(second.slice(5).map(line)).toEqual([
      'Template CREATE_COMPLETE',
      'Targets CREATE_COMPLETE',
      'Group CREATE_IN_PROGRESS',
      'Group CREATE_IN_PROGRESS',
    ]);
    expect((await stack('web'))?.StackStatus).toBe('CREATE_IN_PROGRESS');

    await sandbox.advance(STEP);
    const all = await events('web');
    expect(all.slice(9).map(line)).toEqual(['Group CREATE_COMPLETE', 'web CREATE_COMPLETE']);
    // Timestamps are on the sandbox clock: one step apart; EventIds are unique.
    const at = (i: number) => all[i]?.Timestamp?.getTime() ?? Number.NaN;
    expect(at(5) - at(0)).toBe(STEP);
    expect(at(10) - at(0)).toBe(2 * STEP);
    expect(new Set(all.map((e) => e.EventId)).size).toBe(all.length);
    expect(all.every((e) => e.StackId === stackId && e.StackName === 'web')).toBe(true);
  });

  it('resolves outputs and parameters, and the stack’s resources are real sandbox resources', async () => {
    const s = await stack('web');
    expect(s?.StackStatus).toBe('CREATE_COMPLETE');
    expect(s?.Description).toBe('web tier');
    expect(s?.Parameters).toEqual(
      expect.arrayContaining([
        { ParameterKey: 'Size', ParameterValue: '2' },
        { ParameterKey: 'Image', ParameterValue: 'ami-0aaaaaaaaaaaaaaa1' },
      ]),
    );
    const out = Object.fromEntries((s?.Outputs ?? []).map((o) => [o.OutputKey, o.OutputValue]));
    const groupName = out.GroupName ?? '';
    expect(groupName).toMatch(/^web-Group-[A-Z0-9]{12}$/);
    expect(s?.Outputs?.find((o) => o.OutputKey === 'GroupName')?.Description).toBe('the group');
    expect(out.Where).toBe(`web in eu-west-1: ${groupName} v1`);

    const resources = await cfn.send(new ListStackResourcesCommand({ StackName: 'web' }));
    const byId = Object.fromEntries(
      (resources.StackResourceSummaries ?? []).map((r) => [r.LogicalResourceId ?? '', r] as const),
    );
    expect(Object.values(byId).map((r) => r.ResourceStatus)).toEqual([
      'CREATE_COMPLETE',
      'CREATE_COMPLETE',
      'CREATE_COMPLETE',
    ]);
    expect(byId.Group?.PhysicalResourceId).toBe(groupName);
    const tgArn = byId.Targets?.PhysicalResourceId ?? '';
    const tgName = tgArn.split('/')[1];
    expect(out.Joined).toBe(`${byId.Template?.PhysicalResourceId}/${tgName}`);

    const lts = await ec2.send(
      new DescribeLaunchTemplatesCommand({ LaunchTemplateIds: [byId.Template?.PhysicalResourceId ?? ''] }),
    );
    expect(lts.LaunchTemplates?.[0]?.Tags).toEqual(
      expect.arrayContaining([
        { Key: 'env', Value: 'web' },
        { Key: 'aws:cloudformation:stack-name', Value: 'web' },
        { Key: 'aws:cloudformation:logical-id', Value: 'Template' },
      ]),
    );

    // Stack tags propagate onto the group (and at launch onto its instances).
    const groups = await asg.send(
      new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [groupName] }),
    );
    const group = groups.AutoScalingGroups?.[0];
    expect(group?.MinSize).toBe(2);
    expect(group?.TargetGroupARNs).toEqual([tgArn]);
    expect(group?.VPCZoneIdentifier).toBe(SUBNETS.join(','));
    const tags = Object.fromEntries((group?.Tags ?? []).map((t) => [t.Key, t.PropagateAtLaunch]));
    expect(tags).toMatchObject({
      env: true,
      role: true,
      'aws:cloudformation:stack-name': true,
      'aws:cloudformation:stack-id': true,
      'aws:cloudformation:logical-id': true,
    });
    expect(group?.Instances?.map((i) => i.LifecycleState)).toEqual(['InService', 'InService']);
    await sandbox.advance(STEP);
    const health = await elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: tgArn }));
    expect(health.TargetHealthDescriptions?.map((d) => d.TargetHealth?.State)).toEqual([
      'healthy',
      'healthy',
    ]);
  });

  it('answers a retried request (same ClientRequestToken) with the same stack, and refuses a taken name', async () => {
    const again = await cfn.send(
      new CreateStackCommand({ StackName: 'web', TemplateBody: WEB, ClientRequestToken: 'create-web-1' }),
    );
    expect(again.StackId).toBe(stackId);
    const taken = await failure(cfn.send(new CreateStackCommand({ StackName: 'web', TemplateBody: WEB })));
    expect(taken).toBeInstanceOf(AlreadyExistsException);
    expect(taken.message).toBe('Stack [web] already exists');
  });

  it('refuses missing and unknown parameters, TemplateURL and unsupported functions with ValidationError', async () => {
    const body = JSON.stringify({
      Parameters: { Needed: { Type: 'String' } },
      Resources: { H: { Type: 'AWS::CloudFormation::WaitConditionHandle' } },
    });
    const missing = await failure(cfn.send(new CreateStackCommand({ StackName: 'p1', TemplateBody: body })));
    expect([missing.name, missing.message]).toEqual([
      'ValidationError',
      'Parameters: [Needed] must have values',
    ]);
    const unknown = await failure(
      cfn.send(
        new CreateStackCommand({
          StackName: 'p1',
          TemplateBody: body,
          Parameters: [
            { ParameterKey: 'Needed', ParameterValue: 'x' },
            { ParameterKey: 'Other', ParameterValue: 'y' },
          ],
        }),
      ),
    );
    expect(unknown.message).toBe('Parameters: [Other] do not exist in the template');
    const url = await failure(
      cfn.send(new CreateStackCommand({ StackName: 'p1', TemplateURL: 'https://example.com/t.json' })),
    );
    expect(url.name).toBe('ValidationError');
    const select = await failure(
      cfn.send(
        new CreateStackCommand({
          StackName: 'p1',
          TemplateBody:
            'Resources:\n  H:\n    Type: AWS::CloudFormation::WaitConditionHandle\n    Metadata: {}\n    Properties:\n      X: !Select [0, [a]]\n',
        }),
      ),
    );
    expect(select.message).toBe('Template format error: Fn::Select is not supported by the sandbox');
  });
});

describe('a resource that fails to create', () => {
  it('rolls the stack back: ROLLBACK_IN_PROGRESS, the created resources deleted, ROLLBACK_COMPLETE', async () => {
    await cfn.send(
      new CreateStackCommand({ StackName: 'broken', TemplateBody: failing(['create'], 'quota exhausted') }),
    );
    expect(await settle('broken')).toBe('ROLLBACK_COMPLETE');
    const all = await events('broken');
    expect(all.map(line)).toEqual([
      'broken CREATE_IN_PROGRESS',
      'First CREATE_IN_PROGRESS',
      'First CREATE_IN_PROGRESS',
      'First CREATE_COMPLETE',
      'Breaker CREATE_IN_PROGRESS',
      'Breaker CREATE_FAILED',
      'broken ROLLBACK_IN_PROGRESS',
      'Breaker DELETE_IN_PROGRESS',
      'Breaker DELETE_COMPLETE',
      'First DELETE_IN_PROGRESS',
      'First DELETE_COMPLETE',
      'broken ROLLBACK_COMPLETE',
    ]);
    expect(all[5]?.ResourceStatusReason).toBe('quota exhausted');
    expect(all[6]?.ResourceStatusReason).toBe(
      'The following resource(s) failed to create: [Breaker]. Rollback requested by user.',
    );
    const lt = all[2]?.PhysicalResourceId ?? '';
    const left = await ec2.send(new DescribeLaunchTemplatesCommand({}));
    expect(left.LaunchTemplates?.map((t) => t.LaunchTemplateId)).not.toContain(lt);
    // A stack in ROLLBACK_COMPLETE can only be deleted.
    const update = await failure(
      cfn.send(new UpdateStackCommand({ StackName: 'broken', UsePreviousTemplate: true })),
    );
    expect(update.message).toMatch(/^Stack:arn:.* is in ROLLBACK_COMPLETE state and can not be updated\.$/);
  });

  it('names an unsupported resource type in the failure', async () => {
    await cfn.send(
      new CreateStackCommand({
        StackName: 'queue',
        TemplateBody: JSON.stringify({ Resources: { Q: { Type: 'AWS::SQS::Queue' } } }),
        OnFailure: 'DO_NOTHING',
      }),
    );
    expect(await settle('queue')).toBe('CREATE_FAILED');
    const failed = (await events('queue')).find((e) => e.ResourceStatus === 'CREATE_FAILED');
    expect(failed?.ResourceStatusReason).toBe(
      'Resource type AWS::SQS::Queue is not supported by the sandbox',
    );
  });
});

describe('DeleteStack', () => {
  it('skips a retained resource and leaves it in the world', async () => {
    await cfn.send(new CreateStackCommand({ StackName: 'keep', TemplateBody: failing([], '', 'retain') }));
    expect(await settle('keep')).toBe('CREATE_COMPLETE');
    const { StackId: id = '' } = (await stack('keep')) ?? {};
    const lt = (
      await cfn.send(new ListStackResourcesCommand({ StackName: 'keep' }))
    ).StackResourceSummaries?.find((r) => r.LogicalResourceId === 'First')?.PhysicalResourceId;
    await cfn.send(new DeleteStackCommand({ StackName: 'keep' }));
    expect((await stack('keep'))?.StackStatus).toBe('DELETE_IN_PROGRESS');
    // Deleting again while it is deleting is not an error.
    await cfn.send(new DeleteStackCommand({ StackName: 'keep' }));
    await sandbox.advance(3 * STEP);
    await waitUntilStackDeleteComplete({ client: cfn, minDelay: 1, maxWaitTime: 10 }, { StackName: 'keep' });

    const all = await events(id);
    expect(all.slice(-5).map(line)).toEqual([
      'keep DELETE_IN_PROGRESS',
      'Breaker DELETE_IN_PROGRESS',
      'Breaker DELETE_COMPLETE',
      'First DELETE_SKIPPED',
      'keep DELETE_COMPLETE',
    ]);
    const left = await ec2.send(new DescribeLaunchTemplatesCommand({ LaunchTemplateIds: [lt ?? ''] }));
    expect(left.LaunchTemplates).toHaveLength(1);

    // Gone by name; still there by id, with its resources.
    const byName = await failure(cfn.send(new DescribeStacksCommand({ StackName: 'keep' })));
    expect([byName.name, byName.message]).toEqual(['ValidationError', 'Stack with id keep does not exist']);
    expect((await stack(id))?.StackStatus).toBe('DELETE_COMPLETE');
    expect((await stack(id))?.DeletionTime).toBeInstanceOf(Date);
    const resources = await cfn.send(new ListStackResourcesCommand({ StackName: id }));
    expect(resources.StackResourceSummaries?.map((r) => [r.LogicalResourceId, r.ResourceStatus])).toEqual([
      ['First', 'DELETE_SKIPPED'],
      ['Breaker', 'DELETE_COMPLETE'],
    ]);
    const listed = await cfn.send(new DescribeStacksCommand({}));
    expect(listed.Stacks?.map((s) => s.StackName)).not.toContain('keep');
    // A missing stack is not an error for DeleteStack.
    await cfn.send(new DeleteStackCommand({ StackName: 'never-was' }));
  });

  it('reports a resource that fails to delete (DELETE_FAILED), and RetainResources then lets the stack go', async () => {
    await cfn.send(
      new CreateStackCommand({ StackName: 'stuck', TemplateBody: failing(['delete'], 'bucket not empty') }),
    );
    expect(await settle('stuck')).toBe('CREATE_COMPLETE');
    await cfn.send(new DeleteStackCommand({ StackName: 'stuck' }));
    expect(await settle('stuck')).toBe('DELETE_FAILED');
    const s = await stack('stuck');
    expect(s?.StackStatusReason).toBe('The following resource(s) failed to delete: [Breaker]. ');
    const failed = (await events('stuck')).find((e) => e.ResourceStatus === 'DELETE_FAILED');
    expect([failed?.LogicalResourceId, failed?.ResourceStatusReason]).toEqual([
      'Breaker',
      'bucket not empty',
    ]);
    // What the failed resource needs is not deleted before it.
    const resources = await cfn.send(new ListStackResourcesCommand({ StackName: 'stuck' }));
    expect(resources.StackResourceSummaries?.map((r) => [r.LogicalResourceId, r.ResourceStatus])).toEqual([
      ['First', 'CREATE_COMPLETE'],
      ['Breaker', 'DELETE_FAILED'],
    ]);

    await cfn.send(new DeleteStackCommand({ StackName: 'stuck', RetainResources: ['Breaker'] }));
    await settle('stuck').catch(() => undefined);
    const gone = await failure(cfn.send(new DescribeStacksCommand({ StackName: 'stuck' })));
    expect(gone.message).toBe('Stack with id stuck does not exist');
    const last = (await events(s?.StackId ?? '')).slice(-4).map(line);
    expect(last).toEqual([
      'Breaker DELETE_SKIPPED',
      'First DELETE_IN_PROGRESS',
      'First DELETE_COMPLETE',
      'stuck DELETE_COMPLETE',
    ]);
  });
});

describe('updates', () => {
  const LIVE = JSON.stringify({
    Parameters: { Size: { Type: 'Number', Default: '1' } },
    Resources: {
      Template: {
        Type: 'AWS::EC2::LaunchTemplate',
        Properties: {
          LaunchTemplateName: 'upd-one',
          LaunchTemplateData: { ImageId: 'ami-0aaaaaaaaaaaaaaa1' },
        },
      },
      Group: {
        Type: 'AWS::AutoScaling::AutoScalingGroup',
        Properties: {
          MinSize: { Ref: 'Size' },
          MaxSize: '4',
          LaunchTemplate: { LaunchTemplateId: { Ref: 'Template' }, Version: '$Latest' },
          VPCZoneIdentifier: SUBNETS,
        },
      },
      Handle: { Type: 'AWS::CloudFormation::WaitConditionHandle' },
    },
    Outputs: { Group: { Value: { Ref: 'Group' } } },
  });

  function edited(
    edit: (t: { Resources: Record<string, { Type?: string; Properties?: Record<string, unknown> }> }) => void,
  ) {
    const t = JSON.parse(LIVE);
    edit(t);
    return JSON.stringify(t);
  }

  it('starts from a created stack', async () => {
    await cfn.send(new CreateStackCommand({ StackName: 'upd', TemplateBody: LIVE }));
    expect(await settle('upd')).toBe('CREATE_COMPLETE');
  });

  it('says "No updates are to be performed." when nothing changes, and a change set FAILED says why', async () => {
    const none = await failure(
      cfn.send(
        new UpdateStackCommand({
          StackName: 'upd',
          UsePreviousTemplate: true,
          Parameters: [{ ParameterKey: 'Size', UsePreviousValue: true }],
        }),
      ),
    );
    expect([none.name, none.message]).toEqual(['ValidationError', 'No updates are to be performed.']);
    const cs = await cfn.send(
      new CreateChangeSetCommand({ StackName: 'upd', ChangeSetName: 'nothing', TemplateBody: LIVE }),
    );
    const pending = await cfn.send(new DescribeChangeSetCommand({ ChangeSetName: cs.Id }));
    expect([pending.Status, pending.ExecutionStatus]).toEqual(['CREATE_PENDING', 'UNAVAILABLE']);
    await sandbox.advance(STEP);
    const failed = await cfn.send(
      new DescribeChangeSetCommand({ ChangeSetName: 'nothing', StackName: 'upd' }),
    );
    expect(failed.Status).toBe('FAILED');
    expect(failed.StatusReason).toBe(
      "The submitted information didn't contain changes. Submit different information to create a change set.",
    );
    const missing = await failure(
      cfn.send(new DescribeChangeSetCommand({ ChangeSetName: 'nope', StackName: 'upd' })),
    );
    expect(missing).toBeInstanceOf(ChangeSetNotFoundException);
  });

  it('lists Add, Modify (with Replacement) and Remove in a change set, and executing it updates the stack', async () => {
    const before = await cfn.send(new ListStackResourcesCommand({ StackName: 'upd' }));
    const oldLt = before.StackResourceSummaries?.find(
      (r) => r.LogicalResourceId === 'Template',
    )?.PhysicalResourceId;
    const group = before.StackResourceSummaries?.find(
      (r) => r.LogicalResourceId === 'Group',
    )?.PhysicalResourceId;
    const body = edited((t) => {
      (t.Resources.Template as { Properties: Record<string, unknown> }).Properties.LaunchTemplateName =
        'upd-two';
      delete t.Resources.Handle;
      t.Resources.Extra = { Type: 'AWS::CloudFormation::WaitConditionHandle' };
    });
    const cs = await cfn.send(
      new CreateChangeSetCommand({
        StackName: 'upd',
        ChangeSetName: 'grow',
        TemplateBody: body,
        Parameters: [{ ParameterKey: 'Size', ParameterValue: '2' }],
      }),
    );
    await sandbox.advance(STEP);
    const described = await cfn.send(new DescribeChangeSetCommand({ ChangeSetName: cs.Id }));
    expect([described.Status, described.ExecutionStatus]).toEqual(['CREATE_COMPLETE', 'AVAILABLE']);
    const changes = Object.fromEntries(
      (described.Changes ?? []).map((c) => [c.ResourceChange?.LogicalResourceId, c.ResourceChange]),
    );
    expect(changes.Template).toMatchObject({
      Action: 'Modify',
      PhysicalResourceId: oldLt,
      ResourceType: 'AWS::EC2::LaunchTemplate',
      Replacement: 'True',
      Scope: ['Properties'],
      Details: [
        {
          Target: { Attribute: 'Properties', Name: 'LaunchTemplateName', RequiresRecreation: 'Always' },
          Evaluation: 'Static',
          ChangeSource: 'DirectModification',
        },
      ],
    });
    // The group refers to the replaced template (dynamic) and its MinSize follows the parameter.
    expect(changes.Group).toMatchObject({
      Action: 'Modify',
      PhysicalResourceId: group,
      Replacement: 'False',
    });
    expect(changes.Group?.Details).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          Target: { Attribute: 'Properties', Name: 'MinSize', RequiresRecreation: 'Never' },
          Evaluation: 'Static',
          ChangeSource: 'ParameterReference',
          CausingEntity: 'Size',
        }),
        expect.objectContaining({
          Target: { Attribute: 'Properties', Name: 'LaunchTemplate', RequiresRecreation: 'Never' },
          Evaluation: 'Dynamic',
          ChangeSource: 'ResourceReference',
          CausingEntity: 'Template',
        }),
      ]),
    );
    expect(changes.Extra).toMatchObject({
      Action: 'Add',
      ResourceType: 'AWS::CloudFormation::WaitConditionHandle',
    });
    expect(changes.Handle).toMatchObject({
      Action: 'Remove',
      ResourceType: 'AWS::CloudFormation::WaitConditionHandle',
    });

    await cfn.send(new ExecuteChangeSetCommand({ ChangeSetName: cs.Id }));
    expect((await stack('upd'))?.StackStatus).toBe('UPDATE_IN_PROGRESS');
    expect(await settle('upd')).toBe('UPDATE_COMPLETE');
    const statuses = (await events('upd'))
      .filter((e) => e.ResourceType === 'AWS::CloudFormation::Stack')
      .map((e) => e.ResourceStatus);
    expect(statuses.slice(-3)).toEqual([
      'UPDATE_IN_PROGRESS',
      'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS',
      'UPDATE_COMPLETE',
    ]);
    const replacing = (await events('upd')).find((e) =>
      e.ResourceStatusReason?.startsWith('Requested update requires'),
    );
    expect(replacing?.LogicalResourceId).toBe('Template');

    const after = await cfn.send(new ListStackResourcesCommand({ StackName: 'upd' }));
    expect(after.StackResourceSummaries?.map((r) => r.LogicalResourceId).sort()).toEqual([
      'Extra',
      'Group',
      'Template',
    ]);
    const newLt = after.StackResourceSummaries?.find(
      (r) => r.LogicalResourceId === 'Template',
    )?.PhysicalResourceId;
    expect(newLt).not.toBe(oldLt);
    const lts = await ec2.send(new DescribeLaunchTemplatesCommand({}));
    const names = lts.LaunchTemplates?.map((t) => t.LaunchTemplateName);
    expect(names).toContain('upd-two');
    expect(names).not.toContain('upd-one');
    const g = (await asg.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [group ?? ''] })))
      .AutoScalingGroups?.[0];
    expect([g?.MinSize, g?.LaunchTemplate?.LaunchTemplateId]).toEqual([2, newLt]);
    const executed = await cfn.send(new DescribeChangeSetCommand({ ChangeSetName: cs.Id }));
    expect(executed.ExecutionStatus).toBe('EXECUTE_COMPLETE');
  });

  it('rolls a failed update back (UPDATE_ROLLBACK_COMPLETE) and puts the resources back', async () => {
    const group = (
      await cfn.send(new ListStackResourcesCommand({ StackName: 'upd' }))
    ).StackResourceSummaries?.find((r) => r.LogicalResourceId === 'Group')?.PhysicalResourceId;
    const current = JSON.parse(LIVE);
    current.Resources.Template.Properties.LaunchTemplateName = 'upd-two';
    delete current.Resources.Handle;
    current.Resources.Extra = { Type: 'AWS::CloudFormation::WaitConditionHandle' };
    current.Resources.Breaker = {
      Type: 'Capstan::Sandbox::Failure',
      DependsOn: 'Group',
      Properties: { FailOn: 'create', Reason: 'not today' },
    };
    await cfn.send(
      new UpdateStackCommand({
        StackName: 'upd',
        TemplateBody: JSON.stringify(current),
        Parameters: [{ ParameterKey: 'Size', ParameterValue: '3' }],
      }),
    );
    expect(await settle('upd')).toBe('UPDATE_ROLLBACK_COMPLETE');
    const all = await events('upd');
    const stackStatuses = all.filter((e) => e.ResourceType === 'AWS::CloudFormation::Stack');
    expect(stackStatuses.slice(-4).map((e) => e.ResourceStatus)).toEqual([
      'UPDATE_IN_PROGRESS',
      'UPDATE_ROLLBACK_IN_PROGRESS',
      'UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS',
      'UPDATE_ROLLBACK_COMPLETE',
    ]);
    expect(stackStatuses.at(-3)?.ResourceStatusReason).toBe(
      'The following resource(s) failed to create: [Breaker]. ',
    );
    expect(all.find((e) => e.ResourceStatus === 'CREATE_FAILED')?.ResourceStatusReason).toBe('not today');
    // The group was resized to 3, then put back to 2; the added resource is gone.
    const g = (await asg.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [group ?? ''] })))
      .AutoScalingGroups?.[0];
    expect(g?.MinSize).toBe(2);
    const resources = await cfn.send(new ListStackResourcesCommand({ StackName: 'upd' }));
    expect(resources.StackResourceSummaries?.map((r) => r.LogicalResourceId).sort()).toEqual([
      'Extra',
      'Group',
      'Template',
    ]);
    const s = await stack('upd');
    expect(s?.Parameters).toEqual([{ ParameterKey: 'Size', ParameterValue: '2' }]);
  });
});

describe('ValidateTemplate', () => {
  it('lists the parameters with defaults, NoEcho and descriptions', async () => {
    const out = await cfn.send(new ValidateTemplateCommand({ TemplateBody: WEB }));
    expect(out.Description).toBe('web tier');
    expect(out.Parameters?.find((p) => p.ParameterKey === 'Size')).toEqual({
      ParameterKey: 'Size',
      DefaultValue: '2',
      NoEcho: false,
      Description: 'instances',
    });
    expect(out.Capabilities).toEqual([]);
  });

  it('refuses a bad template with ValidationError', async () => {
    const none = await failure(cfn.send(new ValidateTemplateCommand({ TemplateBody: '{"Resources": {}}' })));
    expect([none.name, none.message]).toEqual([
      'ValidationError',
      'Template format error: At least one Resources member must be defined.',
    ]);
    const dangling = await failure(
      cfn.send(
        new ValidateTemplateCommand({
          TemplateBody: JSON.stringify({
            Resources: { H: { Type: 'AWS::CloudFormation::WaitConditionHandle', DependsOn: 'Nope' } },
          }),
        }),
      ),
    );
    expect(dangling.message).toBe(
      'Template format error: Unresolved resource dependencies [Nope] in the Resources block of the template',
    );
    const attribute = await failure(
      cfn.send(
        new ValidateTemplateCommand({
          TemplateBody:
            'Resources:\n  T:\n    Type: AWS::EC2::LaunchTemplate\n    Properties:\n      LaunchTemplateData: {}\nOutputs:\n  X:\n    Value: !GetAtt T.Colour\n',
        }),
      ),
    );
    expect(attribute.message).toBe(
      'Template error: resource T does not support attribute type Colour in Fn::GetAtt',
    );
  });
});

describe('faults', () => {
  it('applies refusals and throttling to CloudFormation calls as to other services', async () => {
    await sandbox.setFaults({
      refuse: {
        'CloudFormation:CreateStack': { code: 'LimitExceededException', message: 'too many stacks' },
      },
    });
    const refused = await failure(
      cfn.send(new CreateStackCommand({ StackName: 'limited', TemplateBody: WEB })),
    );
    expect([refused.name, refused.message]).toEqual(['LimitExceededException', 'too many stacks']);
    await sandbox.setFaults({ refuse: {}, throttleRate: 1, commands: ['CloudFormation:DescribeStacks'] });
    const throttled = await failure(
      sandbox
        .attach(new CloudFormationClient({ region, credentials, maxAttempts: 1 }))
        .send(new DescribeStacksCommand({})),
    );
    expect(throttled.name).toBe('Throttling');
    await sandbox.setFaults({ throttleRate: 0, commands: [] });
    expect((await sandbox.faults()).counters.byCommand['CloudFormation:DescribeStacks']?.throttling).toBe(1);
  });
});
