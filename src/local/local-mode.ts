/**
 * Local mode: Capstan with no Slack workspace. Redis comes from `scripts/services`, Slack's Web API
 * from the local stand-in, and the terminal stands in for the Slack client: type `/ops ping` and the
 * line is sent to Capstan's own `/slack/events` as a signed request, exactly as Slack would send it;
 * every message Capstan posts or edits is printed.
 */
import { createInterface } from 'node:readline';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { startRedis } from './services.js';
import { appMentionEventBody, postToSlackEndpoint, slashCommandBody } from './signed-request.js';
import { type FakeMessage, type FakeSlack, messageText, startFakeSlack } from './slack-api.js';

/** The local user and channel the terminal speaks as. */
export const LOCAL_USER = 'U0LOCAL';
export const LOCAL_CHANNEL = 'C0LOCAL';

/** What local mode started for Capstan. */
export interface LocalWorld {
  config: Config;
  slack: FakeSlack;
  stop(): Promise<void>;
}

/** Starts what local mode needs (Redis unless REDIS_URL is set, the Slack stand-in) and returns the config to run with. */
export async function prepareLocalMode(
  config: Config,
  env: NodeJS.ProcessEnv,
  logger: Logger,
): Promise<LocalWorld> {
  let redisUrl = config.redisUrl;
  if (!env.REDIS_URL) {
    logger.info('local mode: starting redis-server via scripts/services');
    redisUrl = (await startRedis()).url;
  }
  const slack = await startFakeSlack();
  return {
    config: { ...config, redisUrl, slack: { ...config.slack, apiUrl: config.slack.apiUrl ?? slack.url } },
    slack,
    stop: () => slack.close(),
  };
}

function printMessage(out: NodeJS.WritableStream, message: FakeMessage, kind: 'posted' | 'updated'): void {
  const where =
    message.thread_ts && message.thread_ts !== message.ts ? `thread ${message.thread_ts}` : 'channel';
  const text = messageText(message).replace(/\n+/g, '\n    ');
  out.write(
    `\n[#${message.channel} ${where}] ${kind === 'posted' ? 'capstan' : 'capstan (edited)'}:\n    ${text}\n`,
  );
}

/**
 * Reads commands from the terminal and prints Capstan's messages. Lines starting with `/` are slash
 * commands; `@capstan …` is a mention. Returns a function that stops reading.
 */
export function attachTerminal(opts: {
  slack: FakeSlack;
  eventsUrl: string;
  signingSecret: string;
  input?: NodeJS.ReadableStream;
  output?: NodeJS.WritableStream;
}): () => void {
  const output = opts.output ?? process.stdout;
  const onMessage = (message: FakeMessage, kind: 'posted' | 'updated') => printMessage(output, message, kind);
  opts.slack.events.on('message', onMessage);
  const rl = createInterface({ input: opts.input ?? process.stdin, terminal: false });
  let mentions = 0;
  rl.on('line', (raw) => {
    const line = raw.trim();
    if (!line) return;
    let body: string;
    if (line.startsWith('@capstan')) {
      mentions += 1;
      body = appMentionEventBody({
        userId: LOCAL_USER,
        channelId: LOCAL_CHANNEL,
        text: line.replace(/^@capstan/, '<@U0CAPSTAN>'),
        ts: `${(Date.now() / 1000).toFixed(6)}`,
        eventId: `Ev0LOCAL${Date.now()}${mentions}`,
      });
    } else if (line.startsWith('/')) {
      const [command = '', ...rest] = line.split(/\s+/);
      body = slashCommandBody({
        command,
        text: rest.join(' '),
        userId: LOCAL_USER,
        channelId: LOCAL_CHANNEL,
      });
    } else {
      output.write('Type a slash command such as /ops ping, or @capstan ops help.\n');
      return;
    }
    postToSlackEndpoint(opts.eventsUrl, body, { secret: opts.signingSecret }).then(
      (res) => {
        const reply = res.body ? safeText(res.body) : '';
        output.write(`[${res.status} in ${res.ms.toFixed(0)} ms]${reply ? ` (only you) ${reply}` : ''}\n`);
      },
      (err: unknown) => output.write(`could not reach Capstan: ${String(err)}\n`),
    );
  });
  output.write(
    `\nCapstan local mode. You are <@${LOCAL_USER}> in #${LOCAL_CHANNEL}.\n` +
      'Type /ops help, /ops ping or @capstan ops ping and press Enter. Ctrl-C stops.\n\n',
  );
  return () => {
    rl.close();
    opts.slack.events.off('message', onMessage);
  };
}

function safeText(body: string): string {
  try {
    const parsed = JSON.parse(body) as { text?: unknown };
    return typeof parsed.text === 'string' ? parsed.text : body;
  } catch {
    return body;
  }
}
