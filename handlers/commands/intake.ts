/**
 * The path every command takes, whether typed as a slash command or an `@capstan` mention:
 * parsed → authorized → answered at once, or enqueued as a job → a short reply for the requester.
 */
import { type Command, helpText, type ParseResult } from '../../src/commands/index.js';
import { JOB_NAMES, type JobName, type JobRequest } from '../../src/queue/contract.js';
import type { HandlerDeps } from '../deps.js';

/** The reply shown to the requester only (ephemeral). */
export interface IntakeReply {
  text: string;
  outcome: 'usage' | 'answered' | 'enqueued' | 'duplicate';
  jobId?: string;
}

/** The job that carries out `command`, or undefined when no job does (yet). */
export function jobNameFor(command: Command): JobName | undefined {
  return (JOB_NAMES as readonly string[]).includes(command.kind) ? (command.kind as JobName) : undefined;
}

/** Takes one parsed request in; returns what to tell the requester. */
export async function intake(
  deps: HandlerDeps,
  parsed: ParseResult,
  request: JobRequest,
): Promise<IntakeReply> {
  if (!parsed.ok) {
    const { message, usage } = parsed.problem;
    return { outcome: 'usage', text: `:warning: ${message}\nUsage:\n\`\`\`${usage}\`\`\`` };
  }
  const { command } = parsed;
  const jobName = jobNameFor(command);
  if (command.kind === 'ops.help') return { outcome: 'answered', text: helpText(command.topic) };
  if (jobName === undefined) {
    return {
      outcome: 'answered',
      text: `\`${request.text}\` is understood, but \`${command.kind}\` is not available in this version of Capstan yet.`,
    };
  }
  const { jobId, duplicate } = await deps.producer.enqueue(jobName, command, request);
  deps.logger.info(
    { jobId, job: jobName, user: request.userId, channel: request.channelId, duplicate },
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
