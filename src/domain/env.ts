/**
 * Environments: named Auto Scaling groups built from blueprints, tagged so Capstan finds them and
 * touches nothing else. Pure planning here; the steps that call AWS are in the jobs, one per step.
 */

import type { Group } from '../aws/autoscaling.js';
import type { AwsPlacement } from '../aws/clients.js';
import type { LaunchTemplateSpec } from '../aws/ec2.js';
import type { EnvCreate } from '../commands/index.js';
import type { Blueprint, Config, StackBlueprint } from '../config.js';
import { ErrorCode, UserError } from '../errors.js';

/** Tags Capstan puts on what it creates. */
export const TAG = {
  env: 'capstan:env',
  version: 'capstan:version',
  owner: 'capstan:owner',
  expiresAt: 'capstan:expires-at',
  blueprint: 'capstan:blueprint',
  job: 'capstan:job',
  /** On the group: the expiry the owner was last warned about (so each is warned about once). */
  expiryWarned: 'capstan:expiry-warned',
  /** On the group: the processes `/lb disable` suspended (so `/lb enable` resumes only those). */
  lbSuspended: 'capstan:lb-suspended',
  /**
   * On the group: one summary of the instances Capstan put in Standby (the records themselves are
   * in Redis), so a group stays far from Auto Scaling's 50 tags whatever its size.
   */
  standby: 'capstan:standby',
  /** Written by older versions, per instance in standby: `<user>|<iso time>|<reason>`; still read. */
  standbyPrefix: 'capstan:standby:',
} as const;

/** The Auto Scaling group of an environment Capstan created. */
export function groupNameFor(env: string): string {
  return `capstan-env-${env}`;
}

/**
 * The version an environment gets when none is given: `0.0.YYDDDD.SSSSS` (two-digit year, day of
 * the year, seconds into the day, UTC), so an unversioned environment is obvious at a glance.
 */
export function defaultVersion(now: Date): string {
  const year = now.getUTCFullYear() % 100;
  const startOfYear = Date.UTC(now.getUTCFullYear(), 0, 1);
  const day = Math.floor((now.getTime() - startOfYear) / 86_400_000) + 1;
  const seconds = now.getUTCHours() * 3600 + now.getUTCMinutes() * 60 + now.getUTCSeconds();
  return `0.0.${String(year).padStart(2, '0')}${String(day).padStart(4, '0')}.${String(seconds).padStart(5, '0')}`;
}

/** Where an environment lives and how it is built. */
export interface EnvironmentRef {
  name: string;
  groupName: string;
  blueprintName: string;
  blueprint: Blueprint;
  placement: AwsPlacement;
  /** Declared in the configuration (e.g. prod) rather than created by Capstan. */
  declared: boolean;
}

/** Everything `/env create` will do, decided before anything is created. */
export interface EnvironmentPlan extends EnvironmentRef {
  size: number;
  version: string;
  owner: string;
  expiresAt: string;
  tags: Record<string, string>;
}

/** Where something with an optional region and role lives: its own, else the configured defaults. */
export function placementOf(config: Config, p: { region?: string; roleArn?: string }): AwsPlacement {
  const region = p.region ?? config.file.aws.region ?? config.aws.region;
  if (!region) {
    throw new UserError(
      'No AWS region is configured: set aws.region in the config file (or the blueprint’s region), or AWS_REGION.',
    );
  }
  const roleArn = p.roleArn ?? config.file.aws.roleArn;
  return roleArn ? { region, roleArn } : { region };
}

/** The blueprint `name`, of either kind. */
export function blueprintNamed(config: Config, name: string): Blueprint | StackBlueprint {
  const blueprint = config.file.blueprints[name];
  if (!blueprint) {
    const known = Object.keys(config.file.blueprints);
    throw new UserError(
      `There is no blueprint \`${name}\`. ${known.length > 0 ? `Blueprints: ${known.map((b) => `\`${b}\``).join(', ')}.` : 'No blueprints are configured.'}`,
      ErrorCode.NotFound,
    );
  }
  return blueprint;
}

/** The blueprint `/env create` uses: the one named, or the configured default. */
export function chosenBlueprintName(config: Config, named: string | undefined): string {
  const chosen = named ?? config.file.defaultBlueprint;
  if (!chosen)
    throw new UserError('Say which blueprint to use (`--blueprint B`): no default blueprint is configured.');
  return chosen;
}

/** The environment `name`: declared in the configuration, or created by Capstan from a blueprint. */
export function resolveEnvironment(config: Config, name: string, blueprintName?: string): EnvironmentRef {
  const declared = config.file.environments[name];
  if (declared) {
    const blueprint = blueprintNamed(config, declared.blueprint);
    // The configuration refuses a declared environment with a stack blueprint.
    if (blueprint.kind === 'stack') throw new Error(`declared environment ${name} has a stack blueprint`);
    return {
      name,
      groupName: declared.asgName ?? groupNameFor(name),
      blueprintName: declared.blueprint,
      blueprint,
      placement: placementOf(config, { ...blueprint, ...declared }),
      declared: true,
    };
  }
  const chosen = chosenBlueprintName(config, blueprintName);
  const blueprint = blueprintNamed(config, chosen);
  if (blueprint.kind === 'stack') {
    // Stack environments are looked up as stacks before this (jobs/stack-environment.ts): none was found.
    throw new UserError(
      `There is no environment \`${name}\`. \`/env list\` shows the ones that exist.`,
      ErrorCode.NotFound,
    );
  }
  return {
    name,
    groupName: groupNameFor(name),
    blueprintName: chosen,
    blueprint,
    placement: placementOf(config, blueprint),
    declared: false,
  };
}

/** Every distinct placement environments may live in (to list them all). */
export function allPlacements(config: Config): AwsPlacement[] {
  const seen = new Map<string, AwsPlacement>();
  const sources = [...Object.values(config.file.blueprints), ...Object.values(config.file.environments)];
  for (const source of sources) {
    try {
      const p = placementOf(config, source);
      seen.set(`${p.roleArn ?? ''}|${p.region}`, p);
    } catch {
      // A source without a region is reported when it is used.
    }
  }
  return [...seen.values()];
}

/** Plans `/env create`: checks the request against the blueprint and settles every value. */
export function planEnvironment(
  config: Config,
  command: EnvCreate,
  owner: string,
  now: Date,
): EnvironmentPlan {
  if (config.file.environments[command.name]) {
    throw new UserError(
      `\`${command.name}\` is a declared environment; it is not created with /env create.`,
      ErrorCode.Conflict,
    );
  }
  const ref = resolveEnvironment(config, command.name, command.blueprint);
  const { blueprint } = ref;
  const size = command.size ?? blueprint.size.desired;
  if (size > blueprint.size.max) {
    throw new UserError(
      `--size ${size} is more than blueprint \`${ref.blueprintName}\` allows (at most ${blueprint.size.max}).`,
    );
  }
  if (size < blueprint.size.min) {
    throw new UserError(
      `--size ${size} is less than blueprint \`${ref.blueprintName}\` needs (at least ${blueprint.size.min}).`,
    );
  }
  const version = command.version ?? defaultVersion(now);
  const expiresAt = new Date(now.getTime() + (command.ttlMs ?? blueprint.ttl)).toISOString();
  return {
    ...ref,
    size,
    version,
    owner,
    expiresAt,
    tags: environmentTags(blueprint.tags, {
      env: command.name,
      version,
      owner,
      expiresAt,
      blueprint: ref.blueprintName,
    }),
  };
}

/** The tags of a new environment: the blueprint's, then Capstan's own. */
export function environmentTags(
  blueprintTags: Record<string, string>,
  e: { env: string; version: string; owner: string; expiresAt: string; blueprint: string },
): Record<string, string> {
  return {
    ...blueprintTags,
    [TAG.env]: e.env,
    [TAG.version]: e.version,
    [TAG.owner]: e.owner,
    [TAG.expiresAt]: e.expiresAt,
    [TAG.blueprint]: e.blueprint,
  };
}

/** How many instances of a group are in each state. */
export function countStates(group: Group): {
  inService: number;
  standby: number;
  pending: number;
  other: number;
} {
  const counts = { inService: 0, standby: 0, pending: 0, other: 0 };
  for (const i of group.instances) {
    if (i.lifecycle === 'InService') counts.inService += 1;
    else if (i.lifecycle === 'Standby') counts.standby += 1;
    else if (i.lifecycle.startsWith('Pending')) counts.pending += 1;
    else counts.other += 1;
  }
  return counts;
}

/** Who put an instance in standby, when and why. */
export interface StandbyNote {
  user: string;
  since: string;
  reason: string;
}

/**
 * Standby details by instance id: `recorded` (Redis), over the per-instance tags older versions
 * wrote on the group.
 */
export function standbyNotes(
  group: Group,
  recorded: ReadonlyMap<string, StandbyNote> = new Map(),
): Map<string, StandbyNote> {
  const notes = new Map<string, StandbyNote>();
  for (const [key, value] of Object.entries(group.tags)) {
    if (!key.startsWith(TAG.standbyPrefix)) continue;
    const [user = '', since = '', ...reason] = value.split('|');
    notes.set(key.slice(TAG.standbyPrefix.length), { user, since, reason: reason.join('|') });
  }
  for (const [id, note] of recorded) notes.set(id, note);
  return notes;
}

/**
 * The one `capstan:standby` tag's value for these records (undefined when there are none): how many,
 * since when. Auto Scaling tag values hold at most 256 characters.
 */
export function standbySummary(recorded: ReadonlyMap<string, StandbyNote>): string | undefined {
  if (recorded.size === 0) return undefined;
  const earliest = [...recorded.values()].map((n) => n.since).sort()[0] ?? '';
  return `${recorded.size} in Standby since ${earliest}`;
}

/** How long before expiry the owner is warned. */
export const EXPIRY_WARNING_MS = 60 * 60_000;

/** What the expiry sweep should do about one environment. */
export type ExpiryAction = 'delete' | 'warn' | 'none';

/** Decides, from its tags and the clock, what an environment's expiry calls for. */
export function expiryActionFor(tags: Record<string, string>, now: number): ExpiryAction {
  const expiresAt = tags[TAG.expiresAt];
  const at = expiresAt ? Date.parse(expiresAt) : Number.NaN;
  if (Number.isNaN(at)) return 'none';
  if (now >= at) return 'delete';
  if (at - now <= EXPIRY_WARNING_MS && tags[TAG.expiryWarned] !== expiresAt) return 'warn';
  return 'none';
}

/** Fills `{env}` and `{version}` in a blueprint's user data. */
export function fillUserData(template: string, plan: { name: string; version: string }): string {
  return template.replaceAll('{env}', plan.name).replaceAll('{version}', plan.version);
}

/** The launch template an AMI blueprint makes for an environment: all a real instance needs. */
export function launchTemplateSpec(plan: EnvironmentPlan, tags: Record<string, string>): LaunchTemplateSpec {
  const b = plan.blueprint;
  return {
    name: plan.groupName,
    imageId: b.ami ?? '',
    instanceType: b.instanceType ?? '',
    tags,
    ...(b.securityGroups ? { securityGroupIds: b.securityGroups } : {}),
    ...(b.instanceProfile ? { instanceProfile: b.instanceProfile } : {}),
    ...(b.userData ? { userData: fillUserData(b.userData, plan) } : {}),
    ...(b.keyName ? { keyName: b.keyName } : {}),
    imds: b.imds,
  };
}
