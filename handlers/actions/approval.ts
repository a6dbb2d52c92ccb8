/**
 * Approve / Reject on an approval request, on its message or on an approver's Home tab. Only
 * members of the approving role decide; never the requester; each approver counts once; the click
 * that completes the quorum starts the job (once, whatever the timing, because the store decides
 * atomically and the job id comes from the request). A click counts only where the request was put
 * before the clicker: on the request's own message (an approval id carried by a button on another
 * message or in another channel is refused), or on a Home tab that offered that very request to
 * that very person. Either way the request's message is updated, and the Home tabs it shows on.
 */
import type { AllMiddlewareArgs, BlockButtonAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import { closingOf } from '../../src/approvals/closing.js';
import type { ApprovalRecord } from '../../src/approvals/store.js';
import { echo, echoCommand } from '../../src/commands/index.js';
import { refreshForApproval } from '../../src/home/tabs.js';
import { approvalRefusal } from '../../src/policy/index.js';
import { APPROVE_ACTION, renderApproval } from '../../src/slack/blocks/approval.js';
import { renderApprovalClosed } from '../../src/slack/blocks/progress.js';
import { stepError } from '../../src/steps/outputs.js';
import type { HandlerDeps } from '../deps.js';
import { unreadGroupsNote } from '../intake.js';
import { answerTo, surfaceOf } from './surface.js';

type ApprovalActionArgs = SlackActionMiddlewareArgs<BlockButtonAction> & AllMiddlewareArgs;

/** How long a click waits for its request's message to be recorded (it is posted just before). */
const MESSAGE_RECORD_WAIT_MS = 5_000;

/**
 * The approval record, once it knows where its message is. The request job posts the message and
 * then records where it is, so a quick approver can click in between: wait for the record rather
 * than refuse the click as one on another message.
 */
async function recordWithMessage(deps: HandlerDeps, id: string): Promise<ApprovalRecord | undefined> {
  const deadline = Date.now() + MESSAGE_RECORD_WAIT_MS;
  for (;;) {
    const record = await deps.approvals.get(id);
    if (!record || record.message || Date.now() >= deadline) return record;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The listener for both approval buttons. */
export function approvalActionListener(deps: HandlerDeps) {
  return async ({ ack, body, action, client }: ApprovalActionArgs): Promise<void> => {
    await ack();
    const userId = body.user.id;
    const surface = surfaceOf(body);
    if (!surface) return;
    const tell = answerTo(deps, client, userId, surface);
    const id = action.value ?? '';
    const decision = action.action_id === APPROVE_ACTION ? 'approve' : 'reject';
    const via = surface.kind === 'home' ? { via: 'home' } : {};
    const refuse = async (reason: string, detail: Record<string, string | undefined> = {}) =>
      deps.audit.append({
        kind: 'approval',
        actor: userId,
        subject: `approval ${id}`,
        outcome: 'refused',
        detail: { reason, ...detail, ...via },
      });
    const record =
      surface.kind === 'message' ? await recordWithMessage(deps, id) : await deps.approvals.get(id);
    if (!record) {
      await tell(`This approval request (${echo(id)}) no longer exists.`);
      return;
    }
    if (!record.message) {
      await tell(
        `:hourglass_flowing_sand: Approval request ${echo(id)} is still being posted; nothing was recorded. Click again in a moment.`,
      );
      return;
    }
    const actor = { userId, groupIds: await deps.directory.groupsOf(userId) };
    const refusal = approvalRefusal(deps.config.file, actor, record, record.request.userId);
    if (surface.kind === 'message') {
      if (record.message.channel !== surface.channel || record.message.ts !== surface.ts) {
        await refuse('button not on the approval request message', {
          channel: surface.channel,
          ts: surface.ts,
        });
        await tell(
          `:no_entry: This button is not on the message of approval request ${echo(id)}; nothing was recorded. Decide on the request message itself.`,
        );
        return;
      }
    } else if (!refusal && !(await deps.homes.wasShown(userId, id))) {
      // Policy first on the Home tab (its answer says who may decide); then the binding: only a
      // request this person's own tab offered them counts.
      await refuse('request not offered on their Home tab');
      await tell(
        `:no_entry: Approval request ${echo(id)} was not offered on your Home tab; nothing was recorded. Decide on the request message, or on your Home tab once it shows the request.`,
      );
      return;
    }
    if (refusal) {
      await refuse(refusal);
      await tell(`:no_entry: You cannot ${decision} this: ${refusal}.${unreadGroupsNote(deps)}`);
      return;
    }
    const result = await deps.approvals.decide(id, userId, decision);
    await deps.audit.append({
      kind: 'approval',
      actor: userId,
      subject: `approval ${id}`,
      outcome: result.outcome,
      detail: { text: record.request.text, decision, ...via },
    });
    if (['approved', 'recorded', 'rejected', 'expired'].includes(result.outcome)) {
      // Its requester's tab, and the tabs that offered it (or no longer should), show something new.
      await refreshForApproval(
        deps.homes,
        deps.config.file,
        { role: record.role, requester: record.request.userId },
        [userId],
      ).catch((err: unknown) => deps.logger.warn({ err }, 'could not re-publish Home tabs'));
    }

    const thread = record.request.threadTs;
    const toRequester = (text: string) =>
      client.chat.postMessage({
        channel: record.request.channelId,
        text,
        ...(thread ? { thread_ts: thread } : {}),
      });
    switch (result.outcome) {
      case 'approved': {
        const updated = (await deps.approvals.get(id)) ?? record;
        const approvers = updated.approvals.map((a) => a.userId);
        const { jobId } = await deps.producer.enqueue(
          record.jobName,
          record.command,
          { ...record.request, requestId: `approval:${id}` },
          { approval: { id, approvers } },
        );
        await refresh(client, updated, jobId);
        await closeProgress(client, updated);
        await toRequester(
          `:white_check_mark: <@${record.request.userId}> ${echoCommand(record.request.text)} was approved by ${approvers.map((a) => `<@${a}>`).join(', ')}; job \`${jobId}\` is starting.`,
        );
        return;
      }
      case 'recorded': {
        const updated = (await deps.approvals.get(id)) ?? record;
        await refresh(client, updated);
        await tell(`Your approval is recorded: ${result.count} of ${record.quorum}.`);
        return;
      }
      case 'rejected': {
        // A workflow step waiting on this request fails, saying who rejected it.
        if (record.request.step)
          await deps.steps.end(
            record.request.step,
            stepError(
              `The approval request for ${record.request.text} (request ${id}) was rejected by <@${userId}>; nothing was done.`,
            ),
            record.request.userId,
          );
        const updated = (await deps.approvals.get(id)) ?? record;
        await refresh(client, updated);
        await closeProgress(client, updated);
        await toRequester(
          `:no_entry: <@${record.request.userId}> ${echoCommand(record.request.text)} was rejected by <@${userId}>; nothing was done.`,
        );
        return;
      }
      case 'expired': {
        const updated = (await deps.approvals.get(id)) ?? record;
        await refresh(client, updated);
        await closeProgress(client, updated);
        await tell(
          'This request has expired and can no longer be approved; nothing was done. Ask again if it is still needed.',
        );
        return;
      }
      case 'self':
        await tell(':no_entry: You asked for this, so someone else has to approve it.');
        return;
      case 'already':
        await tell(`You already approved this (${result.count} of ${record.quorum} so far).`);
        return;
      case 'closed':
        await tell(
          `This request is already ${result.status}${result.decidedBy ? ` (by <@${result.decidedBy}>)` : ''}.`,
        );
        return;
      case 'missing':
        await tell('This approval request no longer exists.');
        return;
    }
  };
}

async function refresh(
  client: AllMiddlewareArgs['client'],
  record: ApprovalRecord,
  jobId?: string,
): Promise<void> {
  if (!record.message) return;
  const { text, blocks } = renderApproval({
    ...record,
    commandText: record.request.text,
    requester: record.request.userId,
    ...(jobId ? { jobId } : {}),
  });
  await client.chat.update({ channel: record.message.channel, ts: record.message.ts, text, blocks });
}

/** Rewrites the requester's "waiting for approval …" message with how the request closed. */
async function closeProgress(client: AllMiddlewareArgs['client'], record: ApprovalRecord): Promise<void> {
  const closed = closingOf(record);
  if (!record.progress || !closed) return;
  const { text, blocks } = renderApprovalClosed({
    title: record.request.text,
    jobId: record.id,
    requester: record.request.userId,
    ...closed,
  });
  await client.chat.update({ ...record.progress, text, blocks });
}
