/**
 * Builders for requests the way Slack sends them to an app: documented payload shapes for slash commands,
 * block_actions (on messages and on Home tabs), message shortcuts, view submissions, and `app_mention`,
 * `app_home_opened` and `function_executed` events, signed with the app's signing secret
 * (https://api.slack.com/authentication/verifying-requests-from-slack).
 */
import { Buffer } from 'node:buffer';
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import {
  defaultChannelName,
  defaultUserName,
  FAKE_APP_ID,
  FAKE_BOT_ID,
  FAKE_BOT_USER_ID,
  FAKE_TEAM_DOMAIN,
  FAKE_TEAM_ID,
  type FakeFunctionExecution,
  type FakeHomeView,
  wireFunctionParameters,
  wireHomeView,
} from './slack-api.js';

/** The (deprecated) verification token Slack still includes as `token` in payloads. */
export const FAKE_VERIFICATION_TOKEN = 'gIkuvaNzQIHg97ATvDxqgjtO';

/** Headers Slack adds to every request it sends to an app. */
export interface SlackSignatureHeaders {
  'X-Slack-Request-Timestamp': string;
  /** `v0=` + hex HMAC-SHA256 of `v0:<timestamp>:<body>` keyed with the signing secret. */
  'X-Slack-Signature': string;
}

/**
 * Sign `body` exactly as Slack does: `v0=` + hex(HMAC-SHA256(secret, `v0:${timestampSec}:${body}`)).
 * `body` must be the exact raw body that will be sent.
 */
export function signSlackRequest(
  secret: string,
  body: string,
  timestampSec: number = Math.floor(Date.now() / 1000),
): SlackSignatureHeaders {
  const signature = createHmac('sha256', secret).update(`v0:${timestampSec}:${body}`).digest('hex');
  return { 'X-Slack-Request-Timestamp': String(timestampSec), 'X-Slack-Signature': `v0=${signature}` };
}

let triggerSeq = 0;
const triggerBase = 13_345_224_609 + Math.floor(Math.random() * 1_000_000_000);

/** A fresh, unique trigger id shaped like Slack's, e.g. `13345224609.738474920.8088930838d88f008e03c1f2a9b7e4d0`. */
export function fakeTriggerId(): string {
  triggerSeq += 1;
  return `${triggerBase + triggerSeq}.738474920.${randomBytes(16).toString('hex')}`;
}

/** An `action_ts`-style timestamp for now: `<seconds>.<6 digits>`. */
function actionTs(): string {
  const micros = Math.floor(Date.now() * 1000) + (triggerSeq % 1000);
  return `${Math.floor(micros / 1_000_000)}.${String(micros % 1_000_000).padStart(6, '0')}`;
}

function hookUrl(kind: 'commands' | 'actions' | 'app', teamId: string): string {
  const id = 1_000_000_000_000 + Math.floor(Math.random() * 8_999_999_999_999);
  return `https://hooks.slack.com/${kind}/${teamId}/${id}/${randomBytes(12).toString('base64url')}`;
}

/** Fields shared by the interactive payload builders. */
interface CommonPayloadOptions {
  userId: string;
  channelId: string;
  /** Default: a fresh {@link fakeTriggerId}. */
  triggerId?: string;
  /** Default {@link FAKE_TEAM_ID}. */
  teamId?: string;
  /** Default: a `https://hooks.slack.com/...` URL; pass `fake.responseUrl(id)` to capture responses. */
  responseUrl?: string;
  /** Default: `defaultUserName(userId)`. */
  userName?: string;
  /** Default: `defaultChannelName(channelId)`. */
  channelName?: string;
}

/** Options for {@link slashCommandBody}. */
export interface SlashCommandOptions extends CommonPayloadOptions {
  /** The command including its slash, e.g. `/capstan`. */
  command: string;
  /** Everything the user typed after the command. */
  text: string;
  /** Set for Enterprise Grid workspaces; adds `enterprise_id`/`enterprise_name`. */
  enterpriseId?: string;
  enterpriseName?: string;
}

/**
 * The `application/x-www-form-urlencoded` body Slack POSTs for a slash command
 * (https://api.slack.com/interactivity/slash-commands): token, team_id, team_domain, [enterprise_id,
 * enterprise_name,] channel_id, channel_name, user_id, user_name, command, text, api_app_id,
 * is_enterprise_install, response_url, trigger_id.
 */
export function slashCommandBody(options: SlashCommandOptions): string {
  const teamId = options.teamId ?? FAKE_TEAM_ID;
  const fields: Array<[string, string]> = [
    ['token', FAKE_VERIFICATION_TOKEN],
    ['team_id', teamId],
    ['team_domain', FAKE_TEAM_DOMAIN],
  ];
  if (options.enterpriseId) {
    fields.push(['enterprise_id', options.enterpriseId]);
    fields.push(['enterprise_name', options.enterpriseName ?? 'Capstan Enterprise']);
  }
  fields.push(
    ['channel_id', options.channelId],
    ['channel_name', options.channelName ?? defaultChannelName(options.channelId)],
    ['user_id', options.userId],
    ['user_name', options.userName ?? defaultUserName(options.userId)],
    ['command', options.command],
    ['text', options.text],
    ['api_app_id', FAKE_APP_ID],
    ['is_enterprise_install', 'false'],
    ['response_url', options.responseUrl ?? hookUrl('commands', teamId)],
    ['trigger_id', options.triggerId ?? fakeTriggerId()],
  );
  return new URLSearchParams(fields).toString();
}

/** The message an interaction happened on, as included in interactive payloads. */
export interface PayloadMessage {
  text?: string;
  blocks?: unknown[];
  attachments?: unknown[];
  /** Author; default the bot user {@link FAKE_BOT_USER_ID}. */
  user?: string;
  thread_ts?: string;
}

/** Options for {@link blockActionsBody}. */
export interface BlockActionsOptions extends CommonPayloadOptions {
  actionId: string;
  value: string;
  /** Default: a Slack-style generated block id. */
  blockId?: string;
  /** ts of the message holding the interactive element. */
  messageTs: string;
  /** Element type; default `button`. */
  actionType?: string;
  /** Button label; default `value`. */
  actionText?: string;
  /** The message the element is on (a `FakeMessage` fits); default a bot message with no text. */
  message?: PayloadMessage;
  /** `state.values` of the message's input blocks; default `{}`. */
  stateValues?: Record<string, unknown>;
}

function wireMessage(
  message: PayloadMessage | undefined,
  ts: string,
  teamId: string,
): Record<string, unknown> {
  const user = message?.user ?? FAKE_BOT_USER_ID;
  const wire: Record<string, unknown> = {
    type: 'message',
    user,
    ts,
    team: teamId,
    text: message?.text ?? '',
  };
  if (user === FAKE_BOT_USER_ID) {
    wire.bot_id = FAKE_BOT_ID;
    wire.app_id = FAKE_APP_ID;
  }
  if (message?.blocks) wire.blocks = message.blocks;
  if (message?.attachments) wire.attachments = message.attachments;
  if (message?.thread_ts) wire.thread_ts = message.thread_ts;
  return wire;
}

function payloadBody(payload: Record<string, unknown>): string {
  return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
}

/**
 * The body Slack POSTs when a user clicks an interactive element in a message: `payload=<json>` urlencoded,
 * with a `block_actions` payload (https://api.slack.com/reference/interaction-payloads/block-actions).
 */
export function blockActionsBody(options: BlockActionsOptions): string {
  const teamId = options.teamId ?? FAKE_TEAM_ID;
  const userName = options.userName ?? defaultUserName(options.userId);
  const container: Record<string, unknown> = {
    type: 'message',
    message_ts: options.messageTs,
    channel_id: options.channelId,
    is_ephemeral: false,
  };
  if (options.message?.thread_ts) container.thread_ts = options.message.thread_ts;
  const payload = {
    type: 'block_actions',
    user: { id: options.userId, username: userName, name: userName, team_id: teamId },
    api_app_id: FAKE_APP_ID,
    token: FAKE_VERIFICATION_TOKEN,
    container,
    trigger_id: options.triggerId ?? fakeTriggerId(),
    team: { id: teamId, domain: FAKE_TEAM_DOMAIN },
    enterprise: null,
    is_enterprise_install: false,
    channel: { id: options.channelId, name: options.channelName ?? defaultChannelName(options.channelId) },
    message: wireMessage(options.message, options.messageTs, teamId),
    state: { values: options.stateValues ?? {} },
    response_url: options.responseUrl ?? hookUrl('actions', teamId),
    actions: [
      {
        action_id: options.actionId,
        block_id: options.blockId ?? randomBytes(3).toString('base64url'),
        text: { type: 'plain_text', text: options.actionText ?? options.value, emoji: true },
        value: options.value,
        type: options.actionType ?? 'button',
        action_ts: actionTs(),
      },
    ],
  };
  return payloadBody(payload);
}

/** Options for {@link homeBlockActionsBody}. */
export interface HomeBlockActionsOptions {
  userId: string;
  /** The user's Home tab as the fake holds it ({@link FakeSlack.homeView}); Slack sends it with the click. */
  view: FakeHomeView;
  actionId: string;
  value: string;
  /** The block the button is in; default: the block of `view` holding a button with `actionId` and `value`. */
  blockId?: string;
  /** The button's label, sent as the action's `text`; default `value`. */
  actionText?: string;
  /** Default: a fresh {@link fakeTriggerId}. */
  triggerId?: string;
  /** Default {@link FAKE_TEAM_ID}. */
  teamId?: string;
  /** Default: `defaultUserName(userId)`. */
  userName?: string;
}

/** The block of `view` that holds a button with `actionId` and `value` (as an element or a section's accessory). */
function blockHolding(view: FakeHomeView, actionId: string, value: string): string | undefined {
  const holds = (el: unknown) =>
    typeof el === 'object' &&
    el !== null &&
    (el as Record<string, unknown>).action_id === actionId &&
    (el as Record<string, unknown>).value === value;
  const block = view.blocks.find(
    (b) => (Array.isArray(b.elements) && b.elements.some(holds)) || holds(b.accessory),
  );
  return typeof block?.block_id === 'string' ? block.block_id : undefined;
}

/**
 * The body Slack POSTs when a user clicks a button on their App Home tab: a `block_actions` payload
 * whose container is the view (no channel, no message, no response_url) and which carries the view
 * (https://docs.slack.dev/reference/interaction-payloads/block_actions-payload).
 */
export function homeBlockActionsBody(options: HomeBlockActionsOptions): string {
  const teamId = options.teamId ?? FAKE_TEAM_ID;
  const userName = options.userName ?? defaultUserName(options.userId);
  const payload = {
    type: 'block_actions',
    user: { id: options.userId, username: userName, name: userName, team_id: teamId },
    api_app_id: FAKE_APP_ID,
    token: FAKE_VERIFICATION_TOKEN,
    container: { type: 'view', view_id: options.view.id },
    trigger_id: options.triggerId ?? fakeTriggerId(),
    team: { id: teamId, domain: FAKE_TEAM_DOMAIN },
    enterprise: null,
    is_enterprise_install: false,
    view: wireHomeView(options.view),
    actions: [
      {
        action_id: options.actionId,
        block_id:
          options.blockId ??
          blockHolding(options.view, options.actionId, options.value) ??
          randomBytes(3).toString('base64url'),
        text: { type: 'plain_text', text: options.actionText ?? options.value, emoji: true },
        value: options.value,
        type: 'button',
        action_ts: actionTs(),
      },
    ],
  };
  return payloadBody(payload);
}

/** Options for {@link messageShortcutBody}. */
export interface MessageShortcutOptions extends CommonPayloadOptions {
  callbackId: string;
  /** ts of the message the shortcut was invoked on. */
  messageTs: string;
  messageText: string;
  /** Author of that message; default `userId`. */
  messageUserId?: string;
  /** Set when the message is in a thread. */
  threadTs?: string;
}

/**
 * The body Slack POSTs for a message shortcut: `payload=<json>` urlencoded with a `message_action` payload
 * (https://api.slack.com/reference/interaction-payloads/shortcuts#message_actions).
 */
export function messageShortcutBody(options: MessageShortcutOptions): string {
  const teamId = options.teamId ?? FAKE_TEAM_ID;
  const userName = options.userName ?? defaultUserName(options.userId);
  const message: Record<string, unknown> = {
    client_msg_id: randomUUID(),
    type: 'message',
    text: options.messageText,
    user: options.messageUserId ?? options.userId,
    ts: options.messageTs,
    team: teamId,
  };
  if (options.threadTs) message.thread_ts = options.threadTs;
  const payload = {
    type: 'message_action',
    token: FAKE_VERIFICATION_TOKEN,
    action_ts: actionTs(),
    team: { id: teamId, domain: FAKE_TEAM_DOMAIN },
    user: { id: options.userId, username: userName, name: userName, team_id: teamId },
    channel: { id: options.channelId, name: options.channelName ?? defaultChannelName(options.channelId) },
    is_enterprise_install: false,
    enterprise: null,
    callback_id: options.callbackId,
    trigger_id: options.triggerId ?? fakeTriggerId(),
    response_url: options.responseUrl ?? hookUrl('app', teamId),
    message_ts: options.messageTs,
    message,
  };
  return payloadBody(payload);
}

/** Options for {@link viewSubmissionBody}. */
export interface ViewSubmissionOptions {
  userId: string;
  /** The view as `views.open` answered it (a `FakeView` fits: its bookkeeping fields are left out). */
  view: { id: string };
  /**
   * `view.state.values`: block id → action id → the input's state, e.g.
   * `{ 'restore.table': { 'restore.table': { type: 'plain_text_input', value: 'billing' } } }`.
   */
  values: Record<string, Record<string, Record<string, unknown>>>;
  /** Default: a fresh {@link fakeTriggerId}. */
  triggerId?: string;
  /** Default {@link FAKE_TEAM_ID}. */
  teamId?: string;
  /** Default: `defaultUserName(userId)`. */
  userName?: string;
}

/**
 * The body Slack POSTs when a user submits a modal: `payload=<json>` urlencoded with a
 * `view_submission` payload (https://api.slack.com/reference/interaction-payloads/views#view_submission).
 * The app answers in the HTTP response: empty to close the view, or a `response_action`.
 */
export function viewSubmissionBody(options: ViewSubmissionOptions): string {
  const teamId = options.teamId ?? FAKE_TEAM_ID;
  const userName = options.userName ?? defaultUserName(options.userId);
  const { user: _user, open: _open, ...view } = options.view as Record<string, unknown>;
  const payload = {
    type: 'view_submission',
    team: { id: teamId, domain: FAKE_TEAM_DOMAIN },
    user: { id: options.userId, username: userName, name: userName, team_id: teamId },
    api_app_id: FAKE_APP_ID,
    token: FAKE_VERIFICATION_TOKEN,
    trigger_id: options.triggerId ?? fakeTriggerId(),
    view: {
      team_id: teamId,
      type: 'modal',
      app_id: FAKE_APP_ID,
      app_installed_team_id: teamId,
      bot_id: FAKE_BOT_ID,
      ...view,
      state: { values: options.values },
    },
    response_urls: [],
    is_enterprise_install: false,
    enterprise: null,
  };
  return payloadBody(payload);
}

/** Options for {@link appMentionEventBody}. */
export interface AppMentionOptions {
  userId: string;
  channelId: string;
  /** Message text, usually starting with `<@U0CAPSTAN>`. */
  text: string;
  /** ts of the mentioning message. */
  ts: string;
  /** Event id, e.g. `Ev0CAPSTAN01`; Slack re-sends the same id on retries. */
  eventId: string;
  /** Set when the mention is a thread reply. */
  threadTs?: string;
  /** Default {@link FAKE_TEAM_ID}. */
  teamId?: string;
  /** The bot user the event is authorized for; default {@link FAKE_BOT_USER_ID}. */
  botUserId?: string;
}

/**
 * The JSON body of an Events API `event_callback` carrying an `app_mention` event
 * (https://api.slack.com/events/app_mention).
 */
export function appMentionEventBody(options: AppMentionOptions): string {
  const teamId = options.teamId ?? FAKE_TEAM_ID;
  const event: Record<string, unknown> = {
    client_msg_id: randomUUID(),
    type: 'app_mention',
    text: options.text,
    user: options.userId,
    ts: options.ts,
    team: teamId,
    channel: options.channelId,
    event_ts: options.ts,
  };
  if (options.threadTs) event.thread_ts = options.threadTs;
  const body = {
    token: FAKE_VERIFICATION_TOKEN,
    team_id: teamId,
    context_team_id: teamId,
    context_enterprise_id: null,
    api_app_id: FAKE_APP_ID,
    event,
    type: 'event_callback',
    event_id: options.eventId,
    event_time: Math.floor(Number(options.ts)) || Math.floor(Date.now() / 1000),
    authorizations: [
      {
        enterprise_id: null,
        team_id: teamId,
        user_id: options.botUserId ?? FAKE_BOT_USER_ID,
        is_bot: true,
        is_enterprise_install: false,
      },
    ],
    is_ext_shared_channel: false,
    event_context: `4-${Buffer.from(JSON.stringify({ et: 'app_mention', tid: teamId, aid: FAKE_APP_ID, cid: options.channelId })).toString('base64url')}`,
  };
  return JSON.stringify(body);
}

/** Options for {@link appHomeOpenedBody}. */
export interface AppHomeOpenedOptions {
  userId: string;
  /** The user's direct-message channel with the app (`D…`); default one derived from `userId`. */
  channelId?: string;
  /** Event id; default a fresh one (Slack re-sends the same id on retries). */
  eventId?: string;
  /** `home` (default) or `messages`: which tab was opened. */
  tab?: 'home' | 'messages';
  /** The tab as last published, which Slack includes when there is one. */
  view?: FakeHomeView;
  /** Default {@link FAKE_TEAM_ID}. */
  teamId?: string;
}

/** The direct-message channel the payload builders give `userId` with the app: `D` and the rest of the id. */
export function defaultDmChannel(userId: string): string {
  return `D${userId.replace(/^[UW]/, '')}`;
}

/**
 * The JSON body of an Events API `event_callback` carrying an `app_home_opened` event
 * (https://docs.slack.dev/reference/events/app_home_opened).
 */
export function appHomeOpenedBody(options: AppHomeOpenedOptions): string {
  const teamId = options.teamId ?? FAKE_TEAM_ID;
  const channel = options.channelId ?? defaultDmChannel(options.userId);
  const nowMicros = Date.now() * 1000;
  const eventTs = `${Math.floor(nowMicros / 1_000_000)}.${String(nowMicros % 1_000_000).padStart(6, '0')}`;
  const event: Record<string, unknown> = {
    type: 'app_home_opened',
    user: options.userId,
    channel,
    tab: options.tab ?? 'home',
    event_ts: eventTs,
  };
  if (options.view) event.view = wireHomeView(options.view);
  return eventCallbackBody(teamId, event, options.eventId);
}

/**
 * The Events API envelope (https://docs.slack.dev/apis/events-api/#callback-field) around `event`,
 * authorized for the bot user, as JSON.
 */
function eventCallbackBody(teamId: string, event: Record<string, unknown>, eventId?: string): string {
  return JSON.stringify({
    token: FAKE_VERIFICATION_TOKEN,
    team_id: teamId,
    context_team_id: teamId,
    context_enterprise_id: null,
    api_app_id: FAKE_APP_ID,
    event,
    type: 'event_callback',
    event_id: eventId ?? `Ev0${randomBytes(5).toString('hex').toUpperCase()}`,
    event_time: Math.floor(Date.now() / 1000),
    authorizations: [
      {
        enterprise_id: null,
        team_id: teamId,
        user_id: FAKE_BOT_USER_ID,
        is_bot: true,
        is_enterprise_install: false,
      },
    ],
    is_ext_shared_channel: false,
  });
}

/** Options for {@link functionExecutedBody}. */
export interface FunctionExecutedOptions {
  /** The execution the fake started (`fake.functions.start(…)`): its ids, token, step and inputs. */
  execution: FakeFunctionExecution;
  /** Event id; default a fresh one (Slack re-sends the same id on retries). */
  eventId?: string;
  /** Default {@link FAKE_TEAM_ID}. */
  teamId?: string;
}

/**
 * The JSON body of an Events API `event_callback` carrying a `function_executed` event: a workflow
 * ran one of the app's custom steps (https://docs.slack.dev/reference/events/function_executed) —
 * the step as declared (`function`), its `inputs`, `function_execution_id`, `workflow_execution_id`
 * and the execution's `bot_access_token`.
 */
export function functionExecutedBody(options: FunctionExecutedOptions): string {
  const teamId = options.teamId ?? FAKE_TEAM_ID;
  const { execution } = options;
  const nowMicros = Date.now() * 1000;
  const eventTs = `${Math.floor(nowMicros / 1_000_000)}.${String(nowMicros % 1_000_000).padStart(6, '0')}`;
  const created = Math.floor(Date.now() / 1000) - 86_400;
  const event = {
    type: 'function_executed',
    function: {
      id: `Fn0${execution.callbackId.length}${execution.executionId.slice(-6)}`,
      callback_id: execution.callbackId,
      title: execution.definition.title,
      ...(execution.definition.description ? { description: execution.definition.description } : {}),
      type: 'app',
      input_parameters: wireFunctionParameters(execution.definition.input_parameters),
      output_parameters: wireFunctionParameters(execution.definition.output_parameters),
      app_id: FAKE_APP_ID,
      date_created: created,
      date_updated: created,
      date_deleted: 0,
    },
    inputs: execution.inputs,
    function_execution_id: execution.executionId,
    workflow_execution_id: execution.workflowExecutionId,
    event_ts: eventTs,
    bot_access_token: execution.token,
  };
  return eventCallbackBody(teamId, event, options.eventId);
}

/** Options for {@link postToSlackEndpoint}. */
export interface PostToSlackOptions {
  /** Signing secret to sign the body with. */
  secret: string;
  /** Timestamp to sign with (seconds); default now. Use an old one to test replay protection. */
  timestampSec?: number;
  /** Default: `application/json` when the body starts with `{`, else `application/x-www-form-urlencoded`. */
  contentType?: string;
  /** Extra headers (e.g. `X-Slack-Retry-Num`); they override the computed ones, so a bad signature can be sent. */
  headers?: Record<string, string>;
}

/** What {@link postToSlackEndpoint} got back. */
export interface SlackEndpointResult {
  status: number;
  body: string;
  /** Round-trip time in milliseconds. */
  ms: number;
  headers: Record<string, string>;
}

/** POST `body` to the app's endpoint at `url` with Slack's headers and a valid signature. */
export async function postToSlackEndpoint(
  url: string,
  body: string,
  { secret, timestampSec, contentType, headers }: PostToSlackOptions,
): Promise<SlackEndpointResult> {
  const type =
    contentType ??
    (body.trimStart().startsWith('{') ? 'application/json' : 'application/x-www-form-urlencoded');
  const requestHeaders = new Headers({
    'Content-Type': type,
    'User-Agent': 'Slackbot 1.0 (+https://api.slack.com/robots)',
    ...signSlackRequest(secret, body, timestampSec),
  });
  // set() rather than spreading, so an override replaces the header whatever its letter case.
  for (const [name, value] of Object.entries(headers ?? {})) requestHeaders.set(name, value);
  const started = performance.now();
  const response = await fetch(url, { method: 'POST', headers: requestHeaders, body });
  const text = await response.text();
  return {
    status: response.status,
    body: text,
    ms: performance.now() - started,
    headers: Object.fromEntries(response.headers),
  };
}
