/**
 * `approval.expire`: closes an approval request nobody decided in time, and says so; an update's
 * change set that was not approved (rejected or expired) is deleted.
 */
import type { Job } from 'bullmq';
import { closingOf } from '../src/approvals/closing.js';
import { deleteChangeSet, describeChangeSet } from '../src/aws/cloudformation.js';
import { echoCommand } from '../src/commands/index.js';
import type { JobDataOf, JobResult } from '../src/queue/contract.js';
import { renderApproval } from '../src/slack/blocks/approval.js';
import { renderApprovalClosed } from '../src/slack/blocks/progress.js';
import { stepError } from '../src/steps/outputs.js';
import type { ApprovalExpireDeps } from './deps.js';
import { findStackEnvironment } from './env-stack.js';
import { changeSetNameFor } from './env-update.js';

/** Runs `approval.expire`. */
export async function approvalExpireJob(
  job: Job<JobDataOf<'approval.expire'>>,
  deps: ApprovalExpireDeps,
): Promise<JobResult> {
  const id = job.data.approvalId;
  if (!id) throw new Error('approval.expire job without an approval id');
  const expired = await deps.approvals.expire(id);
  const record = await deps.approvals.get(id);
  // An update's plan is a change set made for the approvers: one nobody approved is deleted now.
  const dropped =
    record && record.status !== 'approved' && record.command.kind === 'env.update'
      ? await dropPlannedChangeSet(deps, record.command.name, id, record.request.userId)
      : '';
  // A workflow step waiting on this request fails, saying why (a rejection ends it when clicked;
  // this is its second chance, should that click's answer not have got so far).
  const step = record?.request.step;
  if (step && (record.status === 'expired' || record.status === 'rejected'))
    await deps.steps.end(
      step,
      stepError(
        record.status === 'expired'
          ? `The approval request for ${record.request.text} (request ${id}) expired without a decision from role ${record.role}; nothing was done.`
          : `The approval request for ${record.request.text} (request ${id}) was rejected${record.decidedBy ? ` by <@${record.decidedBy}>` : ''}; nothing was done.`,
      ),
      record.request.userId,
    );
  if (record?.status !== 'expired')
    return { outcome: 'done', summary: `request ${id} was already ${record?.status ?? 'gone'}${dropped}` };
  if (record.message) {
    const { text, blocks } = renderApproval({
      ...record,
      commandText: record.request.text,
      requester: record.request.userId,
    });
    await deps.notifier.update({ ...record.message, text, blocks });
  }
  const closed = closingOf(record);
  if (record.progress && closed) {
    const message = renderApprovalClosed({
      title: record.request.text,
      jobId: record.id,
      requester: record.request.userId,
      ...closed,
    });
    await deps.notifier.update({ ...record.progress, ...message });
  }
  if (expired) {
    const threadTs = record.request.threadTs;
    await deps.notifier.post({
      channel: record.request.channelId,
      ...(threadTs ? { threadTs } : {}),
      text: `:hourglass: <@${record.request.userId}> the approval request for ${echoCommand(record.request.text)} expired without a decision; nothing was done.`,
    });
  }
  return { outcome: 'done', summary: `request ${id} expired${dropped}` };
}

/** Deletes the change set an update's approval request made, if it is still there unexecuted. */
async function dropPlannedChangeSet(
  deps: ApprovalExpireDeps,
  env: string,
  approvalId: string,
  actor: string,
): Promise<string> {
  const found = await findStackEnvironment(deps, env, actor);
  if (!found) return '';
  const name = changeSetNameFor(approvalId);
  const cs = await describeChangeSet(found.clients.cloudFormation, found.stack.id, name);
  if (!cs || cs.executionStatus === 'EXECUTE_COMPLETE' || cs.executionStatus === 'EXECUTE_IN_PROGRESS')
    return '';
  await deleteChangeSet(found.clients.cloudFormation, found.stack.id, name);
  return `; its change set ${name} was deleted`;
}
