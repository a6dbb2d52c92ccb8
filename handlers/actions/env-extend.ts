/**
 * "Extend 4h" on an expiry warning or on the owner's Home tab: the same path as
 * `/env extend <name>`, reporting in the warning's thread (or, from the Home tab, in the clicker's
 * direct messages with Capstan).
 */
import type { AllMiddlewareArgs, BlockButtonAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import { EXTEND_DEFAULT_MS } from '../../src/commands/parse.js';
import { checkEnvName } from '../../src/commands/validate.js';
import type { HandlerDeps } from '../deps.js';
import { answerTo, commandFromButton, surfaceOf } from './surface.js';

/** The listener for the "Extend 4h" button. */
export function envExtendActionListener(deps: HandlerDeps) {
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
          ? { ok: true, command: { kind: 'env.extend', name: name.value, byMs: EXTEND_DEFAULT_MS } }
          : { ok: false, problem: { message: name.error, usage: '/env extend <name> [--by 4h]' } },
        text: `/env extend ${action.value ?? ''}`,
      },
      'extend',
    );
  };
}
