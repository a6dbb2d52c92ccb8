/**
 * An AMI blueprint builds a launch template with what a real instance needs: security groups, the
 * instance profile, user data with `{env}`/`{version}` filled in (base64, as launch templates take it:
 * https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_RequestLaunchTemplateData.html), the
 * key pair, IMDSv2 required, and tags on instances and volumes.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { TestCapstan } from '../helpers/capstan.js';
import { CONFIG, finished, liveInstances, startOnSandbox } from '../helpers/sandbox-world.js';

let t: TestCapstan | undefined;
afterEach(async () => {
  await t?.stop();
  t = undefined;
});

const AMI_CONFIG = CONFIG.replace(
  'environments:\n',
  `  ami:
    ami: ami-0abc12345
    instanceType: t3.small
    subnets: [subnet-0aaa11111]
    securityGroups: [sg-0aaa11111]
    instanceProfile: web-instance
    userData: "#!/bin/sh\\necho {env} {version} > /etc/capstan-env\\n"
    keyName: ops
    size: { min: 0, max: 2, desired: 1 }
environments:
`,
);

describe('AMI blueprints', () => {
  it('make a launch template with security groups, profile, user data, key pair, IMDSv2 and tags', async () => {
    const { tc, sandbox } = await startOnSandbox({}, AMI_CONFIG);
    t = tc;
    await tc.slash('/env', 'create ami-1 --blueprint ami --version 2.0.1');
    expect(await finished(tc, '/env create ami-1 --blueprint ami --version 2.0.1')).toContain(
      'Environment `ami-1` is up: 1 instance(s) InService',
    );
    const world = await sandbox.snapshot();
    const lt = Object.values(world.launchTemplates).find((x) => x.name === 'capstan-env-ami-1');
    const data = lt?.versions.at(-1)?.data;
    expect(data).toMatchObject({
      ImageId: 'ami-0abc12345',
      InstanceType: 't3.small',
      SecurityGroupIds: ['sg-0aaa11111'],
      IamInstanceProfile: { Name: 'web-instance' },
      KeyName: 'ops',
      MetadataOptions: { HttpTokens: 'required' },
    });
    expect(Buffer.from(String(data?.UserData), 'base64').toString('utf8')).toBe(
      '#!/bin/sh\necho ami-1 2.0.1 > /etc/capstan-env\n',
    );
    const specs = (data?.TagSpecifications ?? []) as {
      ResourceType: string;
      Tags: { Key: string; Value: string }[];
    }[];
    expect(specs.map((s) => s.ResourceType).sort()).toEqual(['instance', 'volume']);
    for (const s of specs) {
      expect(s.Tags).toEqual(expect.arrayContaining([{ Key: 'capstan:env', Value: 'ami-1' }]));
    }
    expect(liveInstances(world, 'capstan-env-ami-1')).toHaveLength(1);
  });
});
