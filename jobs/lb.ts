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
  resizeGroup,
  resumeProcesses,
  suspendProcesses,
  tagGroup,
  untagGroup,
} from '../src/aws/autoscaling.js';
import type { AwsClients } from '../src/aws/clients.js';
import { privateAddresses } from '../src/aws/ec2.js';
import { targetHealth } from '../src/aws/elbv2.js';
import { escapeSlack } from '../src/commands/index.js';
import { type EnvironmentRef, standbyNotes, standbySummary, TAG } from '../src/domain/env.js';
import {
  healthUrlFor,
  isValidationError,
  LB_MIN_SIZE_TAG,
  minSizeNote,
  processesToSuspend,
  recordedMinSize,
  type StandbySizing,
  standbyNote,
  standbySizing,
} from '../src/domain/lb.js';
import { waitUntil } from '../src/domain/wait.js';
import { ErrorCode, UserError } from '../src/errors.js';
import type { JobDataOf, JobResult } from '../src/queue/contract.js';
import type { JobContext } from '../src/queue/worker.js';
import { type StandbyRecords, standbyRecordsOf } from '../src/standby/store.js';
import type { EnvJobDeps, EnvStatusDeps, LbJobDeps } from './deps.js';
import { openEnvironmentJob } from './opening.js';

/**
 * Puts the group's one `capstan:standby` summary tag in line with the records (removed when none is
 * left), and drops the per-instance tags older versions wrote for the instances named.
 */
async function syncStandbyTags(
  env: EnvironmentRef,
  clients: AwsClients,
  records: StandbyRecords,
  group: Group,
  dropLegacy: readonly string[] = [],
): Promise<void> {
  const recorded = await records.read(env.placement.region, group.name);
  const summary = standbySummary(recorded);
  if (summary) {
    if (group.tags[TAG.standby] !== summary) {
      await tagGroup(clients.autoScaling, group.name, { [TAG.standby]: summary });
    }
  } else if (TAG.standby in group.tags) {
    await untagGroup(clients.autoScaling, group.name, [TAG.standby]);
  }
  await untagGroup(
    clients.autoScaling,
    group.name,
    dropLegacy.map((id) => `${TAG.standbyPrefix}${id}`).filter((key) => key in group.tags),
  );
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
  job: Job<JobDataOf<'lb.disable' | 'lb.enable'>>,
  ctx: JobContext,
  deps: EnvJobDeps,
  command: { env: string; instanceId?: string },
  lifecycle: 'InService' | 'Standby',
  step: string,
) {
  const { env, clients, wait } = openEnvironmentJob(job, ctx, deps, command.env);
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

/** What Auto Scaling says of `ids` now: `i-1 InService (Healthy), i-2 Standby`. */
function lifecyclesOf(group: Group, ids: readonly string[]): string {
  return ids
    .map((id) => {
      const i = group.instances.find((x) => x.id === id);
      return `\`${id}\` ${i ? `${i.lifecycle} (${i.health})` : 'no longer in the group'}`;
    })
    .join(', ');
}

function idList(ids: readonly string[]): string {
  return ids.map((id) => `\`${id}\``).join(', ');
}

/** What one disable changes before its instances are in Standby, for undoing it when AWS refuses. */
interface DisableChanges {
  targets: string[];
  /** The processes this disable suspends, and the lb-suspended tag's processes before it. */
  mine: string[];
  recorded: string[];
  sizing: StandbySizing;
}

/**
 * Auto Scaling refused the standby (a ValidationError: retrying will not help). When none of the
 * instances got as far as Standby, puts back what this disable changed; either way the answer says
 * what Auto Scaling said and what is left, so nothing stays suspended or lowered unannounced.
 */
async function refusedStandby(
  env: EnvironmentRef,
  clients: AwsClients,
  records: StandbyRecords,
  changes: DisableChanges,
  error: Error,
): Promise<UserError> {
  const { targets, mine, recorded, sizing } = changes;
  const head = `Auto Scaling refused to put ${idList(targets)} of \`${env.name}\` in Standby: ${error.message}`;
  const lowered = sizing.min < sizing.currentMin;
  const leftovers = [
    ...(mine.length > 0 ? [`${mine.join(', ')} suspended`] : []),
    ...(lowered ? [`MinSize ${sizing.min} (was ${sizing.currentMin})`] : []),
  ];
  const enable = `\`/lb enable ${env.name}\` puts back what \`/lb disable\` changed`;
  let moved: string[] = [];
  try {
    const g = await groupOf(env, clients);
    moved = targets.filter((id) => {
      const lifecycle = g.instances.find((i) => i.id === id)?.lifecycle ?? '';
      return lifecycle === 'EnteringStandby' || lifecycle.startsWith('Standby');
    });
    if (moved.length === 0) {
      await records.forget(env.placement.region, g.name, targets);
      await syncStandbyTags(env, clients, records, g, targets);
      const undone: string[] = [];
      let minLeft = '';
      if (lowered && g.min < sizing.currentMin) {
        if (g.desired >= sizing.currentMin) {
          await resizeGroup(clients.autoScaling, g.name, { min: sizing.currentMin });
          undone.push(`MinSize back to ${sizing.currentMin}`);
          if (!sizing.recorded && LB_MIN_SIZE_TAG in g.tags)
            await untagGroup(clients.autoScaling, g.name, [LB_MIN_SIZE_TAG]);
        } else {
          minLeft = ` MinSize is left at ${g.min} (was ${sizing.currentMin}); ${enable}.`;
        }
      } else if (!sizing.recorded && LB_MIN_SIZE_TAG in g.tags && g.min >= sizing.currentMin) {
        await untagGroup(clients.autoScaling, g.name, [LB_MIN_SIZE_TAG]);
      }
      const resume = mine.filter((p) => g.suspended.includes(p));
      if (resume.length > 0) {
        await resumeProcesses(clients.autoScaling, g.name, resume);
        undone.push(`resumed ${resume.join(', ')}`);
      }
      if (recorded.length > 0) {
        await tagGroup(clients.autoScaling, g.name, { [TAG.lbSuspended]: recorded.join(',') });
      } else if (TAG.lbSuspended in g.tags) {
        await untagGroup(clients.autoScaling, g.name, [TAG.lbSuspended]);
      }
      return new UserError(
        `${head}\nNothing was taken out of the load balancer${undone.length > 0 ? `, and what this job had changed is undone (${undone.join('; ')})` : ''}.${minLeft}`,
        ErrorCode.Conflict,
        { cause: error },
      );
    }
  } catch {
    // Could not look or undo: say what may be left.
  }
  const still = leftovers.length > 0 ? ` Left as it is: ${leftovers.join('; ')}.` : '';
  const some = moved.length > 0 ? ` ${idList(moved)} did go to Standby.` : '';
  return new UserError(`${head}${some}${still} ${enable}.`, ErrorCode.Conflict, { cause: error });
}

/** Runs `lb.disable`. */
export async function lbDisableJob(
  job: Job<JobDataOf<'lb.disable'>>,
  ctx: JobContext,
  deps: LbJobDeps,
): Promise<JobResult> {
  const command = job.data.command;
  const { reporter } = ctx;
  const { env, clients, wait, group, targets } = await findTargets(
    job,
    ctx,
    deps,
    command,
    'InService',
    'Find the instances',
  );
  const records = standbyRecordsOf(deps);
  if (group.status) {
    throw new UserError(
      `The Auto Scaling group of \`${env.name}\` is being deleted (${group.status}); nothing was changed.`,
      ErrorCode.Conflict,
    );
  }
  if (targets.length === 0) {
    return {
      outcome: 'done',
      summary: `Nothing to do: ${command.instanceId ? `\`${command.instanceId}\` is` : 'no instance of the environment is'} in service.`,
      facts: { environmentStatus: 'nothing to do', instances: 0, instanceIds: '' },
    };
  }
  // Worked out once, before anything changes: a retry after a crash uses the first attempt's sizes
  // (the group's may already be lowered by then), and an impossible standby changes nothing.
  const sizing = await ctx.remember('standbySizing', () => {
    const s = standbySizing(group, targets.length);
    if (typeof s === 'string')
      throw new UserError(
        `Cannot put ${idList(targets)} of \`${env.name}\` in Standby: ${s}. Nothing was changed.`,
        ErrorCode.Conflict,
      );
    return s;
  });
  const note = minSizeNote(sizing);
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
      summary: `:raised_hand: This would take the last in-service instance of \`${env.name}\` out of its load balancer${note ? ` (${note})` : ''}, so it needs approval from role \`${policy.approverRole}\` first (request \`${jobId}\`). Nothing was changed.`,
      facts: { handedOnTo: jobId },
    };
  }
  reporter.progress(`${targets.join(', ')}; ${remaining} stay in service${note ? `; ${note}` : ''}`);
  await ctx.betweenSteps();

  await reporter.step('Suspend the processes that would replace or add instances');
  const suspendedBefore = await ctx.remember('suspendedBefore', () => group.suspended);
  const mine = processesToSuspend(suspendedBefore);
  const recorded = await ctx.remember('lbSuspendedBefore', () =>
    (group.tags[TAG.lbSuspended] ?? '').split(',').filter(Boolean),
  );
  const changes: DisableChanges = { targets, mine, recorded, sizing };
  try {
    await suspendProcesses(clients.autoScaling, group.name, mine);
    await tagGroup(clients.autoScaling, group.name, {
      [TAG.lbSuspended]: [...new Set([...recorded, ...mine])].join(','),
    });
    reporter.progress(mine.length > 0 ? mine.join(', ') : 'already suspended');
    await ctx.betweenSteps();

    if (sizing.min < sizing.currentMin) {
      // AWS keeps desired capacity ≥ MinSize: lower MinSize for the standby, original recorded first.
      await reporter.step('Lower MinSize while the instances are in Standby');
      const now = await groupOf(env, clients);
      if (recordedMinSize(now.tags) === undefined) {
        await tagGroup(clients.autoScaling, group.name, { [LB_MIN_SIZE_TAG]: String(sizing.originalMin) });
      }
      if (now.min > sizing.min) await resizeGroup(clients.autoScaling, group.name, { min: sizing.min });
      reporter.progress(note ?? `MinSize ${sizing.currentMin} → ${sizing.min}`);
      await ctx.betweenSteps();
    }

    await reporter.step('Put the instances in Standby');
    const now = new Date();
    await records.record(
      env.placement.region,
      group.name,
      Object.fromEntries(
        targets.map((id) => [id, standbyNote(job.data.request.userId, now, command.reason)]),
      ),
    );
    const current = await groupOf(env, clients);
    await syncStandbyTags(env, clients, records, current);
    const toMove = targets.filter(
      (id) => current.instances.find((i) => i.id === id)?.lifecycle === 'InService',
    );
    if (toMove.length > 0) await enterStandby(clients.autoScaling, group.name, toMove);
  } catch (error) {
    if (isValidationError(error)) throw await refusedStandby(env, clients, records, changes, error);
    throw error;
  }
  await waitUntil(
    async () => {
      const g = await groupOf(env, clients);
      const done = targets.filter((id) => g.instances.find((i) => i.id === id)?.lifecycle === 'Standby');
      reporter.progress(`${done.length} of ${targets.length} in Standby`);
      return done.length === targets.length ? true : undefined;
    },
    {
      what: `${targets.join(', ')} to be in Standby`,
      ...wait,
      actually: async () =>
        `Read back from Auto Scaling: ${lifecyclesOf(await groupOf(env, clients), targets)}.`,
    },
  );
  return {
    outcome: 'done',
    summary: `${idList(targets)} ${targets.length === 1 ? 'is' : 'are'} out of the load balancer (Standby)${command.reason ? ` — ${escapeSlack(command.reason)}` : ''}.${note ? ` ${note}.` : ''} \`/lb enable ${env.name}\` puts ${targets.length === 1 ? 'it' : 'them'} back.`,
    facts: { environmentStatus: 'standby', instances: targets.length, instanceIds: targets.join(', ') },
  };
}

/** Runs `lb.enable`. */
export async function lbEnableJob(
  job: Job<JobDataOf<'lb.enable'>>,
  ctx: JobContext,
  deps: LbJobDeps,
): Promise<JobResult> {
  const command = job.data.command;
  const { reporter } = ctx;
  const { env, clients, wait, group, targets } = await findTargets(
    job,
    ctx,
    deps,
    command,
    'Standby',
    'Find the instances in Standby',
  );
  const records = standbyRecordsOf(deps);
  reporter.progress(targets.length > 0 ? targets.join(', ') : 'none');
  await ctx.betweenSteps();

  if (targets.length > 0) {
    await reporter.step('Leave Standby');
    const current = await groupOf(env, clients);
    const toMove = targets.filter(
      (id) => current.instances.find((i) => i.id === id)?.lifecycle === 'Standby',
    );
    // ExitStandby raises desired capacity by one per instance; AWS refuses above MaxSize.
    if (current.desired + toMove.length > current.max) {
      throw new UserError(
        `Cannot return ${idList(toMove)} of \`${env.name}\` to service: that would take the desired capacity of ${current.name} from ${current.desired} to ${current.desired + toMove.length}, above its MaxSize ${current.max}. Raise MaxSize first; nothing was changed.`,
        ErrorCode.Conflict,
      );
    }
    try {
      if (toMove.length > 0) await exitStandby(clients.autoScaling, group.name, toMove);
    } catch (error) {
      if (!isValidationError(error)) throw error;
      throw new UserError(
        `Auto Scaling refused to return ${idList(toMove)} of \`${env.name}\` to service: ${error.message}`,
        ErrorCode.Conflict,
        { cause: error },
      );
    }
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
      {
        what: `${targets.join(', ')} to be in service and healthy`,
        ...wait,
        actually: async () =>
          `Read back from Auto Scaling: ${lifecyclesOf(await groupOf(env, clients), targets)}.`,
      },
    );
    await ctx.betweenSteps();
  }

  await reporter.step('Resume the processes and MinSize /lb disable changed');
  const after = await groupOf(env, clients);
  const stillStandby = after.instances.filter((i) => i.lifecycle === 'Standby').length;
  const ours = (after.tags[TAG.lbSuspended] ?? '').split(',').filter(Boolean);
  const minBefore = recordedMinSize(after.tags);
  // The notes of the instances returned, and of any other that is no longer in Standby.
  const noted = [
    ...(await records.read(env.placement.region, after.name)).keys(),
    ...Object.keys(after.tags)
      .filter((key) => key.startsWith(TAG.standbyPrefix))
      .map((key) => key.slice(TAG.standbyPrefix.length)),
  ];
  const done = noted.filter((id) => {
    const lifecycle = after.instances.find((i) => i.id === id)?.lifecycle;
    return targets.includes(id) || (lifecycle !== 'Standby' && lifecycle !== 'EnteringStandby');
  });
  await records.forget(env.placement.region, after.name, done);
  await syncStandbyTags(env, clients, records, after, done);
  let minSize = '';
  if (stillStandby === 0) {
    await resumeProcesses(clients.autoScaling, after.name, ours);
    if (minBefore !== undefined) {
      // Restored once every instance is back (in service and healthy): the original, as recorded.
      try {
        if (after.min !== minBefore) await resizeGroup(clients.autoScaling, after.name, { min: minBefore });
        await untagGroup(clients.autoScaling, after.name, [LB_MIN_SIZE_TAG]);
        minSize = `MinSize back to ${minBefore}${after.desired < minBefore ? ` (desired capacity raised from ${after.desired} to meet it)` : ''}`;
      } catch (error) {
        if (!isValidationError(error)) throw error;
        reporter.warn(
          `MinSize could not be put back to ${minBefore} (it is ${after.min}): ${error.message}. \`/lb enable ${env.name}\` tries again.`,
        );
      }
    }
    await untagGroup(clients.autoScaling, after.name, TAG.lbSuspended in after.tags ? [TAG.lbSuspended] : []);
    reporter.progress(
      [ours.length > 0 ? ours.join(', ') : 'none were suspended by Capstan', minSize]
        .filter(Boolean)
        .join('; '),
    );
  } else {
    reporter.progress(
      `kept suspended${minBefore !== undefined ? ` and MinSize at ${after.min} (was ${minBefore})` : ''}: ${stillStandby} instance(s) are still in Standby`,
    );
  }
  return {
    outcome: 'done',
    summary:
      (targets.length > 0
        ? `${idList(targets)} ${targets.length === 1 ? 'is' : 'are'} back in service and healthy.`
        : `Nothing was in Standby in \`${env.name}\`; everything is in service.`) +
      (minSize ? ` ${minSize}.` : ''),
    facts: {
      environmentStatus: targets.length > 0 ? 'in service' : 'nothing to do',
      instances: targets.length,
      instanceIds: targets.join(', '),
    },
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
export async function lbStatusJob(
  job: Job<JobDataOf<'lb.status'>>,
  ctx: JobContext,
  deps: EnvStatusDeps,
): Promise<JobResult> {
  const command = job.data.command;
  await ctx.reporter.step(`Look up ${command.env}`);
  const { env, clients } = openEnvironmentJob(job, ctx, deps, command.env);
  const group = await groupOf(env, clients);
  const health = new Map<string, string>();
  for (const arn of group.targetGroups)
    for (const [id, state] of await targetHealth(clients.elbv2, arn)) health.set(id, state);
  const notes = standbyNotes(group, await standbyRecordsOf(deps).read(env.placement.region, group.name));
  const inService = group.instances.filter((i) => i.lifecycle === 'InService');
  const standby = group.instances.filter((i) => i.lifecycle === 'Standby');
  const lines = [
    `*In service* (${inService.length}): ${inService.map((i) => `\`${i.id}\` ${health.get(i.id) ?? ''}`.trim()).join(', ') || 'none'}`,
    `*Standby* (${standby.length}):${standby.length === 0 ? ' none' : ''}`,
    ...standby.map((i) => {
      const n = notes.get(i.id);
      return `• \`${i.id}\`${n ? ` since ${n.since} by <@${n.user}>${n.reason ? ` — ${escapeSlack(n.reason)}` : ''}` : ''}`;
    }),
  ];
  if (group.suspended.length > 0) lines.push(`Suspended processes: ${group.suspended.join(', ')}`);
  const minBefore = recordedMinSize(group.tags);
  if (minBefore !== undefined && minBefore !== group.min)
    lines.push(`MinSize ${group.min} while in standby (${minBefore} restored on \`/lb enable\`)`);
  return { outcome: 'done', summary: `*${env.name}* load balancer\n${lines.join('\n')}` };
}
