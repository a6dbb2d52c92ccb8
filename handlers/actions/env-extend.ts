/** "Extend 4h" on an expiry warning: the same path as `/env extend <name>`, in the warning's thread. */
import type { AllMiddlewareArgs, BlockButtonAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import { EXTEND_DEFAULT_MS } from '../../src/commands/parse.js';
import { checkEnvName } from '../../src/commands/validate.js';
import { describeForUser } from '../../src/errors.js';
import type { HandlerDeps } from '../deps.js';
import { intake } from '../intake.js';

/** The listener for the "Extend 4h" button. */
export function envExtendActionListener(deps: HandlerDeps) {
  return async ({
    ack,
    body,
    action,
    client,
  }: SlackActionMiddlewareArgs<BlockButtonAction> & AllMiddlewareArgs): Promise<void> => {
    await ack();
    const channel = body.channel?.id ?? body.container?.channel_id;
    const userId = body.user.id;
    if (!channel) return;
    const name = checkEnvName(action.value ?? '');
    let text: string;
    try {
      const reply = await intake(
        deps,
        name.ok
          ? { ok: true, command: { kind: 'env.extend', name: name.value, byMs: EXTEND_DEFAULT_MS } }
          : { ok: false, problem: { message: name.error, usage: '/env extend <name> [--by 4h]' } },
        {
          requestId: body.trigger_id ?? `${channel}:${body.message?.ts ?? ''}:${userId}:${action.action_ts}`,
          userId,
          channelId: channel,
          ...(body.message?.ts ? { threadTs: body.message.ts } : {}),
          text: `/env extend ${action.value ?? ''}`,
          source: 'action',
          receivedAt: Date.now(),
        },
      );
      text = reply.text;
    } catch (error) {
      deps.logger.error({ err: error }, 'extend button failed');
      text = `:x: Capstan could not take this: ${describeForUser(error)}`;
    }
    await client.chat.postEphemeral({ channel, user: userId, text });
  };
}
