/**
 * The peer for `npm run bench -- ack`: the smallest Bolt app that answers slash commands, i.e. the
 * floor any Bolt app pays per request (signature check, body parsing, middleware, ack). It only acks.
 *
 * Configured from the same environment variables as Capstan's web process, so the bench starts both
 * the same way (`node --import tsx bench/peer/bare-bolt.ts`):
 * SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET, SLACK_API_URL, PORT, HOST (default 127.0.0.1).
 * `GET /health` answers 200 so the bench can tell when it is listening.
 */
import type { Server } from 'node:http';
import { App, HTTPReceiver, LogLevel } from '@slack/bolt';

function required(name: string): string {
  const value = process.env[name];
  if (!value) {
    process.stderr.write(`bare-bolt: ${name} is required\n`);
    process.exit(2);
  }
  return value;
}

const token = required('SLACK_BOT_TOKEN');
const signingSecret = required('SLACK_SIGNING_SECRET');
const slackApiUrl = required('SLACK_API_URL');
const port = Number(process.env.PORT ?? '3000');
const host = process.env.HOST ?? '127.0.0.1';

const receiver = new HTTPReceiver({
  signingSecret,
  endpoints: '/slack/events',
  logLevel: LogLevel.WARN,
  customRoutes: [
    {
      path: '/health',
      method: 'GET',
      handler: (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
        res.end('{"status":"ok"}');
      },
    },
  ],
});

const app = new App({
  token,
  signingSecret,
  receiver,
  clientOptions: { slackApiUrl },
  logLevel: LogLevel.WARN,
  // No auth.test at all. botId/botUserId matter: with verification off and without them, Bolt's
  // single-token authorize calls auth.test on *every* request, which would slow this peer down.
  tokenVerificationEnabled: false,
  botId: 'B0CAPSTAN',
  botUserId: 'U0CAPSTAN',
});

app.command(/.*/, async ({ ack }) => {
  await ack();
});

const server = (await receiver.start({ port, host })) as Server;
const address = server.address();
const bound = address && typeof address === 'object' ? address.port : port;
process.stderr.write(`bare-bolt: listening on http://${host}:${bound}/slack/events\n`);

const shutdown = (): void => {
  app.stop().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.once('SIGINT', shutdown);
process.once('SIGTERM', shutdown);
