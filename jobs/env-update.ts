/**
 * `env.update`: moves a stack environment to another template version or parameter values by a
 * change set — the plan approvers see for a protected environment, executed exactly as shown — then
 * follows it to its end, a rollback reported with the resource that failed and why.
 */
import type { Job } from 'bullmq';
import {
  createChangeSet,
  deleteChangeSet,
  describeChangeSet,
  executeChangeSet,
} from '../src/aws/cloudformation.js';
import { type LoadedTemplate, listTemplateVersions } from '../src/aws/stack-templates.js';
import { escapeSlack } from '../src/commands/index.js';
import { TAG } from '../src/domain/env.js';
import {
  changeSetPlan,
  failureMessage,
  fillPlaceholders,
  isVersioned,
  phaseOf,
  STACK_TAG,
} from '../src/domain/stack.js';
import { jobWaits, waitUntil } from '../src/domain/wait.js';
import { ErrorCode, UserError } from '../src/errors.js';
import type { JobDataOf, JobResult } from '../src/queue/contract.js';
import type { JobContext } from '../src/queue/worker.js';
import type { EnvJobDeps } from './deps.js';
import {
  blueprintOfStack,
  type FoundStack,
  findStackEnvironment,
  follow,
  newestEventId,
  outputsText,
  readTemplate,
  stackTimeout,
  tokenFor,
  untilIdle,
} from './env-stack.js';

/** The change set a job (or the approval request of `approvalId`) makes for `/env update`. */
export function changeSetNameFor(id: string): string {
  return `capstan-update-${id}`.replace(/[^A-Za-z0-9-]/g, '-').slice(0, 128);
}

/** What an update will pass: the template of the target version and each parameter's value. */
interface UpdateInputs {
  version: string;
  template: LoadedTemplate;
  parameters: Record<string, string | undefined>;
  tags: Record<string, string>;
  capabilities: readonly string[];
}

/** Works out an update's template, parameters and tags (reads only). */
async function updateInputs(
  deps: EnvJobDeps,
  command: JobDataOf<'env.update'>['command'],
  found: FoundStack,
): Promise<UpdateInputs> {
  const { stack, clients } = found;
  const { name: blueprintName, blueprint } = blueprintOfStack(deps.config, stack);
  const version = command.version ?? stack.tags[TAG.version] ?? '';
  if (isVersioned(blueprint.template)) {
    const versions = await listTemplateVersions(clients.s3, blueprint.template);
    if (!versions.includes(version)) {
      throw new UserError(
        `Blueprint \`${blueprintName}\` has no template version \`${escapeSlack(version)}\`. Versions: ${
          versions
            .slice(-10)
            .map((v) => `\`${v}\``)
            .join(', ') || 'none'
        }.`,
        ErrorCode.NotFound,
      );
    }
  }
  const { template, declared } = await readTemplate(clients, blueprint, version);
  const given = command.params ?? {};
  const names = new Set(declared.map((p) => p.key));
  const unknown = Object.keys(given).filter((k) => !names.has(k));
  if (unknown.length > 0) {
    throw new UserError(
      `The template of version ${escapeSlack(version)} declares no parameter ${unknown.map((k) => `\`${escapeSlack(k)}\``).join(', ')} (it declares ${[...names].map((k) => `\`${k}\``).join(', ') || 'none'}).`,
    );
  }
  if (!names.has(blueprint.versionParameter)) {
    throw new UserError(
      `The template of version ${escapeSlack(version)} declares no parameter \`${blueprint.versionParameter}\` for the environment's version.`,
    );
  }
  const parameters: Record<string, string | undefined> = {};
  const fill = { env: stack.tags[TAG.env] ?? '', version, owner: stack.tags[TAG.owner] ?? '' };
  const missing: string[] = [];
  for (const p of declared) {
    if (p.key === blueprint.versionParameter) parameters[p.key] = version;
    else if (p.key in given) parameters[p.key] = given[p.key];
    else if (p.key in stack.parameters) parameters[p.key] = undefined;
    else if (p.key in blueprint.parameters) {
      parameters[p.key] = fillPlaceholders(blueprint.parameters[p.key] as string, fill);
    } else if (!p.hasDefault) missing.push(p.key);
  }
  if (missing.length > 0) {
    throw new UserError(
      `The template of version ${escapeSlack(version)} needs ${missing.map((k) => `\`${k}\``).join(', ')}, which the stack does not have and which have no default: give \`--param ${missing[0]}=…\`.`,
    );
  }
  return {
    version,
    template,
    parameters,
    tags: {
      ...stack.tags,
      [TAG.version]: version,
      [STACK_TAG.templateSha]: template.sha256,
      [STACK_TAG.templateSource]: template.source,
    },
    capabilities: blueprint.capabilities,
  };
}

/**
 * Makes (or finds) the change set `name` and waits until CloudFormation has worked it out. Returns it,
 * or undefined when it holds no changes (then it is deleted).
 */
export async function prepareChangeSet(
  deps: EnvJobDeps,
  command: JobDataOf<'env.update'>['command'],
  found: FoundStack,
  name: string,
  between: () => Promise<void>,
): Promise<
  | { changeSet: NonNullable<Awaited<ReturnType<typeof describeChangeSet>>>; inputs: UpdateInputs }
  | { none: string }
> {
  const { stack, clients } = found;
  const inputs = await updateInputs(deps, command, found);
  if (!(await describeChangeSet(clients.cloudFormation, stack.id, name))) {
    await createChangeSet(clients.cloudFormation, {
      stackId: stack.id,
      name,
      template: inputs.template.input,
      parameters: inputs.parameters,
      capabilities: inputs.capabilities,
      tags: inputs.tags,
      token: name,
    });
  }
  const changeSet = await waitUntil(
    async () => {
      const cs = await describeChangeSet(clients.cloudFormation, stack.id, name);
      if (!cs) throw new UserError(`Change set ${name} disappeared.`, ErrorCode.Conflict);
      return cs.status === 'CREATE_COMPLETE' || cs.status === 'FAILED' ? cs : undefined;
    },
    { what: `change set ${name} to be worked out`, ...jobWaits(deps.config.waits, between) },
  );
  if (changeSet.status === 'FAILED') {
    await deleteChangeSet(clients.cloudFormation, stack.id, name).catch(() => undefined);
    if (/didn't contain changes|no changes|No updates/i.test(changeSet.statusReason ?? '')) {
      return { none: changeSet.statusReason ?? 'no changes' };
    }
    throw new UserError(
      `CloudFormation could not work out the change set for stack ${stack.name}: ${changeSet.statusReason ?? 'no reason given'}. Nothing was changed.`,
      ErrorCode.Conflict,
    );
  }
  return { changeSet, inputs };
}

/** Runs `env.update`. */
export async function envUpdateJob(
  job: Job<JobDataOf<'env.update'>>,
  ctx: JobContext,
  deps: EnvJobDeps,
): Promise<JobResult> {
  const command = job.data.command;
  const { reporter } = ctx;
  const jobId = String(job.id);

  await reporter.step('Find the environment');
  const found = await findStackEnvironment(deps, command.name, job.data.request.userId);
  if (!found) {
    throw new UserError(
      `There is no stack environment \`${command.name}\`: \`/env update\` changes environments made from a stack blueprint. \`/env list\` shows the ones that exist.`,
      ErrorCode.NotFound,
    );
  }
  const { stack, clients } = found;
  // Under an approval, the change set is the one the approvers were shown: run exactly that one.
  const approvalId = job.data.approval?.id;
  const name = changeSetNameFor(approvalId ?? jobId);
  // An earlier attempt may have executed it and died before saying so: the change set knows.
  let updating = ctx.checkpoints.executed === true;
  if (!updating && 'updateMarker' in ctx.checkpoints) {
    const cs = await describeChangeSet(clients.cloudFormation, stack.id, name);
    updating = cs !== undefined && /^EXECUTE_/.test(cs.executionStatus ?? '');
  }
  // Another operation runs (an extend's tag update, someone's console change): it ends first.
  if (!updating && stack.status.endsWith('_IN_PROGRESS')) {
    Object.assign(stack, await untilIdle(ctx, deps, clients, stack.id));
  }
  if (!updating && /FAILED$|^ROLLBACK_COMPLETE$|^DELETE/.test(stack.status)) {
    throw new UserError(
      `Stack ${stack.name} is ${stack.status}: it cannot be updated. ${stack.status === 'ROLLBACK_COMPLETE' ? `\`/env delete ${command.name}\` removes what the failed create left.` : ''}`,
      ErrorCode.Conflict,
    );
  }
  reporter.progress(`stack ${stack.name}, ${stack.status}, version ${stack.tags[TAG.version] ?? '?'}`);
  await ctx.betweenSteps();

  let target = ctx.checkpoints.targetVersion as string | undefined;
  if (!updating) {
    await reporter.step(approvalId ? 'Check the approved change set' : 'Work out the change set');
    if (approvalId) {
      const cs = await describeChangeSet(clients.cloudFormation, stack.id, name);
      if (cs?.executionStatus !== 'AVAILABLE') {
        throw new UserError(
          `The change set the approvers saw (${name}) is ${cs ? `${cs.status}/${cs.executionStatus ?? '?'}` : 'gone'}: the stack changed since, or the plan could not be made. Nothing was changed; ask again to get a fresh plan.`,
          ErrorCode.Conflict,
        );
      }
      for (const line of changeSetPlan(cs.changes)) reporter.info(line);
      target = command.version ?? stack.tags[TAG.version] ?? '?';
    } else {
      const prepared = await prepareChangeSet(deps, command, found, name, () => ctx.betweenSteps());
      if ('none' in prepared) {
        return {
          outcome: 'done',
          summary: `Nothing to change: stack ${stack.name} already runs version ${stack.tags[TAG.version] ?? '?'} with those parameter values (${escapeSlack(prepared.none)}).`,
        };
      }
      for (const line of changeSetPlan(prepared.changeSet.changes)) reporter.info(line);
      target = prepared.inputs.version;
    }
    await ctx.checkpoint('targetVersion', target);
    await ctx.betweenSteps();

    await reporter.step('Apply the change set');
    await ctx.checkpoint('updateMarker', (await newestEventId(clients, stack.id)) ?? null);
    await executeChangeSet(clients.cloudFormation, stack.id, name, tokenFor(jobId, 'update'));
    await ctx.created('update-started');
    await ctx.checkpoint('executed', true);
  } else {
    await reporter.step('Apply the change set');
    reporter.progress('executed by an earlier attempt');
  }
  const { stack: after, events } = await follow(
    ctx,
    deps,
    clients,
    stack.id,
    'update',
    'updateMarker',
    stackTimeout(deps, stack),
  );
  if (phaseOf('update', after.status) !== 'succeeded') {
    throw new UserError(
      failureMessage(`Updating environment \`${command.name}\``, after, events),
      ErrorCode.Conflict,
    );
  }
  if (after.tags[TAG.version] !== target) {
    throw new UserError(
      `Stack ${after.name} is UPDATE_COMPLETE but its version tag says ${after.tags[TAG.version] ?? 'nothing'}, not ${target}.`,
      ErrorCode.Conflict,
    );
  }
  return {
    outcome: 'done',
    summary: `Environment \`${command.name}\` is updated: stack ${after.name} UPDATE_COMPLETE, version ${target} (sha256 ${(after.tags[STACK_TAG.templateSha] ?? '?').slice(0, 12)}), outputs: ${outputsText(after)}.`,
  };
}
