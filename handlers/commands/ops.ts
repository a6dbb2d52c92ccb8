/** `/ops jobs`, `/ops cancel`, `/ops audit`: answered at once from Redis, no job needed. */
import { echoCommand, type OpsAudit, type OpsCancel } from '../../src/commands/index.js';
import { type Actor, mayCancelOthers } from '../../src/policy/index.js';
import type { JobRequest } from '../../src/queue/contract.js';
import { formatDuration } from '../../src/slack/blocks/progress.js';
import type { HandlerDeps } from '../deps.js';

/** The queued and running jobs, one line each. */
export async function listJobsReply(deps: HandlerDeps): Promise<string> {
  const jobs = await deps.jobsAdmin.list();
  if (jobs.length === 0) return 'No jobs are queued or running.';
  const now = Date.now();
  const lines = jobs.map((j) => {
    const state =
      j.state === 'running'
        ? `:arrows_counterclockwise: running ${formatDuration(now - j.since)}`
        : `:hourglass_flowing_sand: queued ${formatDuration(now - j.since)}`;
    return `• \`${j.id}\` ${state} — ${echoCommand(j.text)} by <@${j.userId}>${j.step ? ` — step: ${j.step}` : ''}`;
  });
  return `*Queued and running jobs* (${jobs.length})\n${lines.join('\n')}`;
}

/** Cancels a job for its requester, an admin, or a role a rule naming `ops.cancel` grants. */
export async function cancelJobReply(
  deps: HandlerDeps,
  command: OpsCancel,
  actor: Actor,
  request: JobRequest,
): Promise<string> {
  const job = await deps.jobsAdmin.get(command.jobId);
  if (!job) return `There is no job \`${command.jobId}\`. \`/ops jobs\` lists the queued and running ones.`;
  const owner = job.data.request.userId;
  if (owner !== actor.userId && !mayCancelOthers(deps.config.file, actor)) {
    await deps.audit.append({
      kind: 'cancel',
      actor: actor.userId,
      subject: `job ${command.jobId}`,
      outcome: 'denied',
    });
    return `:no_entry: Only <@${owner}>, who asked for job \`${command.jobId}\`, or an admin may cancel it.`;
  }
  const result = await deps.jobsAdmin.cancel(command.jobId);
  await deps.audit.append({
    kind: 'cancel',
    actor: actor.userId,
    subject: `job ${command.jobId}`,
    outcome: result.outcome,
    detail: { text: job.data.request.text, channel: request.channelId },
  });
  switch (result.outcome) {
    case 'removed':
      return `:no_entry_sign: Removed queued job \`${command.jobId}\` (${echoCommand(job.data.request.text)}); it never started.`;
    case 'signalled':
      return `:no_entry_sign: Asked job \`${command.jobId}\` (${echoCommand(job.data.request.text)}) to stop at its next step; it cleans up and reports "cancelled" in its thread.`;
    case 'finished':
      return `Job \`${command.jobId}\` already finished (${result.state}); nothing to cancel.`;
    case 'not-found':
      return `There is no job \`${command.jobId}\`.`;
  }
}

/** The latest audit entries. */
export async function auditReply(deps: HandlerDeps, command: OpsAudit): Promise<string> {
  const entries = await deps.audit.latest(command.count);
  if (entries.length === 0) return 'The audit log is empty.';
  const lines = entries.map((e) => {
    const detail = e.detail?.text ? ` ${echoCommand(String(e.detail.text))}` : '';
    const why = e.detail?.rule ? ` (${String(e.detail.rule)})` : '';
    return `• ${e.at.toISOString().replace('.000Z', 'Z')} ${e.kind} <@${e.actor}> ${e.subject}${detail} → *${e.outcome}*${why}`;
  });
  return `*Audit log*, latest ${entries.length}, newest first\n${lines.join('\n')}`;
}
