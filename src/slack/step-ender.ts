/**
 * Ends a Workflow Builder step in Slack: `functions.completeSuccess` with its outputs, or
 * `functions.completeError` with the reason (https://docs.slack.dev/reference/methods/functions.completeSuccess,
 * https://docs.slack.dev/reference/methods/functions.completeError).
 */
import type { WebClient } from '@slack/web-api';
import type { StepEnding } from '../steps/outputs.js';

/** How Slack took a step's end. */
export type StepDelivery = 'completed' | 'failed' | 'already ended';

/** Ends steps. */
export interface StepEnder {
  /**
   * Delivers `ending` for execution `executionId` with its execution `token` (the app's bot token
   * when the execution's is refused as expired). A step Slack says is no longer running was ended
   * before (a delivery retried after Slack took it): that is not an error.
   */
  end(executionId: string, token: string | undefined, ending: StepEnding): Promise<StepDelivery>;
}

/** Slack's answer to a token that no longer works: the app's own bot token is tried instead. */
const TOKEN_REFUSED = new Set(['token_expired', 'token_revoked', 'invalid_auth', 'not_authed']);

function slackError(error: unknown): string | undefined {
  const data = (error as { data?: { error?: unknown } } | undefined)?.data;
  return typeof data?.error === 'string' ? data.error : undefined;
}

/** The step ender over a WebClient (whose own token is the app's bot token). */
export function createStepEnder(client: WebClient): StepEnder {
  const send = async (executionId: string, token: string | undefined, ending: StepEnding) => {
    const auth = token ? { token } : {};
    if (ending.ok)
      await client.functions.completeSuccess({
        function_execution_id: executionId,
        outputs: ending.outputs,
        ...auth,
      });
    else
      await client.functions.completeError({
        function_execution_id: executionId,
        error: ending.error,
        ...auth,
      });
    return ending.ok ? ('completed' as const) : ('failed' as const);
  };
  const withToken = async (executionId: string, token: string | undefined, ending: StepEnding) => {
    try {
      return await send(executionId, token, ending);
    } catch (error) {
      const code = slackError(error);
      if (code === 'execution_not_in_running_state') return 'already ended' as const;
      if (token && code && TOKEN_REFUSED.has(code)) return send(executionId, undefined, ending);
      throw error;
    }
  };
  return {
    async end(executionId, token, ending) {
      try {
        return await withToken(executionId, token, ending);
      } catch (error) {
        // Outputs Slack refuses are Capstan's mistake: the step still ends, failed, saying so.
        if (!ending.ok || slackError(error) !== 'parameter_validation_failed') throw error;
        return withToken(executionId, token, {
          ok: false,
          error: `The job finished, but Slack refused the step's outputs (${JSON.stringify(ending.outputs)}): parameter_validation_failed.`,
        });
      }
    },
  };
}
