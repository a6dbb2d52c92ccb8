/**
 * Stack environments end to end on the AWS sandbox: signed Slack requests → jobs → CloudFormation
 * (the sandbox's, beneath the real SDK client) → Slack messages, with every claim checked against the
 * sandbox's state read through the SDK. What CloudFormation does is as its API reference documents
 * (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/): per-resource events, a
 * failed create rolled back, change sets listing each resource's change.
 */
import type { ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CloudFormationClient,
  DescribeChangeSetCommand,
  DescribeStacksCommand,
  ListStackResourcesCommand,
  type Stack,
  UpdateStackCommand,
} from '@aws-sdk/client-cloudformation';
import { afterEach, describe, expect, it } from 'vitest';
import { createSandbox } from '../../devkit/sandbox/index.js';
import { APPROVE_ACTION } from '../../src/slack/blocks/approval.js';
import { EXTEND_ACTION } from '../../src/slack/blocks/expiry.js';
import { startTestCapstan, type TestCapstan } from '../helpers/capstan.js';
import { messageText } from '../helpers/fake-slack.js';
import { finished, groupOf, liveInstances, TG } from '../helpers/sandbox-world.js';
import { waitFor } from '../helpers/wait-for.js';
import { worldSeed } from '../helpers/world.js';

let t: TestCapstan | undefined;
afterEach(async () => {
  await t?.stop();
  t = undefined;
});

const SUBNETS = 'subnet-0aaa11111,subnet-0bbb22222';

/** A launch template and an Auto Scaling group behind the world's target group; `extra` adds resources. */
function template(
  version: string,
  opts: { instanceType?: string; extra?: string; max?: number } = {},
): string {
  return `AWSTemplateFormatVersion: '2010-09-09'
Description: shop ${version}
Parameters:
  EnvironmentVersion: { Type: String }
  EnvName: { Type: String }
  Subnets: { Type: CommaDelimitedList }
  Size: { Type: Number, Default: 1 }
Resources:
  Template:
    Type: AWS::EC2::LaunchTemplate
    Properties:
      LaunchTemplateData:
        ImageId: ami-0aaaaaaaaaaaaaaa1
        InstanceType: ${opts.instanceType ?? 't3.small'}
  Group:
    Type: AWS::AutoScaling::AutoScalingGroup
    Properties:
      MinSize: 0
      MaxSize: ${opts.max ?? 3}
      DesiredCapacity: !Ref Size
      LaunchTemplate:
        LaunchTemplateId: !Ref Template
        Version: !GetAtt Template.LatestVersionNumber
      VPCZoneIdentifier: !Ref Subnets
      TargetGroupARNs: ['${TG}']
${opts.extra ?? ''}Outputs:
  GroupName:
    Value: !Ref Group
  Banner:
    Value: !Sub 'shop \${EnvironmentVersion} for \${EnvName}'
`;
}

/** A directory of versioned templates, as a blueprint's `{version}` path names them. */
function templateDir(versions: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'capstan-stacks-'));
  for (const [version, body] of Object.entries(versions)) {
    mkdirSync(join(dir, version));
    writeFileSync(join(dir, version, 'stack.yaml'), body);
  }
  return dir;
}

function config(dir: string, extra = '', approvalTimeoutMinutes = 30): string {
  return `
slack: { approvalsChannel: C0APPROVALS, notificationsChannel: C0NOTICES }
aws: { region: eu-west-1 }
defaultBlueprint: shop
blueprints:
  shop:
    kind: stack
    template: ${dir}/{version}/stack.yaml
    parameters: { EnvName: '{env}', Subnets: '${SUBNETS}' }
    ttl: 8h
  locked:
    kind: stack
    template: ${dir}/{version}/stack.yaml
    parameters: { EnvName: '{env}', Subnets: '${SUBNETS}' }
    protected: true
roles:
  engineers: { users: [U0ALICE, U0BOB] }
  approvers: { users: [U0CAROL] }
policy:
  approvalTimeoutMinutes: ${approvalTimeoutMinutes}
  environments:
    shop-p: { protected: true }
${extra}`;
}

async function start(
  dir: string,
  extraEnv: Record<string, string> = {},
  role?: 'web',
  approvalTimeoutMinutes = 30,
) {
  const tc = await startTestCapstan({
    configYaml: config(dir, '', approvalTimeoutMinutes),
    ...(role ? { role } : {}),
    env: {
      CAPSTAN_AWS: 'sandbox',
      CAPSTAN_POLL_INTERVAL_MS: '100',
      CAPSTAN_WAIT_TIMEOUT_MS: '30000',
      ...extraEnv,
    },
  });
  t = tc;
  const sandbox = createSandbox({ redis: tc.redis, prefix: tc.config.queuePrefix });
  const seed = worldSeed({ environments: [] });
  await sandbox.seed({ ...seed, timing: { ...seed.timing, stackResource: 300, changeSet: 200 } });
  const cf = sandbox.attach(
    new CloudFormationClient({
      region: 'eu-west-1',
      credentials: { accessKeyId: 's', secretAccessKey: 's' },
    }),
  );
  return { tc, sandbox, cf };
}

async function stackNamed(cf: CloudFormationClient, name: string): Promise<Stack | undefined> {
  try {
    return (await cf.send(new DescribeStacksCommand({ StackName: name }))).Stacks?.[0];
  } catch (error) {
    if (/does not exist/.test((error as Error).message)) return undefined;
    throw error;
  }
}

function tagsOf(stack: Stack | undefined): Record<string, string> {
  return Object.fromEntries((stack?.Tags ?? []).map((x) => [x.Key ?? '', x.Value ?? '']));
}

function sha256(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

async function groupNameOf(cf: CloudFormationClient, stack: string): Promise<string> {
  const out = await cf.send(new ListStackResourcesCommand({ StackName: stack }));
  return (
    out.StackResourceSummaries?.find((r) => r.ResourceType === 'AWS::AutoScaling::AutoScalingGroup')
      ?.PhysicalResourceId ?? ''
  );
}

function exited(child: ChildProcess): Promise<unknown> {
  return child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : once(child, 'exit');
}

describe('stack environments', () => {
  it('creates from a template version, traces it both ways, and deletes it, each claim read back', async () => {
    const dir = templateDir({ '1.0.0': template('1.0.0'), '1.1.0': template('1.1.0', { max: 4 }) });
    const { tc, sandbox, cf } = await start(dir);

    await tc.slash('/env', 'create shop-a --version 1.0.0');
    const created = await finished(tc, '/env create shop-a --version 1.0.0', undefined, 40_000);
    expect(created).toContain(
      'Environment `shop-a` is up: stack capstan-env-shop-a CREATE_COMPLETE with 2 resource(s)',
    );
    // Progress from the stack's own events: each resource as it completed.
    expect(created).toMatch(/`Template` \(AWS::EC2::LaunchTemplate\) created: lt-/);
    expect(created).toMatch(/`Group` \(AWS::AutoScaling::AutoScalingGroup\) created/);
    expect(created).toContain('Banner=shop 1.0.0 for shop-a');

    const stack = await stackNamed(cf, 'capstan-env-shop-a');
    expect(stack?.StackStatus).toBe('CREATE_COMPLETE');
    const tags = tagsOf(stack);
    expect(tags).toMatchObject({
      'capstan:env': 'shop-a',
      'capstan:version': '1.0.0',
      'capstan:owner': 'U0ALICE',
      'capstan:blueprint': 'shop',
      'capstan:template-sha256': sha256(join(dir, '1.0.0', 'stack.yaml')),
    });
    expect(tags['capstan:template-source']).toMatch(/^file:stack\.yaml$|^git:/);
    expect(Date.parse(tags['capstan:expires-at'] ?? '') - Date.now()).toBeGreaterThan(7.9 * 3_600_000);
    expect(stack?.Parameters).toContainEqual({ ParameterKey: 'EnvironmentVersion', ParameterValue: '1.0.0' });
    // The stack's group is a real group: its instance goes InService behind the target group.
    const groupName = await groupNameOf(cf, 'capstan-env-shop-a');
    const world = await sandbox.snapshot();
    expect(groupOf(world, groupName)?.targetGroupArns).toEqual([TG]);
    expect(liveInstances(world, groupName)).toHaveLength(1);

    await tc.slash('/env', 'status shop-a');
    const status = await finished(tc, '/env status shop-a');
    expect(status).toContain('stack capstan-env-shop-a, CREATE_COMPLETE, version 1.0.0');
    expect(status).toContain(
      `built from template version 1.0.0, sha256 ${tags['capstan:template-sha256']?.slice(0, 12)}`,
    );
    expect(status).toContain(
      "DIFFERENT from the blueprint's newest template (1.1.0); 1 version(s) behind (newest 1.1.0)",
    );
    expect(status).toContain('GroupName=');

    await tc.slash('/env', 'list');
    expect(await finished(tc, '/env list')).toMatch(
      /\*shop-a\* — stack CREATE_COMPLETE, version 1\.0\.0 \(sha256 [0-9a-f]{12}\)/,
    );

    await tc.slash('/env', 'delete shop-a');
    const deleted = await finished(tc, '/env delete shop-a', undefined, 40_000);
    expect(deleted).toContain(
      'Environment `shop-a` is deleted: stack capstan-env-shop-a DELETE_COMPLETE, 2 resource(s) deleted',
    );
    expect(deleted).toMatch(/`Group` \(AWS::AutoScaling::AutoScalingGroup\) deleted/);
    expect(await stackNamed(cf, 'capstan-env-shop-a')).toBeUndefined();
    expect(await stackNamed(cf, stack?.StackId ?? '')).toMatchObject({ StackStatus: 'DELETE_COMPLETE' });
    expect(groupOf(await sandbox.snapshot(), groupName)).toBeUndefined();
  }, 90_000);

  it('picks the newest version, and refuses versions and names it cannot use, creating nothing', async () => {
    const dir = templateDir({ '1.2.0': template('1.2.0'), '1.10.0': template('1.10.0') });
    const { tc, cf } = await start(dir);
    await tc.slash('/env', 'create shop-b --version 9.9.9');
    expect(await finished(tc, '/env create shop-b --version 9.9.9')).toContain(
      'Blueprint `shop` has no template version `9.9.9`. Versions: `1.2.0`, `1.10.0`.',
    );
    await tc.slash('/env', 'create shop-b --size 2');
    expect(await finished(tc, '/env create shop-b --size 2')).toContain(
      '`--size` does not apply to blueprint `shop`',
    );
    expect(await stackNamed(cf, 'capstan-env-shop-b')).toBeUndefined();

    await tc.slash('/env', 'create shop-b');
    expect(await finished(tc, '/env create shop-b', undefined, 40_000)).toContain('template version 1.10.0');
    expect(tagsOf(await stackNamed(cf, 'capstan-env-shop-b'))['capstan:version']).toBe('1.10.0');
    await tc.slash('/env', 'create shop-b --version 1.2.0');
    expect(await finished(tc, '/env create shop-b --version 1.2.0')).toContain(
      'Environment `shop-b` already exists',
    );
  }, 90_000);

  it('names the resource that failed and what the rollback did, not CREATE_FAILED', async () => {
    const broken = template('2.0.0', {
      extra: `  Queue:
    Type: Capstan::Sandbox::Failure
    DependsOn: Group
    Properties:
      FailOn: create
      Reason: 'Queue quota exceeded for this account'
`,
    });
    const dir = templateDir({ '2.0.0': broken });
    const { tc, sandbox, cf } = await start(dir);
    await tc.slash('/env', 'create shop-c');
    const failed = await finished(tc, '/env create shop-c', /failed in/, 40_000);
    expect(failed).toContain(
      '`Queue` (Capstan::Sandbox::Failure) failed: Queue quota exceeded for this account',
    );
    expect(failed).toContain('CloudFormation rolled back: everything the create made was deleted');
    expect(failed).toContain('`/env delete` removes it');
    const stack = await stackNamed(cf, 'capstan-env-shop-c');
    expect(stack?.StackStatus).toBe('ROLLBACK_COMPLETE');
    // The rollback deleted the group it made.
    const world = await sandbox.snapshot();
    expect(Object.values(world.groups).filter((g) => g.name.startsWith('capstan-env-shop-c'))).toEqual([]);

    await tc.slash('/env', 'delete shop-c');
    expect(await finished(tc, '/env delete shop-c', undefined, 40_000)).toContain(
      'Environment `shop-c` is deleted',
    );
    expect(await stackNamed(cf, 'capstan-env-shop-c')).toBeUndefined();
  }, 90_000);

  it('updates a protected environment with exactly the change set its approver saw', async () => {
    const dir = templateDir({
      '1.0.0': template('1.0.0'),
      '1.1.0': template('1.1.0', { instanceType: 't3.large' }),
    });
    const { tc, cf } = await start(dir);
    await tc.slash('/env', 'create shop-p --version 1.0.0');
    await finished(tc, '/env create shop-p --version 1.0.0', /done in/, 40_000);
    const before = await stackNamed(cf, 'capstan-env-shop-p');

    const reply = await tc.slash('/env', 'update shop-p --version 1.1.0');
    expect(JSON.parse(reply.body).text).toContain('needs an approval from role `approvers`');
    const request = await waitFor(() => tc.fake.messagesIn('C0APPROVALS')[0], { timeoutMs: 20_000 });
    const plan = messageText(request);
    expect(plan).toContain(
      'update stack capstan-env-shop-p from version 1.0.0 to 1.1.0 by change set capstan-update-',
    );
    expect(plan).toMatch(/modify `Template` \(AWS::EC2::LaunchTemplate/);
    // Nothing changes before the approval.
    expect(tagsOf(await stackNamed(cf, 'capstan-env-shop-p'))['capstan:version']).toBe('1.0.0');

    const approvalId = JSON.stringify(request.blocks).match(/"value":"(j[0-9a-f]+)"/)?.[1] ?? '';
    await tc.click('U0CAROL', request, APPROVE_ACTION, approvalId);
    const updated = await finished(tc, '/env update shop-p --version 1.1.0', /done in|failed in/, 40_000);
    expect(updated).toContain(
      'Environment `shop-p` is updated: stack capstan-env-shop-p UPDATE_COMPLETE, version 1.1.0',
    );
    expect(updated).toContain('Check the approved change set');
    const after = await stackNamed(cf, 'capstan-env-shop-p');
    expect(after?.StackStatus).toBe('UPDATE_COMPLETE');
    expect(tagsOf(after)['capstan:version']).toBe('1.1.0');
    expect(tagsOf(after)['capstan:template-sha256']).toBe(sha256(join(dir, '1.1.0', 'stack.yaml')));
    expect(after?.Parameters).toContainEqual({ ParameterKey: 'EnvironmentVersion', ParameterValue: '1.1.0' });
    expect(after?.StackId).toBe(before?.StackId);
  }, 90_000);

  it('deletes the change set of an update nobody approved in time', async () => {
    const dir = templateDir({ '1.0.0': template('1.0.0'), '1.1.0': template('1.1.0', { max: 4 }) });
    const { tc, cf } = await start(dir, {}, undefined, 0.1);
    await tc.slash('/env', 'create shop-p --version 1.0.0');
    await finished(tc, '/env create shop-p --version 1.0.0', /done in/, 40_000);
    await tc.slash('/env', 'update shop-p --version 1.1.0');
    const request = await waitFor(() => tc.fake.messagesIn('C0APPROVALS')[0], { timeoutMs: 20_000 });
    const planned = /change set (capstan-update-[\w-]+)/.exec(messageText(request))?.[1] ?? '';
    expect(planned).not.toBe('');
    const stack = await stackNamed(cf, 'capstan-env-shop-p');
    expect(
      (await cf.send(new DescribeChangeSetCommand({ StackName: stack?.StackId, ChangeSetName: planned })))
        .ExecutionStatus,
    ).toBe('AVAILABLE');
    await waitFor(
      () =>
        tc.fake
          .messagesIn('C0OPS')
          .some((m) => /expired without a decision; nothing was done/.test(messageText(m))),
      { timeoutMs: 20_000 },
    );
    await waitFor(
      async () => {
        try {
          await cf.send(new DescribeChangeSetCommand({ StackName: stack?.StackId, ChangeSetName: planned }));
          return false;
        } catch (error) {
          return (error as Error).name === 'ChangeSetNotFoundException';
        }
      },
      { timeoutMs: 10_000 },
    );
    const after = await stackNamed(cf, 'capstan-env-shop-p');
    expect(tagsOf(after)['capstan:version']).toBe('1.0.0');
    expect(after?.StackStatus).toBe('CREATE_COMPLETE');
  }, 90_000);

  it('protects what a protected blueprint made: its delete waits for an approver, the expiry never takes it', async () => {
    const dir = templateDir({ '1.0.0': template('1.0.0') });
    const { tc, cf } = await start(dir);
    // Creating from a protected blueprint destroys nothing: no approval.
    await tc.slash('/env', 'create lk-1 --blueprint locked --ttl 15m');
    await finished(tc, '/env create lk-1 --blueprint locked --ttl 15m', /done in/, 40_000);
    const reply = await tc.slash('/env', 'delete lk-1');
    expect(JSON.parse(reply.body).text).toContain('needs an approval from role `approvers`');
    const request = await waitFor(() => tc.fake.messagesIn('C0APPROVALS')[0], { timeoutMs: 20_000 });
    expect(messageText(request)).toMatch(
      /delete stack capstan-env-lk-1 \(CREATE_COMPLETE, version 1\.0\.0\) and its 2 resource\(s\)/,
    );
    expect((await stackNamed(cf, 'capstan-env-lk-1'))?.StackStatus).toBe('CREATE_COMPLETE');
  }, 90_000);

  it('names what a delete could not remove and why, and lists what it retained', async () => {
    const sticky = template('1.0.0', {
      extra: `  Archive:
    Type: AWS::CloudFormation::WaitConditionHandle
    DeletionPolicy: Retain
  Lock:
    Type: Capstan::Sandbox::Failure
    Properties:
      FailOn: delete
      Reason: 'the bucket is not empty'
`,
    });
    const dir = templateDir({ '1.0.0': sticky });
    const { tc, cf } = await start(dir);
    await tc.slash('/env', 'create shop-d');
    await finished(tc, '/env create shop-d', /done in/, 40_000);
    await tc.slash('/env', 'delete shop-d');
    const failed = await finished(tc, '/env delete shop-d', /failed in/, 40_000);
    expect(failed).toContain('Deleting environment `shop-d` failed: the stack is DELETE_FAILED.');
    expect(failed).toContain('`Lock` (Capstan::Sandbox::Failure');
    expect(failed).toContain('could not be deleted: the bucket is not empty');
    expect((await stackNamed(cf, 'capstan-env-shop-d'))?.StackStatus).toBe('DELETE_FAILED');
  }, 90_000);

  it('lists the resources a delete retained (DeletionPolicy: Retain)', async () => {
    const kept = template('1.0.0', {
      extra: `  Archive:
    Type: AWS::CloudFormation::WaitConditionHandle
    DeletionPolicy: Retain
`,
    });
    const dir = templateDir({ '1.0.0': kept });
    const { tc, cf } = await start(dir);
    await tc.slash('/env', 'create shop-r');
    await finished(tc, '/env create shop-r', /done in/, 40_000);
    await tc.slash('/env', 'delete shop-r');
    const deleted = await finished(tc, '/env delete shop-r', undefined, 40_000);
    expect(deleted).toContain(
      'Environment `shop-r` is deleted: stack capstan-env-shop-r DELETE_COMPLETE, 2 resource(s) deleted',
    );
    expect(deleted).toContain(
      'Retained (DeletionPolicy: Retain, still in the account): `Archive` (AWS::CloudFormation::WaitConditionHandle',
    );
    expect(await stackNamed(cf, 'capstan-env-shop-r')).toBeUndefined();
  }, 90_000);

  it('warns before expiry, extends by a tags-only stack update, and deletes the expired stack but never a protected one', async () => {
    const dir = templateDir({ '1.0.0': template('1.0.0') });
    const { tc, cf } = await start(dir, { CAPSTAN_EXPIRY_SWEEP_MS: '300' });
    await tc.slash('/env', 'create shop-e --ttl 30m');
    await finished(tc, '/env create shop-e --ttl 30m', /done in/, 40_000);
    await tc.slash('/env', 'create lk-2 --blueprint locked --ttl 30m');
    await finished(tc, '/env create lk-2 --blueprint locked --ttl 30m', /done in/, 40_000);
    const warning = await waitFor(
      () => tc.fake.messagesIn('C0NOTICES').find((m) => /shop-e` expires at/.test(messageText(m))),
      { timeoutMs: 20_000 },
    );
    const before = Date.parse(tagsOf(await stackNamed(cf, 'capstan-env-shop-e'))['capstan:expires-at'] ?? '');
    await tc.click('U0ALICE', warning, EXTEND_ACTION, 'shop-e');
    const extended = await waitFor(
      () =>
        tc.fake
          .messagesIn('C0NOTICES')
          .find((m) => m.thread_ts === warning.ts && /now expires at|failed/.test(messageText(m))),
      { timeoutMs: 30_000 },
    );
    expect(messageText(extended)).toContain('`shop-e` now expires at');
    const after = await stackNamed(cf, 'capstan-env-shop-e');
    expect(Date.parse(tagsOf(after)['capstan:expires-at'] ?? '') - before).toBe(4 * 3_600_000);
    expect(after?.StackStatus).toBe('UPDATE_COMPLETE');

    // Expired (both): the sweep deletes shop-e through /env delete's job; lk-2 is protected by its blueprint.
    const past = new Date(Date.now() - 60_000).toISOString();
    for (const name of ['capstan-env-shop-e', 'capstan-env-lk-2']) {
      const stack = await stackNamed(cf, name);
      await cf.send(
        new UpdateStackCommand({
          StackName: name,
          UsePreviousTemplate: true,
          Parameters: (stack?.Parameters ?? []).map((p) => ({
            ParameterKey: p.ParameterKey,
            UsePreviousValue: true,
          })),
          Tags: Object.entries({ ...tagsOf(stack), 'capstan:expires-at': past }).map(([Key, Value]) => ({
            Key,
            Value,
          })),
        }),
      );
    }
    await waitFor(
      () =>
        tc.fake.messagesIn('C0NOTICES').some((m) => /Environment `shop-e` is deleted/.test(messageText(m))),
      { timeoutMs: 40_000 },
    );
    expect(await stackNamed(cf, 'capstan-env-shop-e')).toBeUndefined();
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect((await stackNamed(cf, 'capstan-env-lk-2'))?.StackStatus).toBe('UPDATE_COMPLETE');
  }, 120_000);

  it('reports a failed update with its reason and the rollback, leaving the environment as it was', async () => {
    const dir = templateDir({
      '1.0.0': template('1.0.0'),
      '1.1.0': template('1.1.0', {
        extra: `  Cache:
    Type: Capstan::Sandbox::Failure
    Properties:
      FailOn: create
      Reason: 'cache.t3.micro is not available in this zone'
`,
      }),
    });
    const { tc, cf } = await start(dir);
    await tc.slash('/env', 'create shop-u --version 1.0.0');
    await finished(tc, '/env create shop-u --version 1.0.0', /done in/, 40_000);
    await tc.slash('/env', 'update shop-u --version 1.1.0 --param Size=2');
    const failed = await finished(
      tc,
      '/env update shop-u --version 1.1.0 --param Size=2',
      /failed in/,
      40_000,
    );
    expect(failed).toContain('add `Cache` (Capstan::Sandbox::Failure)');
    expect(failed).toContain(
      '`Cache` (Capstan::Sandbox::Failure) failed: cache.t3.micro is not available in this zone',
    );
    expect(failed).toContain('CloudFormation rolled the update back: the environment is as it was before');
    const stack = await stackNamed(cf, 'capstan-env-shop-u');
    expect(stack?.StackStatus).toBe('UPDATE_ROLLBACK_COMPLETE');
    expect(tagsOf(stack)['capstan:version']).toBe('1.0.0');
    expect(stack?.Parameters).toContainEqual({ ParameterKey: 'Size', ParameterValue: '1' });

    await tc.slash('/env', 'update shop-u --param Nope=1');
    expect(await finished(tc, '/env update shop-u --param Nope=1')).toContain(
      'The template of version 1.0.0 declares no parameter `Nope`',
    );
  }, 90_000);

  it('finishes a create and a delete whose worker was killed mid-way: one stack, one message each', async () => {
    const dir = templateDir({ '1.0.0': template('1.0.0') });
    const { tc, cf } = await start(dir, {}, 'web');
    // The first worker dies right after CloudFormation accepted the create, before it could say so.
    const first = tc.spawnWorker({ CAPSTAN_DRILL_KILL_AFTER_CREATE: 'stack,delete-started' });
    await tc.slash('/env', 'create shop-k --version 1.0.0');
    await waitFor(() => first.exitCode !== null || first.signalCode !== null, { timeoutMs: 30_000 });
    await exited(first);
    const second = tc.spawnWorker();
    const created = await finished(tc, '/env create shop-k --version 1.0.0', undefined, 40_000);
    expect(created).toContain('Environment `shop-k` is up');
    expect(created).toContain('started by an earlier attempt');
    // Each resource reported once, whichever attempt saw it.
    expect(created.match(/`Group` \(AWS::AutoScaling::AutoScalingGroup\) created/g)).toHaveLength(1);
    expect(tc.fake.messagesIn('C0OPS', { topLevelOnly: true })).toHaveLength(1);
    const stack = await stackNamed(cf, 'capstan-env-shop-k');
    expect(stack?.StackStatus).toBe('CREATE_COMPLETE');
    second.kill('SIGKILL');
    await exited(second);

    // Now the delete: the worker dies right after DeleteStack was accepted.
    const third = tc.spawnWorker({ CAPSTAN_DRILL_KILL_AFTER_CREATE: 'delete-started' });
    await tc.slash('/env', 'delete shop-k');
    await waitFor(() => third.exitCode !== null || third.signalCode !== null, { timeoutMs: 30_000 });
    await exited(third);
    const fourth = tc.spawnWorker();
    const deleted = await finished(tc, '/env delete shop-k', undefined, 40_000);
    expect(deleted).toContain('Environment `shop-k` is deleted');
    expect(await stackNamed(cf, 'capstan-env-shop-k')).toBeUndefined();
    expect((await stackNamed(cf, stack?.StackId ?? ''))?.StackStatus).toBe('DELETE_COMPLETE');
    fourth.kill('SIGKILL');
    await exited(fourth);
  }, 120_000);
});
