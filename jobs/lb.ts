/**
 * `/lb disable`, `/lb enable`, `/lb status`: take instances out of their load balancer with Auto
 * Scaling standby, put them back, and report success only once they are healthy again.
 */
import type { Job } from 'bullmq';
import {
  describeGroup,
  enterStandby,
  exitStandby,
  type Group,
  resumeProcesses,
  suspendProcesses,
  tagGroup,
  untagGroup,
} from '../src/aws/autoscaling.js';
import type { AwsClients } from '../src/aws/clients.js';
import { privateAddresses } from '../src/aws/ec2.js';
import { targetHealth } from '../src/aws/elbv2.js';
import type { LbDisable, LbEnable, LbStatus } from '../src/commands/index.js';
import { type EnvironmentRef, resolveEnvironment, standbyNotes, TAG } from '../src/domain/env.js';
import { healthUrlFor, processesToSuspend, standbyNote } from '../src/domain/lb.js';
import { jobWaits, waitUntil } from '../src/domain/wait.js';
import { ErrorCode, UserError } from '../src/errors.js';
import type { JobData, JobResult } from '../src/queue/contract.js';
import type { JobProducer } from '../src/queue/producer.js';
import type { JobContext } from '../src/queue/worker.js';
import type { EnvJobDeps } from './env-create.js';

/** What the load balancer jobs need. */
export interface LbJobDeps extends EnvJobDeps {
  producer: JobProducer;
}

async function groupOf(env: EnvironmentRef, clients: AwsClients): Promise<Group> {
  const group = await describeGroup(clients.autoScaling, env.groupName);
  if (!group)
    throw new UserError(
      `There is no environment \`${env.name}\`. \`/env list\` shows the ones that exist.`,
      ErrorCode.NotFound,
    );
  return group;
}

function checkInstance(group: Group, env: string, id: string): void {
  if (!group.instances.some((i) => i.id === id)) {
    const ids = group.instances.map((i) => `\`${i.id}\``).join(', ') || 'none';
    throw new UserError(
      `Instance \`${id}\` is not in environment \`${env}\` (its instances: ${ids}).`,
      ErrorCode.NotFound,
    );
  }
}

/**
 * The first step of both jobs: the environment, its clients and waits, and the instances in
 * `lifecycle` the job acts on (all of them, or the one named), fixed at the first attempt.
 */
async function findTargets(
  job: Job<JobData>,
  ctx: JobContext,
  deps: EnvJobDeps,
  command: { env: string; instanceId?: string },
  lifecycle: 'InService' | 'Standby',
  step: string,
) {
  const env = resolveEnvironment(deps.config, command.env, undefined);
  const clients = deps.aws.clients(env.placement, job.data.request.userId);
  const wait = jobWaits(deps.config.waits, () => ctx.betweenSteps());
  await ctx.reporter.step(step);
  const group = await groupOf(env, clients);
  if (command.instanceId) checkInstance(group, env.name, command.instanceId);
  const targets = await ctx.remember('targets', () =>
    group.instances
      .filter((i) => i.lifecycle === lifecycle && (!command.instanceId || i.id === command.instanceId))
      .map((i) => i.id),
  );
  return { env, clients, wait, group, targets };
}

/** Runs `lb.disable`. */
export async function lbDisableJob(job: Job<JobData>, ctx: JobContext, deps: LbJobDeps): Promise<JobResult> {
  const command = job.data.command as LbDisable;
  const { reporter } = ctx;
  const { env, clients, wait, group, targets } = await findTargets(
    job,
    ctx,
    deps,
    command,
    'InService',
    'Find the instances',
  );
  if (targets.length === 0) {
    return {
      outcome: 'done',
      summary: `Nothing to do: ${command.instanceId ? `\`${command.instanceId}\` is` : 'no instance of the environment is'} in service.`,
    };
  }
  const remaining = group.instances.filter(
    (i) => i.lifecycle === 'InService' && !targets.includes(i.id),
  ).length;
  if (remaining === 0 && !job.data.approval && !ctx.checkpoints.suspendedBefore) {
    // Taking the last in-service instance out stops all traffic: that needs an approver's click.
    const { policy } = deps.config.file;
    const { jobId } = await deps.producer.enqueue(
      'approval.request',
      command,
      { ...job.data.request, requestId: `last-instance:${job.id}` },
      {
        ask: {
          jobName: 'lb.disable',
          role: policy.approverRole,
          quorum: 1,
          timeoutMs: policy.approvalTimeoutMinutes * 60_000,
          rule: `taking the last in-service instance of ${env.name} out of its load balancer`,
        },
      },
    );
    return {
      outcome: 'done',
      summary: `:raised_hand: This would take the last in-service instance of \`${env.name}\` out of its load balancer, so it needs approval from role \`${policy.approverRole}\` first (request \`${jobId}\`). Nothing was changed.`,
    };
  }
  reporter.progress(`${targets.join(', ')}; ${remaining} stay in service`);
  await ctx.betweenSteps();

  await reporter.step('Suspend the processes that would replace or add instances');
  const suspendedBefore = await ctx.remember('suspendedBefore', () => group.suspended);
  const mine = processesToSuspend(suspendedBefore);
  const recorded = (group.tags[TAG.lbSuspended] ?? '').split(',').filter(Boolean);
  await suspendProcesses(clients.autoScaling, group.name, mine);
  await tagGroup(clients.autoScaling, group.name, {
    [TAG.lbSuspended]: [...new Set([...recorded, ...mine])].join(','),
  });
  reporter.progress(mine.length > 0 ? mine.join(', ') : 'already suspended');
  await ctx.betweenSteps();

  await reporter.step('Put the instances in Standby');
  const now = new Date();
  await tagGroup(
    clients.autoScaling,
    group.name,
    Object.fromEntries(
      targets.map((id) => [
        `${TAG.standbyPrefix}${id}`,
        standbyNote(job.data.request.userId, now, command.reason),
      ]),
    ),
  );
  const current = await groupOf(env, clients);
  const toMove = targets.filter(
    (id) => current.instances.find((i) => i.id === id)?.lifecycle === 'InService',
  );
  if (toMove.length > 0) await enterStandby(clients.autoScaling, group.name, toMove);
  await waitUntil(
    async () => {
      const g = await groupOf(env, clients);
      const done = targets.filter((id) => g.instances.find((i) => i.id === id)?.lifecycle === 'Standby');
      reporter.progress(`${done.length} of ${targets.length} in Standby`);
      return done.length === targets.length ? true : undefined;
    },
    { what: `${targets.join(', ')} to be in Standby`, ...wait },
  );
  return {
    outcome: 'done',
    summary: `${targets.map((id) => `\`${id}\``).join(', ')} ${targets.length === 1 ? 'is' : 'are'} out of the load balancer (Standby)${command.reason ? ` — ${command.reason}` : ''}. \`/lb enable ${env.name}\` puts ${targets.length === 1 ? 'it' : 'them'} back.`,
  };
}

/** Runs `lb.enable`. */
export async function lbEnableJob(job: Job<JobData>, ctx: JobContext, deps: LbJobDeps): Promise<JobResult> {
  const command = job.data.command as LbEnable;
  const { reporter } = ctx;
  const { env, clients, wait, group, targets } = await findTargets(
    job,
    ctx,
    deps,
    command,
    'Standby',
    'Find the instances in Standby',
  );
  reporter.progress(targets.length > 0 ? targets.join(', ') : 'none');
  await ctx.betweenSteps();

  if (targets.length > 0) {
    await reporter.step('Leave Standby');
    const current = await groupOf(env, clients);
    const toMove = targets.filter(
      (id) => current.instances.find((i) => i.id === id)?.lifecycle === 'Standby',
    );
    if (toMove.length > 0) await exitStandby(clients.autoScaling, group.name, toMove);
    await ctx.betweenSteps();

    await reporter.step('Wait until in service and healthy');
    const probe = env.blueprint.healthUrl;
    await waitUntil(
      async () => {
        const g = await groupOf(env, clients);
        let ready = targets.filter((id) => {
          const i = g.instances.find((x) => x.id === id);
          return i?.lifecycle === 'InService' && i.health === 'Healthy';
        });
        for (const arn of g.targetGroups) {
          const health = await targetHealth(clients.elbv2, arn);
          ready = ready.filter((id) => health.get(id) === 'healthy');
        }
        if (probe && ready.length > 0) {
          const ips = await privateAddresses(clients.ec2, ready);
          const answers = await Promise.all(
            ready.map(async (id) => ((await probeHealth(probe, ips.get(id))) ? id : undefined)),
          );
          ready = answers.filter((id): id is string => id !== undefined);
        }
        reporter.progress(`${ready.length} of ${targets.length} in service and healthy`);
        return ready.length === targets.length ? true : undefined;
      },
      { what: `${targets.join(', ')} to be in service and healthy`, ...wait },
    );
    await ctx.betweenSteps();
  }

  await reporter.step('Resume the processes /lb disable suspended');
  const after = await groupOf(env, clients);
  const stillStandby = after.instances.filter((i) => i.lifecycle === 'Standby').length;
  const ours = (after.tags[TAG.lbSuspended] ?? '').split(',').filter(Boolean);
  await untagGroup(
    clients.autoScaling,
    after.name,
    targets.map((id) => `${TAG.standbyPrefix}${id}`),
  );
  if (stillStandby === 0) {
    await resumeProcesses(clients.autoScaling, after.name, ours);
    await untagGroup(clients.autoScaling, after.name, ours.length > 0 ? [TAG.lbSuspended] : []);
    reporter.progress(ours.length > 0 ? ours.join(', ') : 'none were suspended by Capstan');
  } else {
    reporter.progress(`kept suspended: ${stillStandby} instance(s) are still in Standby`);
  }
  return {
    outcome: 'done',
    summary:
      targets.length > 0
        ? `${targets.map((id) => `\`${id}\``).join(', ')} ${targets.length === 1 ? 'is' : 'are'} back in service and healthy.`
        : `Nothing was in Standby in \`${env.name}\`; everything is in service.`,
  };
}

async function probeHealth(template: string, ip: string | undefined): Promise<boolean> {
  if (!ip) return false;
  try {
    const res = await fetch(healthUrlFor(template, ip), {
      signal: AbortSignal.timeout(3_000),
      redirect: 'manual',
    });
    return res.status >= 200 && res.status < 300;
  } catch {
    return false;
  }
}

/** Runs `lb.status`: which instances are in service, which in standby, since when, by whom, why. */
export async function lbStatusJob(job: Job<JobData>, ctx: JobContext, deps: EnvJobDeps): Promise<JobResult> {
  const command = job.data.command as LbStatus;
  await ctx.reporter.step(`Look up ${command.env}`);
  const env = resolveEnvironment(deps.config, command.env, undefined);
  const clients = deps.aws.clients(env.placement, job.data.request.userId);
  const group = await groupOf(env, clients);
  const health = new Map<string, string>();
  for (const arn of group.targetGroups)
    for (const [id, state] of await targetHealth(clients.elbv2, arn)) health.set(id, state);
  const notes = standbyNotes(group);
  const inService = group.instances.filter((i) => i.lifecycle === 'InService');
  const standby = group.instances.filter((i) => i.lifecycle === 'Standby');
  const lines = [
    `*In service* (${inService.length}): ${inService.map((i) => `\`${i.id}\` ${health.get(i.id) ?? ''}`.trim()).join(', ') || 'none'}`,
    `*Standby* (${standby.length}):${standby.length === 0 ? ' none' : ''}`,
    ...standby.map((i) => {
      const n = notes.get(i.id);
      return `• \`${i.id}\`${n ? ` since ${n.since} by <@${n.user}>${n.reason ? ` — ${n.reason}` : ''}` : ''}`;
    }),
  ];
  if (group.suspended.length > 0) lines.push(`Suspended processes: ${group.suspended.join(', ')}`);
  return { outcome: 'done', summary: `*${env.name}* load balancer\n${lines.join('\n')}` };
}
