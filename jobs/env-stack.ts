/**
 * Stack environments: `/env create`, `/env delete`, `/env status`, `/env list`, `/env extend` and
 * the expiry sweep for environments built as CloudFormation stacks from a `kind: stack` blueprint.
 * Progress comes from the stack's own events; a failure names the first resource that failed and
 * why, and what the rollback did. Every step checks the world first, so a retried job adopts what an
 * earlier attempt started (never a second stack, never a second change set).
 */
import type { Job } from 'bullmq';
import { describeGroup } from '../src/aws/autoscaling.js';
import type { AwsClients, AwsPlacement } from '../src/aws/clients.js';
import {
  createStack,
  deleteStack,
  describeStack,
  findStacksByTag,
  latestEventId,
  retagStack,
  type Stack,
  type StackEvent,
  stackEventsSince,
  stackResources,
  validateTemplate,
} from '../src/aws/cloudformation.js';
import { type LoadedTemplate, listTemplateVersions, loadTemplate } from '../src/aws/stack-templates.js';
import { escapeSlack } from '../src/commands/index.js';
import type { Config, StackBlueprint } from '../src/config.js';
import { allPlacements, blueprintNamed, placementOf, TAG } from '../src/domain/env.js';
import {
  deleteFailures,
  failureMessage,
  isVersioned,
  parameterProblems,
  phaseOf,
  planStack,
  progressLine,
  retained,
  STACK_TAG,
  type StackPlan,
  stackNameFor,
  templateOf,
  templateParameters,
  traceability,
} from '../src/domain/stack.js';
import { jobWaits, waitUntil } from '../src/domain/wait.js';
import { environmentRegistryOf } from '../src/environments/registry.js';
import { ErrorCode, UserError } from '../src/errors.js';
import type { JobDataOf, JobResult } from '../src/queue/contract.js';
import type { JobContext } from '../src/queue/worker.js';
import type { EnvJobDeps, EnvLifecycleDeps } from './deps.js';

/** A stack environment found in AWS. */
export interface FoundStack {
  stack: Stack;
  placement: AwsPlacement;
  clients: AwsClients;
}

/**
 * The stack environment `name`, looked up in every configured placement (stack environments are
 * never declared, so the blueprint that made one is only known from its tags).
 */
export async function findStackEnvironment(
  deps: EnvJobDeps,
  name: string,
  actor: string,
): Promise<FoundStack | undefined> {
  const hasStackBlueprints = Object.values(deps.config.file.blueprints).some((b) => b.kind === 'stack');
  if (!hasStackBlueprints || deps.config.file.environments[name]) return undefined;
  for (const placement of allPlacements(deps.config)) {
    const clients = deps.aws.clients(placement, actor);
    const stack = await describeStack(clients.cloudFormation, stackNameFor(name));
    if (stack && stack.tags[TAG.env] === name) return { stack, placement, clients };
  }
  return undefined;
}

/** The stack blueprint the stack was made from, from its tag. */
export function blueprintOfStack(config: Config, stack: Stack): { name: string; blueprint: StackBlueprint } {
  const name = stack.tags[TAG.blueprint] ?? '';
  const blueprint = config.file.blueprints[name];
  if (blueprint?.kind !== 'stack') {
    throw new UserError(
      `Stack ${stack.name} was made from blueprint \`${escapeSlack(name)}\`, which is ${blueprint ? 'no longer a stack blueprint' : 'no longer configured'}: Capstan cannot read its template.`,
      ErrorCode.Conflict,
    );
  }
  return { name, blueprint };
}

/** A ClientRequestToken (letters, digits, hyphens, at most 128) derived from the job. */
export function tokenFor(jobId: string, op: string): string {
  return `capstan-${op}-${jobId}`.replace(/[^A-Za-z0-9-]/g, '-').slice(0, 128);
}

/** Reads the template of `version` and checks its parameters; the template and the parameters to pass. */
export async function readTemplate(
  clients: AwsClients,
  blueprint: StackBlueprint,
  version: string,
): Promise<{ template: LoadedTemplate; declared: Array<{ key: string; hasDefault: boolean }> }> {
  const template = await loadTemplate(clients.s3, templateOf(blueprint.template, version), blueprint.source);
  let declared: Array<{ key: string; hasDefault: boolean }>;
  try {
    // CloudFormation checks the template; its parameters are read from the template itself (the
    // same list ValidateTemplate returns, and an S3 template's body is read anyway for its hash).
    const validated = await validateTemplate(clients.cloudFormation, template.input);
    declared =
      ('body' in template.input ? templateParameters(template.input.body) : undefined) ??
      validated.parameters;
  } catch (error) {
    if ((error as { name?: string }).name !== 'ValidationError') throw error;
    throw new UserError(
      `CloudFormation refused the template ${template.location}: ${(error as Error).message}`,
      ErrorCode.UsageError,
      { cause: error },
    );
  }
  return { template, declared };
}

/** The stack's newest event id now (the marker after which an operation's events come). */
export function newestEventId(clients: AwsClients, stackId: string): Promise<string | undefined> {
  return latestEventId(clients.cloudFormation, stackId);
}

/**
 * Follows a stack operation to its end: each resource that finishes is a line of progress (the
 * reporter coalesces them within Slack's edit rate), the count of finished resources the progress.
 * Returns the stack at the end and the operation's events (oldest first).
 */
export async function follow(
  ctx: JobContext,
  deps: EnvJobDeps,
  clients: AwsClients,
  stackId: string,
  op: 'create' | 'update' | 'delete',
  markerKey: string,
  /** How long to follow (the blueprint's `timeout`; default the configured wait). */
  timeoutMs?: number,
): Promise<{ stack: Stack; events: StackEvent[] }> {
  // The newest event before the operation began (checkpointed before it was started); none: all events.
  const marker = (ctx.checkpoints[markerKey] as string | null | undefined) ?? undefined;
  const name = stackName(stackId);
  const seen = new Set<string>();
  const resources = new Set<string>();
  const finished = new Set<string>();
  // An earlier attempt already reported the events up to this one: they are counted, not repeated.
  const reportedKey = `${markerKey}:reported`;
  const reportedUpTo = ctx.checkpoints[reportedKey] as string | undefined;
  let reporting = reportedUpTo === undefined;
  let last = marker;
  let begun = false;
  const stack = await waitUntil(
    async () => {
      const fresh = await stackEventsSince(clients.cloudFormation, stackId, last);
      for (const e of fresh) {
        if (seen.has(e.id)) continue;
        seen.add(e.id);
        if (e.type !== 'AWS::CloudFormation::Stack') resources.add(e.logicalId);
        const line = progressLine(e, name);
        if (line) finished.add(e.logicalId);
        // Lines an earlier attempt showed are not shown again.
        if (line && reporting) {
          if (e.status.endsWith('_FAILED')) ctx.reporter.warn(line);
          else ctx.reporter.info(line);
        }
        if (e.id === reportedUpTo) reporting = true;
      }
      if (fresh.length > 0) {
        last = fresh[fresh.length - 1]?.id;
        if (reporting) await ctx.checkpoint(reportedKey, last);
      }
      // The operation has begun once the stack says so in an event after the marker; until then a
      // finished status is the previous operation's.
      begun ||= fresh.some(
        (e) => e.type === 'AWS::CloudFormation::Stack' && e.status.endsWith('_IN_PROGRESS'),
      );
      const now = await describeStack(clients.cloudFormation, stackId);
      if (!now)
        throw new UserError(`Stack ${name} disappeared while Capstan followed it.`, ErrorCode.Conflict);
      ctx.reporter.progress(
        `${now.status}: ${finished.size} of ${resources.size} resource(s) finished so far`,
      );
      if (!begun && marker !== undefined) return undefined;
      return phaseOf(op, now.status) === 'in-progress' ? undefined : now;
    },
    {
      what: `stack ${name} to finish (${op})`,
      ...jobWaits(deps.config.waits, () => ctx.betweenSteps()),
      ...(timeoutMs ? { timeoutMs } : {}),
      actually: async () => {
        const now = await describeStack(clients.cloudFormation, stackId);
        return `Read back from CloudFormation: the stack is ${now?.status ?? 'gone'}; Capstan stopped following it, CloudFormation has not.`;
      },
    },
  );
  // The whole operation's events, including those before a crash and after the last poll.
  return { stack, events: await stackEventsSince(clients.cloudFormation, stackId, marker) };
}

/** The stack name from a stack id (`arn:…:stack/NAME/uuid`) or a name. */
function stackName(idOrName: string): string {
  const m = /:stack\/([^/]+)\//.exec(idOrName);
  return m?.[1] ?? idOrName;
}

export function outputsText(stack: Stack): string {
  if (stack.outputs.length === 0) return 'no outputs';
  return stack.outputs.map((o) => `${escapeSlack(o.key)}=${escapeSlack(o.value)}`).join(', ');
}

// ── create ────────────────────────────────────────────────────────────────────────────────────

/** `/env create` of a stack blueprint. */
export async function stackCreateJob(
  job: Job<JobDataOf<'env.create'>>,
  ctx: JobContext,
  deps: EnvLifecycleDeps,
  blueprintName: string,
  blueprint: StackBlueprint,
): Promise<JobResult> {
  const command = job.data.command;
  const { reporter } = ctx;
  const jobId = String(job.id);
  const placement = placementOf(deps.config, blueprint);
  const clients = deps.aws.clients(placement, job.data.request.userId);

  await reporter.step('Check the blueprint');
  const plan = await ctx.remember<StackPlan>('plan', async () => {
    const versions = isVersioned(blueprint.template)
      ? await listTemplateVersions(clients.s3, blueprint.template)
      : undefined;
    return planStack(
      command,
      blueprintName,
      blueprint,
      job.data.request.userId,
      new Date(job.timestamp),
      versions,
    );
  });
  const existing = await describeStack(clients.cloudFormation, plan.stackName);
  if (existing && existing.tags[TAG.job] !== jobId) {
    throw new UserError(
      `Environment \`${plan.name}\` already exists (stack ${plan.stackName}, ${existing.status}, owner ${existing.tags[TAG.owner] ? `<@${existing.tags[TAG.owner]}>` : '?'}).${existing.status === 'ROLLBACK_COMPLETE' ? ` It is what a failed create left: \`/env delete ${plan.name}\` removes it.` : ''}`,
      ErrorCode.Conflict,
    );
  }
  // Before anything exists: the web process applies the blueprint's rules (protected) to it from now on.
  await environmentRegistryOf(deps).record(plan.name, plan.blueprintName);
  reporter.progress(
    `blueprint ${plan.blueprintName} (CloudFormation stack), version ${plan.version}${plan.versionFrom === 'newest' ? ' (the newest)' : plan.versionFrom === 'unversioned' ? ' (no version given)' : ''}, ${placement.region}`,
  );
  await ctx.betweenSteps();

  await reporter.step('Read the template');
  const { template, declared } = await readTemplate(clients, blueprint, plan.version);
  const problems = parameterProblems(declared, plan.parameters, blueprint.versionParameter);
  if (problems.length > 0) {
    throw new UserError(
      `Blueprint \`${plan.blueprintName}\` does not fit its template ${template.location}: ${problems.join('; ')}. Nothing was created.`,
    );
  }
  reporter.progress(`${template.location}, sha256 ${template.sha256.slice(0, 12)}, ${template.source}`);
  await ctx.betweenSteps();

  await reporter.step('Create the stack');
  let stackId = (ctx.checkpoints.stackId as string | undefined) ?? existing?.id;
  if (stackId) {
    reporter.progress(`${plan.stackName} (started by an earlier attempt)`);
  } else {
    stackId = await createStack(clients.cloudFormation, {
      name: plan.stackName,
      template: template.input,
      parameters: plan.parameters,
      capabilities: blueprint.capabilities,
      tags: {
        ...plan.tags,
        [TAG.job]: jobId,
        [STACK_TAG.templateSha]: template.sha256,
        [STACK_TAG.templateSource]: template.source,
      },
      token: tokenFor(jobId, 'create'),
    });
    await ctx.created('stack');
    reporter.progress(`CreateStack accepted: ${stackId}`);
  }
  if (!ctx.checkpoints.stackId) await ctx.checkpoint('stackId', stackId);
  await ctx.betweenSteps();

  await reporter.step('Build the resources');
  const { stack, events } = await follow(
    ctx,
    deps,
    clients,
    stackId,
    'create',
    'createMarker',
    blueprint.timeout,
  );
  if (phaseOf('create', stack.status) !== 'succeeded') {
    throw new UserError(
      failureMessage(`Creating environment \`${plan.name}\``, stack, events),
      ErrorCode.Conflict,
    );
  }
  // Read back: the stack and each of its resources complete, as CloudFormation itself says now.
  const resources = await stackResources(clients.cloudFormation, stackId);
  // Created; an update someone started since (a tag change) may already be touching it.
  const notDone = resources.filter((r) => !/^(CREATE_COMPLETE|UPDATE_(?!.*FAILED))/.test(r.status));
  if (notDone.length > 0) {
    throw new UserError(
      `Stack ${plan.stackName} says CREATE_COMPLETE but ${notDone.map((r) => `\`${r.logicalId}\` is ${r.status}`).join(', ')}; environment \`${plan.name}\` is not reported up.`,
      ErrorCode.Conflict,
    );
  }
  return {
    outcome: 'done',
    summary: `Environment \`${plan.name}\` is up: stack ${plan.stackName} CREATE_COMPLETE with ${resources.length} resource(s), template version ${plan.version} (sha256 ${template.sha256.slice(0, 12)}), outputs: ${outputsText(stack)}; expires ${plan.expiresAt}.`,
    facts: { environmentStatus: 'up', version: plan.version, expiresAt: plan.expiresAt },
  };
}

// ── delete ────────────────────────────────────────────────────────────────────────────────────

/** `/env delete` (and expiry) of a stack environment. */
export async function stackDeleteJob(
  job: Job<JobDataOf<'env.delete'>>,
  ctx: JobContext,
  deps: EnvLifecycleDeps,
  found: FoundStack | undefined,
): Promise<JobResult> {
  const { name } = job.data.command;
  const { reporter } = ctx;
  const jobId = String(job.id);
  const placement = found?.placement ?? (ctx.checkpoints.placement as AwsPlacement);
  const clients = found?.clients ?? deps.aws.clients(placement, job.data.request.userId);
  const stackId = found?.stack.id ?? (ctx.checkpoints.stackId as string);

  await reporter.step('Find the environment');
  if (!ctx.checkpoints.stackId) {
    await ctx.checkpoint('placement', placement);
    await ctx.checkpoint('stackId', stackId);
  }
  const resources = await ctx.remember('resources', async () =>
    (await stackResources(clients.cloudFormation, stackId)).map((r) => ({
      logicalId: r.logicalId,
      type: r.type,
      ...(r.physicalId ? { physicalId: r.physicalId } : {}),
    })),
  );
  reporter.progress(
    `stack ${stackName(stackId)} (${found?.stack.status ?? 'being deleted'}), ${resources.length} resource(s)`,
  );
  await ctx.betweenSteps();

  await reporter.step('Delete the stack');
  let before = await describeStack(clients.cloudFormation, stackId);
  // An update (or its rollback) runs: CloudFormation deletes a stack only once it has ended.
  if (before?.status.endsWith('_IN_PROGRESS') && !before.status.startsWith('DELETE_')) {
    before = await untilIdle(ctx, deps, clients, stackId);
  }
  if (before && before.status !== 'DELETE_COMPLETE' && before.status !== 'DELETE_IN_PROGRESS') {
    if (!('deleteMarker' in ctx.checkpoints)) {
      await ctx.checkpoint('deleteMarker', (await newestEventId(clients, stackId)) ?? null);
    }
    await deleteStack(clients.cloudFormation, stackId, tokenFor(jobId, `delete-${job.attemptsMade}`));
    // Not a create, but the same instant for a crash: the deletion runs on without the job.
    await ctx.created('delete-started');
    reporter.progress('DeleteStack accepted');
  } else {
    reporter.progress(before ? `${before.status} (started by an earlier attempt)` : 'already gone');
  }
  await ctx.betweenSteps();

  await reporter.step('Delete the resources');
  const { stack, events } = await follow(
    ctx,
    deps,
    clients,
    stackId,
    'delete',
    'deleteMarker',
    found ? stackTimeout(deps, found.stack) : undefined,
  );
  if (stack.status !== 'DELETE_COMPLETE') {
    const failures = deleteFailures(events, stack.name);
    throw new UserError(
      `Deleting environment \`${name}\` failed: the stack is ${stack.status}. ${failures.length > 0 ? failures.map((e) => `\`${e.logicalId}\` (${e.type}${e.physicalId ? ` ${e.physicalId}` : ''}) could not be deleted: ${escapeSlack(e.reason ?? 'no reason given')}`).join('; ') : escapeSlack(stack.statusReason ?? '')}. Fix the cause and run \`/env delete ${name}\` again.`,
      ErrorCode.Conflict,
    );
  }
  await ctx.betweenSteps();

  await reporter.step('Check the environment is gone');
  const kept = retained(events, stack.name);
  const keptIds = new Set(kept.map((e) => e.logicalId));
  const byName = await describeStack(clients.cloudFormation, stackNameFor(name));
  if (byName) {
    throw new UserError(
      `CloudFormation says stack ${stackId} is DELETE_COMPLETE, but a stack named ${byName.name} exists (${byName.status}).`,
      ErrorCode.Conflict,
    );
  }
  // Read back what the stack made, where Capstan can: its Auto Scaling groups must be gone.
  const groups = resources.filter((r) => r.type === 'AWS::AutoScaling::AutoScalingGroup' && r.physicalId);
  const stillThere: string[] = [];
  for (const g of groups) {
    if (keptIds.has(g.logicalId)) continue;
    const group = await describeGroup(clients.autoScaling, g.physicalId as string);
    if (group && group.status === undefined) stillThere.push(group.name);
  }
  if (stillThere.length > 0) {
    throw new UserError(
      `Stack ${stack.name} is DELETE_COMPLETE but Auto Scaling group(s) ${stillThere.join(', ')} still exist; environment \`${name}\` is not reported deleted.`,
      ErrorCode.Conflict,
    );
  }
  await environmentRegistryOf(deps).forget(name);
  const keptText =
    kept.length > 0
      ? ` Retained (DeletionPolicy: Retain, still in the account): ${kept.map((e) => `\`${e.logicalId}\` (${e.type}${e.physicalId ? ` ${e.physicalId}` : ''})`).join(', ')}.`
      : '';
  return {
    outcome: 'done',
    summary: `Environment \`${name}\` is deleted: stack ${stack.name} DELETE_COMPLETE, ${resources.length - kept.length} resource(s) deleted${groups.length > 0 ? `, its Auto Scaling group(s) gone` : ''}.${keptText}`,
    facts: { environmentStatus: 'deleted' },
  };
}

// ── status, list ──────────────────────────────────────────────────────────────────────────────

/** The blueprint's current template (the newest version's), for traceability; undefined when unreadable. */
async function currentTemplate(
  clients: AwsClients,
  blueprint: StackBlueprint,
): Promise<{ current?: { sha256: string; version?: string }; versions?: string[] }> {
  try {
    if (!isVersioned(blueprint.template)) {
      const t = await loadTemplate(clients.s3, blueprint.template);
      return { current: { sha256: t.sha256 } };
    }
    const versions = await listTemplateVersions(clients.s3, blueprint.template);
    const newest = versions[versions.length - 1];
    if (!newest) return { versions };
    const t = await loadTemplate(clients.s3, templateOf(blueprint.template, newest));
    return { current: { sha256: t.sha256, version: newest }, versions };
  } catch {
    return {};
  }
}

function age(since: Date | undefined): string {
  if (!since) return '?';
  const minutes = Math.max(0, Math.round((Date.now() - since.getTime()) / 60_000));
  return minutes < 120 ? `${minutes} min` : `${Math.round(minutes / 60)} h`;
}

/** `/env status` of a stack environment. */
export async function stackStatusText(deps: EnvJobDeps, name: string, found: FoundStack): Promise<string> {
  const { stack, clients } = found;
  let trace: string;
  try {
    const { blueprint } = blueprintOfStack(deps.config, stack);
    const { current, versions } = await currentTemplate(clients, blueprint);
    trace = traceability(stack, current, versions);
  } catch (error) {
    trace = `${traceability(stack, undefined, undefined)} (${(error as Error).message})`;
  }
  const resources = await stackResources(clients.cloudFormation, stack.id);
  const lines = resources.map(
    (r) =>
      `• \`${r.logicalId}\` ${r.type} ${r.physicalId ?? ''} ${r.status}${r.reason ? `: ${escapeSlack(r.reason)}` : ''}`,
  );
  return `*${escapeSlack(name)}* — stack ${stack.name}, ${stack.status}${stack.statusReason ? ` (${escapeSlack(stack.statusReason)})` : ''}, version ${escapeSlack(stack.tags[TAG.version] ?? '?')}, age ${age(stack.createdAt)}, owner ${stack.tags[TAG.owner] ? `<@${stack.tags[TAG.owner]}>` : '?'}, expires ${stack.tags[TAG.expiresAt] ?? 'never'}\n${escapeSlack(trace)}\nOutputs: ${outputsText(stack)}\n${lines.join('\n') || 'no resources'}`;
}

/** `/env list` rows for stack environments in `placement`. */
export async function stackListRows(clients: AwsClients, placement: AwsPlacement): Promise<string[]> {
  const rows: string[] = [];
  for (const s of await findStacksByTag(clients.cloudFormation, TAG.env)) {
    rows.push(
      `• *${escapeSlack(s.tags[TAG.env] ?? '?')}* — stack ${s.status}, version ${escapeSlack(s.tags[TAG.version] ?? '?')} (sha256 ${(s.tags[STACK_TAG.templateSha] ?? '?').slice(0, 12)}), owner ${s.tags[TAG.owner] ? `<@${s.tags[TAG.owner]}>` : '?'}, age ${age(s.createdAt)}, expires ${s.tags[TAG.expiresAt] ?? 'never'} (${placement.region})`,
    );
  }
  return rows;
}

/** Every stack environment, with its clients (the expiry sweep). */
export async function allStackEnvironments(deps: EnvJobDeps): Promise<FoundStack[]> {
  if (!Object.values(deps.config.file.blueprints).some((b) => b.kind === 'stack')) return [];
  const found: FoundStack[] = [];
  for (const placement of allPlacements(deps.config)) {
    const clients = deps.aws.clients(placement);
    for (const stack of await findStacksByTag(clients.cloudFormation, TAG.env))
      found.push({ stack, placement, clients });
  }
  return found;
}

/** How long to follow an operation on the stack: its blueprint's `timeout`, if it has one. */
export function stackTimeout(deps: EnvJobDeps, stack: Stack): number | undefined {
  try {
    return blueprintOfStack(deps.config, stack).blueprint.timeout;
  } catch {
    return undefined;
  }
}

/** The capabilities the stack's blueprint acknowledges (none when the blueprint is gone). */
export function stackCapabilities(deps: EnvJobDeps, stack: Stack): readonly string[] {
  try {
    return blueprintOfStack(deps.config, stack).blueprint.capabilities;
  } catch {
    return [];
  }
}

// ── extend (tags) ─────────────────────────────────────────────────────────────────────────────

/**
 * Changes a stack environment's tags (its expiry) by a tags-only stack update, followed to its end
 * and read back. CloudFormation passes stack tags on to the resources that take tags.
 */
export async function retagStackEnvironment(
  ctx: JobContext,
  deps: EnvJobDeps,
  found: FoundStack,
  tags: Record<string, string>,
): Promise<Stack> {
  const { clients, stack } = found;
  const wanted = (t: Record<string, string>) =>
    Object.entries(tags).every(([k, v]) => (v === '' ? !(k in t) || t[k] === '' : t[k] === v));
  if (ctx.checkpoints.retagged !== true) {
    // Another operation (someone's update) must end first: CloudFormation runs one at a time.
    const idle = await untilIdle(ctx, deps, clients, stack.id);
    if (!wanted(idle.tags)) {
      await ctx.checkpoint('tagMarker', (await newestEventId(clients, stack.id)) ?? null);
      const merged = { ...idle.tags, ...tags };
      for (const [k, v] of Object.entries(tags)) if (v === '') delete merged[k];
      await retagStack(clients.cloudFormation, idle, merged, stackCapabilities(deps, stack));
    }
    await ctx.checkpoint('retagged', true);
  }
  if (!('tagMarker' in ctx.checkpoints)) {
    // Nothing to change: the tags were already so.
    const now = await describeStack(clients.cloudFormation, stack.id);
    if (now) return now;
  }
  const { stack: after, events } = await follow(
    ctx,
    deps,
    clients,
    stack.id,
    'update',
    'tagMarker',
    stackTimeout(deps, stack),
  );
  if (phaseOf('update', after.status) === 'failed') {
    throw new UserError(
      failureMessage(`Updating the tags of stack ${stack.name}`, after, events),
      ErrorCode.Conflict,
    );
  }
  if (!wanted(after.tags)) {
    throw new UserError(
      `CloudFormation finished the update of stack ${stack.name} but its tags are not what was asked (${Object.keys(
        tags,
      )
        .map((k) => `${k}=${after.tags[k] ?? 'absent'}`)
        .join(', ')}).`,
      ErrorCode.Conflict,
    );
  }
  return after;
}

/**
 * Waits until no operation runs on the stack (CloudFormation runs one at a time: an update started by
 * someone else, or the tags-only update of an extend, must end first), saying so while it waits.
 */
export async function untilIdle(
  ctx: JobContext,
  deps: EnvJobDeps,
  clients: AwsClients,
  stackId: string,
): Promise<Stack> {
  return waitUntil(
    async () => {
      const now = await describeStack(clients.cloudFormation, stackId);
      if (!now) throw new UserError(`Stack ${stackName(stackId)} is gone.`, ErrorCode.NotFound);
      if (!now.status.endsWith('_IN_PROGRESS')) return now;
      ctx.reporter.progress(`waiting for the stack's current operation to end (${now.status})`);
      return undefined;
    },
    {
      what: `stack ${stackName(stackId)} to finish its current operation`,
      ...jobWaits(deps.config.waits, () => ctx.betweenSteps()),
    },
  );
}

/** Whether blueprint `name` (or the default) is a stack blueprint. */
export function stackBlueprintFor(
  config: Config,
  name: string | undefined,
): { name: string; blueprint: StackBlueprint } | undefined {
  const chosen = name ?? config.file.defaultBlueprint;
  if (!chosen || !(chosen in config.file.blueprints)) return undefined;
  const blueprint = blueprintNamed(config, chosen);
  return blueprint.kind === 'stack' ? { name: chosen, blueprint } : undefined;
}
