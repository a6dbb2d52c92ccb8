/** `/env`, `/lb`, `/rds`, `/ops`: parse, authorize, enqueue, ack inside Slack's 3 seconds. */
import type { AllMiddlewareArgs, SlackCommandMiddlewareArgs } from '@slack/bolt';
import { parseSlashCommand, plainText } from '../../src/commands/index.js';
import { describeForUser } from '../../src/errors.js';
import type { HandlerDeps } from '../deps.js';
import { intake } from '../intake.js';

/**
 * How long a command may take to be decided and queued before Slack is answered anyway: Slack
 * wants an answer within 3 s (https://api.slack.com/interactivity/slash-commands#responding_basic_receipt),
 * and a Redis failover can take longer than that.
 */
export const INTAKE_DEADLINE_MS = 2_000;

/** What a command still on its way to the queue is answered at the deadline. */
export const HELD_TEXT =
  ':hourglass_flowing_sand: Capstan’s Redis is slow to answer (a failover takes a few seconds): this command is held until it answers, and you will be told here whether it was taken. Do not type it again.';

/** The listener for every Capstan slash command. */
export function slashCommandListener(deps: HandlerDeps) {
  return async ({ command, ack, client }: SlackCommandMiddlewareArgs & AllMiddlewareArgs): Promise<void> => {
    const started = performance.now();
    let outcome = 'error';
    const failed = (error: unknown): string => {
      deps.logger.error({ err: error, command: command.command }, 'slash command failed');
      // Redis down (a wrong CA or password, an outage longer than a failover): say so in words.
      const redis = deps.redisProblem?.();
      return redis
        ? `:x: Capstan could not take this command: its Redis is unreachable (${redis}). Nothing was queued; try again once it is back.`
        : `:x: Capstan could not take this command: ${describeForUser(error)}`;
    };
    try {
      const parsed = parseSlashCommand(command.command, command.text, {
        now: new Date(),
        timeZone: deps.config.file.timezone,
      });
      const work = intake(deps, parsed, {
        requestId: command.trigger_id,
        userId: command.user_id,
        channelId: command.channel_id,
        // Plain text from here on: every message that shows it escapes it (Slack's markup never travels).
        text: `${command.command} ${plainText(command.text)}`.trim(),
        source: 'slash',
        receivedAt: Date.now(),
      });
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<'late'>((resolve) => {
        timer = setTimeout(() => resolve('late'), INTAKE_DEADLINE_MS);
      });
      const first = await Promise.race([work, deadline]).finally(() => clearTimeout(timer));
      if (first !== 'late') {
        outcome = first.outcome;
        await ack({ response_type: 'ephemeral', text: first.text });
        return;
      }
      // Slack is answered now; the command goes on, and its outcome is told when it is known: the
      // request id is the job id, so it is queued at most once whenever Redis answers.
      outcome = 'held';
      await ack({ response_type: 'ephemeral', text: HELD_TEXT });
      void work
        .then(
          (reply) => reply.text,
          (error: unknown) => failed(error),
        )
        .then((text) =>
          client.chat.postEphemeral({ channel: command.channel_id, user: command.user_id, text }),
        )
        .catch((error: unknown) =>
          deps.logger.warn(
            { err: error, command: command.command },
            'could not tell the outcome of a held command',
          ),
        );
    } catch (error) {
      await ack({ response_type: 'ephemeral', text: failed(error) });
    } finally {
      deps.metrics.slackRequests.inc({ kind: 'command', outcome });
      deps.metrics.ackSeconds.observe({ kind: 'command' }, (performance.now() - started) / 1000);
    }
  };
}
