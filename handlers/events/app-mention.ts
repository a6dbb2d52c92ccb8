/** `@capstan <command>` in a channel: the same grammar and path as the slash commands, in the mention's thread. */
import type { AllMiddlewareArgs, SlackEventMiddlewareArgs } from '@slack/bolt';
import { parseMention, plainText } from '../../src/commands/index.js';
import { describeForUser } from '../../src/errors.js';
import type { HandlerDeps } from '../deps.js';
import { intake } from '../intake.js';

/** The `app_mention` listener. Bolt acks events itself; replies go out as ephemeral messages. */
export function appMentionListener(deps: HandlerDeps) {
  return async ({
    event,
    body,
    client,
  }: SlackEventMiddlewareArgs<'app_mention'> & AllMiddlewareArgs): Promise<void> => {
    const user = event.user;
    if (!user) return;
    const threadTs = event.thread_ts ?? event.ts;
    let text: string;
    let outcome = 'error';
    try {
      const parsed = parseMention(event.text, { now: new Date(), timeZone: deps.config.file.timezone });
      const reply = await intake(deps, parsed, {
        requestId: body.event_id,
        userId: user,
        channelId: event.channel,
        threadTs,
        // A mention's text is Slack markup (`<!channel>`, links): plain text from here on, escaped wherever shown.
        text: plainText(event.text.replace(/<@[A-Z0-9]+(\|[^>]*)?>/g, '@capstan')).trim(),
        source: 'mention',
        receivedAt: Date.now(),
      });
      outcome = reply.outcome;
      if (reply.outcome === 'enqueued' || reply.outcome === 'duplicate') return;
      text = reply.text;
    } catch (error) {
      deps.logger.error({ err: error }, 'mention failed');
      text = `:x: Capstan could not take this command: ${describeForUser(error)}`;
    } finally {
      deps.metrics.slackRequests.inc({ kind: 'event', outcome });
    }
    await client.chat.postEphemeral({ channel: event.channel, user, text, thread_ts: threadTs });
  };
}
