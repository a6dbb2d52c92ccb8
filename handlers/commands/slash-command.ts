/** `/env`, `/lb`, `/rds`, `/ops`: parse, authorize, enqueue, ack inside Slack's 3 seconds. */
import type { AllMiddlewareArgs, SlackCommandMiddlewareArgs } from '@slack/bolt';
import { parseSlashCommand, plainText } from '../../src/commands/index.js';
import { describeForUser } from '../../src/errors.js';
import type { HandlerDeps } from '../deps.js';
import { intake } from '../intake.js';

/** The listener for every Capstan slash command. */
export function slashCommandListener(deps: HandlerDeps) {
  return async ({ command, ack }: SlackCommandMiddlewareArgs & AllMiddlewareArgs): Promise<void> => {
    const started = performance.now();
    let outcome = 'error';
    try {
      const parsed = parseSlashCommand(command.command, command.text, {
        now: new Date(),
        timeZone: deps.config.file.timezone,
      });
      const reply = await intake(deps, parsed, {
        requestId: command.trigger_id,
        userId: command.user_id,
        channelId: command.channel_id,
        // Plain text from here on: every message that shows it escapes it (Slack's markup never travels).
        text: `${command.command} ${plainText(command.text)}`.trim(),
        source: 'slash',
        receivedAt: Date.now(),
      });
      outcome = reply.outcome;
      await ack({ response_type: 'ephemeral', text: reply.text });
    } catch (error) {
      deps.logger.error({ err: error, command: command.command }, 'slash command failed');
      await ack({
        response_type: 'ephemeral',
        text: `:x: Capstan could not take this command: ${describeForUser(error)}`,
      });
    } finally {
      deps.metrics.slackRequests.inc({ kind: 'command', outcome });
      deps.metrics.ackSeconds.observe({ kind: 'command' }, (performance.now() - started) / 1000);
    }
  };
}
