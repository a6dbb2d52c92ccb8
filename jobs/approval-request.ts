/**
 * `approval.request`: works out the plan (read-only), records the approval request, posts it with
 * Approve / Reject buttons in the approvals channel, and sets its expiry timer.
 */
import type { Job } from 'bullmq';
import type { ApprovalStore } from '../src/approvals/store.js';
import type { AwsClientFactory } from '../src/aws/clients.js';
import type { Config } from '../src/config.js';
import { lookUpPlan } from '../src/domain/plan.js';
import { describeTarget, targetOf } from '../src/policy/index.js';
import type { JobData, JobResult } from '../src/queue/contract.js';
import type { JobProducer } from '../src/queue/producer.js';
import type { JobContext } from '../src/queue/worker.js';
import { renderApproval } from '../src/slack/blocks/approval.js';
import { formatDuration } from '../src/slack/blocks/progress.js';
import type { SlackNotifier } from '../src/slack/notifier.js';

/** What the approval request job needs. */
export interface ApprovalRequestDeps {
  config: Config;
  aws: AwsClientFactory;
  approvals: ApprovalStore;
  notifier: SlackNotifier;
  producer: JobProducer;
}

/** Runs `approval.request`. */
export async function approvalRequestJob(
  job: Job<JobData>,
  ctx: JobContext,
  deps: ApprovalRequestDeps,
): Promise<JobResult> {
  const { command, request, ask } = job.data;
  if (!ask || !command)
    throw new Error('approval.request job without the command and the approval policy asked for');
  const id = String(job.id);

  await ctx.reporter.step('Work out what will change');
  const plan = await lookUpPlan(command, deps, request.userId);
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
  // Closes the request when its time is up, even if nobody clicks.
  await deps.producer.enqueue(
    'approval.expire',
    command,
    { ...request, requestId: `approval-expire:${id}` },
    { approvalId: id },
    { delayMs: Math.max(0, record.expiresAt - Date.now()) },
  );
  return {
    outcome: 'done',
    summary: `:raised_hand: Waiting for ${record.quorum === 1 ? 'an approval' : `${record.quorum} approvals`} from role \`${record.role}\` in ${link ? `<${link}|the approval request>` : `<#${channel}>`} (request \`${id}\`, open ${formatDuration(ask.timeoutMs)}). Nothing runs until then.`,
  };
}
