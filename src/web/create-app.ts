/**
 * The Bolt app: the HTTP receiver at `POST /slack/events` (or Socket Mode), the probe routes, and
 * one global error handler. Behaviour lives in the listeners `register` adds.
 */
import type { Server } from 'node:http';
import { App, HTTPReceiver, SocketModeReceiver } from '@slack/bolt';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { asCodedError } from '../errors.js';
import { type ProbeSources, probeRoutes } from '../http/probes.js';
import { toSlackLogger } from '../observability/logger.js';

/** A started web process. */
export interface WebApp {
  app: App;
  /** The port actually bound (useful with PORT=0). */
  port: number;
  stop(): Promise<void>;
}

/** Options for {@link startWebApp}. */
export interface WebAppOptions {
  config: Config;
  logger: Logger;
  probes: ProbeSources;
  /** Adds every listener (`handlers/*`). */
  register: (app: App) => void;
}

/** Builds and starts the Bolt app. */
export async function startWebApp({ config, logger, probes, register }: WebAppOptions): Promise<WebApp> {
  const boltLogger = toSlackLogger(logger, 'bolt');
  const customRoutes = probeRoutes(probes);
  const { slack, http } = config;
  const local = slack.mode === 'local';

  let httpReceiver: HTTPReceiver | undefined;
  let socketReceiver: SocketModeReceiver | undefined;
  if (slack.mode === 'socket' && slack.appToken) {
    socketReceiver = new SocketModeReceiver({
      appToken: slack.appToken,
      logger: boltLogger,
      customRoutes,
      installerOptions: { port: http.port },
      ...(slack.apiUrl ? { clientOptions: { slackApiUrl: slack.apiUrl } } : {}),
    });
  } else {
    httpReceiver = new HTTPReceiver({
      signingSecret: slack.signingSecret,
      endpoints: '/slack/events',
      customRoutes,
      logger: boltLogger,
      // Anything still unacknowledged after this long gets an error answer, inside Slack's 3 s window
      // (https://api.slack.com/interactivity/handling#acknowledgment_response).
      unhandledRequestTimeoutMillis: 2_500,
      bodyLimit: 1024 * 1024,
    });
  }

  const app = new App({
    token: slack.botToken,
    receiver: (httpReceiver ?? socketReceiver) as HTTPReceiver,
    logger: boltLogger,
    // Capstan keeps no conversation state in the web process.
    convoStore: false,
    clientOptions: { ...(slack.apiUrl ? { slackApiUrl: slack.apiUrl } : {}) },
    // Local mode has no Slack to ask who the bot is.
    ...(local ? { tokenVerificationEnabled: false, botId: 'B0CAPSTAN', botUserId: 'U0CAPSTAN' } : {}),
  });
  app.error(async (error) => {
    const coded = asCodedError(error.original ?? error);
    logger.error({ err: coded, code: coded.code }, 'unhandled error in a Slack listener');
  });
  register(app);

  let port = http.port;
  if (httpReceiver) {
    const server = (await httpReceiver.start({ port: http.port, host: http.host })) as Server;
    const address = server.address();
    if (address && typeof address === 'object') port = address.port;
  } else {
    await app.start();
  }
  logger.info({ port, mode: slack.mode }, 'web process listening');
  return {
    app,
    port,
    stop: () => app.stop().then(() => undefined),
  };
}
