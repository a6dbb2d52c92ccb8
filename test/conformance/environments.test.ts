/**
 * Conformance: Capstan with CAPSTAN_AWS=aws against moto's server, end to end through signed Slack
 * requests, asserting moto's state through the SDK. moto is an independent emulator: where the
 * sandbox and Capstan share a wrong belief about AWS, this suite does not.
 *
 * Where moto falls short of AWS the test names the gap and does what AWS would:
 * - MOTO GAP standby-stays-registered: EnterStandby leaves the instance registered (and healthy) in the
 *   group's target groups; AWS deregisters it
 *   (https://docs.aws.amazon.com/autoscaling/ec2/userguide/as-enter-exit-standby.html). The test
 *   deregisters it, and registers it again on ExitStandby if moto has not.
 * - MOTO GAP instant-inservice: instances are InService at once (AWS: Pending first); nothing to do,
 *   the jobs' waits are exercised by the sandbox tests.
 * - MOTO GAP force-delete: DeleteAutoScalingGroup ignores ForceDelete; the test checks the instances
 *   are gone afterwards, terminating any moto left behind as AWS's ForceDelete would.
 */
import { randomBytes } from 'node:crypto';
import { DescribeLaunchTemplatesCommand, TerminateInstancesCommand } from '@aws-sdk/client-ec2';
import { DeregisterTargetsCommand, RegisterTargetsCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { CatalogKind } from '../../src/catalog.js';
import { startTestCapstan, type TestCapstan } from '../helpers/capstan.js';
import { finished } from '../helpers/sandbox-world.js';
import { waitFor } from '../helpers/wait-for.js';
import { type CallRecorder, callsMissingFromTable, recordAwsCalls, type SeenCalls } from './call-recorder.js';
import {
  CAPSTAN_ON_MOTO,
  groupIn,
  instancesTagged,
  type MotoClients,
  type MotoWorld,
  motoClients,
  pointSdkAtMoto,
  REGION,
  seedMoto,
  targetsIn,
} from './world.js';

const S = randomBytes(3).toString('hex');
let c: MotoClients;
let w: MotoWorld;
let tc: TestCapstan;
let recorder: CallRecorder;
/** Every command's calls, as recorded: checked against the IAM table after the suite. */
const seen: SeenCalls[] = [];

function config(world: MotoWorld): string {
  const lt = `{ name: web-lt-${S}, version: '$Latest' }`;
  const subnets = `[${world.subnets.join(', ')}]`;
  return `
slack: { approvalsChannel: C0APPROVALS }
aws: { region: ${REGION} }
defaultBlueprint: web
blueprints:
  web:
    launchTemplate: ${lt}
    subnets: ${subnets}
    targetGroups: [${world.previewTargetGroupArn}]
    size: { min: 0, max: 3, desired: 2 }
  one:
    launchTemplate: ${lt}
    subnets: ${subnets}
    targetGroups: [${world.previewTargetGroupArn}]
    size: { min: 1, max: 3, desired: 2 }
  full:
    launchTemplate: ${lt}
    subnets: ${subnets}
    targetGroups: [${world.previewTargetGroupArn}]
    size: { min: 2, max: 2, desired: 2 }
  ami:
    ami: ami-12c6146b
    instanceType: t3.small
    userData: "#!/bin/sh\\necho {env} {version}\\n"
    subnets: ${subnets}
    size: { min: 0, max: 2, desired: 1 }
  legacy:
    launchTemplate: ${lt}
    subnets: ${subnets}
    targetGroups: [${world.targetGroupArn}]
environments:
  legacy: { blueprint: legacy, asgName: legacy-web-${S} }
roles:
  engineers: { users: [U0ALICE, U0BOB] }
  approvers: { users: [U0CAROL] }
`;
}

beforeAll(async () => {
  const endpoint = inject('motoUrl');
  pointSdkAtMoto(endpoint);
  recorder = recordAwsCalls();
  c = motoClients(endpoint);
  recorder.ignore(c.autoScaling, c.ec2, c.elbv2);
  w = await seedMoto(c, S);
  tc = await startTestCapstan({
    configYaml: config(w),
    env: CAPSTAN_ON_MOTO,
  });
});

afterAll(async () => {
  await tc?.stop();
  recorder?.restore();
});

/**
 * `/env delete <env>`, with what AWS would do that moto does not: once the group is gone, moto leaves
 * its instances running (MOTO GAP force-delete: ForceDelete ignored); AWS terminates them.
 */
async function deleteEnv(env: string): Promise<string> {
  let done = false;
  const awsWould = (async () => {
    while (!done) {
      if (!(await groupIn(c, `capstan-env-${env}`))) {
        const left = await instancesTagged(c, 'capstan:env', env);
        if (left.length > 0) {
          await c.ec2.send(
            new TerminateInstancesCommand({ InstanceIds: left.map((i) => i.InstanceId ?? '') }),
          );
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  })();
  try {
    return await run('/env', `delete ${env}`);
  } finally {
    done = true;
    await awsWould;
  }
}

async function run(command: string, text: string, outcome?: RegExp): Promise<string> {
  recorder.take();
  await tc.slash(command, text);
  // As Slack shows it: the user's text escaped.
  const shown = `${command} ${text}`.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
  const final = await finished(tc, shown, outcome, 30_000);
  seen.push({ kind: `${command.slice(1)}.${text.split(' ')[0]}` as CatalogKind, calls: recorder.take() });
  return final;
}

function tagsOf(group: { Tags?: { Key?: string; Value?: string }[] } | undefined): Record<string, string> {
  return Object.fromEntries((group?.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? '']));
}

/** The environment is gone from moto: no group, no instance, no launch template tagged with it. */
async function expectGone(env: string): Promise<void> {
  expect(await groupIn(c, `capstan-env-${env}`)).toBeUndefined();
  expect(await instancesTagged(c, 'capstan:env', env)).toEqual([]);
  const lts = await c.ec2.send(
    new DescribeLaunchTemplatesCommand({ Filters: [{ Name: 'tag:capstan:env', Values: [env] }] }),
  );
  expect(lts.LaunchTemplates ?? []).toEqual([]);
}

describe('environments on moto', () => {
  it('creates an environment from a launch-template blueprint: tagged group, instances registered', async () => {
    const text = await run('/env', 'create feature-1 --version 1.2.3');
    expect(text).toContain('Environment `feature-1` is up: 2 instance(s) InService');
    const group = await groupIn(c, 'capstan-env-feature-1');
    expect(group?.DesiredCapacity).toBe(2);
    expect(group?.TargetGroupARNs).toEqual([w.previewTargetGroupArn]);
    expect(tagsOf(group)).toMatchObject({
      'capstan:env': 'feature-1',
      'capstan:version': '1.2.3',
      'capstan:owner': 'U0ALICE',
      'capstan:blueprint': 'web',
    });
    const ids = (group?.Instances ?? []).map((i) => i.InstanceId ?? '').sort();
    expect(ids).toHaveLength(2);
    expect([...(await targetsIn(c, w.previewTargetGroupArn)).keys()].sort()).toEqual(ids);
    expect((await instancesTagged(c, 'capstan:env', 'feature-1')).map((i) => i.InstanceId).sort()).toEqual(
      ids,
    );
  });

  it('lists it beside the declared environment whose group has no capstan:env tag, and shows its status', async () => {
    const list = await run('/env', 'list');
    expect(list).toMatch(/\*feature-1\* — version 1\.2\.3, 2\/2 in service, owner <@U0ALICE>/);
    expect(list).toMatch(
      /\*legacy\* — version \?, 2\/2 in service, owner \?, expires never, ready \(us-east-1\)/,
    );
    const status = await run('/env', 'status feature-1');
    const healthy = new Set(
      [...status.matchAll(/`(i-[0-9a-f]+)` InService, Healthy, load balancer: healthy/g)].map((m) => m[1]),
    );
    expect(healthy.size).toBe(2);
  });

  it('takes one instance out of the load balancer and puts it back (/lb disable --instance, /lb enable)', async () => {
    const group = await groupIn(c, 'capstan-env-feature-1');
    const id = group?.Instances?.[0]?.InstanceId ?? '';
    const disabled = await run('/lb', `disable feature-1 --instance ${id} --reason "patch <now>"`);
    expect(disabled).toContain(`\`${id}\` is out of the load balancer (Standby) — patch &lt;now&gt;`);
    let g = await groupIn(c, 'capstan-env-feature-1');
    expect(g?.Instances?.find((i) => i.InstanceId === id)?.LifecycleState).toBe('Standby');
    expect(g?.DesiredCapacity).toBe(1);
    expect(tagsOf(g)['capstan:standby']).toMatch(/^1 in Standby since /);
    expect((g?.SuspendedProcesses ?? []).map((p) => p.ProcessName).sort()).toEqual([
      'AZRebalance',
      'AlarmNotification',
      'ReplaceUnhealthy',
      'ScheduledActions',
    ]);
    if ((await targetsIn(c, w.previewTargetGroupArn)).has(id)) {
      // MOTO GAP standby-stays-registered: AWS deregisters a Standby instance; do what AWS would.
      await c.elbv2.send(
        new DeregisterTargetsCommand({ TargetGroupArn: w.previewTargetGroupArn, Targets: [{ Id: id }] }),
      );
    }

    const status = await run('/lb', 'status feature-1');
    expect(status).toContain('*Standby* (1):');
    expect(status).toMatch(new RegExp(`\`${id}\` since \\S+ by <@U0ALICE> — patch &lt;now&gt;`));

    await tc.slash('/lb', 'enable feature-1');
    // AWS registers an instance again when it leaves Standby; moto may not (same gap).
    await waitFor(
      async () => {
        const now = await groupIn(c, 'capstan-env-feature-1');
        if (now?.Instances?.find((i) => i.InstanceId === id)?.LifecycleState !== 'InService')
          return undefined;
        if (!(await targetsIn(c, w.previewTargetGroupArn)).has(id)) {
          await c.elbv2.send(
            new RegisterTargetsCommand({ TargetGroupArn: w.previewTargetGroupArn, Targets: [{ Id: id }] }),
          );
        }
        return true;
      },
      { timeoutMs: 20_000 },
    );
    const enabled = await finished(tc, '/lb enable feature-1', undefined, 30_000);
    expect(enabled).toContain(`\`${id}\` is back in service and healthy.`);
    g = await groupIn(c, 'capstan-env-feature-1');
    expect(g?.Instances?.map((i) => i.LifecycleState)).toEqual(['InService', 'InService']);
    expect(g?.DesiredCapacity).toBe(2);
    expect(g?.SuspendedProcesses ?? []).toEqual([]);
    expect(
      Object.keys(tagsOf(g)).filter((k) => k.startsWith('capstan:standby') || k.startsWith('capstan:lb')),
    ).toEqual([]);
  });

  it('deletes environments of MinSize 0, 1 and = MaxSize, leaving nothing tagged with them', async () => {
    expect(await deleteEnv('feature-1')).toContain(
      'Environment `feature-1` is deleted; nothing tagged capstan:env=feature-1 remains.',
    );
    await expectGone('feature-1');
    for (const [env, blueprint] of [
      ['min-one', 'one'],
      ['min-max', 'full'],
    ] as const) {
      expect(await run('/env', `create ${env} --blueprint ${blueprint}`)).toContain(
        `Environment \`${env}\` is up: 2 instance(s) InService`,
      );
      const g = await groupIn(c, `capstan-env-${env}`);
      expect(g?.MinSize).toBe(blueprint === 'one' ? 1 : 2);
      const deleted = await deleteEnv(env);
      expect(deleted).toContain(
        `Environment \`${env}\` is deleted; nothing tagged capstan:env=${env} remains.`,
      );
      await expectGone(env);
    }
    // The declared environment is untouched.
    expect((await groupIn(c, `legacy-web-${S}`))?.Instances).toHaveLength(2);
  });

  it('creates from an AMI blueprint a launch template with user data and IMDSv2 required', async () => {
    expect(await run('/env', 'create from-ami --blueprint ami --version 9.9')).toContain(
      'Environment `from-ami` is up: 1 instance(s) InService',
    );
    const { DescribeLaunchTemplateVersionsCommand } = await import('@aws-sdk/client-ec2');
    const versions = await c.ec2.send(
      new DescribeLaunchTemplateVersionsCommand({
        LaunchTemplateName: 'capstan-env-from-ami',
        Versions: ['$Latest'],
      }),
    );
    const data = versions.LaunchTemplateVersions?.[0]?.LaunchTemplateData;
    expect(data?.ImageId).toBe('ami-12c6146b');
    expect(data?.MetadataOptions?.HttpTokens).toBe('required');
    expect(Buffer.from(data?.UserData ?? '', 'base64').toString('utf8')).toBe(
      '#!/bin/sh\necho from-ami 9.9\n',
    );
    expect(await deleteEnv('from-ami')).toContain('Environment `from-ami` is deleted');
    await expectGone('from-ami');
  });
});

describe('the IAM table', () => {
  it('lists every AWS call each command made in this suite', () => {
    expect(seen.length).toBeGreaterThan(5);
    expect(callsMissingFromTable(seen)).toEqual([]);
    expect(seen.some(({ calls }) => calls.includes('autoscaling:EnterStandby'))).toBe(true);
  });
});
