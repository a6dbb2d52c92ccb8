/**
 * Policy (pure): who may run what where, which actions need approval and from whom. A function of
 * the configuration, the actor and the command; no I/O. Every denial names the rule that denied and
 * who can help.
 */

import {
  ADMIN_ONLY_KINDS,
  CATALOG,
  type CatalogTarget,
  MUTATING_KINDS,
  READ_ONLY_KINDS,
} from '../catalog.js';
import type { Command, CommandKind } from '../commands/index.js';
import { type ApprovalRule, type ConfigFile, EVERYONE, type TargetRule } from '../config.js';

/** Who is asking: a Slack user and the user groups they belong to. */
export interface Actor {
  userId: string;
  groupIds: readonly string[];
}

/** What a command acts on. */
export type Target =
  /** `blueprint`: the one Capstan made the environment from (its registry), for a protected blueprint's rules. */
  | { kind: 'environment'; name: string; blueprint?: string }
  | { kind: 'database'; name: string }
  | { kind: 'none' };

/** Approval a command needs before it may run. */
export interface ApprovalRequirement {
  role: string;
  quorum: number;
  timeoutMs: number;
  /** The rule that asks for it, e.g. `policy.environments.prod.approval.env.delete`. */
  rule: string;
}

/** The policy's answer. */
export type Decision =
  | { allowed: true; rule: string; approval?: ApprovalRequirement }
  | { allowed: false; rule: string; reason: string; helpers: string[] };

/** Actions anyone may run, even people who hold no role: they only read. */
export const READ_ACTIONS: ReadonlySet<CommandKind> = new Set(READ_ONLY_KINDS);

/** Actions only admins may run unless a rule naming the action itself says otherwise (never `*`). */
const ADMIN_ONLY: ReadonlySet<CommandKind> = new Set(ADMIN_ONLY_KINDS);

/** Whether a command destroys or overwrites something (and so needs approval on a protected target). */
export function isDestructive(command: Command): boolean {
  const destructive = CATALOG[command.kind].destructive;
  if (destructive === 'mode') return command.kind === 'rds.restore-table' && command.mode !== 'side-table';
  return destructive;
}

/** What `command` acts on. */
export function targetOf(command: Command): Target {
  const target: CatalogTarget = CATALOG[command.kind].target;
  if (target.kind === 'none') return { kind: 'none' };
  const name = (command as unknown as Record<string, unknown>)[target.field];
  return typeof name === 'string' ? { kind: target.kind, name } : { kind: 'none' };
}

/** `target` with the blueprint its environment was made from. */
function withBlueprint(target: Target, blueprint: string | undefined): Target {
  return target.kind === 'environment' && blueprint ? { ...target, blueprint } : target;
}

/** A target for messages: `environment prod`. */
export function describeTarget(target: Target): string {
  return target.kind === 'none' ? 'Capstan' : `${target.kind} ${target.name}`;
}

/** The roles `actor` holds. */
export function rolesOf(file: ConfigFile, actor: Actor): Set<string> {
  const roles = new Set<string>();
  for (const [name, members] of Object.entries(file.roles)) {
    if (members.users.includes(actor.userId) || members.groups.some((g) => actor.groupIds.includes(g)))
      roles.add(name);
  }
  return roles;
}

/** The people to ask about a role: its users, and its groups as Slack mentions. */
export function holdersOf(file: ConfigFile, role: string): string[] {
  const members = file.roles[role];
  if (!members) return [];
  return [...members.users.map((u) => `<@${u}>`), ...members.groups.map((g) => `<!subteam^${g}>`)];
}

interface ResolvedRule {
  rule: TargetRule;
  /** Where each setting came from (`allow.env.delete` → `policy.environments.prod`), to name the rule that decided. */
  from: Record<string, string>;
}

/** The rule for a target: the defaults, then `*`, then the target's own entry, setting by setting. */
export function ruleFor(file: ConfigFile, target: Target): ResolvedRule {
  const { policy } = file;
  const layers: Array<[string, TargetRule | undefined]> = [['policy.defaults', policy.defaults]];
  if (target.kind !== 'none') {
    const sectionName = target.kind === 'environment' ? 'environments' : 'databases';
    const section = target.kind === 'environment' ? policy.environments : policy.databases;
    layers.push([`policy.${sectionName}.*`, section['*']]);
    // An environment declared with, or made from, a protected blueprint is protected unless its own
    // rule says otherwise.
    const blueprintName =
      target.kind === 'environment'
        ? (file.environments[target.name]?.blueprint ?? target.blueprint)
        : undefined;
    if (blueprintName && file.blueprints[blueprintName]?.protected) {
      layers.push([`blueprints.${blueprintName}`, { protected: true }]);
    }
    layers.push([`policy.${sectionName}.${target.name}`, section[target.name]]);
  }
  const allow: Record<string, string[]> = {};
  const approval: Record<string, ApprovalRule | false> = {};
  const rule: TargetRule = { allow, approval };
  const from: Record<string, string> = {};
  for (const [path, layer] of layers) {
    if (!layer) continue;
    if (layer.protected !== undefined) {
      rule.protected = layer.protected;
      from.protected = path;
    }
    if (layer.channels !== undefined) {
      rule.channels = layer.channels;
      from.channels = path;
    }
    for (const [key, value] of Object.entries(layer.allow ?? {})) {
      if (!value) continue;
      allow[key] = value;
      from[`allow.${key}`] = path;
    }
    for (const [key, value] of Object.entries(layer.approval ?? {})) {
      if (value === undefined) continue;
      approval[key] = value;
      from[`approval.${key}`] = path;
    }
  }
  return { rule, from };
}

/** Decides whether `actor` may run `command` in `channelId`, and what approval it needs. */
export function authorize(
  file: ConfigFile,
  actor: Actor,
  command: Command,
  channelId: string,
  /** The blueprint Capstan made the target environment from, when it did. */
  madeFrom?: string,
): Decision {
  const target = withBlueprint(targetOf(command), madeFrom);
  const resolved = ruleFor(file, target);
  const { rule, from } = resolved;
  const { policy } = file;
  const action = command.kind;
  const roles = rolesOf(file, actor);
  const isAdmin = roles.has(policy.adminRole);

  const channels = rule.channels ?? [];
  if (channels.length > 0 && !channels.includes(channelId) && !READ_ACTIONS.has(action)) {
    return {
      allowed: false,
      rule: `${from.channels}.channels`,
      reason: `commands for ${describeTarget(target)} are accepted only in ${channels.map((c) => `<#${c}>`).join(', ')}`,
      helpers: [],
    };
  }

  // `*` covers every action that changes something or reads a database; reading Capstan's own
  // lists stays open unless a rule names the read action itself; admin-only actions are granted
  // only by the admin role or a rule naming them.
  const allowKey = rule.allow?.[action]
    ? action
    : !READ_ACTIONS.has(action) && !ADMIN_ONLY.has(action) && rule.allow?.['*']
      ? '*'
      : undefined;
  const explicit = allowKey ? rule.allow?.[allowKey] : undefined;
  const allowRule = allowKey ? `${from[`allow.${allowKey}`]}.allow.${allowKey}` : 'safe defaults';
  let allowed: boolean;
  let reason = '';
  let helpers: string[] = [];
  if (isAdmin) {
    allowed = true;
  } else if (explicit) {
    allowed = explicit.includes(EVERYONE) || explicit.some((r) => roles.has(r));
    reason = `${action} on ${describeTarget(target)} needs one of the roles ${explicit.join(', ')}`;
    helpers = explicit.flatMap((r) => holdersOf(file, r));
  } else if (READ_ACTIONS.has(action)) {
    allowed = true;
  } else if (action === 'ops.audit') {
    allowed = false;
    reason = `${action} is admin-only: for the ${policy.adminRole} role, or a rule naming ${action}`;
    helpers = holdersOf(file, policy.adminRole);
  } else {
    // Safe default: people who hold no role may only read.
    allowed = roles.size > 0;
    reason = `people without a Capstan role may only read (list, status, help); ${action} needs a role`;
    helpers = holdersOf(file, policy.adminRole);
  }
  // Anyone with a role may cancel their own jobs; a rule naming ops.cancel says who may cancel
  // other people's as well (decided with the job in hand, by mayCancelOthers).
  if (!allowed && action === 'ops.cancel' && roles.size > 0) allowed = true;
  if (!allowed) return { allowed: false, rule: allowRule, reason, helpers };

  const approval = approvalFor(file, resolved, command);
  return approval ? { allowed: true, rule: allowRule, approval } : { allowed: true, rule: allowRule };
}

function approvalFor(
  file: ConfigFile,
  { rule, from }: ResolvedRule,
  command: Command,
): ApprovalRequirement | undefined {
  const { policy } = file;
  const key = rule.approval?.[command.kind] !== undefined ? command.kind : '*';
  const configured: ApprovalRule | false | undefined = rule.approval?.[key];
  const timeout = (minutes: number | undefined) => (minutes ?? policy.approvalTimeoutMinutes) * 60_000;
  if (configured) {
    return {
      role: configured.role,
      quorum: configured.quorum,
      timeoutMs: timeout(configured.timeoutMinutes),
      rule: `${from[`approval.${key}`]}.approval.${key}`,
    };
  }
  // Safe defaults that no rule can waive: destructive actions on protected targets, and replacing a live table.
  const replacing = command.kind === 'rds.restore-table' && command.mode === 'replace';
  if ((rule.protected && isDestructive(command)) || replacing) {
    return {
      role: policy.approverRole,
      quorum: 1,
      timeoutMs: timeout(undefined),
      rule: replacing ? 'restore-table --mode replace always needs approval' : `${from.protected}.protected`,
    };
  }
  return undefined;
}

/**
 * Whether `actor` may cancel jobs other people asked for: the admin role, or a rule naming
 * `ops.cancel` itself with a role the actor holds (never `*`, never everyone).
 */
export function mayCancelOthers(file: ConfigFile, actor: Actor): boolean {
  const roles = rolesOf(file, actor);
  if (roles.has(file.policy.adminRole)) return true;
  const named = ruleFor(file, { kind: 'none' }).rule.allow?.['ops.cancel'] ?? [];
  return named.some((r) => r !== EVERYONE && roles.has(r));
}

/** Why `approver` may not decide a request (or undefined when they may). */
export function approvalRefusal(
  file: ConfigFile,
  approver: Actor,
  requirement: Pick<ApprovalRequirement, 'role'>,
  requesterId: string,
): string | undefined {
  if (approver.userId === requesterId) return 'you asked for this, so someone else has to approve it';
  if (!rolesOf(file, approver).has(requirement.role)) {
    const holders = holdersOf(file, requirement.role);
    return `only the ${requirement.role} role may decide this${holders.length > 0 ? ` (${holders.join(', ')})` : ''}`;
  }
  return undefined;
}

/** Commands that change their target: one at a time per target. */
const MUTATING: ReadonlySet<CommandKind> = new Set(MUTATING_KINDS);

/** The lock a command takes (`environment:prod`), or undefined for commands that change nothing. */
export function lockTargetOf(command: Command): string | undefined {
  if (!MUTATING.has(command.kind)) return undefined;
  const target = targetOf(command);
  return target.kind === 'none' ? undefined : `${target.kind}:${target.name}`;
}
