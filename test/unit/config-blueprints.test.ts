/** Blueprint validation: protected target groups, AMI blueprints' instance settings, the README example. */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfigFile, readConfig } from '../../src/config.js';
import { ConfigError } from '../../src/errors.js';

const TG = 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/web/0123456789abcdef';
const OTHER_TG = 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/preview/0fedcba987654321';

function parse(yaml: string): { problems: string[] } {
  const problems: string[] = [];
  parseConfigFile(yaml, 'capstan.yml', problems);
  return { problems };
}

const base = (preview: string) => `
aws: { region: eu-west-1 }
roles: { approvers: { users: [U0CAROL] } }
blueprints:
  prod:
    launchTemplate: { name: web-lt }
    subnets: [subnet-0abc12345]
    targetGroups: [${TG}]
${preview}
environments:
  prod: { blueprint: prod, asgName: prod-web }
policy:
  environments:
    prod: { protected: true }
`;

describe('blueprints and protected target groups', () => {
  it('refuses a blueprint that would register new environments behind a protected environment’s target group', () => {
    const { problems } = parse(
      base(
        `  preview:\n    launchTemplate: { name: web-lt }\n    subnets: [subnet-0abc12345]\n    targetGroups: [${TG}]`,
      ),
    );
    expect(
      problems.some(
        (p) => p.includes('blueprints.preview.targetGroups') && p.includes('protected environment prod'),
      ),
    ).toBe(true);
    // prod's own blueprint is refused too: /env create --blueprint prod would do the same.
    expect(problems.some((p) => p.includes('blueprints.prod.targetGroups'))).toBe(true);
  });

  it('accepts it when sharedTargetGroups says so, and a blueprint with its own target group', () => {
    expect(
      parse(
        base(
          `  preview:\n    launchTemplate: { name: web-lt }\n    subnets: [subnet-0abc12345]\n    targetGroups: [${OTHER_TG}]`,
        ).replace(`    targetGroups: [${TG}]\n`, `    targetGroups: [${TG}]\n    sharedTargetGroups: true\n`),
      ).problems,
    ).toEqual([]);
  });
});

describe('AMI blueprints', () => {
  const ami = (extra: string) => `
blueprints:
  a:
    ami: ami-0abc12345
    instanceType: t3.small
    subnets: [subnet-0abc12345]
${extra}`;

  it('takes security groups, profile, user data, key pair; IMDSv2 required by default', () => {
    const problems: string[] = [];
    const file = parseConfigFile(
      ami(
        '    securityGroups: [sg-0abc12345]\n    instanceProfile: web\n    userData: "echo {env}"\n    keyName: ops',
      ),
      'c.yml',
      problems,
    );
    expect(problems).toEqual([]);
    expect(file?.blueprints.a).toMatchObject({ imds: 'v2-required', securityGroups: ['sg-0abc12345'] });
  });

  it('refuses instance settings on a launch-template blueprint, and userData with userDataFile', () => {
    expect(
      parse(
        `blueprints:\n  lt:\n    launchTemplate: { name: web-lt }\n    subnets: [subnet-0abc12345]\n    securityGroups: [sg-0abc12345]\n`,
      ).problems.join('\n'),
    ).toContain('takes its image');
    expect(parse(ami('    userData: x\n    userDataFile: u.sh')).problems.join('\n')).toContain(
      'userData or userDataFile, not both',
    );
  });

  it('reads userDataFile relative to the config file, and names a missing one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'capstan-ud-'));
    writeFileSync(join(dir, 'user-data.sh'), '#!/bin/sh\necho {env} {version}\n');
    const path = join(dir, 'capstan.yml');
    writeFileSync(path, ami('    userDataFile: user-data.sh'));
    const config = readConfig({ CAPSTAN_CONFIG: path });
    expect((config.file.blueprints.a as { userData?: string } | undefined)?.userData).toBe(
      '#!/bin/sh\necho {env} {version}\n',
    );
    writeFileSync(path, ami('    userDataFile: missing.sh'));
    expect(() => readConfig({ CAPSTAN_CONFIG: path })).toThrow(ConfigError);
    try {
      readConfig({ CAPSTAN_CONFIG: path });
    } catch (error) {
      expect((error as ConfigError).problems.join('\n')).toContain('userDataFile: cannot read');
    }
  });
});

describe('the README example', () => {
  it('is a valid configuration', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const block = readme.match(/The YAML file \(`CAPSTAN_CONFIG`\):\n\n```yaml\n([\s\S]*?)```/)?.[1];
    expect(block).toBeDefined();
    expect(parse(block ?? '').problems).toEqual([]);
  });
});
