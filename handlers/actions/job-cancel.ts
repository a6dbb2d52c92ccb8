/** "Cancel" on a job on its requester's Home tab: the same path, rules and answer as `/ops cancel <job-id>`. */
import type { AllMiddlewareArgs, BlockButtonAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import { checkJobId } from '../../src/commands/validate.js';
import type { HandlerDeps } from '../deps.js';
import { answerTo, commandFromButton, surfaceOf } from './surface.js';

/** The listener for the "Cancel" button. */
export function jobCancelActionListener(deps: HandlerDeps) {
  return async ({
    ack,
    body,
    action,
    client,
  }: SlackActionMiddlewareArgs<BlockButtonAction> & AllMiddlewareArgs): Promise<void> => {
    await ack();
    const surface = surfaceOf(body);
    if (!surface) return;
    const answer = answerTo(deps, client, body.user.id, surface);
    const jobId = checkJobId(action.value ?? '');
    await commandFromButton(
      deps,
      { body, action, surface, answer },
      {
        parsed: jobId.ok
          ? { ok: true, command: { kind: 'ops.cancel', jobId: jobId.value } }
          : { ok: false, problem: { message: jobId.error, usage: '/ops cancel <job-id>' } },
        text: `/ops cancel ${action.value ?? ''}`,
      },
      'cancel',
    );
  };
}
