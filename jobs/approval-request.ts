/**
 * `approval.request`: works out the plan (read-only), records the approval request, posts it with
 * Approve / Reject buttons in the approvals channel, and sets its expiry timer.
 */
import type { Job } from 'bullmq';
import { closingOf } from '../src/approvals/closing.js';
import { describeGroup } from '../src/aws/autoscaling.js';
import type { AwsClientFactory } from '../src/aws/clients.js';
import { stackResources } from '../src/aws/cloudformation.js';
import { findLaunchTemplatesByTag } from '../src/aws/ec2.js';
import type { Command, EnvDelete, EnvUpdate } from '../src/commands/index.js';
import type { Config } from '../src/config.js';
import { resolveEnvironment, TAG } from '../src/domain/env.js';
import { minSizeNote, standbySizing } from '../src/domain/lb.js';
import { describePlan } from '../src/domain/plan.js';
import { changeSetPlan } from '../src/domain/stack.js';
import { describeForUser } from '../src/errors.js';
import { describeTarget, targetOf } from '../src/policy/index.js';
import type { JobDataOf, JobResult } from '../src/queue/contract.js';
import type { JobContext } from '../src/queue/worker.js';
import { renderApproval } from '../src/slack/blocks/approval.js';
import { formatDuration, renderApprovalClosed } from '../src/slack/blocks/progress.js';
import type { ApprovalRequestDeps } from './deps.js';
import { findStackEnvironment } from './env-stack.js';
import { changeSetNameFor, prepareChangeSet } from './env-update.js';

/** Runs `approval.request`. */
export async function approvalRequestJob(
  job: Job<JobDataOf<'approval.request'>>,
  ctx: JobContext,
  deps: ApprovalRequestDeps,
): Promise<JobResult> {
  const { command, request, ask } = job.data;
  if (!ask || !command)
    throw new Error('approval.request job without the command and the approval policy asked for');
  const id = String(job.id);

  await ctx.reporter.step('Work out what will change');
  const plan = await lookUpPlan(command, deps, request.userId, id, () => ctx.betweenSteps());
  await ctx.betweenSteps();

  await ctx.reporter.step('Ask for approval');
  // The thread a slash command's request starts must exist before decisions can point into it.
  await ctx.reporter.flush();
  const reason = 'reason' in command ? command.reason : undefined;
  const record = await deps.approvals.create({
    id,
    jobName: ask.jobName,
    command,
    // Decisions and the approved job report into this job's thread (a slash command's starts here).
    request: { ...request, ...(ctx.reporter.threadTs ? { threadTs: ctx.reporter.threadTs } : {}) },
    target: describeTarget(targetOf(command)),
    ...(reason ? { reason } : {}),
    plan,
    role: ask.role,
    quorum: ask.quorum,
    rule: ask.rule,
    createdAt: job.timestamp,
    expiresAt: job.timestamp + ask.timeoutMs,
  });
  const channel = deps.config.file.slack.approvalsChannel ?? request.channelId;
  let message = record.message;
  if (!message) {
    const { text, blocks } = renderApproval({
      ...record,
      commandText: request.text,
      requester: request.userId,
    });
    const posted = await deps.notifier.post({ channel, text, blocks });
    message = { channel, ts: posted.ts };
    await deps.approvals.setMessage(id, message);
  }
  const link = await deps.notifier.permalink(message.channel, message.ts).catch(() => undefined);
  // The requester's progress message says "waiting for approval …" until the request closes; the
  // decision (or the expiry) rewrites it, so it must be known by then.
  await ctx.reporter.flush();
  const progressTs = ctx.checkpoints.reporter?.messageTs;
  if (progressTs) await deps.approvals.setProgress(id, { channel: request.channelId, ts: progressTs });
  // Closes the request when its time is up, even if nobody clicks.
  await deps.producer.enqueue(
    'approval.expire',
    command,
    { ...request, requestId: `approval-expire:${id}` },
    { approvalId: id },
    { delayMs: Math.max(0, record.expiresAt - Date.now()) },
  );
  const waitingFor = `${record.quorum === 1 ? 'approval' : `${record.quorum} approvals`} from role \`${record.role}\``;
  const summary = `:raised_hand: Waiting for ${record.quorum === 1 ? 'an approval' : `${record.quorum} approvals`} from role \`${record.role}\` in ${link ? `<${link}|the approval request>` : `<#${channel}>`} (request \`${id}\`, open ${formatDuration(ask.timeoutMs)}). Nothing runs until then.`;
  // Said here, not by the worker afterwards: a decision may already have rewritten the message, and
  // if it came first (the record is closed), the close is put back over the "waiting".
  await ctx.reporter.waiting(waitingFor, summary);
  const now = await deps.approvals.get(id);
  const closed = now ? closingOf(now) : undefined;
  if (now?.progress && closed) {
    const { text, blocks } = renderApprovalClosed({
      title: request.text,
      jobId: id,
      requester: request.userId,
      ...closed,
    });
    await deps.notifier.update({ ...now.progress, text, blocks });
  }
  return { outcome: 'waiting', waitingFor, summary, reported: true };
}

/**
 * The plan of an update or a deletion of a stack environment (undefined for other environments): for
 * an update, the change set the approved job will execute — made now, so approvers see exactly which
 * resources are added, modified, replaced or removed.
 */
async function stackEnvironmentPlan(
  command: EnvUpdate | EnvDelete,
  deps: { config: Config; aws: AwsClientFactory },
  actor: string,
  approvalId: string,
  between: () => Promise<void>,
): Promise<string[] | undefined> {
  const found = await findStackEnvironment(deps, command.name, actor);
  if (!found) {
    return command.kind === 'env.update'
      ? [`there is no stack environment ${command.name}: the job will say so and change nothing`]
      : undefined;
  }
  if (command.kind === 'env.delete') {
    const resources = await stackResources(found.clients.cloudFormation, found.stack.id);
    return [
      `delete stack ${found.stack.name} (${found.stack.status}, version ${found.stack.tags[TAG.version] ?? '?'}) and its ${resources.length} resource(s): ${resources.map((r) => `${r.logicalId} (${r.type}${r.physicalId ? ` ${r.physicalId}` : ''})`).join(', ') || 'none'}`,
      'resources with DeletionPolicy: Retain are left in the account',
    ];
  }
  const prepared = await prepareChangeSet(deps, command, found, changeSetNameFor(approvalId), between);
  if ('none' in prepared) {
    return [
      `nothing to change: stack ${found.stack.name} already runs that (${prepared.none}); the job will say so`,
    ];
  }
  return [
    `update stack ${found.stack.name} from version ${found.stack.tags[TAG.version] ?? '?'} to ${prepared.inputs.version} by change set ${changeSetNameFor(approvalId)}:`,
    ...changeSetPlan(prepared.changeSet.changes),
  ];
}

/**
 * The plan of `command` with what exists now, looked up read-only (which group, which instances,
 * which launch templates), so approvers see exactly what will change.
 */
async function lookUpPlan(
  command: Command,
  deps: { config: Config; aws: AwsClientFactory },
  actor: string,
  approvalId: string,
  between: () => Promise<void>,
): Promise<string[]> {
  const base = describePlan(command);
  if (command.kind === 'env.update' || command.kind === 'env.delete') {
    const stackPlan = await stackEnvironmentPlan(command, deps, actor, approvalId, between).catch(
      (error: unknown) => [...base, `(the current state could not be looked up: ${describeForUser(error)})`],
    );
    if (stackPlan) return stackPlan;
  }
  if (command.kind !== 'env.delete' && command.kind !== 'lb.disable' && command.kind !== 'lb.enable')
    return base;
  const name = command.kind === 'env.delete' ? command.name : command.env;
  try {
    const env = resolveEnvironment(deps.config, name, undefined);
    const clients = deps.aws.clients(env.placement, actor);
    const group = await describeGroup(clients.autoScaling, env.groupName);
    if (!group)
      return [
        `environment ${name} does not exist (no group ${env.groupName}): the job will say so and change nothing`,
      ];
    const ids = (ids: string[]) => (ids.length > 0 ? ids.join(', ') : 'none');
    const inService = group.instances.filter((i) => i.lifecycle === 'InService').map((i) => i.id);
    const standby = group.instances.filter((i) => i.lifecycle === 'Standby').map((i) => i.id);
    if (command.kind === 'env.delete') {
      const templates = await findLaunchTemplatesByTag(clients.ec2, TAG.env, name);
      return [
        `take ${ids(inService)} out of the load balancer (${group.targetGroups.length} target group(s))`,
        `delete Auto Scaling group ${group.name} with ${group.instances.length} instance(s) (${ids(group.instances.map((i) => i.id))}) and ${templates.length} launch template(s) Capstan made for it`,
        `leave nothing tagged ${TAG.env}=${name}`,
      ];
    }
    if (command.kind === 'lb.disable') {
      const targets = command.instanceId ? [command.instanceId] : inService;
      const sizing = standbySizing(group, targets.filter((i) => inService.includes(i)).length);
      const minSize = typeof sizing === 'string' ? `cannot be done: ${sizing}` : minSizeNote(sizing);
      return [
        `put ${ids(targets)} of group ${group.name} into Standby: ${inService.filter((i) => !targets.includes(i)).length} of ${inService.length} in-service instance(s) stay in service`,
        ...base.slice(1),
        ...(minSize ? [minSize] : []),
      ];
    }
    return [
      `return ${ids(command.instanceId ? [command.instanceId] : standby)} of group ${group.name} to service`,
    ];
  } catch (error) {
    return [...base, `(the current state could not be looked up: ${describeForUser(error)})`];
  }
}
