import { describe, expect, it } from 'vitest';
import type { Command } from '../../src/commands/index.js';
import { type ConfigFile, configFileSchema } from '../../src/config.js';
import {
  approvalRefusal,
  authorize,
  isDestructive,
  mayCancelOthers,
  targetOf,
} from '../../src/policy/index.js';

const file: ConfigFile = configFileSchema.parse({
  roles: {
    admins: { users: ['U0ADMIN'] },
    engineers: { users: ['U0ALICE', 'U0BOB'], groups: ['S0ENG'] },
    approvers: { users: ['U0CAROL', 'U0DAVE'] },
    dbas: { groups: ['S0DBA'] },
  },
  policy: {
    defaults: { allow: { '*': ['engineers'] } },
    environments: {
      prod: {
        protected: true,
        channels: ['C0PROD'],
        allow: { 'env.delete': ['admins'] },
        approval: { 'lb.enable': { role: 'approvers', quorum: 2, timeoutMinutes: 10 } },
      },
    },
    databases: {
      'orders-db': { allow: { 'rds.restore-table': ['dbas'] } },
    },
  },
});

const alice = { userId: 'U0ALICE', groupIds: [] };
const stranger = { userId: 'U0NOBODY', groupIds: [] };
const viaGroup = { userId: 'U0EVE', groupIds: ['S0DBA'] };
const admin = { userId: 'U0ADMIN', groupIds: [] };

const envDelete = (name: string): Command => ({ kind: 'env.delete', name });
const lbDisable: Command = { kind: 'lb.disable', env: 'prod' };

describe('authorize', () => {
  it('protects an environment made from a protected blueprint: its delete and update need an approver', () => {
    const stack = (isProtected: boolean) => ({
      kind: 'stack' as const,
      template: '/t/{version}.yaml',
      versionParameter: 'EnvironmentVersion',
      parameters: {},
      capabilities: [],
      tags: {},
      ttl: 8 * 3_600_000,
      protected: isProtected,
    });
    const withBlueprints: ConfigFile = { ...file, blueprints: { vault: stack(true), open: stack(false) } };
    const update: Command = { kind: 'env.update', name: 'v-1', version: '2' };
    for (const command of [envDelete('v-1'), update]) {
      expect(authorize(withBlueprints, alice, command, 'C0OPS', 'vault')).toMatchObject({
        allowed: true,
        approval: { role: 'approvers' },
      });
      expect(authorize(withBlueprints, alice, command, 'C0OPS', 'open')).toMatchObject({ allowed: true });
      expect(authorize(withBlueprints, alice, command, 'C0OPS', 'open')).not.toHaveProperty('approval');
      // Without Capstan's record of the blueprint (made before it kept one), nothing protects it.
      expect(authorize(withBlueprints, alice, command, 'C0OPS')).not.toHaveProperty('approval');
    }
  });

  it('lets anyone read, even without a role', () => {
    for (const command of [
      { kind: 'env.list' },
      { kind: 'env.status', name: 'prod' },
      { kind: 'ops.help' },
    ] as Command[]) {
      expect(authorize(file, stranger, command, 'C0PROD')).toMatchObject({ allowed: true });
    }
  });

  it('refuses people without a role anything but reading, naming the rule and who can help', () => {
    const decision = authorize(file, stranger, { kind: 'env.create', name: 'feature-1' }, 'C0DEV');
    expect(decision).toMatchObject({
      allowed: false,
      rule: 'policy.defaults.allow.*',
      reason: 'env.create on environment feature-1 needs one of the roles engineers',
      helpers: ['<@U0ALICE>', '<@U0BOB>', '<!subteam^S0ENG>'],
    });
  });

  it('applies the most specific allow rule', () => {
    expect(authorize(file, alice, envDelete('prod'), 'C0PROD')).toMatchObject({
      allowed: false,
      rule: 'policy.environments.prod.allow.env.delete',
      helpers: ['<@U0ADMIN>'],
    });
    expect(authorize(file, alice, envDelete('feature-1'), 'C0DEV')).toMatchObject({ allowed: true });
  });

  it('counts user-group membership', () => {
    const restore: Command = {
      kind: 'rds.restore-table',
      dbInstance: 'orders-db',
      schema: 's',
      table: 't',
      at: '2026-01-01T00:00:00.000Z',
      mode: 'side-table',
    };
    expect(authorize(file, viaGroup, restore, 'C0DB')).toMatchObject({ allowed: true });
    expect(authorize(file, alice, restore, 'C0DB')).toMatchObject({
      allowed: false,
      rule: 'policy.databases.orders-db.allow.rds.restore-table',
    });
  });

  it('accepts commands for a target only in its channels', () => {
    expect(authorize(file, alice, lbDisable, 'C0RANDOM')).toMatchObject({
      allowed: false,
      rule: 'policy.environments.prod.channels',
      reason: 'commands for environment prod are accepted only in <#C0PROD>',
    });
  });

  it('always asks approval for a destructive action on a protected target', () => {
    expect(authorize(file, alice, lbDisable, 'C0PROD')).toEqual({
      allowed: true,
      rule: 'policy.defaults.allow.*',
      approval: {
        role: 'approvers',
        quorum: 1,
        timeoutMs: 30 * 60_000,
        rule: 'policy.environments.prod.protected',
      },
    });
    // Admins too: approval is about a second pair of eyes, not rank.
    expect(authorize(file, admin, envDelete('prod'), 'C0PROD')).toMatchObject({
      allowed: true,
      approval: { role: 'approvers' },
    });
  });

  it('uses a configured approval rule with its quorum and timeout', () => {
    expect(authorize(file, alice, { kind: 'lb.enable', env: 'prod' }, 'C0PROD')).toMatchObject({
      approval: {
        role: 'approvers',
        quorum: 2,
        timeoutMs: 10 * 60_000,
        rule: 'policy.environments.prod.approval.lb.enable',
      },
    });
  });

  it('always asks approval to replace a live table', () => {
    const replace: Command = {
      kind: 'rds.restore-table',
      dbInstance: 'other-db',
      schema: 's',
      table: 't',
      at: '2026-01-01T00:00:00.000Z',
      mode: 'replace',
    };
    expect(authorize(file, alice, replace, 'C0DB')).toMatchObject({
      allowed: true,
      approval: { role: 'approvers', quorum: 1 },
    });
    expect(authorize(file, alice, { ...replace, mode: 'side-table' }, 'C0DB')).not.toHaveProperty('approval');
  });

  it('keeps the audit log for admins: a `*` rule never grants it, a rule naming ops.audit does', () => {
    // The README's own example: `defaults: allow: { "*": [engineers] }` gives engineers every action
    // that changes something, never the admin-only ones.
    expect(authorize(file, alice, { kind: 'ops.audit', count: 5 }, 'C0OPS')).toMatchObject({
      allowed: false,
      reason: 'ops.audit is admin-only: for the admins role, or a rule naming ops.audit',
      helpers: ['<@U0ADMIN>'],
    });
    expect(authorize(file, admin, { kind: 'ops.audit', count: 5 }, 'C0OPS')).toMatchObject({ allowed: true });
    const named = configFileSchema.parse({
      roles: { admins: { users: ['U0ADMIN'] }, auditors: { users: ['U0ALICE'] } },
      policy: { defaults: { allow: { 'ops.audit': ['auditors'] } } },
    });
    expect(authorize(named, alice, { kind: 'ops.audit', count: 5 }, 'C0OPS')).toMatchObject({
      allowed: true,
      rule: 'policy.defaults.allow.ops.audit',
    });
    const bare = configFileSchema.parse({
      roles: { admins: { users: ['U0ADMIN'] }, engineers: { users: ['U0ALICE'] } },
    });
    expect(authorize(bare, alice, { kind: 'ops.audit', count: 5 }, 'C0OPS')).toMatchObject({
      allowed: false,
      helpers: ['<@U0ADMIN>'],
    });
    expect(authorize(bare, admin, { kind: 'ops.audit', count: 5 }, 'C0OPS')).toMatchObject({ allowed: true });
  });
});

describe('mayCancelOthers', () => {
  it('is for admins and roles a rule naming ops.cancel grants, never for `*`', () => {
    expect(mayCancelOthers(file, alice)).toBe(false); // engineers hold `*`
    expect(mayCancelOthers(file, admin)).toBe(true);
    const named = configFileSchema.parse({
      roles: {
        admins: { users: ['U0ADMIN'] },
        oncall: { users: ['U0BOB'] },
        engineers: { users: ['U0ALICE'] },
      },
      policy: { defaults: { allow: { '*': ['engineers'], 'ops.cancel': ['oncall'] } } },
    });
    expect(mayCancelOthers(named, { userId: 'U0BOB', groupIds: [] })).toBe(true);
    expect(mayCancelOthers(named, alice)).toBe(false);
    // Cancelling one's own job stays open to anyone with a role.
    expect(authorize(named, alice, { kind: 'ops.cancel', jobId: 'j1' }, 'C0OPS')).toMatchObject({
      allowed: true,
    });
  });
});

describe('approvalRefusal', () => {
  it('never lets the requester approve, and only members of the role', () => {
    expect(
      approvalRefusal(file, { userId: 'U0CAROL', groupIds: [] }, { role: 'approvers' }, 'U0CAROL'),
    ).toMatch(/someone else/);
    expect(approvalRefusal(file, alice, { role: 'approvers' }, 'U0BOB')).toBe(
      'only the approvers role may decide this (<@U0CAROL>, <@U0DAVE>)',
    );
    expect(
      approvalRefusal(file, { userId: 'U0DAVE', groupIds: [] }, { role: 'approvers' }, 'U0BOB'),
    ).toBeUndefined();
  });
});

describe('helpers', () => {
  it('knows targets and destructive actions', () => {
    expect(targetOf(lbDisable)).toEqual({ kind: 'environment', name: 'prod' });
    expect(targetOf({ kind: 'ops.ping' })).toEqual({ kind: 'none' });
    expect(isDestructive(envDelete('x'))).toBe(true);
    expect(isDestructive({ kind: 'env.create', name: 'x' })).toBe(false);
  });
});

describe('policy configuration', () => {
  it('refuses a rule naming a role that does not exist, with its path', () => {
    const result = configFileSchema.safeParse({
      roles: {},
      policy: { environments: { prod: { allow: { 'env.delete': ['ghosts'] } } } },
    });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]).toMatchObject({
      path: ['policy', 'environments', 'prod', 'allow', 'env.delete', 0],
    });
    expect(result.error?.issues[0]?.message).toMatch(/no role named ghosts/);
  });

  it('refuses waiving approval on a protected target and protected targets without approvers', () => {
    const waived = configFileSchema.safeParse({
      roles: { approvers: { users: ['U0CAROL'] } },
      policy: { environments: { prod: { protected: true, approval: { 'env.delete': false } } } },
    });
    expect(waived.error?.issues[0]?.message).toMatch(/cannot waive approval/);
    const noApprovers = configFileSchema.safeParse({
      policy: { environments: { prod: { protected: true } } },
    });
    expect(noApprovers.error?.issues[0]).toMatchObject({ path: ['policy', 'approverRole'] });
  });

  it('refuses granting an admin-only action to everyone, or per environment/database', () => {
    const everyone = configFileSchema.safeParse({
      roles: { admins: {} },
      policy: { defaults: { allow: { 'ops.audit': ['everyone'], 'ops.cancel': ['everyone'] } } },
    });
    expect(everyone.success).toBe(false);
    expect(everyone.error?.issues.map((i) => i.path.join('.'))).toEqual([
      'policy.defaults.allow.ops.audit',
      'policy.defaults.allow.ops.cancel',
    ]);
    expect(everyone.error?.issues[0]?.message).toMatch(/admin-only .*name the roles that may, not everyone/);
    const perEnv = configFileSchema.safeParse({
      roles: { sre: {} },
      policy: { environments: { prod: { allow: { 'ops.audit': ['sre'] } } } },
    });
    expect(perEnv.error?.issues[0]?.message).toMatch(
      /not about one environment: grant it under policy.defaults.allow/,
    );
    // `*` for everyone is allowed: it never reaches the admin-only actions.
    expect(
      configFileSchema.safeParse({ roles: {}, policy: { defaults: { allow: { '*': ['everyone'] } } } })
        .success,
    ).toBe(true);
  });

  it('refuses an unknown action name', () => {
    const result = configFileSchema.safeParse({
      roles: { a: {} },
      policy: { defaults: { allow: { 'env.destroy': ['a'] } } },
    });
    expect(result.success).toBe(false);
  });
});

describe('protected blueprints', () => {
  it('protects a declared environment built from a protected blueprint', () => {
    const withBlueprint = configFileSchema.parse({
      roles: { engineers: { users: ['U0ALICE'] }, approvers: { users: ['U0CAROL'] } },
      blueprints: {
        web: { launchTemplate: { name: 'web-lt' }, subnets: ['subnet-0abc12345'], protected: true },
      },
      environments: { live: { blueprint: 'web' } },
    });
    expect(authorize(withBlueprint, alice, { kind: 'env.delete', name: 'live' }, 'C0OPS')).toMatchObject({
      allowed: true,
      approval: { role: 'approvers', rule: 'blueprints.web.protected' },
    });
    expect(
      authorize(withBlueprint, alice, { kind: 'env.delete', name: 'other' }, 'C0OPS'),
    ).not.toHaveProperty('approval');
  });
});
