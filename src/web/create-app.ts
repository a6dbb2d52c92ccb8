/**
 * The Bolt app: the HTTP receiver at `POST /slack/events` (or Socket Mode), the probe routes, and
 * one global error handler. Behaviour lives in the listeners `register` adds.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { App, HTTPModuleFunctions, HTTPReceiver, type ReceiverEvent, SocketModeReceiver } from '@slack/bolt';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { asCodedError } from '../errors.js';
import { type ProbeRoute, type ProbeSources, probeRoutes } from '../http/probes.js';
import { toSlackLogger } from '../observability/logger.js';
import { checkRequest, loopbackHosts } from './request-guard.js';

/** Slack's endpoint on the HTTP receiver. */
const SLACK_ENDPOINT = '/slack/events';

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
  /** More HTTP routes beside Slack's (`POST /aws/sns`). */
  routes?: ProbeRoute[];
  /** Adds every listener (`handlers/*`). */
  register: (app: App) => void;
}

/** Builds and starts the Bolt app. */
export async function startWebApp({
  config,
  logger,
  probes,
  routes = [],
  register,
}: WebAppOptions): Promise<WebApp> {
  const boltLogger = toSlackLogger(logger, 'bolt');
  const customRoutes = [...probeRoutes(probes), ...routes];
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
      endpoints: SLACK_ENDPOINT,
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
  let stop: () => Promise<void>;
  if (httpReceiver) {
    const responses = new AsyncLocalStorage<ServerResponse>();
    httpReceiver.init(answeringUnhandledAtOnce(app, responses, logger));
    const server = serveGuarded(httpReceiver, {
      responses,
      local,
      port: () => port,
      logger,
      boltLogger,
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ port: http.port, host: http.host }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    port = (server.address() as AddressInfo).port;
    stop = () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeIdleConnections();
      });
  } else {
    await app.start();
    stop = () => app.stop().then(() => undefined);
  }
  logger.info({ port, mode: slack.mode }, 'web process listening');
  return { app, port, stop };
}

/**
 * The HTTP server in front of Bolt's receiver: each request passes {@link checkRequest} first (in
 * local mode only `Host: 127.0.0.1:<port>` / `localhost:<port>` is answered, 421 otherwise; Slack's
 * endpoint refuses timestamps more than five minutes off either way, 401), then goes to Bolt as
 * `HTTPReceiver.start` would hand it.
 */
function serveGuarded(
  receiver: HTTPReceiver,
  opts: {
    responses: AsyncLocalStorage<ServerResponse>;
    local: boolean;
    port: () => number;
    logger: Logger;
    boltLogger: ReturnType<typeof toSlackLogger>;
  },
): Server {
  return createServer((req, res) => {
    const verdict = checkRequest(req, {
      endpoint: SLACK_ENDPOINT,
      nowMs: Date.now(),
      ...(opts.local ? { allowedHosts: loopbackHosts(opts.port()) } : {}),
    });
    if (!verdict.ok) {
      opts.logger.warn(
        { path: req.url?.split('?')[0], status: verdict.status },
        `request refused: ${verdict.reason}`,
      );
      res.writeHead(verdict.status, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(verdict.status === 421 ? 'Misdirected request\n' : '');
      return;
    }
    try {
      // The response travels with the request, so a request no listener took is answered at once.
      opts.responses.run(res, () => receiver.requestListener(req, res));
    } catch (error) {
      // What `HTTPReceiver.start` does: a path Bolt does not serve is answered 404.
      HTTPModuleFunctions.defaultDispatchErrorHandler({
        error: error as Error,
        logger: opts.boltLogger,
        request: req,
        response: res,
      });
    }
  });
}

/**
 * The app as the receiver sees it: once Bolt has run every listener for a signed request and none
 * acknowledged it (a body that is no Slack request, a command or action nobody listens for), the
 * request is answered there and then — 400 when the body names no kind of request, 404 when nobody
 * handles its kind — instead of after the receiver's unhandled-request timeout (2.5 s), so a flood of
 * such requests holds no sockets. Bolt's own timeout stays as the backstop; it answers only what is
 * still unanswered.
 */
function answeringUnhandledAtOnce(
  app: App,
  responses: AsyncLocalStorage<ServerResponse>,
  logger: Logger,
): App {
  const front = {
    async processEvent(event: ReceiverEvent): Promise<void> {
      await app.processEvent(event);
      const res = responses.getStore();
      if (!res || res.headersSent || res.writableEnded) return;
      const body = (event.body ?? {}) as { type?: unknown; command?: unknown };
      const names = (v: unknown) => typeof v === 'string' && v.length > 0;
      const status = names(body.type) || names(body.command) ? 404 : 400;
      logger.warn({ status }, 'signed request no listener handled: answered at once');
      HTTPModuleFunctions.buildNoBodyResponse(res, status);
    },
  };
  // The receiver only ever calls `processEvent` on the app it is given.
  return front as unknown as App;
}
