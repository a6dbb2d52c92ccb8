/**
 * Stack environments' pure core: versions, planning, template parameters, what stack events and
 * statuses mean (CloudFormation's documented status codes:
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/view-stack-events.html), change-set
 * plans (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_ResourceChange.html)
 * and traceability. Also the grammar of `/env update` and the config's stack blueprints.
 */
import { describe, expect, it } from 'vitest';
import type { StackEvent } from '../../src/aws/cloudformation.js';
import { parseSlashCommand } from '../../src/commands/index.js';
import { readConfig } from '../../src/config.js';
import { describePlan } from '../../src/domain/plan.js';
import {
  changeSetPlan,
  compareVersions,
  deleteFailures,
  failureMessage,
  firstFailure,
  parameterProblems,
  phaseOf,
  planStack,
  retained,
  sortVersions,
  templateParameters,
  traceability,
  versionPattern,
} from '../../src/domain/stack.js';
import { UserError } from '../../src/errors.js';
import { writeTempFile } from '../helpers/run-capstan.js';

const CTX = { now: new Date('2026-12-06T12:00:00Z'), timeZone: 'UTC' };

function config(blueprint: string) {
  return readConfig({
    CAPSTAN_CONFIG: writeTempFile(
      'capstan-stack-',
      'capstan.yml',
      `aws: { region: eu-west-1 }\nblueprints:\n${blueprint}`,
    ),
  });
}

const SHOP = `  shop:
    kind: stack
    template: templates/{version}/stack.yaml
    parameters: { Env: '{env}', Owner: '{owner}', Banner: 'v{version} of {env}' }
    tags: { team: shop }
    ttl: 2h
`;

function event(
  logicalId: string,
  status: string,
  reason?: string,
  type = 'AWS::AutoScaling::AutoScalingGroup',
): StackEvent {
  return {
    id: `${logicalId}-${status}`,
    at: new Date(),
    logicalId,
    type,
    status,
    ...(reason ? { reason } : {}),
  };
}

describe('versions', () => {
  it('orders numeric parts as numbers and a release after its pre-release', () => {
    expect(sortVersions(['1.10.0', '1.9.2', '1.2.0', '1.4.2', '1.4.2-rc1', '1.9.2'])).toEqual([
      '1.2.0',
      '1.4.2-rc1',
      '1.4.2',
      '1.9.2',
      '1.10.0',
    ]);
    expect(compareVersions('2.0', '10.0')).toBeLessThan(0);
  });

  it("matches the blueprint's template paths, the version captured", () => {
    const p = versionPattern('/srv/templates/shop-{version}/stack.yaml');
    expect(p.exec('/srv/templates/shop-1.4.2/stack.yaml')?.[1]).toBe('1.4.2');
    expect(p.test('/srv/templates/shop-1.4.2/other.yaml')).toBe(false);
    expect(p.test('/srv/templates/shop-../x/stack.yaml')).toBe(false);
  });
});

describe('planning a stack environment', () => {
  it('fills the placeholders, puts the version in its parameter and tags the environment', () => {
    const c = config(SHOP);
    const bp = c.file.blueprints.shop;
    if (bp?.kind !== 'stack') throw new Error('not a stack blueprint');
    expect(bp.template).toMatch(/^\/.*\/templates\/\{version\}\/stack\.yaml$/);
    const plan = planStack(
      { kind: 'env.create', name: 'demo', version: '1.1.0' },
      'shop',
      bp,
      'U0ALICE',
      CTX.now,
      ['1.0.0', '1.1.0', '1.2.0'],
    );
    expect(plan.stackName).toBe('capstan-env-demo');
    expect(plan.parameters).toEqual({
      Env: 'demo',
      Owner: 'U0ALICE',
      Banner: 'v1.1.0 of demo',
      EnvironmentVersion: '1.1.0',
    });
    expect(plan.tags).toMatchObject({
      team: 'shop',
      'capstan:env': 'demo',
      'capstan:version': '1.1.0',
      'capstan:owner': 'U0ALICE',
      'capstan:blueprint': 'shop',
      'capstan:expires-at': '2026-12-06T14:00:00.000Z',
    });
  });

  it('picks the newest version when none is given, and refuses one that does not exist', () => {
    const bp = config(SHOP).file.blueprints.shop;
    if (bp?.kind !== 'stack') throw new Error('not a stack blueprint');
    const versions = ['1.0.0', '1.2.0', '1.10.0'];
    const newest = planStack({ kind: 'env.create', name: 'demo' }, 'shop', bp, 'U1', CTX.now, versions);
    expect(newest.version).toBe('1.10.0');
    expect(newest.versionFrom).toBe('newest');
    expect(() =>
      planStack({ kind: 'env.create', name: 'demo', version: '9.9.9' }, 'shop', bp, 'U1', CTX.now, versions),
    ).toThrow(/no template version `9.9.9`.*`1.0.0`, `1.2.0`, `1.10.0`/);
    expect(() => planStack({ kind: 'env.create', name: 'demo' }, 'shop', bp, 'U1', CTX.now, [])).toThrow(
      /no template versions/,
    );
  });

  it('gives an unversioned template the 0.0.YYDDDD.SSSSS version, and refuses --size', () => {
    const bp = config(SHOP.replace('templates/{version}/stack.yaml', 'stack.yaml')).file.blueprints.shop;
    if (bp?.kind !== 'stack') throw new Error('not a stack blueprint');
    const plan = planStack({ kind: 'env.create', name: 'demo' }, 'shop', bp, 'U1', CTX.now, undefined);
    // 2026-12-06 is day 340; noon is 43200 s into the day.
    expect(plan.version).toBe('0.0.260340.43200');
    expect(() =>
      planStack({ kind: 'env.create', name: 'demo', size: 2 }, 'shop', bp, 'U1', CTX.now, undefined),
    ).toThrow(UserError);
  });
});

describe('template parameters', () => {
  it('reads them from YAML with short-form tags and from JSON', () => {
    const yaml = `AWSTemplateFormatVersion: '2010-09-09'
Parameters:
  EnvironmentVersion: { Type: String }
  Size:
    Type: Number
    Default: 2
Resources:
  Group:
    Type: AWS::AutoScaling::AutoScalingGroup
    Properties:
      MinSize: !Ref Size
      Tags: [{ Key: v, Value: !Sub '\${EnvironmentVersion}', PropagateAtLaunch: true }]
`;
    expect(templateParameters(yaml)).toEqual([
      { key: 'EnvironmentVersion', hasDefault: false },
      { key: 'Size', hasDefault: true },
    ]);
    expect(
      templateParameters(JSON.stringify({ Parameters: { A: { Type: 'String', Default: '' } } })),
    ).toEqual([{ key: 'A', hasDefault: true }]);
    expect(templateParameters('Resources: [unclosed')).toBeUndefined();
  });

  it('names each mismatch between the blueprint and its template', () => {
    const declared = [
      { key: 'Version', hasDefault: false },
      { key: 'Subnets', hasDefault: false },
      { key: 'Size', hasDefault: true },
    ];
    expect(parameterProblems(declared, { Version: '1', Subnets: 'a' }, 'Version')).toEqual([]);
    const problems = parameterProblems(
      declared,
      { EnvironmentVersion: '1', Typo: 'x' },
      'EnvironmentVersion',
    );
    expect(problems.join('\n')).toMatch(/no parameter `EnvironmentVersion`/);
    expect(problems.join('\n')).toMatch(/no parameter `Typo`/);
    expect(problems.join('\n')).toMatch(/no value for `Version`, `Subnets`/);
  });
});

describe('stack statuses and events', () => {
  it('knows when an operation is over and whether it succeeded', () => {
    expect(phaseOf('create', 'CREATE_IN_PROGRESS')).toBe('in-progress');
    expect(phaseOf('create', 'ROLLBACK_IN_PROGRESS')).toBe('in-progress');
    expect(phaseOf('create', 'CREATE_COMPLETE')).toBe('succeeded');
    expect(phaseOf('create', 'ROLLBACK_COMPLETE')).toBe('failed');
    expect(phaseOf('update', 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS')).toBe('in-progress');
    expect(phaseOf('update', 'UPDATE_ROLLBACK_COMPLETE')).toBe('failed');
    expect(phaseOf('delete', 'DELETE_FAILED')).toBe('failed');
    expect(phaseOf('delete', 'DELETE_COMPLETE')).toBe('succeeded');
    // The previous operation's final status: this one has not begun (or not ended).
    expect(phaseOf('update', 'CREATE_COMPLETE')).toBe('in-progress');
    expect(phaseOf('delete', 'UPDATE_COMPLETE')).toBe('in-progress');
    expect(phaseOf('create', 'DELETE_COMPLETE')).toBe('failed');
  });

  it('names the resource that failed first, not the ones cancelled because of it, and the rollback', () => {
    const events = [
      event('capstan-env-x', 'CREATE_IN_PROGRESS', 'User Initiated', 'AWS::CloudFormation::Stack'),
      event('Template', 'CREATE_COMPLETE', undefined, 'AWS::EC2::LaunchTemplate'),
      event('Group', 'CREATE_FAILED', 'Resource creation cancelled'),
      event('Queue', 'CREATE_FAILED', 'Queue name already exists', 'AWS::SQS::Queue'),
      event(
        'capstan-env-x',
        'ROLLBACK_IN_PROGRESS',
        'The following resource(s) failed to create: [Queue, Group].',
        'AWS::CloudFormation::Stack',
      ),
    ];
    expect(firstFailure(events, 'capstan-env-x')?.logicalId).toBe('Queue');
    const message = failureMessage(
      'Creating environment `x`',
      { name: 'capstan-env-x', status: 'ROLLBACK_COMPLETE' },
      events,
    );
    expect(message).toContain('`Queue` (AWS::SQS::Queue) failed: Queue name already exists');
    expect(message).toContain('rolled back');
    expect(message).not.toContain('CREATE_FAILED.');
  });

  it('escapes what AWS and users wrote wherever a message shows it', () => {
    const events = [event('Queue', 'CREATE_FAILED', "Value '<!channel>' is not one of AllowedValues")];
    const message = failureMessage(
      'Creating environment `x`',
      { name: 'capstan-env-x', status: 'ROLLBACK_COMPLETE' },
      events,
    );
    expect(message).toContain('&lt;!channel&gt;');
    expect(message).not.toContain('<!channel>');
    const plan = describePlan({
      kind: 'env.update',
      name: 'x',
      params: { Banner: '<!here> <https://evil|click>' },
    });
    expect(plan.join('\n')).toContain('Banner=&lt;!here&gt; &lt;https://evil|click&gt;');
  });

  it('lists the resources a delete could not remove and those it retained', () => {
    const events = [
      event('Bucket', 'DELETE_SKIPPED', undefined, 'AWS::S3::Bucket'),
      event('Group', 'DELETE_FAILED', 'first try'),
      event('Group', 'DELETE_FAILED', 'resource is in use'),
      event('Template', 'DELETE_COMPLETE', undefined, 'AWS::EC2::LaunchTemplate'),
    ];
    expect(deleteFailures(events, 'capstan-env-x').map((e) => e.reason)).toEqual(['resource is in use']);
    expect(retained(events, 'capstan-env-x').map((e) => e.logicalId)).toEqual(['Bucket']);
  });
});

describe('change-set plans', () => {
  it('calls out replacements and removals first', () => {
    const lines = changeSetPlan([
      {
        action: 'Modify',
        logicalId: 'Group',
        type: 'AWS::AutoScaling::AutoScalingGroup',
        replacement: 'False',
      },
      { action: 'Add', logicalId: 'Queue', type: 'AWS::SQS::Queue' },
      {
        action: 'Modify',
        logicalId: 'Template',
        type: 'AWS::EC2::LaunchTemplate',
        replacement: 'True',
        physicalId: 'lt-1',
      },
      { action: 'Remove', logicalId: 'Old', type: 'AWS::SNS::Topic' },
      { action: 'Modify', logicalId: 'Maybe', type: 'AWS::EC2::SecurityGroup', replacement: 'Conditional' },
    ]);
    expect(lines).toEqual([
      'REPLACE `Template` (AWS::EC2::LaunchTemplate lt-1): a new one is made and the old one deleted',
      'REMOVE `Old` (AWS::SNS::Topic)',
      'modify `Maybe` (AWS::EC2::SecurityGroup), possibly REPLACING it (depends on values known at run time)',
      'modify `Group` (AWS::AutoScaling::AutoScalingGroup) in place',
      'add `Queue` (AWS::SQS::Queue)',
    ]);
  });
});

describe('traceability', () => {
  const stack = {
    tags: {
      'capstan:version': '1.0.0',
      'capstan:template-sha256': 'a'.repeat(64),
      'capstan:template-source': 'git:0123456789ab templates/1.0.0/stack.yaml',
    },
  };
  it('says which template built the stack and how far the blueprint has moved on', () => {
    const text = traceability(stack, { sha256: 'b'.repeat(64), version: '1.2.0' }, [
      '1.0.0',
      '1.1.0',
      '1.2.0',
    ]);
    expect(text).toContain(
      'built from template version 1.0.0, sha256 aaaaaaaaaaaa (git:0123456789ab templates/1.0.0/stack.yaml)',
    );
    expect(text).toContain(
      "DIFFERENT from the blueprint's newest template (1.2.0); 2 version(s) behind (newest 1.2.0)",
    );
    expect(traceability(stack, { sha256: 'a'.repeat(64) }, undefined)).toContain(
      "the same as the blueprint's template",
    );
    expect(traceability(stack, undefined, undefined)).toContain('could not be read');
  });
});

describe('/env update', () => {
  it('takes a version and repeated parameters', () => {
    const parsed = parseSlashCommand(
      '/env',
      'update shop-1 --version 1.4.3 --param Size=3 --param Banner="a b"',
      CTX,
    );
    expect(parsed).toEqual({
      ok: true,
      command: { kind: 'env.update', name: 'shop-1', version: '1.4.3', params: { Size: '3', Banner: 'a b' } },
    });
  });

  it('says what is wrong with a bad update', () => {
    const problem = (text: string) => {
      const parsed = parseSlashCommand('/env', text, CTX);
      return parsed.ok ? '' : parsed.problem.message;
    };
    expect(problem('update shop-1')).toMatch(/Say what to change/);
    expect(problem('update shop-1 --param Size')).toMatch(/is not `K=V`/);
    expect(problem('update shop-1 --param Si-ze=3')).toMatch(/not a template parameter name/);
    expect(problem('update shop-1 --param Size=3 --param Size=4')).toMatch(/given twice/);
    expect(problem('update shop-1 --version 1 --version 2')).toMatch(/given twice/);
  });
});

describe('stack blueprints in the config', () => {
  it('refuses a declared environment on a stack blueprint and unknown keys, with the place', () => {
    expect(() => config(`${SHOP}environments:\n  prod: { blueprint: shop }\n`)).toThrow(
      /environments\.prod\.blueprint: shop is a stack blueprint/,
    );
    expect(() => config(`${SHOP}    subnets: [subnet-0abc12345]\n`)).toThrow(
      /blueprints\.shop: Unrecognized key/,
    );
    expect(() => config(`  shop:\n    kind: stack\n    template: a/{version}/{version}.yaml\n`)).toThrow(
      /at most one \{version\}/,
    );
  });
});
