/**
 * How a step ends: which job's end ends it, and with what — the outputs later workflow steps use, or
 * the reason it failed, in words. Pure: the worker and the approval paths decide here, and
 * `src/steps/store.ts` keeps the first decision.
 */
import {
  isCommandJob,
  type JobData,
  type JobFacts,
  type JobName,
  type JobResult,
  type StepRun,
} from '../queue/contract.js';
import { isStepId, type StepId } from './definitions.js';

/** A step's end: completed with outputs (`functions.completeSuccess`) or failed (`functions.completeError`). */
export type StepEnding =
  | { ok: true; outputs: Record<string, string | number> }
  | { ok: false; error: string };

/** A job that has ended for good, as the worker tells it. */
export interface JobEnd {
  name: JobName;
  jobId: string;
  data: JobData;
  outcome: JobResult['outcome'] | 'failed';
  summary: string;
  facts?: JobFacts;
}

/** Slack shows a step's error as plain text in the workflow's activity: short, no emoji codes. */
const MAX_ERROR_LENGTH = 1000;

/** `text` as a step's error: without leading emoji codes, bounded. */
export function stepError(text: string): StepEnding {
  const plain = text.replace(/^(\s*:[a-z0-9_+-]+:\s*)+/, '').trim();
  return {
    ok: false,
    error: plain.length > MAX_ERROR_LENGTH ? `${plain.slice(0, MAX_ERROR_LENGTH - 1)}…` : plain,
  };
}

/**
 * The end of the step `end`'s job carries, or undefined when this job's end does not end it: a job
 * carrying no step; an approval request that is now waiting (the approved job, or the rejection or
 * expiry, ends it); a job that handed the work on to an approval request; Capstan's own jobs.
 */
export function stepEndingOf(end: JobEnd): { run: StepRun; ending: StepEnding } | undefined {
  const run = end.data.request.step;
  if (!run) return undefined;
  if (end.name === 'approval.request') {
    if (end.outcome !== 'failed') return undefined;
    return {
      run,
      ending: stepError(`Capstan could not ask for approval (request ${end.jobId}): ${end.summary}`),
    };
  }
  const command = end.data.command;
  if (!isCommandJob(end.name) || command?.kind !== end.name) return undefined;
  if (end.outcome === 'waiting' || end.facts?.handedOnTo) return undefined;
  if (end.outcome === 'failed') return { run, ending: stepError(`Job ${end.jobId} failed: ${end.summary}`) };
  if (end.outcome === 'cancelled')
    return { run, ending: stepError(`Job ${end.jobId} was cancelled: ${end.summary}`) };
  if (!isStepId(run.callbackId))
    return { run, ending: stepError(`Capstan has no step called ${run.callbackId}.`) };
  return { run, ending: outputsOf(run.callbackId, end) };
}

/** The outputs of step `step` from its job's read-back facts; a fact the step promises but lacks fails it. */
export function outputsOf(
  step: StepId,
  end: Pick<JobEnd, 'jobId' | 'data' | 'facts' | 'summary'>,
): StepEnding {
  const facts = end.facts ?? {};
  const command = end.data.command;
  const missing = (what: string) =>
    stepError(
      `Job ${end.jobId} finished but did not read back ${what}, so the step cannot say it: ${end.summary}`,
    );
  switch (step) {
    case 'create_environment': {
      if (command?.kind !== 'env.create' || !facts.environmentStatus) return missing('the environment');
      const expires = facts.expiresAt ? Date.parse(facts.expiresAt) : Number.NaN;
      return {
        ok: true,
        outputs: {
          job_id: end.jobId,
          environment: command.name,
          status: facts.environmentStatus,
          ...(facts.instances !== undefined ? { instances: facts.instances } : {}),
          ...(facts.version ? { version: facts.version } : {}),
          ...(Number.isFinite(expires) ? { expires_at: Math.floor(expires / 1000) } : {}),
        },
      };
    }
    case 'delete_environment':
      if (command?.kind !== 'env.delete' || !facts.environmentStatus) return missing('the environment');
      return {
        ok: true,
        outputs: { job_id: end.jobId, environment: command.name, status: facts.environmentStatus },
      };
    case 'lb_disable':
    case 'lb_enable':
      if (!facts.environmentStatus) return missing('the instances’ state');
      return {
        ok: true,
        outputs: {
          job_id: end.jobId,
          status: facts.environmentStatus,
          instances: facts.instanceIds ?? '',
        },
      };
    case 'restore_table':
      if (!facts.restoredTable) return missing('the restored table');
      return {
        ok: true,
        outputs: { job_id: end.jobId, restored_table: facts.restoredTable, status: 'restored' },
      };
    case 'investigate_io_credits':
      if (!facts.verdict) return missing('a verdict');
      return {
        ok: true,
        outputs: { job_id: end.jobId, verdict: facts.verdict, severity: facts.severity ?? 'unknown' },
      };
  }
}
