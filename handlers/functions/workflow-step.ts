/**
 * A Workflow Builder custom step (`function_executed`, https://docs.slack.dev/tools/bolt-js/concepts/custom-steps):
 * its inputs become the command the slash command would make, and take the same intake — policy,
 * approvals, locks, the audit log — as the step's `user`, reporting in a thread of its `channel`.
 * What is refused there fails the step at once, saying why; otherwise the step stays running until
 * its job ends (after an approval, if one is needed), and the worker ends it from the job's outcome.
 */
import type { AllMiddlewareArgs, SlackEventMiddlewareArgs } from '@slack/bolt';
import { describeForUser } from '../../src/errors.js';
import type { StepRun } from '../../src/queue/contract.js';
import { STEPS, type StepId } from '../../src/steps/definitions.js';
import { stepRequestOf } from '../../src/steps/inputs.js';
import { type StepEnding, stepError } from '../../src/steps/outputs.js';
import type { HandlerDeps } from '../deps.js';
import { intake } from '../intake.js';

type StepArgs = SlackEventMiddlewareArgs<'function_executed'> & AllMiddlewareArgs;

/** The listener for step `callbackId`. Bolt acknowledges the event before it runs. */
export function workflowStepListener(deps: HandlerDeps, callbackId: StepId) {
  return async ({ event, fail, client }: StepArgs): Promise<void> => {
    const run: StepRun = {
      callbackId,
      executionId: event.function_execution_id,
      ...(event.workflow_execution_id ? { workflowExecutionId: event.workflow_execution_id } : {}),
    };
    // Slack delivers an event again when its first delivery was not acknowledged in time.
    if ((await deps.steps.state(run.executionId)).ending) return;
    await deps.steps.open(run, event.bot_access_token);
    const read = stepRequestOf(callbackId, event.inputs, {
      now: new Date(),
      timeZone: deps.config.file.timezone,
    });
    let ending: StepEnding | undefined;
    let outcome = 'error';
    let userId = 'workflow';
    let channel: string | undefined;
    try {
      if (!read.ok) {
        outcome = 'usage';
        ending = stepError(read.error);
        userId = read.userId ?? userId;
        channel = read.channelId;
        await deps.audit.append({
          kind: 'command',
          actor: userId,
          subject: callbackId,
          outcome: 'usage error',
          detail: {
            source: 'workflow',
            step: callbackId,
            workflow: run.workflowExecutionId,
            reason: read.error,
          },
        });
      } else {
        ({ userId, channelId: channel } = read.request);
        const reply = await intake(
          deps,
          { ok: true, command: read.request.command },
          {
            requestId: `step:${run.executionId}`,
            userId,
            channelId: read.request.channelId,
            text: read.request.text,
            source: 'workflow',
            receivedAt: Date.now(),
            step: run,
          },
        );
        outcome = reply.outcome;
        // Queued, or waiting for an approval: the job's end (or the request's) ends the step.
        if (!['enqueued', 'approval', 'duplicate'].includes(reply.outcome)) ending = stepError(reply.text);
      }
    } catch (error) {
      deps.logger.error({ err: error, step: callbackId }, 'workflow step failed');
      ending = stepError(`Capstan could not take this step: ${describeForUser(error)}`);
    } finally {
      deps.metrics.slackRequests.inc({ kind: 'function', outcome });
    }
    if (!ending) return;
    const kept = await deps.steps.decide(run.executionId, ending);
    if (channel && !kept.ok) {
      await client.chat
        .postMessage({
          channel,
          text: `:no_entry: Workflow step *${STEPS[callbackId].title}* for <@${userId}> did not run: ${kept.error}`,
        })
        .catch((err: unknown) => deps.logger.warn({ err }, 'could not post a refused step'));
    }
    try {
      if (kept.ok) throw new Error('a step refused at intake cannot complete');
      await fail({ error: kept.error });
      await deps.steps.delivered(run.executionId, 'failed');
    } catch (err) {
      // Slack did not take it now: a worker delivers it, retrying.
      deps.logger.warn({ err, step: callbackId }, 'could not fail the step at once; queued');
      await deps.producer.enqueueStepEnd(run, userId);
    }
  };
}
