/**
 * The path every command takes, whether typed as a slash command or an `@capstan` mention:
 * parsed → authorized → answered at once, sent for approval, or enqueued → a short reply.
 */

import type { AuditEntry } from '../src/audit/index.js';
import { type Command, echoCommand, helpText, type ParseResult } from '../src/commands/index.js';
import { authorize, lockTargetOf, targetOf } from '../src/policy/index.js';
import { JOB_NAMES, type JobName, type JobRequest, jobIdFor } from '../src/queue/contract.js';
import { formatDuration } from '../src/slack/blocks/progress.js';
import { auditReply, cancelJobReply, listJobsReply } from './commands/ops.js';
import type { HandlerDeps } from './deps.js';

/** The reply shown to the requester only (ephemeral). */
export interface IntakeReply {
  text: string;
  outcome: 'usage' | 'denied' | 'answered' | 'enqueued' | 'duplicate' | 'approval' | 'busy';
  jobId?: string;
}

/** A queued command's lease on its target lasts this long before its job starts and renews it. */
const QUEUED_LOCK_MS = 15 * 60_000;

/** The job that carries out `command`, or undefined when no job does (yet). */
export function jobNameFor(command: Command): JobName | undefined {
  return (JOB_NAMES as readonly string[]).includes(command.kind) ? (command.kind as JobName) : undefined;
}

/**
 * A command's one audit entry, however often Slack delivers the request (and, with replicas, kept
 * through a failover: see AuditLog.appendOnce).
 */
function commandEntryId(request: JobRequest): string {
  return `command:${request.requestId}`;
}

/** Takes one parsed request in; returns what to tell the requester. */
export async function intake(
  deps: HandlerDeps,
  parsed: ParseResult,
  request: JobRequest,
): Promise<IntakeReply> {
  const { audit, config } = deps;
  const actorId = request.userId;
  if (!parsed.ok) {
    await audit.appendOnce(
      {
        kind: 'command',
        actor: actorId,
        subject: request.channelId,
        outcome: 'usage error',
        detail: { text: request.text, source: request.source },
      },
      commandEntryId(request),
    );
    const { message, usage } = parsed.problem;
    return { outcome: 'usage', text: `:warning: ${message}\nUsage:\n\`\`\`${usage}\`\`\`` };
  }
  const { command } = parsed;
  const actor = { userId: actorId, groupIds: await deps.directory.groupsOf(actorId) };
  const target = targetOf(command);
  const madeFrom =
    target.kind === 'environment' ? await deps.environments.blueprintOf(target.name) : undefined;
  const decision = authorize(config.file, actor, command, request.channelId, madeFrom);
  // One audit entry per command: what was asked, where, and what policy decided.
  const entry: AuditEntry = {
    kind: 'command',
    actor: actorId,
    subject: command.kind,
    outcome: decision.allowed ? (decision.approval ? 'needs approval' : 'allowed') : 'denied',
    detail: {
      text: request.text,
      channel: request.channelId,
      source: request.source,
      rule: decision.rule,
      ...(decision.allowed ? {} : { reason: decision.reason }),
    },
  };
  const jobName = decision.allowed ? jobNameFor(command) : undefined;
  // Commands that become jobs write their entry with the enqueue; every other one writes it now.
  if (!jobName) await audit.appendOnce(entry, commandEntryId(request));
  if (!decision.allowed) {
    const ask = decision.helpers.length > 0 ? ` Who can help: ${decision.helpers.join(', ')}.` : '';
    return {
      outcome: 'denied',
      text: `:no_entry: Not allowed: ${decision.reason} (rule \`${decision.rule}\`).${ask}${unreadGroupsNote(deps)}`,
    };
  }

  switch (command.kind) {
    case 'ops.help':
      return { outcome: 'answered', text: helpText(command.topic) };
    case 'ops.jobs':
      return { outcome: 'answered', text: await listJobsReply(deps) };
    case 'ops.cancel':
      return { outcome: 'answered', text: await cancelJobReply(deps, command, actor, request) };
    case 'ops.audit':
      return { outcome: 'answered', text: await auditReply(deps, command) };
  }

  // A busy target is named before anything else: who holds it and with what.
  const jobId = jobIdFor(request.requestId);
  const lockTarget = lockTargetOf(command);
  if (lockTarget) {
    const holder = await deps.locks.holder(lockTarget);
    if (holder && holder.jobId !== jobId) {
      if (jobName) await audit.appendOnce({ ...entry, outcome: 'busy' }, commandEntryId(request));
      return busy(lockTarget, holder);
    }
  }

  if (jobName === undefined) {
    return {
      outcome: 'answered',
      text: `${echoCommand(request.text)} is understood, but \`${command.kind}\` is not available in this version of Capstan yet.`,
    };
  }

  if (decision.approval) {
    const { role, quorum, timeoutMs, rule } = decision.approval;
    const { jobId: askId, duplicate } = await deps.producer.enqueue(
      'approval.request',
      command,
      request,
      { ask: { jobName, role, quorum, timeoutMs, rule } },
      { audit: audit.record(entry) },
    );
    if (duplicate)
      return {
        outcome: 'duplicate',
        jobId: askId,
        text: `Already received: approval request \`${askId}\` is open.`,
      };
    return {
      outcome: 'approval',
      jobId: askId,
      text: `:raised_hand: ${echoCommand(request.text)} needs ${quorum === 1 ? 'an approval' : `${quorum} approvals`} from role \`${role}\` (rule \`${rule}\`). The request and its plan follow in the thread.`,
    };
  }

  if (lockTarget) {
    const lock = await deps.locks.acquire(
      lockTarget,
      { jobId, userId: actorId, action: request.text, since: Date.now() },
      QUEUED_LOCK_MS,
    );
    if (!lock.acquired) {
      await audit.appendOnce({ ...entry, outcome: 'busy' }, commandEntryId(request));
      return busy(lockTarget, lock.holder);
    }
  }
  const { duplicate } = await deps.producer.enqueue(
    jobName,
    command,
    request,
    {},
    { audit: audit.record(entry) },
  );
  deps.logger.info(
    { jobId, job: jobName, user: actorId, channel: request.channelId, duplicate },
    'command enqueued',
  );
  return duplicate
    ? { outcome: 'duplicate', jobId, text: `Already received: job \`${jobId}\` is on it.` }
    : {
        outcome: 'enqueued',
        jobId,
        text: `:hourglass_flowing_sand: Queued as job \`${jobId}\`; progress follows in the thread.`,
      };
}

/**
 * Said with a denial when Slack has not answered for a user group's members for too long: that
 * group's roles count for no one until it does (fail closed), which may be why.
 */
export function unreadGroupsNote(deps: Pick<HandlerDeps, 'directory'>, now = Date.now()): string {
  const groups = deps.directory.unavailable();
  if (groups.length === 0) return '';
  const list = groups
    .map((g) => `\`${g.groupId}\` (${formatDuration(now - (g.lastReadAt ?? g.failingSince))})`)
    .join(', ');
  return ` Roles from Slack user groups Capstan could not read lately are not counted: ${list} without an answer from Slack.`;
}

function busy(
  target: string,
  holder: { jobId: string; userId: string; action: string; since: number },
): IntakeReply {
  return {
    outcome: 'busy',
    text: `:lock: ${target.replace(':', ' ')} is busy: job \`${holder.jobId}\` (${echoCommand(holder.action)}, asked by <@${holder.userId}> at ${new Date(holder.since).toISOString()}) holds it. Try again when it finishes, or \`/ops cancel ${holder.jobId}\`.`,
  };
}
