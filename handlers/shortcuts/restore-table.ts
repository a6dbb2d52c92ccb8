/**
 * The message shortcut "Restore a table to just before this message": ack at once, then open the
 * restore form with the time set to one second before the message was posted.
 */
import type { AllMiddlewareArgs, MessageShortcut, SlackShortcutMiddlewareArgs } from '@slack/bolt';
import { describeForUser } from '../../src/errors.js';
import { restoreModal } from '../../src/slack/blocks/restore-modal.js';
import type { HandlerDeps } from '../deps.js';

/** The listener for the restore message shortcut. */
export function restoreTableShortcutListener(deps: HandlerDeps) {
  return async ({
    ack,
    shortcut,
    client,
  }: SlackShortcutMiddlewareArgs<MessageShortcut> & AllMiddlewareArgs): Promise<void> => {
    // The trigger id is good for 3 seconds (https://api.slack.com/interactivity/handling#modal_responses):
    // ack first, then open the modal straight away.
    const started = performance.now();
    await ack();
    deps.metrics.ackSeconds.observe({ kind: 'shortcut' }, (performance.now() - started) / 1000);
    const { message, channel, user } = shortcut;
    let outcome = 'error';
    try {
      const view = restoreModal({
        channelId: channel.id,
        messageTs: shortcut.message_ts ?? message.ts,
        ...(typeof message.thread_ts === 'string' ? { messageThreadTs: message.thread_ts } : {}),
        ...(message.user
          ? { author: { userId: message.user } }
          : typeof message.username === 'string'
            ? { author: { name: message.username } }
            : {}),
        messageText: message.text ?? '',
        databases: Object.keys(deps.config.file.databases),
        timeZone: deps.config.file.timezone,
      });
      await client.views.open({ trigger_id: shortcut.trigger_id, view });
      outcome = 'opened';
    } catch (error) {
      deps.logger.error({ err: error, user: user.id }, 'restore shortcut: could not open the form');
      await client.chat
        .postEphemeral({
          channel: channel.id,
          user: user.id,
          text: `:x: Capstan could not open the restore form: ${describeForUser(error)} — try the shortcut again, or use \`/rds restore-table\`.`,
        })
        .catch((err: unknown) => deps.logger.warn({ err }, 'restore shortcut: could not tell the user'));
    } finally {
      deps.metrics.slackRequests.inc({ kind: 'shortcut', outcome });
    }
  };
}
