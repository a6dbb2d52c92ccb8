/**
 * Where a button was clicked — on a message in a channel, or on the clicker's App Home tab — and
 * what follows from it: where the answer goes (an ephemeral message beside the message; a line at
 * the top of the tab, which is published again), and where a command the button starts reports.
 */
import type { AllMiddlewareArgs, BlockAction } from '@slack/bolt';
import type { ParseResult } from '../../src/commands/index.js';
import { describeForUser } from '../../src/errors.js';
import type { HandlerDeps } from '../deps.js';
import { intake } from '../intake.js';

/** Where a click was made. */
export type Surface =
  /** A message: its channel, and its ts when Slack says it. */
  | { kind: 'message'; channel: string; ts?: string }
  /** The clicker's Home tab (https://docs.slack.dev/surfaces/app-home). */
  | { kind: 'home' };

/** Where `body`'s click was made, or undefined when Slack's payload says neither. */
export function surfaceOf(body: BlockAction): Surface | undefined {
  const container = body.container as { type?: string; channel_id?: string; message_ts?: string };
  if (container?.type === 'view' && body.view?.type === 'home') return { kind: 'home' };
  const channel = body.channel?.id ?? container?.channel_id;
  if (!channel) return undefined;
  const ts = body.message?.ts ?? container?.message_ts;
  return { kind: 'message', channel, ...(ts ? { ts } : {}) };
}

/** Tells the clicker `text` where they clicked. */
export type Answer = (text: string) => Promise<void>;

/**
 * How to answer a click: beside a message, an ephemeral message; on the Home tab, a line at the
 * top of the tab, which is published again (so the tab also shows what the click changed).
 */
export function answerTo(
  deps: HandlerDeps,
  client: AllMiddlewareArgs['client'],
  userId: string,
  surface: Surface,
): Answer {
  if (surface.kind === 'message') {
    return async (text) => {
      await client.chat.postEphemeral({ channel: surface.channel, user: userId, text });
    };
  }
  return async (text) => {
    await deps.homes.notify(userId, text);
    await deps.homes.publish(userId);
  };
}

/** A command a button starts: what it parsed to and how it reads typed. */
export interface ButtonCommand {
  parsed: ParseResult;
  /** The command as if typed, e.g. `/env extend dev-1` (plain text). */
  text: string;
  /** Where it reports when clicked on a message; default: that message's thread. */
  thread?: { channel: string; ts?: string };
}

/**
 * Takes the command a button starts through the one intake every command takes (policy,
 * approvals, locks, the audit log) and answers the clicker. Clicked on a message, the job reports
 * in that message's thread (or `command.thread`); clicked on the Home tab, in the clicker's direct
 * messages with Capstan, like anything else they ask for there.
 */
export async function commandFromButton(
  deps: HandlerDeps,
  args: { body: BlockAction; action: { action_ts: string }; surface: Surface; answer: Answer },
  command: ButtonCommand,
  what: string,
): Promise<void> {
  const { body, action, surface, answer } = args;
  const userId = body.user.id;
  let where: { channel: string; ts?: string } | undefined = command.thread;
  if (!where && surface.kind === 'message') where = surface;
  if (!where) {
    const dm = (await deps.homes.openedBy(userId))?.dm;
    if (!dm) {
      await answer(
        ':warning: Capstan does not know your direct-message channel yet: open its Home tab again and click once more.',
      );
      return;
    }
    where = { channel: dm };
  }
  let text: string;
  try {
    const reply = await intake(deps, command.parsed, {
      requestId: body.trigger_id ?? `${where.channel}:${where.ts ?? ''}:${userId}:${action.action_ts}`,
      userId,
      channelId: where.channel,
      ...(where.ts ? { threadTs: where.ts } : {}),
      text: command.text,
      source: surface.kind === 'home' ? 'home' : 'action',
      receivedAt: Date.now(),
    });
    text = reply.text;
  } catch (error) {
    deps.logger.error({ err: error }, `${what} button failed`);
    text = `:x: Capstan could not take this: ${describeForUser(error)}`;
  }
  await answer(text);
}
