/**
 * "Delete" on the owner's Home tab: the same path as `/env delete <name>` — policy, and for a
 * protected environment an approval request with its plan — reporting in the clicker's direct
 * messages with Capstan.
 */
import type { AllMiddlewareArgs, BlockButtonAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import { checkEnvName } from '../../src/commands/validate.js';
import type { HandlerDeps } from '../deps.js';
import { answerTo, commandFromButton, surfaceOf } from './surface.js';

/** The listener for the "Delete" button. */
export function envDeleteActionListener(deps: HandlerDeps) {
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
    const name = checkEnvName(action.value ?? '');
    await commandFromButton(
      deps,
      { body, action, surface, answer },
      {
        parsed: name.ok
          ? { ok: true, command: { kind: 'env.delete', name: name.value } }
          : { ok: false, problem: { message: name.error, usage: '/env delete <name>' } },
        text: `/env delete ${action.value ?? ''}`,
      },
      'delete',
    );
  };
}
