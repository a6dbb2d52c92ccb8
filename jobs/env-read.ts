/** `env.list` and `env.status`: read-only looks at environments, answered in the thread. */
import type { Job } from 'bullmq';
import { describeGroup, findGroupsByTag, type Group } from '../src/aws/autoscaling.js';
import type { AwsPlacement } from '../src/aws/clients.js';
import { targetHealth } from '../src/aws/elbv2.js';
import { escapeSlack } from '../src/commands/index.js';
import { allPlacements, countStates, resolveEnvironment, standbyNotes, TAG } from '../src/domain/env.js';
import { environmentRegistryOf } from '../src/environments/registry.js';
import { ErrorCode, UserError } from '../src/errors.js';
import type { JobDataOf, JobResult } from '../src/queue/contract.js';
import type { JobContext } from '../src/queue/worker.js';
import { standbyRecordsOf } from '../src/standby/store.js';
import type { EnvJobDeps, EnvStatusDeps } from './deps.js';
import { findStackEnvironment, stackListRows, stackStatusText } from './env-stack.js';
import { openEnvironmentJob } from './opening.js';

/** Runs `env.list`: every environment in every configured account and region, tagged or declared. */
export async function envListJob(
  job: Job<JobDataOf<'env.list'>>,
  ctx: JobContext,
  deps: EnvJobDeps,
): Promise<JobResult> {
  await ctx.reporter.step('Look up environments');
  const rows: string[] = [];
  const missing: string[] = [];
  const declared = Object.keys(deps.config.file.environments).map((name) =>
    resolveEnvironment(deps.config, name, undefined),
  );
  for (const placement of allPlacements(deps.config)) {
    const clients = deps.aws.clients(placement, job.data.request.userId);
    const { autoScaling } = clients;
    if (Object.values(deps.config.file.blueprints).some((b) => b.kind === 'stack')) {
      rows.push(...(await stackListRows(clients, placement)));
    }
    const groups = new Map<string, { env: string; group: Group }>();
    for (const g of await findGroupsByTag(autoScaling, TAG.env)) {
      groups.set(g.name, { env: g.tags[TAG.env] ?? '?', group: g });
    }
    // Declared environments (groups that existed before Capstan) need not carry the capstan:env tag.
    for (const env of declared) {
      if (!samePlacement(env.placement, placement) || groups.has(env.groupName)) continue;
      const g = await describeGroup(autoScaling, env.groupName);
      if (g) groups.set(g.name, { env: env.name, group: g });
      else
        missing.push(
          `• *${env.name}* — declared, but its group ${env.groupName} does not exist (${placement.region})`,
        );
    }
    for (const { env, group: g } of groups.values()) {
      const c = countStates(g);
      const state = g.status ? g.status : c.inService === g.desired ? 'ready' : `${c.pending} pending`;
      rows.push(
        `• *${escapeSlack(env)}* — version ${escapeSlack(g.tags[TAG.version] ?? '?')}, ${c.inService}/${g.desired} in service${c.standby ? `, ${c.standby} standby` : ''}, owner ${g.tags[TAG.owner] ? `<@${g.tags[TAG.owner]}>` : '?'}, expires ${g.tags[TAG.expiresAt] ?? 'never'}, ${state} (${placement.region})`,
      );
    }
  }
  ctx.reporter.progress(`${rows.length} found`);
  const all = [...rows.sort(), ...missing];
  return {
    outcome: 'done',
    summary:
      all.length > 0 ? `*Environments* (${rows.length})\n${all.join('\n')}` : 'There are no environments.',
  };
}

function samePlacement(a: AwsPlacement, b: AwsPlacement): boolean {
  return a.region === b.region && (a.roleArn ?? '') === (b.roleArn ?? '');
}

/** Runs `env.status`: each instance's lifecycle state, health, and whether it is in service or in standby. */
export async function envStatusJob(
  job: Job<JobDataOf<'env.status'>>,
  ctx: JobContext,
  deps: EnvStatusDeps,
): Promise<JobResult> {
  const { name } = job.data.command;
  await ctx.reporter.step(`Look up ${name}`);
  const stack = await findStackEnvironment(deps, name, job.data.request.userId);
  if (stack) return { outcome: 'done', summary: await stackStatusText(deps, name, stack) };
  const { env, clients } = openEnvironmentJob(job, ctx, deps, name);
  const { autoScaling, elbv2 } = clients;
  const group = await describeGroup(autoScaling, env.groupName);
  if (!group)
    throw new UserError(
      `There is no environment \`${name}\`. \`/env list\` shows the ones that exist.`,
      ErrorCode.NotFound,
    );
  const health = new Map<string, string>();
  for (const arn of group.targetGroups)
    for (const [id, state] of await targetHealth(elbv2, arn)) health.set(id, state);
  const notes = standbyNotes(group, await standbyRecordsOf(deps).read(env.placement.region, group.name));
  const lines = group.instances.map((i) => {
    const lb =
      group.targetGroups.length > 0 ? `, load balancer: ${health.get(i.id) ?? 'not registered'}` : '';
    const note = notes.get(i.id);
    const why = note
      ? ` (standby since ${note.since} by <@${note.user}>${note.reason ? `: ${escapeSlack(note.reason)}` : ''})`
      : '';
    return `• \`${i.id}\` ${i.lifecycle}, ${i.health}${lb}${why}`;
  });
  const c = countStates(group);
  // What AWS last notified about the group (an Auto Scaling launch or terminate, via SNS).
  const activity = await environmentRegistryOf(deps).lastActivity(name);
  const last = activity
    ? `\nLast Auto Scaling activity (<!date^${Math.floor(activity.at / 1000)}^{date_short_pretty} {time}|${new Date(activity.at).toISOString()}>): ${escapeSlack(activity.text)}`
    : '';
  return {
    outcome: 'done',
    summary: `*${name}* — ${group.name}, version ${group.tags[TAG.version] ?? '?'}, ${c.inService}/${group.desired} in service, ${c.standby} standby${group.suspended.length ? `, suspended: ${group.suspended.join(', ')}` : ''}\n${lines.join('\n') || 'no instances'}${last}`,
  };
}
