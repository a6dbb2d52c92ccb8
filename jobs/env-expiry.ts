/**
 * Expiry: `env.expiry-sweep` runs on a schedule (once per interval however many workers there are),
 * warns each owner an hour before their environment expires with an "Extend 4h" button, and deletes
 * expired environments through the same job as `/env delete`. `env.extend` moves an expiry.
 */
import type { Job } from 'bullmq';
import { describeGroup, findGroupsByTag, tagGroup } from '../src/aws/autoscaling.js';
import { allPlacements, expiryActionFor, TAG } from '../src/domain/env.js';
import { environmentRegistryOf } from '../src/environments/registry.js';
import { ErrorCode, UserError } from '../src/errors.js';
import { ruleFor } from '../src/policy/index.js';
import type { JobDataOf, JobResult } from '../src/queue/contract.js';
import type { JobContext } from '../src/queue/worker.js';
import { renderExpiryWarning } from '../src/slack/blocks/expiry.js';
import type { EnvJobDeps, ExpiryDeps } from './deps.js';
import { allStackEnvironments, findStackEnvironment, retagStackEnvironment } from './env-stack.js';
import { openEnvironmentJob } from './opening.js';

/** Runs `env.expiry-sweep`. */
export async function envExpirySweepJob(
  _job: Job<JobDataOf<'env.expiry-sweep'>>,
  deps: ExpiryDeps,
): Promise<JobResult> {
  const now = Date.now();
  const notices = deps.config.file.slack.notificationsChannel;
  let warned = 0;
  let deleting = 0;
  // Groups and stacks alike: what each is, whether it is busy, and how to mark it warned.
  const environments: Array<{
    tags: Record<string, string>;
    busy: boolean;
    markWarned: (at: string) => Promise<unknown>;
  }> = [];
  for (const placement of allPlacements(deps.config)) {
    const { autoScaling } = deps.aws.clients(placement);
    for (const group of await findGroupsByTag(autoScaling, TAG.env)) {
      environments.push({
        tags: group.tags,
        busy: group.status !== undefined,
        markWarned: (at) => tagGroup(autoScaling, group.name, { [TAG.expiryWarned]: at }),
      });
    }
  }
  const registry = environmentRegistryOf(deps);
  for (const { stack } of await allStackEnvironments(deps)) {
    const name = stack.tags[TAG.env] ?? '';
    const warnedAbout = await registry.warnedAbout(name);
    environments.push({
      tags: { ...stack.tags, ...(warnedAbout ? { [TAG.expiryWarned]: warnedAbout } : {}) },
      busy: stack.status.endsWith('_IN_PROGRESS') || stack.status === 'DELETE_COMPLETE',
      // Recorded in Redis: a stack's tags change only by a stack update, not the sweep's to make.
      markWarned: (at) => registry.markWarned(name, at),
    });
  }
  for (const env of environments) {
    const name = env.tags[TAG.env] ?? '';
    const owner = env.tags[TAG.owner] ?? '';
    const expiresAt = env.tags[TAG.expiresAt] ?? '';
    const channel = notices ?? owner;
    const action = expiryActionFor(env.tags, now);
    if (action === 'warn' && channel) {
      const { text, blocks } = renderExpiryWarning({ env: name, owner, expiresAt });
      await deps.notifier.post({ channel, text, blocks });
      await env.markWarned(expiresAt);
      warned += 1;
    } else if (action === 'delete' && !env.busy && channel) {
      // Made from a protected blueprint (its tag says which): protected too.
      const blueprint = env.tags[TAG.blueprint];
      const target = { kind: 'environment' as const, name, ...(blueprint ? { blueprint } : {}) };
      if (ruleFor(deps.config.file, target).rule.protected) continue;
      // One deletion per expiry, however many sweeps see it: the job id comes from the expiry.
      await deps.producer.enqueue(
        'env.delete',
        { kind: 'env.delete', name },
        {
          requestId: `expiry:${name}:${expiresAt}`,
          userId: owner || 'capstan',
          channelId: channel,
          text: `/env delete ${name} (expired ${expiresAt})`,
          source: 'schedule',
          receivedAt: now,
        },
      );
      deleting += 1;
    }
  }
  return {
    outcome: 'done',
    summary: `${warned} warned, ${deleting} expired and being deleted`,
    ...(warned === 0 && deleting === 0 ? { quiet: true } : {}),
  };
}

/** Runs `env.extend`. */
export async function envExtendJob(
  job: Job<JobDataOf<'env.extend'>>,
  ctx: JobContext,
  deps: EnvJobDeps,
): Promise<JobResult> {
  const { name, byMs } = job.data.command;
  await ctx.reporter.step('Find the environment');
  const stack = await findStackEnvironment(deps, name, job.data.request.userId);
  if (stack) {
    const current = stack.stack.tags[TAG.expiresAt];
    if (!current) throw new UserError(`Environment \`${name}\` does not expire.`, ErrorCode.Conflict);
    const next = await ctx.remember('next', () =>
      new Date(Math.max(Date.parse(current), Date.now()) + byMs).toISOString(),
    );
    await ctx.betweenSteps();
    await ctx.reporter.step('Move the expiry (a tags-only stack update)');
    await retagStackEnvironment(ctx, deps, stack, { [TAG.expiresAt]: next, [TAG.expiryWarned]: '' });
    return {
      outcome: 'done',
      summary: `\`${name}\` now expires at ${next} (was ${current}); stack ${stack.stack.name} updated.`,
    };
  }
  const { env, clients } = openEnvironmentJob(job, ctx, deps, name);
  const { autoScaling } = clients;
  const group = await describeGroup(autoScaling, env.groupName);
  if (!group)
    throw new UserError(
      `There is no environment \`${name}\`. \`/env list\` shows the ones that exist.`,
      ErrorCode.NotFound,
    );
  const current = group.tags[TAG.expiresAt];
  if (!current) throw new UserError(`Environment \`${name}\` does not expire.`, ErrorCode.Conflict);
  // Fixed at the first attempt, so a retry never extends twice.
  const next = await ctx.remember('next', () =>
    new Date(Math.max(Date.parse(current), Date.now()) + byMs).toISOString(),
  );
  await ctx.betweenSteps();

  await ctx.reporter.step('Move the expiry');
  await tagGroup(autoScaling, group.name, { [TAG.expiresAt]: next, [TAG.expiryWarned]: '' }, true);
  return { outcome: 'done', summary: `\`${name}\` now expires at ${next} (was ${current}).` };
}
