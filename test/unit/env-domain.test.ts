import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type Config, readConfig } from '../../src/config.js';
import {
  defaultVersion,
  expiryActionFor,
  groupNameFor,
  planEnvironment,
  resolveEnvironment,
  standbyNotes,
  TAG,
} from '../../src/domain/env.js';
import { processesToSuspend, standbyNote } from '../../src/domain/lb.js';
import { UserError } from '../../src/errors.js';

function config(yaml: string): Config {
  const dir = mkdtempSync(join(tmpdir(), 'capstan-env-'));
  const path = join(dir, 'capstan.yml');
  writeFileSync(path, yaml);
  return readConfig({ CAPSTAN_CONFIG: path });
}

const CONFIG = config(`
aws: { region: eu-west-1 }
defaultBlueprint: web
blueprints:
  web:
    launchTemplate: { name: web-lt, version: '3' }
    subnets: [subnet-0abc12345]
    size: { min: 0, max: 4, desired: 2 }
    ttl: 8h
    tags: { team: web }
  batch:
    region: us-east-1
    roleArn: arn:aws:iam::123456789012:role/capstan
    ami: ami-0abc12345
    instanceType: t3.small
    subnets: [subnet-0def67890]
environments:
  prod: { blueprint: web, asgName: prod-web }
`);

describe('environments', () => {
  it('versions an unversioned environment 0.0.YYDDDD.SSSSS', () => {
    expect(defaultVersion(new Date('2026-11-22T01:35:08Z'))).toBe('0.0.260326.05708');
    expect(defaultVersion(new Date('2027-01-01T00:00:00Z'))).toBe('0.0.270001.00000');
  });

  it('plans a create from the default blueprint, with every tag', () => {
    const plan = planEnvironment(
      CONFIG,
      { kind: 'env.create', name: 'feature-1' },
      'U0ALICE',
      new Date('2026-11-22T00:00:00Z'),
    );
    expect(plan).toMatchObject({
      groupName: 'capstan-env-feature-1',
      blueprintName: 'web',
      size: 2,
      placement: { region: 'eu-west-1' },
      expiresAt: '2026-11-22T08:00:00.000Z',
    });
    expect(plan.tags).toEqual({
      team: 'web',
      [TAG.env]: 'feature-1',
      [TAG.version]: '0.0.260326.00000',
      [TAG.owner]: 'U0ALICE',
      [TAG.expiresAt]: '2026-11-22T08:00:00.000Z',
      [TAG.blueprint]: 'web',
    });
  });

  it('uses the blueprint’s own account and region, and the options given', () => {
    const plan = planEnvironment(
      CONFIG,
      { kind: 'env.create', name: 'b', blueprint: 'batch', size: 1, ttlMs: 3_600_000, version: '1.2.3' },
      'U0BOB',
      new Date('2026-11-22T00:00:00Z'),
    );
    expect(plan.placement).toEqual({
      region: 'us-east-1',
      roleArn: 'arn:aws:iam::123456789012:role/capstan',
    });
    expect(plan.tags[TAG.version]).toBe('1.2.3');
    expect(plan.expiresAt).toBe('2026-11-22T01:00:00.000Z');
  });

  it('refuses a size outside the blueprint, an unknown blueprint, and re-creating a declared environment', () => {
    const now = new Date();
    expect(() => planEnvironment(CONFIG, { kind: 'env.create', name: 'x', size: 9 }, 'U', now)).toThrow(
      /at most 4/,
    );
    expect(() =>
      planEnvironment(CONFIG, { kind: 'env.create', name: 'x', blueprint: 'nope' }, 'U', now),
    ).toThrow(/no blueprint `nope`. Blueprints: `web`, `batch`/);
    expect(() => planEnvironment(CONFIG, { kind: 'env.create', name: 'prod' }, 'U', now)).toThrow(UserError);
  });

  it('resolves declared environments by their own group name', () => {
    expect(resolveEnvironment(CONFIG, 'prod')).toMatchObject({ groupName: 'prod-web', declared: true });
    expect(resolveEnvironment(CONFIG, 'feature-1')).toMatchObject({
      groupName: groupNameFor('feature-1'),
      declared: false,
    });
  });
});

describe('load balancer', () => {
  it('suspends only what was not suspended already', () => {
    expect(processesToSuspend([])).toEqual([
      'ReplaceUnhealthy',
      'AZRebalance',
      'AlarmNotification',
      'ScheduledActions',
    ]);
    expect(processesToSuspend(['AZRebalance', 'Launch'])).toEqual([
      'ReplaceUnhealthy',
      'AlarmNotification',
      'ScheduledActions',
    ]);
  });

  it('records and reads back who put an instance in standby, when and why', () => {
    const note = standbyNote('U0ALICE', new Date('2026-11-22T01:00:00Z'), 'kernel | patch');
    expect(note).toBe('U0ALICE|2026-11-22T01:00:00.000Z|kernel / patch');
    const group = {
      name: 'g',
      min: 0,
      max: 1,
      desired: 1,
      instances: [],
      tags: { [`${TAG.standbyPrefix}i-0abc`]: note, other: 'x' },
      suspended: [],
      targetGroups: [],
      healthCheckType: 'ELB',
    };
    expect(standbyNotes(group).get('i-0abc')).toEqual({
      user: 'U0ALICE',
      since: '2026-11-22T01:00:00.000Z',
      reason: 'kernel / patch',
    });
  });
});

describe('expiry', () => {
  const at = '2026-11-22T10:00:00.000Z';
  const t = Date.parse(at);
  it('warns within the hour before, once per expiry, and deletes after', () => {
    expect(expiryActionFor({ [TAG.expiresAt]: at }, t - 2 * 3_600_000)).toBe('none');
    expect(expiryActionFor({ [TAG.expiresAt]: at }, t - 30 * 60_000)).toBe('warn');
    expect(expiryActionFor({ [TAG.expiresAt]: at, [TAG.expiryWarned]: at }, t - 30 * 60_000)).toBe('none');
    expect(
      expiryActionFor({ [TAG.expiresAt]: at, [TAG.expiryWarned]: '2026-11-22T06:00:00.000Z' }, t - 1),
    ).toBe('warn');
    expect(expiryActionFor({ [TAG.expiresAt]: at }, t)).toBe('delete');
    expect(expiryActionFor({}, t)).toBe('none');
    expect(expiryActionFor({ [TAG.expiresAt]: 'soon' }, t)).toBe('none');
  });
});
