/**
 * `env.delete`: takes the environment's instances out of the load balancer, scales it to zero,
 * deletes the group and what Capstan created for it, then checks nothing tagged with the
 * environment remains. Touches only resources tagged with this environment.
 */
import type { Job } from 'bullmq';
import {
  deleteGroup,
  describeGroup,
  enterStandby,
  findGroupsByTag,
  resizeGroup,
} from '../src/aws/autoscaling.js';
import { deleteLaunchTemplate, findInstancesByTag, findLaunchTemplatesByTag } from '../src/aws/ec2.js';
import { TAG } from '../src/domain/env.js';
import { isValidationError } from '../src/domain/lb.js';
import { waitUntil } from '../src/domain/wait.js';
import { environmentRegistryOf } from '../src/environments/registry.js';
import { ErrorCode, UserError } from '../src/errors.js';
import type { JobDataOf, JobResult } from '../src/queue/contract.js';
import type { JobContext } from '../src/queue/worker.js';
import type { EnvLifecycleDeps } from './deps.js';
import { findStackEnvironment, stackDeleteJob } from './env-stack.js';
import { openEnvironmentJob } from './opening.js';

/** Runs `env.delete`. */
export async function envDeleteJob(
  job: Job<JobDataOf<'env.delete'>>,
  ctx: JobContext,
  deps: EnvLifecycleDeps,
): Promise<JobResult> {
  const { name } = job.data.command;
  // A stack environment (or one whose deletion an earlier attempt started as one).
  const stack = await findStackEnvironment(deps, name, job.data.request.userId);
  if (stack || ctx.checkpoints.stackId) return stackDeleteJob(job, ctx, deps, stack);
  const { reporter } = ctx;
  const { env, clients, wait } = openEnvironmentJob(job, ctx, deps, name);
  const { autoScaling, ec2 } = clients;

  await reporter.step('Find the environment');
  const group = await describeGroup(autoScaling, env.groupName);
  if (group && group.tags[TAG.env] !== name) {
    throw new UserError(
      `Group ${env.groupName} is not tagged ${TAG.env}=${name}; Capstan does not touch it.`,
      ErrorCode.Conflict,
    );
  }
  // An earlier attempt that found the environment may have deleted it since: that is progress, not an error.
  if (!group && !ctx.checkpoints.found) {
    const leftovers = await findGroupsByTag(autoScaling, TAG.env, name);
    if (leftovers.length === 0 && (await findInstancesByTag(ec2, TAG.env, name)).length === 0) {
      throw new UserError(
        `There is no environment \`${name}\`. \`/env list\` shows the ones that exist.`,
        ErrorCode.NotFound,
      );
    }
  }
  if (!ctx.checkpoints.found) await ctx.checkpoint('found', true);
  reporter.progress(
    group
      ? `${group.name}: ${group.instances.length} instance(s)`
      : 'group already deleted by an earlier attempt',
  );
  await ctx.betweenSteps();

  if (group && group.status === undefined) {
    // AWS keeps MinSize ≤ desired capacity ≤ MaxSize at every call: EnterStandby with a decrement and a
    // lower desired capacity are refused below MinSize, so MinSize goes to 0 first (always allowed: it
    // moves no bound past the desired capacity)
    // (https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_EnterStandby.html,
    // https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_UpdateAutoScalingGroup.html).
    await reporter.step('Lower MinSize to 0');
    if (group.min > 0) {
      await refusedAsUserError(name, 'lower MinSize to 0', () =>
        resizeGroup(autoScaling, group.name, { min: 0 }),
      );
      const after = await describeGroup(autoScaling, group.name);
      if (after && after.min !== 0) {
        throw new UserError(
          `Auto Scaling accepted MinSize 0 for ${group.name} but the group still has MinSize ${after.min}; nothing else was changed.`,
          ErrorCode.Conflict,
        );
      }
      reporter.progress(`MinSize ${group.min} → 0`);
    } else {
      reporter.progress('already 0');
    }
    await ctx.betweenSteps();

    await reporter.step('Take the instances out of the load balancer');
    const now = (await describeGroup(autoScaling, group.name)) ?? group;
    const inService = now.instances.filter((i) => i.lifecycle === 'InService').map((i) => i.id);
    if (inService.length > 0 && now.targetGroups.length > 0) {
      await refusedAsUserError(name, 'put the instances in Standby', () =>
        enterStandby(autoScaling, group.name, inService),
      );
      await waitUntil(
        async () => {
          const g = await describeGroup(autoScaling, group.name);
          const left =
            g?.instances.filter((i) => inService.includes(i.id) && i.lifecycle !== 'Standby').length ?? 0;
          reporter.progress(`${inService.length - left} of ${inService.length} out of service`);
          return left === 0 ? true : undefined;
        },
        { what: 'the instances to leave the load balancer', ...wait },
      );
    } else {
      reporter.progress(now.targetGroups.length > 0 ? 'none in service' : 'no load balancer');
    }
    await ctx.betweenSteps();

    await reporter.step('Scale to zero');
    await refusedAsUserError(name, 'scale the group to zero', () =>
      resizeGroup(autoScaling, group.name, { min: 0, desired: 0 }),
    );
    await ctx.betweenSteps();
  }

  if (group) {
    await reporter.step('Delete the Auto Scaling group');
    // ForceDelete also terminates the instances parked in Standby.
    if (group.status === undefined) {
      await refusedAsUserError(name, 'delete the group', () => deleteGroup(autoScaling, group.name, true));
    }
    await waitUntil(
      async () => {
        const g = await describeGroup(autoScaling, group.name);
        reporter.progress(
          g ? `${g.status ?? 'deleting'}, ${g.instances.length} instance(s) left` : 'deleted',
        );
        return g ? undefined : true;
      },
      {
        what: `group ${group.name} to be deleted`,
        ...wait,
        actually: async () => {
          const g = await describeGroup(autoScaling, group.name);
          return g
            ? `Read back from Auto Scaling: ${group.name} still exists (${g.status ?? 'not being deleted'}, ${g.instances.length} instance(s)); the environment is not deleted.`
            : `${group.name} is gone now.`;
        },
      },
    );
    await ctx.betweenSteps();
  }

  await reporter.step('Delete what Capstan created for it');
  const templates = await findLaunchTemplatesByTag(ec2, TAG.env, name);
  for (const t of templates) await deleteLaunchTemplate(ec2, t.id);
  reporter.progress(
    templates.length > 0 ? `launch template(s) ${templates.map((t) => t.id).join(', ')}` : 'nothing else',
  );
  await ctx.betweenSteps();

  await reporter.step('Check nothing tagged with the environment remains');
  await waitUntil(
    async () => {
      const groups = await findGroupsByTag(autoScaling, TAG.env, name);
      const instances = (await findInstancesByTag(ec2, TAG.env, name)).filter(
        (i) => i.state !== 'terminated',
      );
      const lts = await findLaunchTemplatesByTag(ec2, TAG.env, name);
      reporter.progress(
        `${groups.length} group(s), ${instances.length} instance(s), ${lts.length} launch template(s) left`,
      );
      return groups.length + instances.length + lts.length === 0 ? true : undefined;
    },
    { what: `everything tagged ${TAG.env}=${name} to be gone`, ...wait },
  );
  await environmentRegistryOf(deps).forget(name);
  return {
    outcome: 'done',
    summary: `Environment \`${name}\` is deleted; nothing tagged ${TAG.env}=${name} remains.`,
    facts: { environmentStatus: 'deleted' },
  };
}

/**
 * Runs one Auto Scaling change; a ValidationError (AWS refusing the request as it stands: retrying
 * will not help) becomes a plain answer saying what was refused and why, never retried.
 */
async function refusedAsUserError(env: string, what: string, change: () => Promise<void>): Promise<void> {
  try {
    await change();
  } catch (error) {
    if (!isValidationError(error)) throw error;
    throw new UserError(
      `Auto Scaling refused to ${what} for environment \`${env}\`: ${error.message} The environment is left as it is; nothing after this step was done.`,
      ErrorCode.Conflict,
      { cause: error },
    );
  }
}
