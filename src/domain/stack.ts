/**
 * Stack environments (pure): an environment built as a CloudFormation stack from a versioned
 * template. Planning, versions, what a stream of stack events means, and the plan a change set is.
 */

import { parseDocument } from 'yaml';
import type { ResourceChange, Stack, StackEvent } from '../aws/cloudformation.js';
import { type EnvCreate, escapeSlack } from '../commands/index.js';
import type { StackBlueprint } from '../config.js';
import { ErrorCode, UserError } from '../errors.js';
import { defaultVersion, environmentTags, groupNameFor, TAG } from './env.js';

/** Tags a stack carries besides the environment's. */
export const STACK_TAG = {
  /** SHA-256 of the template body that built (or last updated) the stack. */
  templateSha: 'capstan:template-sha256',
  /** Where that template came from: a git commit and path, an S3 object and its ETag, or a file. */
  templateSource: 'capstan:template-source',
} as const;

/** The stack of environment `env` (the same name a group environment's Auto Scaling group has). */
export function stackNameFor(env: string): string {
  return groupNameFor(env);
}

/** Whether the blueprint's template is a directory (or prefix) of versioned packages. */
export function isVersioned(template: string): boolean {
  return template.includes('{version}');
}

/** The template of `version`. */
export function templateOf(template: string, version: string): string {
  return template.replace('{version}', version);
}

/** A regular expression matching the blueprint's template paths, the version captured. */
export function versionPattern(template: string): RegExp {
  const [before = '', after = ''] = template.split('{version}');
  const literal = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`^${literal(before)}([A-Za-z0-9][A-Za-z0-9._+-]{0,63})${literal(after)}$`);
}

/**
 * Orders versions as people read them: numeric parts as numbers (`1.10.0` after `1.9.2`), other
 * parts as text, a release after its pre-releases (`1.4.2` after `1.4.2-rc1`).
 */
export function compareVersions(a: string, b: string): number {
  const parts = (v: string) => v.split(/[.+-]/);
  const pa = parts(a);
  const pb = parts(b);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i];
    const y = pb[i];
    if (x === undefined) return y !== undefined && /^\d/.test(y) ? -1 : 1;
    if (y === undefined) return /^\d/.test(x) ? 1 : -1;
    const nx = /^\d+$/.test(x) ? Number(x) : Number.NaN;
    const ny = /^\d+$/.test(y) ? Number(y) : Number.NaN;
    if (!Number.isNaN(nx) && !Number.isNaN(ny)) {
      if (nx !== ny) return nx - ny;
    } else if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

/** Versions sorted oldest first, each once. */
export function sortVersions(versions: Iterable<string>): string[] {
  return [...new Set(versions)].sort(compareVersions);
}

/** Fills `{env}`, `{version}` and `{owner}` in a blueprint's parameter value. */
export function fillPlaceholders(
  value: string,
  fill: { env: string; version: string; owner: string },
): string {
  return value
    .replaceAll('{env}', fill.env)
    .replaceAll('{version}', fill.version)
    .replaceAll('{owner}', fill.owner);
}

/** Everything `/env create` of a stack blueprint will do, decided before anything is created. */
export interface StackPlan {
  name: string;
  stackName: string;
  blueprintName: string;
  blueprint: StackBlueprint;
  version: string;
  /** How the version was chosen, for the progress message. */
  versionFrom: 'asked' | 'newest' | 'unversioned';
  owner: string;
  expiresAt: string;
  /** The template parameters from the blueprint, placeholders filled, the version in its parameter. */
  parameters: Record<string, string>;
  /** The environment's tags (the template's hash and source are added when it is read). */
  tags: Record<string, string>;
}

/**
 * Plans `/env create` from a stack blueprint. `versions`: the template versions there are (for a
 * versioned template), oldest first.
 */
export function planStack(
  command: EnvCreate,
  blueprintName: string,
  blueprint: StackBlueprint,
  owner: string,
  now: Date,
  versions: readonly string[] | undefined,
): StackPlan {
  if (command.size !== undefined) {
    throw new UserError(
      `\`--size\` does not apply to blueprint \`${blueprintName}\`: its environments are CloudFormation stacks, sized by their template (give \`--version\`, or change the template's parameters in the blueprint).`,
    );
  }
  let version: string;
  let versionFrom: StackPlan['versionFrom'];
  if (versions) {
    if (versions.length === 0) {
      throw new UserError(
        `Blueprint \`${blueprintName}\` has no template versions: nothing matches ${blueprint.template}.`,
        ErrorCode.NotFound,
      );
    }
    if (command.version !== undefined && !versions.includes(command.version)) {
      throw new UserError(
        `Blueprint \`${blueprintName}\` has no template version \`${command.version}\`. Versions: ${versions
          .slice(-10)
          .map((v) => `\`${v}\``)
          .join(', ')}${versions.length > 10 ? ` (newest 10 of ${versions.length})` : ''}.`,
        ErrorCode.NotFound,
      );
    }
    version = command.version ?? (versions[versions.length - 1] as string);
    versionFrom = command.version !== undefined ? 'asked' : 'newest';
  } else {
    version = command.version ?? defaultVersion(now);
    versionFrom = command.version !== undefined ? 'asked' : 'unversioned';
  }
  const expiresAt = new Date(now.getTime() + (command.ttlMs ?? blueprint.ttl)).toISOString();
  const fill = { env: command.name, version, owner };
  const parameters = Object.fromEntries(
    Object.entries(blueprint.parameters).map(([k, v]) => [k, fillPlaceholders(v, fill)]),
  );
  parameters[blueprint.versionParameter] = version;
  return {
    name: command.name,
    stackName: stackNameFor(command.name),
    blueprintName,
    blueprint,
    version,
    versionFrom,
    owner,
    expiresAt,
    parameters,
    tags: environmentTags(blueprint.tags, {
      env: command.name,
      version,
      owner,
      expiresAt,
      blueprint: blueprintName,
    }),
  };
}

/**
 * The parameters a template (JSON or YAML, short-form tags such as `!Ref` allowed) declares, read
 * from its `Parameters` section; undefined when the body is not a readable template (CloudFormation
 * then says what is wrong with it).
 */
export function templateParameters(body: string): Array<{ key: string; hasDefault: boolean }> | undefined {
  let parsed: unknown;
  try {
    // JSON is YAML; short-form tags (`!Ref`) stay unresolved, which the Parameters section never needs.
    const doc = parseDocument(body, { logLevel: 'silent' });
    if (doc.errors.length > 0) return undefined;
    parsed = doc.toJS();
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const parameters = (parsed as { Parameters?: unknown }).Parameters ?? {};
  if (typeof parameters !== 'object' || parameters === null) return undefined;
  return Object.entries(parameters as Record<string, unknown>).map(([key, spec]) => ({
    key,
    hasDefault: typeof spec === 'object' && spec !== null && 'Default' in spec,
  }));
}

/**
 * Checks the blueprint's parameters against what the template declares: the version parameter must
 * be one of them, every parameter given must be declared, and every declared one without a default
 * must be given. Returns the problems, empty when none.
 */
export function parameterProblems(
  declared: ReadonlyArray<{ key: string; hasDefault: boolean }>,
  given: Readonly<Record<string, string>>,
  versionParameter: string,
): string[] {
  const names = new Set(declared.map((p) => p.key));
  const problems: string[] = [];
  if (!names.has(versionParameter)) {
    problems.push(
      `the template declares no parameter \`${versionParameter}\` for the environment's version (add it to the template, or set the blueprint's versionParameter)`,
    );
  }
  const unknown = Object.keys(given).filter((k) => k !== versionParameter && !names.has(k));
  if (unknown.length > 0) {
    problems.push(
      `the template declares no parameter ${unknown.map((k) => `\`${k}\``).join(', ')} (it declares ${[...names].map((k) => `\`${k}\``).join(', ') || 'none'})`,
    );
  }
  const missing = declared.filter((p) => !p.hasDefault && !(p.key in given)).map((p) => `\`${p.key}\``);
  if (missing.length > 0) problems.push(`no value for ${missing.join(', ')}, which have no default`);
  return problems;
}

// ── Stack statuses and events ─────────────────────────────────────────────────────────────────

/** Where a stack operation stands, from the stack's status. */
export type StackPhase = 'in-progress' | 'succeeded' | 'failed';

/** Each operation's final statuses: success first, then the failures. */
const FINAL: Record<'create' | 'update' | 'delete', { success: string; failures: readonly string[] }> = {
  create: {
    success: 'CREATE_COMPLETE',
    // OnFailure DELETE ends a failed create in DELETE_COMPLETE (or DELETE_FAILED).
    failures: ['ROLLBACK_COMPLETE', 'ROLLBACK_FAILED', 'CREATE_FAILED', 'DELETE_COMPLETE', 'DELETE_FAILED'],
  },
  update: {
    success: 'UPDATE_COMPLETE',
    failures: ['UPDATE_ROLLBACK_COMPLETE', 'UPDATE_ROLLBACK_FAILED', 'UPDATE_FAILED'],
  },
  delete: { success: 'DELETE_COMPLETE', failures: ['DELETE_FAILED'] },
};

/**
 * The phase of operation `op` given the stack's status
 * (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/view-stack-events.html#cfn-console-view-stack-data-resources-status-codes).
 * A status that is not one of the operation's own final ones (CREATE_COMPLETE while an update is
 * asked for) is the previous operation's: this one has not ended, or not begun.
 */
export function phaseOf(op: 'create' | 'update' | 'delete', status: string): StackPhase {
  const final = FINAL[op];
  if (status === final.success) return 'succeeded';
  return final.failures.includes(status) ? 'failed' : 'in-progress';
}

const DONE_WORDS: Record<string, string> = {
  CREATE_COMPLETE: 'created',
  UPDATE_COMPLETE: 'updated',
  DELETE_COMPLETE: 'deleted',
  DELETE_SKIPPED: 'retained (DeletionPolicy: Retain)',
  IMPORT_COMPLETE: 'imported',
};

/** A resource's event that is worth a line of progress (a resource finished), or undefined. */
export function progressLine(event: StackEvent, stackName: string): string | undefined {
  if (event.logicalId === stackName || event.type === 'AWS::CloudFormation::Stack') return undefined;
  const done = DONE_WORDS[event.status];
  if (done)
    return `\`${event.logicalId}\` (${event.type}) ${done}${event.physicalId ? `: ${event.physicalId}` : ''}`;
  if (event.status.endsWith('_FAILED'))
    return `\`${event.logicalId}\` (${event.type}) ${event.status}${event.reason ? `: ${escapeSlack(event.reason)}` : ''}`;
  return undefined;
}

/** Whether an event is a resource's (not the stack's own). */
function isResourceEvent(event: StackEvent, stackName: string): boolean {
  return event.logicalId !== stackName && event.type !== 'AWS::CloudFormation::Stack';
}

/**
 * The failure that caused an operation to fail: the first resource that failed for a reason of its
 * own (resources cancelled because another failed say "cancelled"), oldest first.
 */
export function firstFailure(events: readonly StackEvent[], stackName: string): StackEvent | undefined {
  const failed = events.filter((e) => isResourceEvent(e, stackName) && e.status.endsWith('_FAILED'));
  return failed.find((e) => !/cancel/i.test(e.reason ?? '')) ?? failed[0];
}

/** Resources that failed to delete, with their reasons. */
export function deleteFailures(events: readonly StackEvent[], stackName: string): StackEvent[] {
  const last = new Map<string, StackEvent>();
  for (const e of events) if (isResourceEvent(e, stackName)) last.set(e.logicalId, e);
  return [...last.values()].filter((e) => e.status === 'DELETE_FAILED');
}

/** Resources the operation left in place on purpose (DeletionPolicy: Retain). */
export function retained(events: readonly StackEvent[], stackName: string): StackEvent[] {
  return events.filter((e) => isResourceEvent(e, stackName) && e.status === 'DELETE_SKIPPED');
}

/** What a rollback's final status means, in words. */
export function rollbackOutcome(status: string): string {
  switch (status) {
    case 'ROLLBACK_COMPLETE':
      return 'CloudFormation rolled back: everything the create made was deleted; the stack is left in ROLLBACK_COMPLETE (`/env delete` removes it)';
    case 'ROLLBACK_FAILED':
      return 'the rollback FAILED too: some resources the create made may remain (ROLLBACK_FAILED; `/env delete` retries their deletion)';
    case 'UPDATE_ROLLBACK_COMPLETE':
      return 'CloudFormation rolled the update back: the environment is as it was before (UPDATE_ROLLBACK_COMPLETE)';
    case 'UPDATE_ROLLBACK_FAILED':
      return 'the update’s rollback FAILED: the stack is in UPDATE_ROLLBACK_FAILED and needs ContinueUpdateRollback in the CloudFormation console';
    case 'CREATE_FAILED':
      return 'the stack was not rolled back (CREATE_FAILED): what was made remains (`/env delete` removes it)';
    default:
      return `the stack ended in ${status}`;
  }
}

/** The failure message of a create or an update that did not succeed. */
export function failureMessage(
  what: string,
  stack: Pick<Stack, 'name' | 'status' | 'statusReason'>,
  events: readonly StackEvent[],
): string {
  const first = firstFailure(events, stack.name);
  const cause = first
    ? `\`${first.logicalId}\` (${first.type}) failed: ${escapeSlack(first.reason ?? first.status)}`
    : `the stack says: ${escapeSlack(stack.statusReason ?? stack.status)}`;
  return `${what} failed. ${cause}. Then ${rollbackOutcome(stack.status)}.`;
}

// ── Change sets ───────────────────────────────────────────────────────────────────────────────

/** A change set's resource changes as plan lines: replacements called out first. */
export function changeSetPlan(changes: readonly ResourceChange[]): string[] {
  const line = (c: ResourceChange) => {
    const what = `\`${c.logicalId}\` (${c.type}${c.physicalId ? ` ${c.physicalId}` : ''})`;
    if (c.action === 'Add') return `add ${what}`;
    if (c.action === 'Remove') return `REMOVE ${what}`;
    if (c.action === 'Modify') {
      if (c.replacement === 'True') return `REPLACE ${what}: a new one is made and the old one deleted`;
      if (c.replacement === 'Conditional')
        return `modify ${what}, possibly REPLACING it (depends on values known at run time)`;
      return `modify ${what} in place`;
    }
    return `${c.action.toLowerCase()} ${what}`;
  };
  const rank = (c: ResourceChange) =>
    c.action === 'Remove' || c.replacement === 'True' ? 0 : c.replacement === 'Conditional' ? 1 : 2;
  return [...changes].sort((a, b) => rank(a) - rank(b)).map(line);
}

/** How far the blueprint has moved on from the version a stack runs. */
export function traceability(
  stack: Pick<Stack, 'tags'>,
  current: { sha256: string; version?: string } | undefined,
  versions: readonly string[] | undefined,
): string {
  const version = stack.tags[TAG.version] ?? '?';
  const sha = stack.tags[STACK_TAG.templateSha];
  const source = stack.tags[STACK_TAG.templateSource];
  const built = `built from template version ${version}${sha ? `, sha256 ${sha.slice(0, 12)}` : ''}${source ? ` (${source})` : ''}`;
  if (!current) return `${built}; the blueprint's template could not be read now`;
  const behind = versions ? versions.filter((v) => compareVersions(v, version) > 0) : [];
  const differs = sha ? (current.sha256 === sha ? 'the same as' : 'DIFFERENT from') : 'not comparable with';
  const latest = current.version
    ? `the blueprint's newest template (${current.version})`
    : "the blueprint's template";
  const ahead =
    versions && versions.length > 0
      ? behind.length > 0
        ? `; ${behind.length} version(s) behind (newest ${behind[behind.length - 1]})`
        : '; no newer version'
      : '';
  return `${built}; ${differs} ${latest}${ahead}`;
}
