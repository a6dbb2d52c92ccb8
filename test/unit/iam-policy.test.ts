/** The IAM table and policy: the README section is generated from the table; the policy scopes what AWS allows. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { allActions, iamMarkdown, iamPolicyFor } from '../../src/aws/iam-policy.js';
import { readConfig } from '../../src/config.js';
import { writeTempFile } from '../helpers/run-capstan.js';

const CONFIG = `
aws: { region: eu-west-1, roleArn: 'arn:aws:iam::123456789012:role/capstan' }
blueprints:
  web:
    launchTemplate: { name: web-lt }
    subnets: [subnet-0abc12345]
environments:
  legacy: { blueprint: web, asgName: legacy-web }
databases:
  orders-db: { user: capstan, secret: prod/orders-db/capstan, tls: require }
`;

describe('capstan iam-policy', () => {
  it('keeps the README section equal to the table', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const section = readme.match(/<!-- iam-policy:begin -->\n([\s\S]*?)\n<!-- iam-policy:end -->/)?.[1];
    expect(section).toBe(iamMarkdown());
  });

  it('grants every action of the table, Describe calls on "*", and what creating a group needs', () => {
    const config = readConfig({ CAPSTAN_CONFIG: writeTempFile('capstan-iam-', 'capstan.yml', CONFIG) });
    const policy = iamPolicyFor(config);
    const granted = new Set(policy.Statement.flatMap((s) => s.Action));
    // No database uses IAM authentication and no blueprint reads templates from S3 here: least
    // privilege leaves rds-db:connect and the S3 reads out.
    const unused = ['rds-db:connect', 's3:GetObject', 's3:ListBucket'];
    for (const action of allActions().filter((a) => !unused.includes(a))) expect(granted).toContain(action);
    for (const action of unused) expect(granted).not.toContain(action);
    const stacks = policy.Statement.find((s) => s.Action.includes('cloudformation:CreateStack'));
    expect(stacks?.Resource).toEqual([
      'arn:aws:cloudformation:*:*:stack/capstan-env-*/*',
      'arn:aws:cloudformation:*:*:changeSet/capstan-update-*/*',
    ]);
    for (const s of policy.Statement) {
      if (s.Action.some((a) => /:(Describe|Get)/.test(a) && !a.startsWith('secretsmanager:'))) {
        expect(s.Resource).toBe('*');
      }
    }
    for (const extra of ['ec2:RunInstances', 'ec2:CreateTags', 'iam:PassRole', 'iam:CreateServiceLinkedRole'])
      expect(granted).toContain(extra);
    const assume = policy.Statement.find((s) => s.Action.includes('sts:AssumeRole'));
    expect(assume?.Resource).toEqual(['arn:aws:iam::123456789012:role/capstan']);
    const groups = policy.Statement.find((s) => s.Action.includes('autoscaling:EnterStandby'));
    expect(groups?.Resource).toEqual([
      'arn:aws:autoscaling:*:*:autoScalingGroup:*:autoScalingGroupName/capstan-env-*',
      'arn:aws:autoscaling:*:*:autoScalingGroup:*:autoScalingGroupName/legacy-web',
    ]);
    const secrets = policy.Statement.find((s) => s.Action.includes('secretsmanager:GetSecretValue'));
    expect(secrets?.Resource).toEqual(['arn:aws:secretsmanager:*:*:secret:prod/orders-db/capstan-??????']);
    const deletes = policy.Statement.find((s) => s.Action.includes('rds:DeleteDBInstance'));
    expect(deletes?.Resource).toContain('arn:aws:rds:*:*:db:capstan-restore-*');
    expect(deletes?.Resource).not.toBe('*');
  });

  it('reads stack templates only from the buckets the blueprints name', () => {
    const yaml = `
aws: { region: eu-west-1 }
blueprints:
  shop:
    kind: stack
    template: s3://acme-templates/shop/{version}/stack.yaml
  site:
    kind: stack
    template: https://acme-site.s3.eu-west-1.amazonaws.com/site.yaml
`;
    const config = readConfig({ CAPSTAN_CONFIG: writeTempFile('capstan-iam-', 'capstan.yml', yaml) });
    const reads = iamPolicyFor(config).Statement.find((s) => s.Action.includes('s3:GetObject'));
    expect(reads?.Action).toEqual(['s3:GetObject', 's3:ListBucket']);
    expect(reads?.Resource).toEqual([
      'arn:aws:s3:::acme-templates',
      'arn:aws:s3:::acme-templates/*',
      'arn:aws:s3:::acme-site',
      'arn:aws:s3:::acme-site/*',
    ]);
  });
});
