/**
 * `step.complete`: delivers a Workflow Builder step's end to Slack — its outputs, or why it failed —
 * once its end is decided (`src/steps/store.ts`). One job per execution; a retry after Slack took the
 * end finds it delivered (or Slack says the step is no longer running) and does nothing more.
 */
import type { Job } from 'bullmq';
import { UserError } from '../src/errors.js';
import type { JobDataOf, JobResult } from '../src/queue/contract.js';
import type { StepCompleteDeps } from './deps.js';

/** Runs `step.complete`. */
export async function stepCompleteJob(
  job: Job<JobDataOf<'step.complete'>>,
  deps: StepCompleteDeps,
): Promise<JobResult> {
  const run = job.data.stepRun;
  const state = await deps.steps.state(run.executionId);
  if (state.delivered)
    return {
      outcome: 'done',
      summary: `step ${run.callbackId} ${run.executionId}: already ${state.delivered}`,
    };
  if (!state.ending)
    throw new UserError(`step ${run.callbackId} ${run.executionId} has no end decided; nothing to deliver`);
  const how = await deps.stepEnder.end(run.executionId, state.token, state.ending);
  await deps.steps.delivered(run.executionId, how);
  return {
    outcome: 'done',
    summary: `step ${run.callbackId} ${run.executionId}: ${how}${state.ending.ok ? '' : ` (${state.ending.error})`}`,
  };
}
