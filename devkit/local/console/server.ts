/**
 * The console's back end: a loopback HTTP server that serves a Slack-like page and speaks Slack's
 * protocol on the page's behalf. What the person does in the page becomes the request Slack would
 * send Capstan (a signed slash command, `app_mention` event, `block_actions`, `message_action` or
 * `view_submission` to `/slack/events`); what Capstan does through the Web API lands in the local
 * fake Slack ({@link FakeSlack}) and is streamed to the page with Server-Sent Events. Capstan's
 * handlers and jobs cannot tell it from Slack.
 *
 * Routes (all under `/console`):
 * - `GET  /console`                 the page
 * - `GET  /console/api/state?user=` channels, messages, that user's ephemerals and open views, files
 * - `GET  /console/api/stream?user=` Server-Sent Events: every change, that user's private ones only
 * - `POST /console/api/command`     `{ user, channel, text, threadTs? }`: slash command, mention or plain message
 * - `POST /console/api/action`      `{ user, channel, ts, actionId, value?, blockId?, text? }`: a button click
 * - `POST /console/api/shortcut`    `{ user, channel, ts, callbackId }`: a message shortcut
 * - `POST /console/api/view-submit` `{ user, viewId, values }`: a modal submitted
 * - `POST /console/api/view-close`  `{ user, viewId }`: a modal closed
 * - `POST /console/api/home-open`   `{ user }`: the user opened Capstan's Home tab (`app_home_opened`)
 * - `POST /console/api/home-action` `{ user, actionId, value?, blockId?, text? }`: a button on the Home tab
 * - `POST /console/api/step-run`    `{ user, callbackId, inputs }`: a workflow runs one of Capstan's
 *                                   steps (`function_executed`); the run ends when Capstan calls
 *                                   `functions.completeSuccess` / `completeError`
 * - `GET  /console/files/<id>`      an uploaded file's bytes
 */
import { Buffer } from 'node:buffer';
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { RESTORE_SHORTCUT_CALLBACK } from '../../../src/slack/blocks/restore-modal.js';
import { STEPS } from '../../../src/steps/definitions.js';
import {
  appHomeOpenedBody,
  appMentionEventBody,
  blockActionsBody,
  defaultDmChannel,
  functionExecutedBody,
  homeBlockActionsBody,
  messageShortcutBody,
  postToSlackEndpoint,
  type SlackEndpointResult,
  slashCommandBody,
  viewSubmissionBody,
} from '../signed-request.js';
import {
  FAKE_BOT_USER_ID,
  FAKE_TEAM_NAME,
  type FakeEphemeral,
  type FakeFunctionDefinition,
  type FakeFunctionExecution,
  type FakeHomeView,
  type FakeMessage,
  type FakeSlack,
  type FakeUploadedFile,
  type FakeView,
  type JsonObject,
  slackTypeProblem,
} from '../slack-api.js';
import { consolePage } from './page.js';
import type {
  ConsoleChannel,
  ConsoleEvent,
  ConsoleShortcut,
  ConsoleState,
  ConsoleUser,
  DeliveryResponse,
  ErrorResponse,
  StepRunResponse,
  ViewResponse,
  WireEphemeral,
  WireFile,
  WireHome,
  WireMessage,
  WireStep,
  WireStepRun,
  WireView,
} from './wire.js';

export type { ConsoleChannel, ConsoleShortcut, ConsoleUser } from './wire.js';

/** Options for {@link startConsole}. */
export interface ConsoleOptions {
  /** The fake Slack Web API Capstan talks to (its `SLACK_API_URL`). */
  slack: FakeSlack;
  /** Capstan's `/slack/events` URL. */
  eventsUrl: string;
  /** The signing secret Capstan verifies requests with. */
  signingSecret: string;
  /** People to act as; the first is selected at first. */
  users: readonly ConsoleUser[];
  /** Channels to show; the first is opened at first. */
  channels: readonly ConsoleChannel[];
  /** Port to listen on (127.0.0.1 only). Default 0: an ephemeral port. */
  port?: number;
  /** Message shortcuts in the "…" menu. Default: the restore shortcut of manifest.yml. */
  shortcuts?: readonly ConsoleShortcut[];
  /** Slash commands the app declares (manifest.yml); others are refused as Slack would. */
  commands?: readonly string[];
  /** Workflow Builder steps the app declares (manifest.yml's `functions`). Default: Capstan's. */
  steps?: Readonly<Record<string, FakeFunctionDefinition>>;
}

/** A running console. */
export interface ConsoleServer {
  /** `http://127.0.0.1:<port>/console` */
  url: string;
  port: number;
  close(): Promise<void>;
}

/** The shortcuts of manifest.yml, worded as the page's menu shows them. */
export const DEFAULT_SHORTCUTS: readonly ConsoleShortcut[] = [
  { callbackId: RESTORE_SHORTCUT_CALLBACK, name: 'Restore a table to just before this message' },
];

/** The slash commands of manifest.yml. */
export const DEFAULT_COMMANDS: readonly string[] = ['/env', '/lb', '/rds', '/ops'];

/** What the sidebar calls a person's direct messages with Capstan (Slack's Messages tab of the app). */
const DM_NAME = 'capstan (messages)';

/** Slack gives an app this long to acknowledge a request (https://api.slack.com/interactivity/handling#acknowledgment_response). */
const ACK_DEADLINE_MS = 3000;
const MAX_BODY_BYTES = 1_000_000;
const KEEPALIVE_MS = 15_000;

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Starts the console on 127.0.0.1. Call it once Capstan listens (it needs the events URL) and close
 * it before the fake Slack.
 */
export async function startConsole(options: ConsoleOptions): Promise<ConsoleServer> {
  const { slack } = options;
  const shortcuts = options.shortcuts ?? DEFAULT_SHORTCUTS;
  const commands = options.commands ?? DEFAULT_COMMANDS;
  const steps: Readonly<Record<string, FakeFunctionDefinition>> = options.steps ?? STEPS;
  /** The step runs started here: execution id → who ran it and Capstan's HTTP status for the event. */
  const runs = new Map<string, { user: string; status: number }>();
  const usersById = new Map(options.users.map((u) => [u.id, u]));
  for (const user of options.users) {
    slack.setUser(user.id, { name: user.name, real_name: user.name, profile: { display_name: user.name } });
  }
  for (const channel of options.channels) slack.setChannel(channel.id, { name: channel.name });
  const channelName = (id: string) => options.channels.find((c) => c.id === id)?.name;
  // Each person's direct messages with Capstan (the channel app_home_opened names) are theirs alone.
  const dmOwners = new Map(options.users.map((u) => [defaultDmChannel(u.id), u.id]));
  const ownerOf = (channel: string | undefined) => dmOwners.get(channel ?? '');
  const visibleTo = (channel: string | undefined, user: string) => {
    const owner = ownerOf(channel);
    return owner === undefined || owner === user;
  };

  const replies: WireEphemeral[] = [];
  /** When each file was shared, as a message ts would say it: files sort among the messages by it. */
  const fileTimes = new Map<string, string>();
  const streams = new Map<ServerResponse, string>();
  let seq = 0;
  let lastTsMicros = 0;
  const nowTs = () => {
    lastTsMicros = Math.max(lastTsMicros + 1, Math.floor(Date.now() * 1000));
    return `${Math.floor(lastTsMicros / 1e6)}.${String(lastTsMicros % 1e6).padStart(6, '0')}`;
  };

  const broadcast = (event: ConsoleEvent, onlyFor?: string) => {
    const frame = `data: ${JSON.stringify(event)}\n\n`;
    for (const [res, user] of streams) if (onlyFor === undefined || onlyFor === user) res.write(frame);
  };
  const onMessage = (message: FakeMessage, kind: 'posted' | 'updated') =>
    broadcast({ type: 'message', kind, message: wireMessage(message) }, ownerOf(message.channel));
  const onDeleted = (message: FakeMessage) =>
    broadcast({ type: 'deleted', channel: message.channel, ts: message.ts }, ownerOf(message.channel));
  const onEphemeral = (ephemeral: FakeEphemeral) =>
    broadcast({ type: 'ephemeral', ephemeral: wireEphemeral(ephemeral) }, ephemeral.user);
  const onView = (view: FakeView, kind: 'opened' | 'updated' | 'closed') =>
    broadcast({ type: 'view', kind, view: wireView(view) }, view.user);
  const onFile = (file: FakeUploadedFile) => {
    if (!fileTimes.has(file.id)) fileTimes.set(file.id, nowTs());
    broadcast({ type: 'file', file: wireFile(file) }, ownerOf(file.channel_id));
  };
  const onHome = (view: FakeHomeView) => broadcast({ type: 'home', home: wireHome(view) }, view.user);
  const stepRun = (execution: FakeFunctionExecution): WireStepRun | undefined => {
    const run = runs.get(execution.executionId);
    return run ? wireStepRun(execution, run.user, run.status) : undefined;
  };
  const onFunction = (execution: FakeFunctionExecution) => {
    const run = stepRun(execution);
    if (run) broadcast({ type: 'step', run }, run.user);
  };
  slack.events.on('message', onMessage);
  slack.events.on('deleted', onDeleted);
  slack.events.on('ephemeral', onEphemeral);
  slack.events.on('view', onView);
  slack.events.on('file', onFile);
  slack.events.on('home', onHome);
  slack.events.on('function', onFunction);

  const wireFile = (file: FakeUploadedFile): WireFile => ({
    id: file.id,
    name: file.filename,
    title: file.title ?? file.filename,
    alt: file.alt_text ?? '',
    mimetype: mimeOf(file.filename),
    size: file.bytesLength,
    url: `/console/files/${encodeURIComponent(file.id)}`,
    channel: file.channel_id ?? '',
    thread_ts: file.thread_ts ?? null,
    comment: file.initial_comment ?? '',
    ts: fileTimes.get(file.id) ?? '0.000000',
  });

  const addReply = (reply: WireEphemeral) => {
    replies.push(reply);
    broadcast({ type: 'ephemeral', ephemeral: reply }, reply.user);
    return reply;
  };

  const userOf = (body: JsonObject): ConsoleUser => {
    const id = typeof body.user === 'string' ? body.user : '';
    const user = usersById.get(id);
    if (!user) throw new HttpError(400, `unknown user ${JSON.stringify(id).slice(0, 40)}`);
    return user;
  };
  const stringField = (body: JsonObject, key: string, required = true): string => {
    const value = body[key];
    if (typeof value === 'string' && value !== '') return value;
    if (required) throw new HttpError(400, `${key} is required`);
    return '';
  };
  const messageOf = (body: JsonObject): FakeMessage => {
    const message = slack.findMessage(stringField(body, 'channel'), stringField(body, 'ts'));
    if (!message) throw new HttpError(404, 'message not found');
    return message;
  };
  const send = (body: string) =>
    postToSlackEndpoint(options.eventsUrl, body, { secret: options.signingSecret });
  const responseUrl = () => slack.responseUrl(`console-${++seq}`);

  /** `/lb disable prod` → a slash command; `@capstan …` → a message and its `app_mention`; else a message. */
  async function command(body: JsonObject): Promise<DeliveryResponse> {
    const user = userOf(body);
    const channel = stringField(body, 'channel');
    const text = stringField(body, 'text').trim();
    const threadTs = stringField(body, 'threadTs', false) || undefined;
    if (text.startsWith('/')) {
      const [name = '', ...rest] = text.split(/\s+/);
      const base: WireEphemeral = { channel, user: user.id, ts: nowTs(), text: '', command: text };
      if (threadTs) base.thread_ts = threadTs;
      if (!commands.includes(name)) {
        return {
          status: 0,
          ephemeral: addReply({ ...base, text: `\`${name}\` is not a valid command.` }),
        };
      }
      const result = await send(
        slashCommandBody({
          command: name,
          text: rest.join(' '),
          userId: user.id,
          userName: user.name,
          channelId: channel,
          channelName: channelName(channel) ?? channel,
          responseUrl: responseUrl(),
          triggerId: slack.issueTrigger(user.id),
        }),
      );
      const reply = commandReply(base, result);
      return { status: result.status, ms: Math.round(result.ms), ephemeral: reply ? addReply(reply) : null };
    }
    const mentions = /(^|\s)@capstan\b/i.test(text) || text.includes(`<@${FAKE_BOT_USER_ID}>`);
    const slackText = text.replace(/(^|\s)@capstan\b/gi, `$1<@${FAKE_BOT_USER_ID}>`);
    const posted = slack.postAsUser(user.id, channel, slackText, threadTs);
    if (!mentions) return { status: 0, ts: posted.ts };
    seq += 1;
    const result = await send(
      appMentionEventBody({
        userId: user.id,
        channelId: channel,
        text: slackText,
        ts: posted.ts,
        eventId: `Ev0CONSOLE${Date.now().toString(36).toUpperCase()}${seq}`,
        ...(threadTs ? { threadTs } : {}),
      }),
    );
    return { status: result.status, ms: Math.round(result.ms), ts: posted.ts };
  }

  async function action(body: JsonObject): Promise<DeliveryResponse> {
    const user = userOf(body);
    const message = messageOf(body);
    const result = await send(
      blockActionsBody({
        userId: user.id,
        userName: user.name,
        channelId: message.channel,
        channelName: channelName(message.channel) ?? message.channel,
        messageTs: message.ts,
        message,
        actionId: stringField(body, 'actionId'),
        value: stringField(body, 'value', false),
        ...(stringField(body, 'blockId', false) ? { blockId: stringField(body, 'blockId') } : {}),
        ...(stringField(body, 'text', false) ? { actionText: stringField(body, 'text') } : {}),
        triggerId: slack.issueTrigger(user.id),
        responseUrl: responseUrl(),
      }),
    );
    return { status: result.status, ms: Math.round(result.ms) };
  }

  async function shortcut(body: JsonObject): Promise<DeliveryResponse> {
    const user = userOf(body);
    const message = messageOf(body);
    const callbackId = stringField(body, 'callbackId');
    if (!shortcuts.some((s) => s.callbackId === callbackId)) throw new HttpError(400, 'unknown shortcut');
    const result = await send(
      messageShortcutBody({
        userId: user.id,
        userName: user.name,
        channelId: message.channel,
        channelName: channelName(message.channel) ?? message.channel,
        callbackId,
        messageTs: message.ts,
        messageText: message.text,
        ...(message.user ? { messageUserId: message.user } : {}),
        ...(message.thread_ts && message.thread_ts !== message.ts ? { threadTs: message.thread_ts } : {}),
        triggerId: slack.issueTrigger(user.id),
        responseUrl: responseUrl(),
      }),
    );
    return { status: result.status, ms: Math.round(result.ms) };
  }

  /** Slack sends `app_home_opened` every time someone opens the app's Home tab, with the tab as last published. */
  async function homeOpen(body: JsonObject): Promise<DeliveryResponse> {
    const user = userOf(body);
    const view = slack.homeView(user.id);
    const result = await send(appHomeOpenedBody({ userId: user.id, ...(view ? { view } : {}) }));
    return { status: result.status, ms: Math.round(result.ms) };
  }

  /** A Home-tab button: `block_actions` with the tab as its container and the view as shown. */
  async function homeAction(body: JsonObject): Promise<DeliveryResponse> {
    const user = userOf(body);
    const view = slack.homeView(user.id);
    if (!view) throw new HttpError(404, 'no Home tab published for this user');
    const actionId = stringField(body, 'actionId');
    const value = stringField(body, 'value', false);
    const blockId = stringField(body, 'blockId', false);
    // Slack sends only what the tab holds: a button a newer publish took away cannot be clicked.
    if (!holdsButton(view, actionId, value, blockId))
      throw new HttpError(409, 'that button is no longer on the tab');
    const text = stringField(body, 'text', false);
    const result = await send(
      homeBlockActionsBody({
        userId: user.id,
        userName: user.name,
        view,
        actionId,
        value,
        ...(blockId ? { blockId } : {}),
        ...(text ? { actionText: text } : {}),
        triggerId: slack.issueTrigger(user.id),
      }),
    );
    return { status: result.status, ms: Math.round(result.ms) };
  }

  /**
   * A workflow reaches step `callbackId`: its inputs are checked as Workflow Builder checks them
   * (required ones present, each of its type), an execution is started in the fake (a fresh
   * `function_execution_id` and token) and Slack's `function_executed` event is sent.
   */
  async function runStep(body: JsonObject): Promise<StepRunResponse> {
    const user = userOf(body);
    const callbackId = stringField(body, 'callbackId');
    const definition = Object.hasOwn(steps, callbackId) ? steps[callbackId] : undefined;
    if (!definition) throw new HttpError(404, 'unknown step');
    const checked = stepInputs(definition, isObject(body.inputs) ? body.inputs : {});
    if ('errors' in checked) return { ok: false, errors: checked.errors };
    const execution = slack.functions.start(callbackId, definition, checked.inputs);
    runs.set(execution.executionId, { user: user.id, status: 0 });
    const result = await send(functionExecutedBody({ execution }));
    runs.set(execution.executionId, { user: user.id, status: result.status });
    const run = wireStepRun(execution, user.id, result.status);
    broadcast({ type: 'step', run }, user.id);
    return { ok: true, run };
  }

  const openViewOf = (body: JsonObject, user: ConsoleUser): FakeView => {
    const view = slack.findView(stringField(body, 'viewId'));
    if (!view || view.user !== user.id || !view.open) throw new HttpError(404, 'view not open');
    return view;
  };

  async function viewSubmit(body: JsonObject): Promise<ViewResponse> {
    const user = userOf(body);
    const view = openViewOf(body, user);
    const values = isObject(body.values) ? body.values : {};
    const result = await send(
      viewSubmissionBody({
        userId: user.id,
        userName: user.name,
        view,
        values: values as Record<string, Record<string, JsonObject>>,
        triggerId: slack.issueTrigger(user.id),
      }),
    );
    if (result.status !== 200) return { ok: false, status: result.status, error: `HTTP ${result.status}` };
    const answer = parseJson(result.body) ?? {};
    // https://api.slack.com/surfaces/modals#responding_to_submissions
    switch (answer.response_action) {
      case undefined:
        slack.closeView(view.id);
        return { ok: true, closed: true };
      case 'errors':
        return { ok: false, errors: isObject(answer.errors) ? answer.errors : {} };
      case 'clear':
        slack.closeView(view.root_view_id);
        return { ok: true, closed: true };
      case 'update':
      case 'push': {
        const method = answer.response_action === 'update' ? 'views.update' : 'views.push';
        const args =
          method === 'views.update'
            ? { view_id: view.id, view: answer.view }
            : { trigger_id: slack.issueTrigger(user.id), view: answer.view };
        const res = await fetch(`${slack.url}${method}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json; charset=utf-8' },
          body: JSON.stringify(args),
        });
        const outcome = (await res.json()) as JsonObject;
        return outcome.ok === true
          ? { ok: true, closed: false }
          : { ok: false, error: String(outcome.error) };
      }
      default:
        return { ok: false, error: `unknown response_action ${String(answer.response_action)}` };
    }
  }

  function viewClose(body: JsonObject): ViewResponse {
    const user = userOf(body);
    slack.closeView(openViewOf(body, user).id);
    return { ok: true };
  }

  function state(user: string): ConsoleState {
    const seen = new Set(options.channels.map((c) => c.id));
    const channels: ConsoleChannel[] = [...options.channels];
    const messages = slack.messages.filter((m) => visibleTo(m.channel, user));
    for (const m of messages) {
      if (!seen.has(m.channel)) {
        seen.add(m.channel);
        channels.push({ id: m.channel, name: ownerOf(m.channel) ? DM_NAME : m.channel.toLowerCase() });
      }
    }
    const ephemerals = [
      ...slack.ephemerals.filter((e) => e.user === user).map(wireEphemeral),
      ...replies.filter((r) => r.user === user),
    ];
    return {
      workspace: FAKE_TEAM_NAME,
      bot: { id: FAKE_BOT_USER_ID, name: 'Capstan' },
      users: options.users,
      channels,
      shortcuts,
      commands,
      messages: messages.map(wireMessage),
      ephemerals,
      views: slack.openViews(user).map(wireView),
      files: slack.files
        .filter((f) => f.completed && f.channel_id && visibleTo(f.channel_id, user))
        .map(wireFile),
      dm: { id: defaultDmChannel(user), name: DM_NAME },
      home: homeOf(user),
      steps: Object.entries(steps).map(([callbackId, definition]) => wireStep(callbackId, definition)),
      stepRuns: slack.functions
        .all()
        .map(stepRun)
        .filter((run): run is WireStepRun => run?.user === user),
    };
  }

  function homeOf(user: string): WireHome | null {
    const view = slack.homeView(user);
    return view ? wireHome(view) : null;
  }

  function stream(req: IncomingMessage, res: ServerResponse, user: string): void {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
    });
    res.write(': connected\n\n');
    streams.set(res, user);
    const keepalive = setInterval(() => res.write(': keepalive\n\n'), KEEPALIVE_MS);
    req.on('close', () => {
      clearInterval(keepalive);
      streams.delete(res);
    });
  }

  let port = 0;
  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      const status = error instanceof HttpError ? error.status : 500;
      const message = error instanceof Error ? error.message : String(error);
      if (!res.headersSent) sendJson(res, status, { ok: false, error: message } satisfies ErrorResponse);
      else res.end();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // Only this machine's own pages: a page elsewhere that rebinds a name to 127.0.0.1 sends its own Host.
    const host = req.headers.host ?? '';
    if (host !== `127.0.0.1:${port}` && host !== `localhost:${port}`) throw new HttpError(421, 'wrong host');
    const url = new URL(req.url ?? '/', `http://127.0.0.1:${port}`);
    const path = url.pathname;
    if (req.method === 'GET') {
      if (path === '/' || path === '/console/') {
        res.writeHead(302, { location: '/console' }).end();
        return;
      }
      if (path === '/console') {
        const nonce = randomBytes(16).toString('base64');
        const html = consolePage(nonce);
        res.writeHead(200, {
          'content-type': 'text/html; charset=utf-8',
          'cache-control': 'no-store',
          'x-content-type-options': 'nosniff',
          'referrer-policy': 'no-referrer',
          'content-security-policy': `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'nonce-${nonce}'; img-src 'self' data: https:; connect-src 'self'; form-action 'none'; base-uri 'none'; frame-ancestors 'none'`,
        });
        res.end(html);
        return;
      }
      if (path === '/console/api/state') {
        sendJson(res, 200, state(url.searchParams.get('user') ?? ''));
        return;
      }
      if (path === '/console/api/stream') {
        stream(req, res, url.searchParams.get('user') ?? '');
        return;
      }
      const file = /^\/console\/files\/([^/]+)$/.exec(path);
      if (file?.[1]) {
        const found = slack.files.find((f) => f.id === decodeURIComponent(file[1] ?? ''));
        if (!found?.bytes) throw new HttpError(404, 'file not found');
        res.writeHead(200, {
          'content-type': mimeOf(found.filename),
          'content-length': String(found.bytes.length),
          'x-content-type-options': 'nosniff',
          'content-security-policy': "default-src 'none'",
          'content-disposition': `inline; filename="${found.filename.replace(/[^\w.-]/g, '_')}"`,
        });
        res.end(found.bytes);
        return;
      }
      throw new HttpError(404, 'not found');
    }
    if (req.method === 'POST') {
      // JSON only: a cross-site form cannot send it without a preflight this server never answers.
      if (!(req.headers['content-type'] ?? '').toLowerCase().startsWith('application/json')) {
        throw new HttpError(415, 'send application/json');
      }
      const body = await readJson(req);
      const routes: Record<string, (b: JsonObject) => Answer | Promise<Answer>> = {
        '/console/api/command': command,
        '/console/api/action': action,
        '/console/api/shortcut': shortcut,
        '/console/api/view-submit': viewSubmit,
        '/console/api/view-close': viewClose,
        '/console/api/home-open': homeOpen,
        '/console/api/home-action': homeAction,
        '/console/api/step-run': runStep,
      };
      const route = routes[path];
      if (!route) throw new HttpError(404, 'not found');
      sendJson(res, 200, await route(body));
      return;
    }
    throw new HttpError(405, 'method not allowed');
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  port = (server.address() as AddressInfo).port;
  let closed: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}/console`,
    port,
    close() {
      closed ??= new Promise<void>((resolve) => {
        slack.events.off('message', onMessage);
        slack.events.off('deleted', onDeleted);
        slack.events.off('ephemeral', onEphemeral);
        slack.events.off('view', onView);
        slack.events.off('file', onFile);
        slack.events.off('home', onHome);
        slack.events.off('function', onFunction);
        for (const res of streams.keys()) res.end();
        streams.clear();
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closed;
    },
  };
}

/** What a POST route answers. */
type Answer = DeliveryResponse | ViewResponse | StepRunResponse;

/** Whether `view` holds a button `actionId` with `value` (in block `blockId`, when given). */
function holdsButton(view: FakeHomeView, actionId: string, value: string, blockId: string): boolean {
  const holds = (el: unknown) =>
    isObject(el) && el.type === 'button' && el.action_id === actionId && (el.value ?? '') === value;
  return view.blocks.some(
    (b) =>
      (!blockId || b.block_id === blockId) &&
      ((Array.isArray(b.elements) && b.elements.some(holds)) || holds(b.accessory)),
  );
}

/**
 * `inputs` as a workflow would hand them to step `definition`: empty ones left out, unknown ones
 * refused, required ones present, each of its Slack type; or what is wrong, per input.
 */
export function stepInputs(
  definition: FakeFunctionDefinition,
  inputs: JsonObject,
): { inputs: JsonObject } | { errors: Record<string, string> } {
  const errors: Record<string, string> = {};
  const values: JsonObject = {};
  for (const name of Object.keys(inputs)) {
    if (!Object.hasOwn(definition.input_parameters, name)) errors[name] = 'not an input of the step';
  }
  for (const [name, param] of Object.entries(definition.input_parameters)) {
    const value = inputs[name];
    if (value === undefined || value === null || value === '') {
      if (param.is_required) errors[name] = 'required';
      continue;
    }
    const problem = slackTypeProblem(param.type, value);
    if (problem) errors[name] = problem;
    else values[name] = value;
  }
  return Object.keys(errors).length > 0 ? { errors } : { inputs: values };
}

function wireHome(view: FakeHomeView): WireHome {
  return { id: view.id, hash: view.hash, blocks: view.blocks };
}

function wireStep(callbackId: string, definition: FakeFunctionDefinition): WireStep {
  return {
    callbackId,
    title: definition.title,
    description: definition.description ?? '',
    inputs: Object.entries(definition.input_parameters).map(([name, p]) => ({
      name,
      type: p.type,
      title: p.title ?? name,
      description: p.description ?? '',
      required: p.is_required ?? false,
      ...(p.hint ? { hint: p.hint } : {}),
    })),
  };
}

function wireStepRun(execution: FakeFunctionExecution, user: string, status: number): WireStepRun {
  const run: WireStepRun = {
    executionId: execution.executionId,
    callbackId: execution.callbackId,
    title: execution.definition.title,
    user,
    inputs: execution.inputs,
    state: execution.state,
    status,
  };
  if (execution.outputs) {
    const declared = execution.definition.output_parameters;
    run.outputs = Object.entries(execution.outputs).map(([name, value]) => ({
      name,
      title: (Object.hasOwn(declared, name) ? declared[name]?.title : undefined) ?? name,
      value,
    }));
  }
  if (execution.error !== undefined) run.error = execution.error;
  return run;
}

/** What the page shows for Capstan's HTTP answer to a slash command, as Slack's client would. */
function commandReply(base: WireEphemeral, result: SlackEndpointResult): WireEphemeral | undefined {
  const late =
    result.ms > ACK_DEADLINE_MS
      ? `\n_(Capstan took ${Math.round(result.ms)} ms to answer; Slack would have shown \`operation_timeout\`.)_`
      : '';
  if (result.status !== 200) {
    return { ...base, text: `\`${base.command}\` failed: Capstan answered HTTP ${result.status}.${late}` };
  }
  if (result.body.trim() === '') return late ? { ...base, text: late.trim() } : undefined;
  const answer = parseJson(result.body);
  if (!answer) return { ...base, text: `${result.body}${late}` };
  const reply: WireEphemeral = {
    ...base,
    text: `${typeof answer.text === 'string' ? answer.text : ''}${late}`,
  };
  if (Array.isArray(answer.blocks)) reply.blocks = answer.blocks.filter(isObject);
  if (Array.isArray(answer.attachments)) reply.attachments = answer.attachments.filter(isObject);
  return reply;
}

function wireMessage(message: FakeMessage): WireMessage {
  return {
    channel: message.channel,
    ts: message.ts,
    thread_ts: message.thread_ts ?? null,
    user: message.user ?? null,
    bot: message.user === FAKE_BOT_USER_ID,
    text: message.text,
    blocks: message.blocks ?? null,
    attachments: message.attachments ?? null,
    edited: message.updates > 0,
  };
}

function wireEphemeral(ephemeral: FakeEphemeral): WireEphemeral {
  return {
    channel: ephemeral.channel,
    user: ephemeral.user,
    ts: ephemeral.ts,
    thread_ts: ephemeral.thread_ts ?? null,
    text: ephemeral.text,
    blocks: ephemeral.blocks ?? null,
    attachments: ephemeral.attachments ?? null,
  };
}

function wireView(view: FakeView): WireView {
  return {
    id: view.id,
    root_view_id: view.root_view_id,
    callback_id: view.callback_id,
    title: view.title,
    submit: view.submit,
    close: view.close,
    blocks: view.blocks,
    hash: view.hash,
    open: view.open,
  };
}

function mimeOf(filename: string): string {
  const ext = filename.slice(filename.lastIndexOf('.') + 1).toLowerCase();
  const types: Record<string, string> = {
    png: 'image/png',
    jpg: 'image/jpeg',
    jpeg: 'image/jpeg',
    gif: 'image/gif',
    svg: 'image/svg+xml',
    txt: 'text/plain; charset=utf-8',
    log: 'text/plain; charset=utf-8',
    csv: 'text/csv; charset=utf-8',
    json: 'application/json',
  };
  return types[ext] ?? 'application/octet-stream';
}

function isObject(value: unknown): value is JsonObject {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function parseJson(text: string): JsonObject | undefined {
  try {
    const parsed: unknown = JSON.parse(text);
    return isObject(parsed) ? parsed : undefined;
  } catch {
    return undefined;
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(payload)),
    'cache-control': 'no-store',
  });
  res.end(payload);
}

async function readJson(req: IncomingMessage): Promise<JsonObject> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    size += buffer.length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, 'body too large');
    chunks.push(buffer);
  }
  const parsed = parseJson(Buffer.concat(chunks).toString('utf8'));
  if (!parsed) throw new HttpError(400, 'body must be a JSON object');
  return parsed;
}
