/**
 * `env.create`: a named environment from a blueprint — the launch template when the blueprint
 * needs one, the tagged Auto Scaling group, then every instance InService (and healthy in its
 * target groups). Each step checks the world first, so a retried job never makes a second group
 * or extra instances.
 */
import type { Job } from 'bullmq';
import { createGroup, describeGroup } from '../src/aws/autoscaling.js';
import { createLaunchTemplate, findLaunchTemplatesByTag } from '../src/aws/ec2.js';
import { targetHealth } from '../src/aws/elbv2.js';
import {
  countStates,
  type EnvironmentPlan,
  launchTemplateSpec,
  planEnvironment,
  TAG,
} from '../src/domain/env.js';
import { jobWaits, waitUntil } from '../src/domain/wait.js';
import { environmentRegistryOf } from '../src/environments/registry.js';
import { ErrorCode, UserError } from '../src/errors.js';
import type { JobDataOf, JobResult } from '../src/queue/contract.js';
import type { JobContext } from '../src/queue/worker.js';
import type { EnvLifecycleDeps } from './deps.js';
import { stackBlueprintFor, stackCreateJob } from './env-stack.js';

/** Runs `env.create`. */
export async function envCreateJob(
  job: Job<JobDataOf<'env.create'>>,
  ctx: JobContext,
  deps: EnvLifecycleDeps,
): Promise<JobResult> {
  const command = job.data.command;
  const stackBlueprint = stackBlueprintFor(deps.config, command.blueprint);
  if (stackBlueprint) return stackCreateJob(job, ctx, deps, stackBlueprint.name, stackBlueprint.blueprint);
  const { reporter } = ctx;
  const jobId = String(job.id);

  await reporter.step('Check the blueprint');
  // The plan is fixed at the first attempt (its version and expiry must not move on a retry).
  const plan = await ctx.remember<EnvironmentPlan>('plan', () =>
    planEnvironment(deps.config, command, job.data.request.userId, new Date(job.timestamp)),
  );
  const { autoScaling, ec2, elbv2 } = deps.aws.clients(plan.placement, job.data.request.userId);
  const existing = await describeGroup(autoScaling, plan.groupName);
  if (existing && existing.tags[TAG.job] !== jobId) {
    throw new UserError(
      `Environment \`${plan.name}\` already exists (group ${plan.groupName}, owner <@${existing.tags[TAG.owner] ?? '?'}>).`,
      ErrorCode.Conflict,
    );
  }
  // Before anything exists: the web process applies the blueprint's rules (protected) to it from now on.
  await environmentRegistryOf(deps).record(plan.name, plan.blueprintName);
  reporter.progress(
    `blueprint ${plan.blueprintName}, ${plan.size} instance(s), ${plan.placement.region}, version ${plan.version}`,
  );
  await ctx.betweenSteps();

  await reporter.step('Launch template');
  let launchTemplate: { LaunchTemplateId?: string; LaunchTemplateName?: string; Version: string };
  const lt = plan.blueprint.launchTemplate;
  if (lt) {
    launchTemplate = {
      ...(lt.id ? { LaunchTemplateId: lt.id } : { LaunchTemplateName: lt.name }),
      Version: lt.version,
    };
    reporter.progress(`blueprint's ${lt.id ?? lt.name} (${lt.version})`);
  } else {
    // Find the one an earlier attempt made before making one.
    const mine = (await findLaunchTemplatesByTag(ec2, TAG.env, plan.name)).find(
      (t) => t.tags[TAG.job] === jobId,
    );
    const id =
      mine?.id ??
      (await createLaunchTemplate(ec2, launchTemplateSpec(plan, { ...plan.tags, [TAG.job]: jobId })));
    if (!mine) await ctx.created('launch-template');
    launchTemplate = { LaunchTemplateId: id, Version: '$Latest' };
    reporter.progress(mine ? `${id} (made by an earlier attempt)` : `created ${id}`);
  }
  await ctx.betweenSteps();

  await reporter.step('Create the Auto Scaling group');
  if (existing || (await describeGroup(autoScaling, plan.groupName))) {
    reporter.progress(`${plan.groupName} (made by an earlier attempt)`);
  } else {
    await createGroup(autoScaling, {
      AutoScalingGroupName: plan.groupName,
      LaunchTemplate: launchTemplate,
      MinSize: Math.min(plan.blueprint.size.min, plan.size),
      MaxSize: Math.max(plan.blueprint.size.max, plan.size),
      DesiredCapacity: plan.size,
      VPCZoneIdentifier: plan.blueprint.subnets.join(','),
      ...(plan.blueprint.targetGroups.length > 0 ? { TargetGroupARNs: plan.blueprint.targetGroups } : {}),
      HealthCheckType: plan.blueprint.targetGroups.length > 0 ? plan.blueprint.healthCheckType : 'EC2',
      HealthCheckGracePeriod: 120,
      Tags: Object.entries({ ...plan.tags, [TAG.job]: jobId }).map(([Key, Value]) => ({
        Key,
        Value,
        ResourceId: plan.groupName,
        ResourceType: 'auto-scaling-group',
        PropagateAtLaunch: true,
      })),
    });
    await ctx.created('group');
    // Read back: Auto Scaling accepting the call is not the group existing.
    if (!(await describeGroup(autoScaling, plan.groupName))) {
      throw new UserError(
        `Auto Scaling accepted the creation of ${plan.groupName} but the group does not exist; environment \`${plan.name}\` was not created.${launchTemplate.LaunchTemplateId && !lt ? ` Its launch template ${launchTemplate.LaunchTemplateId} is left; \`/env delete ${plan.name}\` removes it.` : ''}`,
        ErrorCode.Conflict,
      );
    }
    reporter.progress(`created ${plan.groupName}`);
  }
  await ctx.betweenSteps();

  await reporter.step(`Wait for ${plan.size} instance(s) InService`);
  const seen = new Set<string>();
  const ready = await waitUntil(
    async () => {
      const group = await describeGroup(autoScaling, plan.groupName);
      if (!group)
        throw new UserError(
          `Group ${plan.groupName} disappeared while waiting for its instances; environment \`${plan.name}\` is not up.`,
          ErrorCode.Conflict,
        );
      const inService = group.instances.filter((i) => i.lifecycle === 'InService' && i.health === 'Healthy');
      let healthy = inService.map((i) => i.id);
      for (const arn of group.targetGroups) {
        const health = await targetHealth(elbv2, arn);
        healthy = healthy.filter((id) => health.get(id) === 'healthy');
      }
      for (const id of healthy) {
        if (!seen.has(id)) {
          seen.add(id);
          reporter.info(
            `${id} is InService${group.targetGroups.length > 0 ? ' and healthy in its target groups' : ''}`,
          );
        }
      }
      const counts = countStates(group);
      reporter.progress(`${healthy.length} of ${plan.size} ready (${counts.pending} pending)`);
      return healthy.length >= plan.size ? healthy : undefined;
    },
    {
      what: `${plan.size} instance(s) of ${plan.name} to be InService`,
      actually: async () => {
        const group = await describeGroup(autoScaling, plan.groupName);
        const states = (group?.instances ?? []).map((i) => `\`${i.id}\` ${i.lifecycle} (${i.health})`);
        return `Read back from Auto Scaling: ${states.length > 0 ? states.join(', ') : 'no instances'}; environment \`${plan.name}\` is not up.`;
      },
      ...jobWaits(deps.config.waits, () => ctx.betweenSteps()),
    },
  );

  return {
    outcome: 'done',
    summary: `Environment \`${plan.name}\` is up: ${ready.length} instance(s) InService (${ready.join(', ') || 'none'}), version ${plan.version}, expires ${plan.expiresAt}.`,
    facts: {
      environmentStatus: 'up',
      instances: ready.length,
      instanceIds: ready.join(', '),
      version: plan.version,
      expiresAt: plan.expiresAt,
    },
  };
}
