/**
 * A local, in-process fake of Slack's Web API for tests.
 *
 * Point a `WebClient` (or Bolt's `clientOptions`) at it with `slackApiUrl: fake.url`. The fake keeps the channel
 * state that the bot would produce in a real workspace (posted messages and their edits, ephemerals, uploaded files,
 * response_url posts, modals, each user's Home tab), records every HTTP request it receives, and can inject Slack-shaped failures (429 with
 * `Retry-After`, 5xx, `{ ok: false, error }`) and latency per method.
 */
import { Buffer } from 'node:buffer';
import { EventEmitter } from 'node:events';
import {
  createServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
  STATUS_CODES,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { type FakeFunctionExecution, FakeFunctions } from './slack-functions.js';

export {
  type FakeFunctionDefinition,
  type FakeFunctionExecution,
  type FakeFunctionParameter,
  slackTypeProblem,
  wireFunctionParameters,
} from './slack-functions.js';

/** Team (workspace) id the fake reports, e.g. in `auth.test`. */
export const FAKE_TEAM_ID = 'T0CAPSTAN';
/** Team name the fake reports in `auth.test`. */
export const FAKE_TEAM_NAME = 'Capstan Test';
/** Team domain; the workspace URL is `https://capstan-test.slack.com/`. */
export const FAKE_TEAM_DOMAIN = 'capstan-test';
/** User id of the bot user (`auth.test` → `user_id`; author of every posted message). */
export const FAKE_BOT_USER_ID = 'U0CAPSTAN';
/** User name of the bot user (`auth.test` → `user`). */
export const FAKE_BOT_USER_NAME = 'capstan';
/** Bot id (`auth.test` → `bot_id`). */
export const FAKE_BOT_ID = 'B0CAPSTAN';
/** App id, as found in `api_app_id` of incoming payloads and in `app_id` of posted messages. */
export const FAKE_APP_ID = 'A0CAPSTAN';
/**
 * Pseudo method name under which POSTs of file bytes to an `upload_url` (from `files.getUploadURLExternal`) are
 * recorded in {@link FakeSlack.calls}; also usable with {@link FakeSlack.failNext} and {@link FakeSlack.setDelay}.
 */
export const UPLOAD_METHOD = 'upload_url';
/**
 * Pseudo method name under which POSTs to a {@link FakeSlack.responseUrl} are recorded in
 * {@link FakeSlack.calls}; also usable with {@link FakeSlack.failNext} and {@link FakeSlack.setDelay}.
 */
export const RESPONSE_URL_METHOD = 'response_url';

/** A JSON object as found in blocks, attachments and payloads. */
export type JsonObject = Record<string, unknown>;

/**
 * A failure to inject instead of the normal answer.
 * - `ratelimited`: HTTP 429 with a `Retry-After: <retryAfterSec>` header and body `{ ok: false, error: 'ratelimited' }`.
 * - `http`: a bare HTTP error with the given status (e.g. 500, 503) and a plain-text body.
 * - `error`: HTTP 200 with `{ ok: false, error }`, e.g. `channel_not_found`.
 */
export type FakeFault =
  | { kind: 'ratelimited'; retryAfterSec: number }
  | { kind: 'http'; status: number }
  | { kind: 'error'; error: string };

/** One HTTP request the fake received and what it answered. */
export interface FakeCall {
  /**
   * Web API method (e.g. `chat.postMessage`), {@link UPLOAD_METHOD}, {@link RESPONSE_URL_METHOD}, or the request path
   * for requests to unknown routes.
   */
  method: string;
  /**
   * Decoded arguments, query string and body merged, without `token`. Form-encoded values stay strings, except that
   * `blocks`, `attachments`, `files`, `metadata` and `view` holding JSON text are parsed.
   */
  args: Record<string, unknown>;
  /** `Date.now()` when the request arrived. */
  at: number;
  /** HTTP status answered. */
  status: number;
  /** Body answered: the parsed JSON object, or the text for non-JSON answers (e.g. injected HTTP errors). */
  response: unknown;
  /** Whether the request carried an `Authorization: Bearer <token>` header. */
  authorized: boolean;
  /** The injected fault, when this answer was one. */
  fault?: FakeFault;
}

/** One version of a message's content; see {@link FakeMessage.history}. */
export interface FakeMessageVersion {
  text: string;
  blocks?: JsonObject[];
  attachments?: JsonObject[];
  /** `Date.now()` when this version was written. */
  at: number;
}

/** A message in the fake's channel state, as posted with `chat.postMessage` and edited with `chat.update`. */
export interface FakeMessage {
  channel: string;
  ts: string;
  /** Parent ts when the message is a thread reply. */
  thread_ts?: string;
  text: string;
  blocks?: JsonObject[];
  attachments?: JsonObject[];
  /** Message metadata (`metadata` argument), parsed. */
  metadata?: unknown;
  /** Author; always the bot user {@link FAKE_BOT_USER_ID} for messages posted through the API. */
  user?: string;
  bot_id?: string;
  /** Number of successful `chat.update` calls on this message. */
  updates: number;
  /** Every version of the content, oldest first: `history[0]` is as posted, the last entry is current. */
  history: FakeMessageVersion[];
}

/** An ephemeral message sent with `chat.postEphemeral`. */
export interface FakeEphemeral {
  channel: string;
  /** The user it was shown to. */
  user: string;
  /** The `message_ts` answered. */
  ts: string;
  thread_ts?: string;
  text: string;
  blocks?: JsonObject[];
  attachments?: JsonObject[];
  at: number;
}

/** Profile part of a {@link FakeUser}. */
export interface FakeUserProfile {
  real_name: string;
  display_name: string;
  email: string;
  image_48: string;
  [key: string]: unknown;
}

/** A user as answered by `users.info`. */
export interface FakeUser {
  id: string;
  team_id: string;
  name: string;
  real_name: string;
  deleted: boolean;
  is_bot: boolean;
  is_app_user: boolean;
  is_admin: boolean;
  is_owner: boolean;
  is_primary_owner: boolean;
  /** Multi-channel guest. */
  is_restricted: boolean;
  /** Single-channel guest. */
  is_ultra_restricted: boolean;
  tz: string;
  tz_label: string;
  tz_offset: number;
  profile: FakeUserProfile;
}

/** Fields to set on a user with {@link FakeSlack.setUser}; anything omitted keeps its current or default value. */
export type FakeUserInput = Partial<Omit<FakeUser, 'id' | 'profile'>> & {
  profile?: Partial<FakeUserProfile>;
};

/** A conversation as answered by `conversations.info`. */
export interface FakeChannel {
  id: string;
  name: string;
  is_channel: boolean;
  is_group: boolean;
  is_im: boolean;
  is_private: boolean;
  is_archived: boolean;
  is_member: boolean;
  created: number;
}

/** A file going through the `files.getUploadURLExternal` → upload → `files.completeUploadExternal` flow. */
export interface FakeUploadedFile {
  id: string;
  filename: string;
  /** The `length` declared to `files.getUploadURLExternal`. */
  length: number;
  /** Bytes actually received at the upload URL (0 until then). */
  bytesLength: number;
  /** The bytes received at the upload URL. */
  bytes?: Buffer;
  title?: string;
  alt_text?: string;
  snippet_type?: string;
  channel_id?: string;
  thread_ts?: string;
  initial_comment?: string;
  /** Bytes have been POSTed to the upload URL. */
  uploaded: boolean;
  /** `files.completeUploadExternal` has been called for it. */
  completed: boolean;
}

/** A POST received at a {@link FakeSlack.responseUrl}. */
export interface FakeResponse {
  /** The id the URL was built with. */
  id: string;
  /** The JSON body posted (e.g. `{ text, response_type, replace_original }`). */
  body: JsonObject;
  at: number;
}

/**
 * A modal view as the fake keeps it: Slack's view object (as `views.open`, `views.update` and
 * `views.push` answer it, https://api.slack.com/reference/surfaces/views) plus whom it is shown to.
 */
export interface FakeView {
  id: string;
  team_id: string;
  type: 'modal';
  title: JsonObject;
  submit: JsonObject | null;
  close: JsonObject | null;
  blocks: JsonObject[];
  private_metadata: string;
  callback_id: string;
  external_id: string;
  state: { values: Record<string, Record<string, JsonObject>> };
  /** Changes with every update; `views.update` with a stale `hash` fails with `hash_conflict`. */
  hash: string;
  clear_on_close: boolean;
  notify_on_close: boolean;
  root_view_id: string;
  previous_view_id: string | null;
  app_id: string;
  app_installed_team_id: string;
  bot_id: string;
  /** The user it is shown to: the one whose interaction issued the trigger (not part of Slack's object). */
  user: string;
  /** Whether it is still on the user's screen (not part of Slack's object). */
  open: boolean;
}

/**
 * A user's App Home tab as the fake keeps it: Slack's view object as `views.publish` answers it
 * (https://docs.slack.dev/reference/methods/views.publish) plus whose tab it is. One per user: a
 * publish replaces the blocks and the hash, and keeps the id.
 */
export interface FakeHomeView {
  id: string;
  team_id: string;
  type: 'home';
  blocks: JsonObject[];
  private_metadata: string;
  callback_id: string;
  external_id: string;
  state: { values: Record<string, Record<string, JsonObject>> };
  /** Changes with every publish; a publish with a stale `hash` fails with `hash_conflict`. */
  hash: string;
  root_view_id: string;
  previous_view_id: null;
  app_id: string;
  app_installed_team_id: string;
  bot_id: string;
  /** The user whose tab it is (not part of Slack's object). */
  user: string;
  /** How many times it was published (not part of Slack's object). */
  publishes: number;
}

/** Context handed to a custom method handler. */
export interface FakeHandlerContext {
  fake: FakeSlack;
  /** Whether the request carried an `Authorization: Bearer` header. */
  authorized: boolean;
}

/**
 * A custom Web API method implementation; returns the JSON body to answer with HTTP 200
 * (return `{ ok: false, error }` for a Slack error).
 */
export type FakeMethodHandler = (
  args: JsonObject,
  ctx: FakeHandlerContext,
) => JsonObject | Promise<JsonObject>;

/** Options for {@link startFakeSlack}; these seeds are restored by {@link FakeSlack.reset}. */
export interface FakeSlackOptions {
  /** Users known to `users.info`, by id. Other well-formed ids (`U…`/`W…`) get a generated profile. */
  users?: Record<string, FakeUserInput>;
  /** Members of user groups for `usergroups.users.list`, by usergroup id. */
  userGroups?: Record<string, string[]>;
  /** Conversations known to `conversations.info`, by id. Other well-formed ids (`C…`/`G…`/`D…`) are generated. */
  channels?: Record<string, Partial<FakeChannel>>;
  /** Answer `{ ok: false, error: 'not_authed' }` to Web API calls without a token. Default false. */
  requireAuth?: boolean;
}

/** Options for {@link FakeSlack.messagesIn}. */
export interface MessagesInOptions {
  /** Leave out thread replies (messages whose `thread_ts` differs from their `ts`). Default false. */
  topLevelOnly?: boolean;
}

interface Reply {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

interface ParsedRequest {
  args: JsonObject;
  authorized: boolean;
  bodyToken: boolean;
  /** The token the call carried (Authorization header or body); never recorded in {@link FakeCall}. */
  token?: string;
  /** Set when the body could not be decoded; answered as `{ ok: false, error }`. */
  error?: string;
}

const JSON_FIELDS = new Set(['blocks', 'attachments', 'files', 'metadata', 'view', 'outputs']);
const MAX_TEXT_LENGTH = 40_000;
const MAX_BLOCKS = 50;
// Modal limits (https://api.slack.com/reference/surfaces/views) and the trigger's life and stack depth
// (https://api.slack.com/surfaces/modals#lifecycle, https://api.slack.com/interactivity/handling#modal_responses).
const MAX_VIEW_BLOCKS = 100;
const MAX_VIEW_TITLE = 24;
const MAX_PRIVATE_METADATA = 3000;
const MAX_VIEW_STACK = 3;
/** How long a trigger id may be exchanged for a view, in milliseconds. */
export const TRIGGER_LIFETIME_MS = 3000;
const USER_ID = /^[UW][A-Z0-9]{2,}$/;
const CHANNEL_ID = /^[CGD][A-Z0-9]{2,}$/;

/** The user name the fake (and the payload builders) use for a user id without a configured profile. */
export function defaultUserName(userId: string): string {
  return userId === FAKE_BOT_USER_ID ? FAKE_BOT_USER_NAME : `user-${userId.toLowerCase()}`;
}

/** The channel name the fake (and the payload builders) use for a channel id without configured info. */
export function defaultChannelName(channelId: string): string {
  return `channel-${channelId.toLowerCase()}`;
}

/**
 * All human-readable text of a message: its `text` plus every string under a `text` key in its blocks and
 * attachments (and attachment `fallback`/`pretext`/`title`), joined with newlines. Handy for `toContain` assertions.
 */
export function messageText(message: { text?: string; blocks?: unknown; attachments?: unknown }): string {
  const out: string[] = [];
  if (message.text) out.push(message.text);
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) {
      for (const item of node) visit(item);
    } else if (node !== null && typeof node === 'object') {
      for (const [key, value] of Object.entries(node)) {
        if (typeof value === 'string') {
          if (key === 'text' || key === 'fallback' || key === 'pretext' || key === 'title') out.push(value);
        } else {
          visit(value);
        }
      }
    }
  };
  visit(message.blocks);
  visit(message.attachments);
  return out.join('\n');
}

/**
 * A running fake Slack Web API. Create it with {@link startFakeSlack}; stop it with {@link FakeSlack.close}.
 *
 * The arrays (`calls`, `messages`, `ephemerals`, `files`, `responses`) are live and are emptied in place by
 * {@link FakeSlack.reset}, so references to them stay valid.
 */
export class FakeSlack {
  /**
   * What changes in the fake's state, as it happens: local mode prints messages and the console
   * streams everything to the browser.
   * - `message` (message, 'posted' | 'updated'): a message posted (API or {@link FakeSlack.postAsUser}) or edited;
   * - `deleted` (message): a message removed with `chat.delete`;
   * - `ephemeral` (ephemeral): a `chat.postEphemeral`;
   * - `view` (view, 'opened' | 'updated' | 'closed'): a modal opened or pushed, updated, or taken off the screen;
   * - `file` (file): a file shared with `files.completeUploadExternal`;
   * - `home` (view): a user's Home tab published with `views.publish`;
   * - `function` (execution): a step's execution ended by `functions.completeSuccess` / `completeError`.
   */
  readonly events: EventEmitter<{
    message: [FakeMessage, 'posted' | 'updated'];
    deleted: [FakeMessage];
    ephemeral: [FakeEphemeral];
    view: [FakeView, 'opened' | 'updated' | 'closed'];
    file: [FakeUploadedFile];
    home: [FakeHomeView];
    function: [FakeFunctionExecution];
  }> = new EventEmitter();
  /** Every request received, in arrival order (including injected failures). */
  readonly calls: FakeCall[] = [];
  /** Every message posted with `chat.postMessage`, in post order; `chat.update` edits them in place. */
  readonly messages: FakeMessage[] = [];
  /** Every ephemeral message sent with `chat.postEphemeral`. */
  readonly ephemerals: FakeEphemeral[] = [];
  /** Every file announced with `files.getUploadURLExternal`, updated as its upload proceeds. */
  readonly files: FakeUploadedFile[] = [];
  /** Every POST received at a {@link FakeSlack.responseUrl}. */
  readonly responses: FakeResponse[] = [];
  /**
   * Workflow Builder step executions: start one (its id and token go into a `function_executed`
   * event), then read how the app ended it with `functions.completeSuccess` / `completeError`.
   */
  readonly functions = new FakeFunctions();

  readonly #server: Server;
  readonly #options: FakeSlackOptions;
  readonly #users = new Map<string, FakeUser>();
  readonly #groups = new Map<string, string[]>();
  readonly #channels = new Map<string, FakeChannel>();
  readonly #faults = new Map<string, FakeFault[]>();
  readonly #delays = new Map<string, number>();
  readonly #handlers = new Map<string, FakeMethodHandler>();
  readonly #closing = new AbortController();
  #allFault: FakeFault | undefined;
  #origin = '';
  #lastTsMicros = 0;
  #fileSeq = 0;
  #viewSeq = 0;
  #triggerSeq = 0;
  readonly #triggers = new Map<string, { user: string; issuedAt: number; exchanged: boolean }>();
  readonly #views: FakeView[] = [];
  readonly #homes = new Map<string, FakeHomeView>();
  /** Every version of every Home tab, oldest first. */
  readonly #homeHistory: FakeHomeView[] = [];
  #closed: Promise<void> | undefined;

  private constructor(options: FakeSlackOptions) {
    this.#options = options;
    this.#seed();
    this.#server = createServer((req, res) => {
      this.#handle(req, res).catch((error: unknown) => {
        if (!res.headersSent) {
          res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
        }
        res.end(`fake-slack internal error: ${error instanceof Error ? error.stack : String(error)}`);
      });
    });
  }

  /** @internal Use {@link startFakeSlack}. */
  static async start(options: FakeSlackOptions = {}): Promise<FakeSlack> {
    const fake = new FakeSlack(options);
    await new Promise<void>((resolve, reject) => {
      fake.#server.once('error', reject);
      fake.#server.listen(0, '127.0.0.1', () => {
        fake.#server.off('error', reject);
        resolve();
      });
    });
    const { port } = fake.#server.address() as AddressInfo;
    fake.#origin = `http://127.0.0.1:${port}`;
    return fake;
  }

  /** `http://127.0.0.1:<port>` */
  get origin(): string {
    return this.#origin;
  }

  /** The ephemeral port the fake listens on. */
  get port(): number {
    return Number(new URL(this.#origin).port);
  }

  /** Base URL to pass as `slackApiUrl`, e.g. `http://127.0.0.1:PORT/api/`. */
  get url(): string {
    return `${this.#origin}/api/`;
  }

  /** A `response_url` served by this fake; POSTs to it are recorded in {@link FakeSlack.responses} under `id`. */
  responseUrl(id: string): string {
    return `${this.#origin}/response/${encodeURIComponent(id)}`;
  }

  /** Recorded calls of one method, in arrival order. */
  callsTo(method: string): FakeCall[] {
    return this.calls.filter((call) => call.method === method);
  }

  /** Messages posted in `channel`, in post order (thread replies included unless `topLevelOnly`). */
  messagesIn(channel: string, { topLevelOnly = false }: MessagesInOptions = {}): FakeMessage[] {
    return this.messages.filter(
      (m) => m.channel === channel && (!topLevelOnly || m.thread_ts === undefined || m.thread_ts === m.ts),
    );
  }

  /** Replies in the thread rooted at `threadTs` in `channel` (the parent itself excluded), in post order. */
  threadReplies(channel: string, threadTs: string): FakeMessage[] {
    return this.messages.filter(
      (m) => m.channel === channel && m.thread_ts === threadTs && m.ts !== threadTs,
    );
  }

  /** The message with this `ts` in `channel`, if any. */
  findMessage(channel: string, ts: string): FakeMessage | undefined {
    return this.messages.find((m) => m.channel === channel && m.ts === ts);
  }

  /**
   * A message posted by a person (not the bot), as if typed in Slack's client: the incident message a
   * shortcut is used on, say. Returns it as stored.
   */
  postAsUser(user: string, channel: string, text: string, threadTs?: string): FakeMessage {
    const message: FakeMessage = {
      channel,
      ts: this.#nextTs(),
      text,
      user,
      updates: 0,
      history: [{ text, at: Date.now() }],
    };
    if (threadTs) message.thread_ts = threadTs;
    this.messages.push(message);
    this.events.emit('message', message, 'posted');
    return message;
  }

  /**
   * A trigger id for an interaction of `user`, as Slack puts in the payload it sends the app. Only
   * issued triggers open views: each one once (`exchanged_trigger_id` after), within
   * {@link TRIGGER_LIFETIME_MS} (`expired_trigger_id` after); an id never issued is `expired_trigger_id` too.
   */
  issueTrigger(user: string, triggerId?: string): string {
    this.#triggerSeq += 1;
    const id =
      triggerId ??
      `${13_345_224_609 + this.#triggerSeq}.738474920.${this.#triggerSeq.toString(16).padStart(32, '0')}`;
    this.#triggers.set(id, { user, issuedAt: Date.now(), exchanged: false });
    return id;
  }

  /** Every view opened or pushed (for `user`, if given), oldest first, each as it is now. */
  viewsOpened(user?: string): FakeView[] {
    return this.#views.filter((v) => user === undefined || v.user === user);
  }

  /** The views on `user`'s screen: the modal stack, root first (empty when no modal is open). */
  openViews(user: string): FakeView[] {
    return this.#views.filter((v) => v.user === user && v.open);
  }

  /** The view with this id, open or not. */
  findView(id: string): FakeView | undefined {
    return this.#views.find((v) => v.id === id);
  }

  /** `user`'s Home tab as last published, if it ever was. */
  homeView(user: string): FakeHomeView | undefined {
    const view = this.#homes.get(user);
    return view ? structuredClone(view) : undefined;
  }

  /** Every Home tab published (for `user`, if given), oldest first, each as it was published. */
  homePublishes(user?: string): FakeHomeView[] {
    return this.#homeHistory
      .filter((v) => user === undefined || v.user === user)
      .map((v) => structuredClone(v));
  }

  /**
   * Closes view `id` and any pushed on top of it, as Slack does when a submission is acked without a
   * `response_action` (`clear` closes the whole stack: pass the root id).
   */
  closeView(id: string): void {
    const view = this.findView(id);
    if (!view) return;
    const stack = this.openViews(view.user);
    for (const v of stack.slice(stack.indexOf(view))) {
      v.open = false;
      this.events.emit('view', v, 'closed');
    }
  }

  /** POSTs received at `responseUrl(id)`, in arrival order. */
  responsesFor(id: string): FakeResponse[] {
    return this.responses.filter((r) => r.id === id);
  }

  /**
   * Make the next `n` requests for `method` fail with `fault` (queued after faults already pending for it).
   * `method` is a Web API method name, {@link UPLOAD_METHOD} or {@link RESPONSE_URL_METHOD}.
   */
  failNext(method: string, n: number, fault: FakeFault): void {
    const queue = this.#faults.get(method) ?? [];
    for (let i = 0; i < n; i++) queue.push(fault);
    this.#faults.set(method, queue);
  }

  /** Make every request (any method) fail with `fault` until {@link FakeSlack.clearFaults}. */
  failAll(fault: FakeFault): void {
    this.#allFault = fault;
  }

  /** Drop all pending and global faults. */
  clearFaults(): void {
    this.#faults.clear();
    this.#allFault = undefined;
  }

  /** Delay answers to `method` (or `'*'` for every method) by `ms` milliseconds; 0 removes the delay. */
  setDelay(method: string, ms: number): void {
    if (ms > 0) this.#delays.set(method, ms);
    else this.#delays.delete(method);
  }

  /** Set the members of a user group answered by `usergroups.users.list`. */
  setUserGroup(id: string, users: readonly string[]): void {
    this.#groups.set(id, [...users]);
  }

  /** Create or update a user answered by `users.info`; omitted fields keep their current or default values. */
  setUser(id: string, info: FakeUserInput = {}): FakeUser {
    const user = mergeUser(this.#users.get(id) ?? defaultUser(id), info);
    this.#users.set(id, user);
    return user;
  }

  /** Create or update a conversation answered by `conversations.info`. */
  setChannel(id: string, info: Partial<FakeChannel> = {}): FakeChannel {
    const channel: FakeChannel = { ...(this.#channels.get(id) ?? defaultChannel(id)), ...info, id };
    this.#channels.set(id, channel);
    return channel;
  }

  /**
   * Implement (or override) a Web API method with `handler`; pass `undefined` to restore the built-in behaviour.
   * Faults and delays still apply to it.
   */
  setHandler(method: string, handler: FakeMethodHandler | undefined): void {
    if (handler) this.#handlers.set(method, handler);
    else this.#handlers.delete(method);
  }

  /**
   * Forget all recorded state (calls, messages, ephemerals, files, responses), faults, delays, custom handlers
   * and users/groups/channels set since start; the seeds given to {@link startFakeSlack} are restored.
   */
  reset(): void {
    this.calls.length = 0;
    this.messages.length = 0;
    this.ephemerals.length = 0;
    this.files.length = 0;
    this.responses.length = 0;
    this.#views.length = 0;
    this.#homes.clear();
    this.#homeHistory.length = 0;
    this.#triggers.clear();
    this.functions.clear();
    this.clearFaults();
    this.#delays.clear();
    this.#handlers.clear();
    this.#seed();
  }

  /** Stop the server, dropping open connections. Idempotent. */
  close(): Promise<void> {
    this.#closed ??= new Promise<void>((resolve, reject) => {
      this.#closing.abort();
      this.#server.close((error) => (error ? reject(error) : resolve()));
      this.#server.closeAllConnections();
    });
    return this.#closed;
  }

  #seed(): void {
    this.#users.clear();
    this.#groups.clear();
    this.#channels.clear();
    this.setUser(FAKE_BOT_USER_ID, {
      is_bot: true,
      real_name: 'Capstan',
      profile: { display_name: 'Capstan' },
    });
    for (const [id, info] of Object.entries(this.#options.users ?? {})) this.setUser(id, info);
    for (const [id, users] of Object.entries(this.#options.userGroups ?? {})) this.setUserGroup(id, users);
    for (const [id, info] of Object.entries(this.#options.channels ?? {})) this.setChannel(id, info);
  }

  #nextTs(): string {
    const nowMicros = Math.floor(Date.now() / 1000) * 1_000_000;
    this.#lastTsMicros = Math.max(this.#lastTsMicros + 100, nowMicros + 100);
    const seconds = Math.floor(this.#lastTsMicros / 1_000_000);
    const fraction = this.#lastTsMicros % 1_000_000;
    return `${seconds}.${String(fraction).padStart(6, '0')}`;
  }

  #takeFault(method: string): FakeFault | undefined {
    const queue = this.#faults.get(method);
    const fault = queue?.shift();
    if (queue && queue.length === 0) this.#faults.delete(method);
    return fault ?? this.#allFault;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const at = Date.now();
    const body = await readBody(req);
    const url = new URL(req.url ?? '/', this.#origin || 'http://127.0.0.1');
    const path = url.pathname;
    const authorized = /^Bearer\s+\S+/i.test(req.headers.authorization ?? '');

    const api = /^\/api\/([A-Za-z0-9_.]+)$/.exec(path);
    if (api?.[1]) {
      const method = api[1];
      const parsed = await parseArgs(req, url, body, authorized);
      await this.#answer(res, method, parsed.args, authorized, at, () => this.#callMethod(method, parsed));
      return;
    }
    const upload = /^\/upload\/v1\/([^/]+)$/.exec(path);
    if (upload?.[1]) {
      const fileId = decodeURIComponent(upload[1]);
      const received = await readUpload(req, body);
      const args = { file_id: fileId, filename: received.filename, bytesLength: received.bytes.length };
      await this.#answer(res, UPLOAD_METHOD, args, authorized, at, () =>
        this.#receiveUpload(fileId, received.bytes),
      );
      return;
    }
    const response = /^\/response\/([^/]+)$/.exec(path);
    if (response?.[1]) {
      const id = decodeURIComponent(response[1]);
      let parsed: unknown;
      try {
        parsed = JSON.parse(body.toString('utf8'));
      } catch {
        parsed = undefined;
      }
      const args = isObject(parsed) ? parsed : { raw: body.toString('utf8') };
      await this.#answer(res, RESPONSE_URL_METHOD, args, authorized, at, () => {
        if (!isObject(parsed)) return { status: 400, body: 'invalid_payload' };
        this.responses.push({ id, body: parsed, at });
        return { status: 200, body: { ok: true } };
      });
      return;
    }
    await this.#answer(res, path, {}, authorized, at, () => ({ status: 404, body: 'not_found' }));
  }

  async #answer(
    res: ServerResponse,
    method: string,
    args: JsonObject,
    authorized: boolean,
    at: number,
    produce: () => Reply | Promise<Reply>,
  ): Promise<void> {
    const fault = this.#takeFault(method);
    const delay = this.#delays.get(method) ?? this.#delays.get('*') ?? 0;
    if (delay > 0) {
      await sleep(delay, undefined, { signal: this.#closing.signal }).catch(() => undefined);
    }
    const reply = fault ? faultReply(fault) : await produce();
    const call: FakeCall = { method, args, at, status: reply.status, response: reply.body, authorized };
    if (fault) call.fault = fault;
    this.calls.push(call);
    send(res, reply);
  }

  async #callMethod(
    method: string,
    { args, authorized, bodyToken, token, error }: ParsedRequest,
  ): Promise<Reply> {
    if (error) return ok200({ ok: false, error });
    if (this.#options.requireAuth && !authorized && !bodyToken) {
      return ok200({ ok: false, error: 'not_authed' });
    }
    const custom = this.#handlers.get(method);
    if (custom) return ok200(await custom(args, { fake: this, authorized }));
    switch (method) {
      case 'auth.test':
        return ok200({
          ok: true,
          url: `https://${FAKE_TEAM_DOMAIN}.slack.com/`,
          team: FAKE_TEAM_NAME,
          user: FAKE_BOT_USER_NAME,
          team_id: FAKE_TEAM_ID,
          user_id: FAKE_BOT_USER_ID,
          bot_id: FAKE_BOT_ID,
          is_enterprise_install: false,
        });
      case 'chat.postMessage':
        return ok200(this.#postMessage(args));
      case 'chat.update':
        return ok200(this.#update(args));
      case 'chat.delete':
        return ok200(this.#delete(args));
      case 'chat.getPermalink': {
        // https://api.slack.com/methods/chat.getPermalink
        const channel = str(args.channel) ?? '';
        const ts = str(args.message_ts) ?? '';
        if (!this.findMessage(channel, ts)) return ok200({ ok: false, error: 'message_not_found' });
        return ok200({
          ok: true,
          channel,
          permalink: `https://${FAKE_TEAM_DOMAIN}.slack.com/archives/${channel}/p${ts.replace('.', '')}`,
        });
      }
      case 'chat.postEphemeral':
        return ok200(this.#postEphemeral(args));
      case 'users.info':
        return ok200(this.#usersInfo(args));
      case 'usergroups.users.list': {
        const users = this.#groups.get(str(args.usergroup) ?? '');
        return ok200(users ? { ok: true, users: [...users] } : { ok: false, error: 'no_such_subteam' });
      }
      case 'conversations.info':
        return ok200(this.#conversationsInfo(args));
      case 'conversations.history':
        return ok200(this.#conversationsHistory(args));
      case 'conversations.replies':
        return ok200(this.#conversationsReplies(args));
      case 'files.getUploadURLExternal':
        return ok200(this.#getUploadUrl(args));
      case 'files.completeUploadExternal':
        return ok200(this.#completeUpload(args));
      case 'views.open':
        return ok200(this.#openView(args, 'open'));
      case 'views.push':
        return ok200(this.#openView(args, 'push'));
      case 'views.update':
        return ok200(this.#updateView(args));
      case 'views.publish':
        return ok200(this.#publishHome(args));
      case 'functions.completeSuccess':
      case 'functions.completeError': {
        const answer = this.functions.complete(method, args, token, token?.startsWith('xoxb-') ?? false);
        const execution = this.functions.get(str(args.function_execution_id) ?? '');
        if (answer.ok === true && execution) this.events.emit('function', execution);
        return ok200(answer);
      }
      default:
        return ok200({ ok: false, error: 'unknown_method' });
    }
  }

  /** Exchanges the trigger of `args` for its user, or names Slack's error. */
  #exchangeTrigger(args: JsonObject): { user: string } | { error: string } {
    const id = str(args.trigger_id) ?? str(args.interactivity_pointer);
    if (!id) return { error: 'invalid_arguments' };
    const trigger = this.#triggers.get(id);
    if (!trigger || Date.now() - trigger.issuedAt > TRIGGER_LIFETIME_MS)
      return { error: 'expired_trigger_id' };
    if (trigger.exchanged) return { error: 'exchanged_trigger_id' };
    trigger.exchanged = true;
    return { user: trigger.user };
  }

  #openView(args: JsonObject, how: 'open' | 'push'): JsonObject {
    const content = viewContent(args.view);
    if ('error' in content) return { ok: false, error: content.error };
    const trigger = this.#exchangeTrigger(args);
    if ('error' in trigger) return { ok: false, error: trigger.error };
    const stack = this.openViews(trigger.user);
    const top = stack.at(-1);
    if (how === 'push' && !top) return { ok: false, error: 'not_found' };
    if (how === 'push' && stack.length >= MAX_VIEW_STACK) return { ok: false, error: 'push_limit_reached' };
    if (content.external_id && this.#views.some((v) => v.external_id === content.external_id)) {
      return { ok: false, error: 'duplicate_external_id' };
    }
    // A new modal replaces whatever the user had open; a pushed view goes on top of it.
    if (how === 'open') {
      for (const v of stack) {
        v.open = false;
        this.events.emit('view', v, 'closed');
      }
    }
    this.#viewSeq += 1;
    const id = `V0${String(this.#viewSeq).padStart(9, '0')}`;
    const view: FakeView = {
      id,
      team_id: FAKE_TEAM_ID,
      ...content,
      hash: viewHash(this.#viewSeq),
      root_view_id: how === 'push' && stack[0] ? stack[0].id : id,
      previous_view_id: how === 'push' && top ? top.id : null,
      app_id: FAKE_APP_ID,
      app_installed_team_id: FAKE_TEAM_ID,
      bot_id: FAKE_BOT_ID,
      user: trigger.user,
      open: true,
    };
    this.#views.push(view);
    this.events.emit('view', view, 'opened');
    return { ok: true, view: wireView(view) };
  }

  #updateView(args: JsonObject): JsonObject {
    const content = viewContent(args.view);
    if ('error' in content) return { ok: false, error: content.error };
    const id = str(args.view_id);
    const externalId = str(args.external_id);
    if (!id && !externalId) return { ok: false, error: 'invalid_arguments' };
    const view = this.#views.find((v) => (id ? v.id === id : v.external_id === externalId));
    if (!view) return { ok: false, error: 'not_found' };
    const hash = str(args.hash);
    if (hash && hash !== view.hash) return { ok: false, error: 'hash_conflict' };
    this.#viewSeq += 1;
    Object.assign(view, content, { hash: viewHash(this.#viewSeq) });
    this.events.emit('view', view, 'updated');
    return { ok: true, view: wireView(view) };
  }

  /** https://docs.slack.dev/reference/methods/views.publish: a user's Home tab, replaced whole. */
  #publishHome(args: JsonObject): JsonObject {
    const user = str(args.user_id);
    if (!user) return { ok: false, error: 'invalid_arguments' };
    if (!USER_ID.test(user)) return { ok: false, error: 'user_not_found' };
    const content = homeViewContent(args.view);
    if ('error' in content) return { ok: false, error: content.error };
    const current = this.#homes.get(user);
    const hash = str(args.hash);
    if (hash && current && hash !== current.hash) return { ok: false, error: 'hash_conflict' };
    this.#viewSeq += 1;
    const id = current?.id ?? `V0${String(this.#viewSeq).padStart(9, '0')}`;
    const view: FakeHomeView = {
      id,
      team_id: FAKE_TEAM_ID,
      ...content,
      state: { values: {} },
      hash: viewHash(this.#viewSeq),
      root_view_id: id,
      previous_view_id: null,
      app_id: FAKE_APP_ID,
      app_installed_team_id: FAKE_TEAM_ID,
      bot_id: FAKE_BOT_ID,
      user,
      publishes: (current?.publishes ?? 0) + 1,
    };
    this.#homes.set(user, view);
    this.#homeHistory.push(structuredClone(view));
    this.events.emit('home', view);
    return { ok: true, view: wireHomeView(view) };
  }

  #wireMessage(message: FakeMessage): JsonObject {
    const wire: JsonObject = {
      type: 'message',
      text: message.text,
      user: message.user,
      bot_id: message.bot_id,
      app_id: FAKE_APP_ID,
      team: FAKE_TEAM_ID,
      ts: message.ts,
      bot_profile: {
        id: FAKE_BOT_ID,
        app_id: FAKE_APP_ID,
        name: 'Capstan',
        deleted: false,
        team_id: FAKE_TEAM_ID,
        icons: { image_36: 'https://a.slack-edge.com/80588/img/plugins/app/bot_36.png' },
      },
    };
    if (message.blocks) wire.blocks = message.blocks;
    if (message.attachments) wire.attachments = message.attachments;
    if (message.metadata !== undefined) wire.metadata = message.metadata;
    if (message.thread_ts !== undefined && message.thread_ts !== message.ts) {
      wire.thread_ts = message.thread_ts;
      wire.parent_user_id = this.findMessage(message.channel, message.thread_ts)?.user ?? FAKE_BOT_USER_ID;
    } else {
      // A parent carries its thread's summary, as Slack shows it in history.
      const replies = this.threadReplies(message.channel, message.ts);
      const latest = replies.at(-1);
      if (latest) {
        const users = [...new Set(replies.map((r) => r.user ?? FAKE_BOT_USER_ID))];
        Object.assign(wire, {
          thread_ts: message.ts,
          reply_count: replies.length,
          reply_users_count: users.length,
          reply_users: users,
          latest_reply: latest.ts,
        });
      }
    }
    if (message.updates > 0) {
      const editedAt = message.history.at(-1)?.at ?? Date.now();
      wire.edited = { user: FAKE_BOT_USER_ID, ts: `${Math.floor(editedAt / 1000)}.000000` };
    }
    return wire;
  }

  #postMessage(args: JsonObject): JsonObject {
    const channel = str(args.channel);
    if (!channel) return { ok: false, error: 'channel_not_found' };
    const content = messageContent(args);
    if ('error' in content) return { ok: false, error: content.error };
    if (content.text === undefined && !content.blocks && !content.attachments)
      return { ok: false, error: 'no_text' };
    const metadataError = checkMetadata(args.metadata);
    if (metadataError) return { ok: false, error: metadataError };
    const text = content.text ?? '';
    const message: FakeMessage = {
      channel,
      ts: this.#nextTs(),
      text,
      user: FAKE_BOT_USER_ID,
      bot_id: FAKE_BOT_ID,
      updates: 0,
      history: [{ text, blocks: content.blocks, attachments: content.attachments, at: Date.now() }],
    };
    const threadTs = str(args.thread_ts);
    if (threadTs) message.thread_ts = threadTs;
    if (content.blocks) message.blocks = content.blocks;
    if (content.attachments) message.attachments = content.attachments;
    if (args.metadata !== undefined) message.metadata = args.metadata;
    this.messages.push(message);
    this.events.emit('message', message, 'posted');
    return { ok: true, channel, ts: message.ts, message: this.#wireMessage(message) };
  }

  #update(args: JsonObject): JsonObject {
    const channel = str(args.channel);
    if (!channel) return { ok: false, error: 'channel_not_found' };
    const ts = str(args.ts);
    const message = ts ? this.findMessage(channel, ts) : undefined;
    if (!message) return { ok: false, error: 'message_not_found' };
    const content = messageContent(args);
    if ('error' in content) return { ok: false, error: content.error };
    if (content.text === undefined && !('blocks' in args) && !('attachments' in args)) {
      return { ok: false, error: 'no_text' };
    }
    const metadataError = checkMetadata(args.metadata);
    if (metadataError) return { ok: false, error: metadataError };
    if (content.text !== undefined) message.text = content.text;
    // Per Slack docs, omitted blocks/attachments are retained and an empty array removes them.
    if ('blocks' in args) message.blocks = content.blocks;
    if ('attachments' in args) message.attachments = content.attachments;
    if (args.metadata !== undefined) message.metadata = args.metadata;
    message.updates += 1;
    message.history.push({
      text: message.text,
      blocks: message.blocks,
      attachments: message.attachments,
      at: Date.now(),
    });
    this.events.emit('message', message, 'updated');
    return { ok: true, channel, ts: message.ts, text: message.text, message: this.#wireMessage(message) };
  }

  #delete(args: JsonObject): JsonObject {
    const channel = str(args.channel);
    if (!channel) return { ok: false, error: 'channel_not_found' };
    const ts = str(args.ts);
    const index = this.messages.findIndex((m) => m.channel === channel && m.ts === ts);
    if (index < 0) return { ok: false, error: 'message_not_found' };
    const [deleted] = this.messages.splice(index, 1);
    if (deleted) this.events.emit('deleted', deleted);
    return { ok: true, channel, ts };
  }

  #postEphemeral(args: JsonObject): JsonObject {
    const channel = str(args.channel);
    if (!channel) return { ok: false, error: 'channel_not_found' };
    const user = str(args.user);
    if (!user) return { ok: false, error: 'user_not_in_channel' };
    const content = messageContent(args);
    if ('error' in content) return { ok: false, error: content.error };
    if (content.text === undefined && !content.blocks && !content.attachments)
      return { ok: false, error: 'no_text' };
    const ephemeral: FakeEphemeral = {
      channel,
      user,
      ts: this.#nextTs(),
      text: content.text ?? '',
      at: Date.now(),
    };
    const threadTs = str(args.thread_ts);
    if (threadTs) ephemeral.thread_ts = threadTs;
    if (content.blocks) ephemeral.blocks = content.blocks;
    if (content.attachments) ephemeral.attachments = content.attachments;
    this.ephemerals.push(ephemeral);
    this.events.emit('ephemeral', ephemeral);
    return { ok: true, message_ts: ephemeral.ts };
  }

  #usersInfo(args: JsonObject): JsonObject {
    const id = str(args.user) ?? '';
    const known = this.#users.get(id);
    if (known) return { ok: true, user: structuredClone(known) };
    if (USER_ID.test(id)) return { ok: true, user: defaultUser(id) };
    return { ok: false, error: 'user_not_found' };
  }

  #conversationsInfo(args: JsonObject): JsonObject {
    const id = str(args.channel) ?? '';
    const known = this.#channels.get(id);
    if (known) return { ok: true, channel: structuredClone(known) };
    if (CHANNEL_ID.test(id)) return { ok: true, channel: defaultChannel(id) };
    return { ok: false, error: 'channel_not_found' };
  }

  /**
   * The conversation's top-level messages (thread replies left out), newest first, within
   * `oldest`/`latest` (exclusive unless `inclusive`), `limit` per page with cursor pagination.
   * Metadata only with `include_all_metadata`. https://docs.slack.dev/reference/methods/conversations.history
   */
  #conversationsHistory(args: JsonObject): JsonObject {
    const channel = str(args.channel);
    const denied = this.#readDenied(channel);
    if (denied) return { ok: false, error: denied };
    const window = timeWindow(args);
    if ('error' in window) return { ok: false, error: window.error };
    const topLevel = this.messages
      .filter((m) => m.channel === channel && (m.thread_ts === undefined || m.thread_ts === m.ts))
      .filter((m) => window.contains(m.ts))
      .sort((a, b) => compareTs(b.ts, a.ts));
    const page = this.#readPage(topLevel, args, { defaultLimit: 100, maxLimit: 999, descending: true });
    if (!page.ok) return page;
    return { ...page, pin_count: 0, channel_actions_ts: null, channel_actions_count: 0 };
  }

  /**
   * A thread: its parent first (on the first page, whatever the time window), then the replies
   * oldest first within `oldest`/`latest`, `limit` per page with cursor pagination. `ts` may be the
   * parent's or any reply's; a message without replies is answered alone. Metadata only with
   * `include_all_metadata`. https://docs.slack.dev/reference/methods/conversations.replies
   */
  #conversationsReplies(args: JsonObject): JsonObject {
    const channel = str(args.channel);
    const denied = this.#readDenied(channel);
    if (denied) return { ok: false, error: denied };
    const asked = this.findMessage(channel ?? '', str(args.ts) ?? '');
    if (!asked) return { ok: false, error: 'thread_not_found' };
    const parent = asked.thread_ts ? this.findMessage(asked.channel, asked.thread_ts) : asked;
    if (!parent) return { ok: false, error: 'thread_not_found' };
    const window = timeWindow(args);
    if ('error' in window) return { ok: false, error: window.error };
    const replies = this.threadReplies(parent.channel, parent.ts)
      .filter((m) => window.contains(m.ts))
      .sort((a, b) => compareTs(a.ts, b.ts));
    const first = str(args.cursor) === undefined;
    return this.#readPage(first ? [parent, ...replies] : replies, args, {
      defaultLimit: 1000,
      maxLimit: 1000,
      descending: false,
    });
  }

  /** One page of `messages` as a history read answers it (`limit`/`cursor`; metadata only when asked for). */
  #readPage(
    messages: FakeMessage[],
    args: JsonObject,
    paging: Parameters<typeof paginate>[2],
  ): JsonObject & { ok: boolean } {
    const page = paginate(messages, args, paging);
    if ('error' in page) return { ok: false, error: page.error };
    const metadata = truthy(args.include_all_metadata);
    return {
      ok: true,
      messages: page.items.map((m) => this.#readMessage(m, metadata)),
      has_more: page.nextCursor !== undefined,
      ...(page.nextCursor ? { response_metadata: { next_cursor: page.nextCursor } } : {}),
    };
  }

  /** Why the bot may not read `channel`'s history, if it may not (Slack's error code). */
  #readDenied(channel: string | undefined): string | undefined {
    if (!channel || !CHANNEL_ID.test(channel)) return 'channel_not_found';
    const info = this.#channels.get(channel);
    // Slack hides private conversations the bot is not in; public ones it names.
    if (info?.is_member === false) return info.is_private ? 'channel_not_found' : 'not_in_channel';
    return undefined;
  }

  /** A message as the history methods answer it: with thread details, metadata only on request. */
  #readMessage(message: FakeMessage, withMetadata: boolean): JsonObject {
    const wire = this.#wireMessage(message);
    if (!withMetadata) delete wire.metadata;
    return wire;
  }

  #getUploadUrl(args: JsonObject): JsonObject {
    const filename = str(args.filename);
    const length = Number(args.length);
    if (!filename || !Number.isInteger(length) || length <= 0)
      return { ok: false, error: 'invalid_arguments' };
    this.#fileSeq += 1;
    const id = `F0${String(this.#fileSeq).padStart(9, '0')}`;
    const file: FakeUploadedFile = {
      id,
      filename,
      length,
      bytesLength: 0,
      uploaded: false,
      completed: false,
    };
    const altText = str(args.alt_text);
    if (altText) file.alt_text = altText;
    const snippetType = str(args.snippet_type);
    if (snippetType) file.snippet_type = snippetType;
    this.files.push(file);
    return { ok: true, upload_url: `${this.#origin}/upload/v1/${id}`, file_id: id };
  }

  #receiveUpload(fileId: string, bytes: Buffer): Reply {
    const file = this.files.find((f) => f.id === fileId);
    if (!file) return { status: 404, body: 'file_not_found' };
    file.bytes = bytes;
    file.bytesLength = bytes.length;
    file.uploaded = true;
    return { status: 200, body: `OK - ${bytes.length}` };
  }

  #completeUpload(args: JsonObject): JsonObject {
    const requested = args.files;
    if (!Array.isArray(requested) || requested.length === 0) return { ok: false, error: 'invalid_arguments' };
    const completed: FakeUploadedFile[] = [];
    for (const entry of requested) {
      const file = isObject(entry) ? this.files.find((f) => f.id === entry.id) : undefined;
      if (!file) return { ok: false, error: 'file_not_found' };
      completed.push(file);
    }
    const channelId = str(args.channel_id) ?? str(args.channels);
    const threadTs = str(args.thread_ts);
    const comment = str(args.initial_comment);
    const created = Math.floor(Date.now() / 1000);
    const answered = completed.map((file, i) => {
      const entry = requested[i] as JsonObject;
      file.title = str(entry.title) ?? file.title ?? file.filename;
      if (channelId) file.channel_id = channelId;
      if (threadTs) file.thread_ts = threadTs;
      if (comment) file.initial_comment = comment;
      file.completed = true;
      this.events.emit('file', file);
      const name = encodeURIComponent(file.filename);
      return {
        id: file.id,
        created,
        timestamp: created,
        name: file.filename,
        title: file.title,
        mimetype: mimeType(file.filename),
        user: FAKE_BOT_USER_ID,
        user_team: FAKE_TEAM_ID,
        size: file.bytesLength,
        mode: 'hosted',
        is_external: false,
        is_public: false,
        url_private: `https://files.slack.com/files-pri/${FAKE_TEAM_ID}-${file.id}/${name}`,
        url_private_download: `https://files.slack.com/files-pri/${FAKE_TEAM_ID}-${file.id}/download/${name}`,
        permalink: `https://${FAKE_TEAM_DOMAIN}.slack.com/files/${FAKE_BOT_USER_ID}/${file.id}/${name}`,
      };
    });
    return { ok: true, files: answered };
  }
}

/**
 * Start a fake Slack Web API on `127.0.0.1` on an ephemeral port.
 *
 * @example
 * const fake = await startFakeSlack();
 * const client = new WebClient('xoxb-test', { slackApiUrl: fake.url });
 * await client.chat.postMessage({ channel: 'C0OPS', text: 'hi' });
 * expect(fake.messagesIn('C0OPS')[0]?.text).toBe('hi');
 * await fake.close();
 */
export function startFakeSlack(options: FakeSlackOptions = {}): Promise<FakeSlack> {
  return FakeSlack.start(options);
}

function ok200(body: JsonObject): Reply {
  return { status: 200, body };
}

function faultReply(fault: FakeFault): Reply {
  switch (fault.kind) {
    case 'ratelimited':
      return {
        status: 429,
        body: { ok: false, error: 'ratelimited' },
        headers: { 'retry-after': String(fault.retryAfterSec) },
      };
    case 'http':
      return { status: fault.status, body: STATUS_CODES[fault.status] ?? `HTTP ${fault.status}` };
    case 'error':
      return { status: 200, body: { ok: false, error: fault.error } };
  }
}

function send(res: ServerResponse, reply: Reply): void {
  const text = typeof reply.body === 'string';
  const payload = text ? (reply.body as string) : JSON.stringify(reply.body);
  res.writeHead(reply.status, {
    'content-type': text ? 'text/plain; charset=utf-8' : 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(payload)),
    ...reply.headers,
  });
  res.end(payload);
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req)
    chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks);
}

function isObject(value: unknown): value is JsonObject {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** A non-empty string argument (numbers are stringified), else undefined. */
function str(value: unknown): string | undefined {
  if (typeof value === 'string') return value === '' ? undefined : value;
  if (typeof value === 'number') return String(value);
  return undefined;
}

async function parseArgs(
  req: IncomingMessage,
  url: URL,
  body: Buffer,
  authorized: boolean,
): Promise<ParsedRequest> {
  const args: JsonObject = Object.fromEntries(url.searchParams);
  const contentType = req.headers['content-type'] ?? '';
  const mediaType = contentType.toLowerCase();
  let error: string | undefined;
  if (body.length > 0) {
    if (mediaType.startsWith('application/json')) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(body.toString('utf8'));
      } catch {
        error = 'invalid_json';
      }
      if (isObject(parsed)) Object.assign(args, parsed);
      else error = 'invalid_json';
    } else if (mediaType.startsWith('multipart/form-data')) {
      const form = await new Response(body, { headers: { 'content-type': contentType } }).formData();
      for (const [key, value] of form) {
        args[key] =
          typeof value === 'string' ? value : { filename: value.name, size: value.size, type: value.type };
      }
    } else {
      Object.assign(args, Object.fromEntries(new URLSearchParams(body.toString('utf8'))));
    }
  }
  const bodyToken = typeof args.token === 'string' && args.token !== '';
  const token =
    /^Bearer\s+(\S+)/i.exec(req.headers.authorization ?? '')?.[1] ??
    (bodyToken ? String(args.token) : undefined);
  delete args.token;
  for (const key of JSON_FIELDS) {
    const value = args[key];
    if (typeof value !== 'string') continue;
    try {
      const decoded: unknown = JSON.parse(value);
      if (decoded !== null && typeof decoded === 'object') args[key] = decoded;
    } catch {
      // Leave malformed JSON as the raw string; the method reports it (e.g. invalid_blocks_format).
    }
  }
  const parsed: ParsedRequest = { args, authorized, bodyToken, ...(token ? { token } : {}) };
  if (error) parsed.error = error;
  return parsed;
}

async function readUpload(req: IncomingMessage, body: Buffer): Promise<{ bytes: Buffer; filename?: string }> {
  const contentType = req.headers['content-type'] ?? '';
  if (!contentType.toLowerCase().startsWith('multipart/form-data')) return { bytes: body };
  const form = await new Response(body, { headers: { 'content-type': contentType } }).formData();
  for (const [, value] of form) {
    if (typeof value !== 'string')
      return { bytes: Buffer.from(await value.arrayBuffer()), filename: value.name };
  }
  const first = [...form.values()][0];
  return { bytes: Buffer.from(typeof first === 'string' ? first : '') };
}

/** Whether a boolean argument is set, as Slack reads them (`true`, `1`). */
function truthy(value: unknown): boolean {
  return value === true || value === 1 || value === 'true' || value === '1';
}

/** A Slack timestamp (`seconds[.micros]`) as microseconds, or undefined when it is not one. */
function tsMicros(ts: string): bigint | undefined {
  const match = /^(\d+)(?:\.(\d{0,6})\d*)?$/.exec(ts);
  if (!match) return undefined;
  return BigInt(match[1] ?? '0') * 1_000_000n + BigInt((match[2] ?? '').padEnd(6, '0'));
}

/** Orders two message timestamps. */
function compareTs(a: string, b: string): number {
  const x = tsMicros(a) ?? 0n;
  const y = tsMicros(b) ?? 0n;
  return x < y ? -1 : x > y ? 1 : 0;
}

/** The `oldest`/`latest`/`inclusive` window of the history methods, or Slack's error for a bad bound. */
function timeWindow(args: JsonObject): { contains: (ts: string) => boolean } | { error: string } {
  const bound = (name: 'oldest' | 'latest'): bigint | undefined | { error: string } => {
    const value = str(args[name]);
    if (value === undefined) return undefined;
    return tsMicros(value) ?? { error: `invalid_ts_${name}` };
  };
  const oldest = bound('oldest');
  const latest = bound('latest');
  if (typeof oldest === 'object') return oldest;
  if (typeof latest === 'object') return latest;
  const inclusive = truthy(args.inclusive);
  return {
    contains: (ts) => {
      const at = tsMicros(ts) ?? 0n;
      if (oldest !== undefined && (inclusive ? at < oldest : at <= oldest)) return false;
      if (latest !== undefined && (inclusive ? at > latest : at >= latest)) return false;
      return true;
    },
  };
}

/**
 * One page of `items` (sorted by ts, newest first when `descending`) after `args.cursor`,
 * `args.limit` long. The cursor is opaque to callers, as Slack's are: here base64 of
 * `next_ts:<ts>`, the last ts answered, so messages posted or deleted between pages do not shift it.
 */
function paginate<T extends { ts: string }>(
  items: T[],
  args: JsonObject,
  { defaultLimit, maxLimit, descending }: { defaultLimit: number; maxLimit: number; descending: boolean },
): { items: T[]; nextCursor?: string } | { error: string } {
  const requested = Number(args.limit ?? defaultLimit);
  const limit =
    Number.isFinite(requested) && requested > 0 ? Math.min(Math.floor(requested), maxLimit) : defaultLimit;
  let rest = items;
  const cursor = str(args.cursor);
  if (cursor) {
    const after = /^next_ts:(.+)$/.exec(Buffer.from(cursor, 'base64').toString('utf8'))?.[1];
    if (!after || tsMicros(after) === undefined) return { error: 'invalid_cursor' };
    rest = items.filter((m) => (descending ? compareTs(m.ts, after) < 0 : compareTs(m.ts, after) > 0));
  }
  const page = rest.slice(0, limit);
  const last = page.at(-1);
  if (rest.length <= limit || !last) return { items: page };
  return { items: page, nextCursor: Buffer.from(`next_ts:${last.ts}`).toString('base64') };
}

/**
 * Slack's check of a `metadata` argument (https://docs.slack.dev/messaging/message-metadata):
 * JSON with a string `event_type` and an object `event_payload`; undefined when it passes.
 */
function checkMetadata(metadata: unknown): string | undefined {
  if (metadata === undefined || metadata === '') return undefined;
  if (!isObject(metadata)) return 'invalid_metadata_format';
  if ('entities' in metadata && !('event_type' in metadata)) return undefined;
  if (
    typeof metadata.event_type !== 'string' ||
    metadata.event_type === '' ||
    !isObject(metadata.event_payload)
  )
    return 'invalid_metadata_schema';
  return undefined;
}

type MessageContent =
  | { text?: string; blocks?: JsonObject[]; attachments?: JsonObject[] }
  | { error: string };

/** Validates and extracts text/blocks/attachments the way chat.* methods do; empty arrays count as absent. */
function messageContent(args: JsonObject): MessageContent {
  const out: { text?: string; blocks?: JsonObject[]; attachments?: JsonObject[] } = {};
  if (args.text !== undefined && args.text !== '') out.text = String(args.text);
  if (out.text !== undefined && out.text.length > MAX_TEXT_LENGTH) return { error: 'msg_too_long' };
  if (args.blocks !== undefined && args.blocks !== '') {
    if (!Array.isArray(args.blocks) || !args.blocks.every(isObject))
      return { error: 'invalid_blocks_format' };
    if (args.blocks.length > MAX_BLOCKS) return { error: 'invalid_blocks' };
    if (args.blocks.length > 0) out.blocks = args.blocks;
  }
  if (args.attachments !== undefined && args.attachments !== '') {
    if (!Array.isArray(args.attachments) || !args.attachments.every(isObject))
      return { error: 'invalid_attachments' };
    if (args.attachments.length > 0) out.attachments = args.attachments;
  }
  return out;
}

type ViewContent = Pick<
  FakeView,
  | 'type'
  | 'title'
  | 'submit'
  | 'close'
  | 'blocks'
  | 'private_metadata'
  | 'callback_id'
  | 'external_id'
  | 'state'
  | 'clear_on_close'
  | 'notify_on_close'
>;

/** Validates a `view` argument the way `views.*` methods do (only modals); Slack's `invalid_arguments` otherwise. */
function viewContent(view: unknown): ViewContent | { error: string } {
  const invalid = { error: 'invalid_arguments' };
  if (!isObject(view) || view.type !== 'modal') return invalid;
  const { title, submit, close, blocks } = view;
  const plainText = (v: unknown, max: number): v is JsonObject =>
    isObject(v) && v.type === 'plain_text' && typeof v.text === 'string' && v.text.length <= max;
  if (!plainText(title, MAX_VIEW_TITLE)) return invalid;
  if (submit !== undefined && !plainText(submit, MAX_VIEW_TITLE)) return invalid;
  if (close !== undefined && !plainText(close, MAX_VIEW_TITLE)) return invalid;
  if (!Array.isArray(blocks) || blocks.length > MAX_VIEW_BLOCKS || !blocks.every(isObject)) return invalid;
  const metadata = view.private_metadata ?? '';
  if (typeof metadata !== 'string' || metadata.length > MAX_PRIVATE_METADATA) return invalid;
  return {
    type: 'modal',
    title,
    submit: submit ?? null,
    close: close ?? null,
    blocks: structuredClone(blocks),
    private_metadata: metadata,
    callback_id: typeof view.callback_id === 'string' ? view.callback_id : '',
    external_id: typeof view.external_id === 'string' ? view.external_id : '',
    state: { values: {} },
    clear_on_close: view.clear_on_close === true,
    notify_on_close: view.notify_on_close === true,
  };
}

/** Validates the `view` of `views.publish` (a Home tab, https://docs.slack.dev/reference/views/home-tab-views). */
function homeViewContent(
  view: unknown,
):
  | Pick<FakeHomeView, 'type' | 'blocks' | 'private_metadata' | 'callback_id' | 'external_id'>
  | { error: string } {
  const invalid = { error: 'invalid_arguments' };
  if (!isObject(view) || view.type !== 'home') return invalid;
  const { blocks } = view;
  if (!Array.isArray(blocks) || blocks.length > MAX_VIEW_BLOCKS || !blocks.every(isObject)) return invalid;
  const metadata = view.private_metadata ?? '';
  if (typeof metadata !== 'string' || metadata.length > MAX_PRIVATE_METADATA) return invalid;
  const callbackId = view.callback_id ?? '';
  if (typeof callbackId !== 'string' || callbackId.length > 255) return invalid;
  return {
    type: 'home',
    blocks: structuredClone(blocks),
    private_metadata: metadata,
    callback_id: callbackId,
    external_id: typeof view.external_id === 'string' ? view.external_id : '',
  };
}

/** A Home tab as Slack answers it and puts it in `block_actions` payloads: without the fake's bookkeeping. */
export function wireHomeView(view: FakeHomeView): JsonObject {
  const { user: _user, publishes: _publishes, ...wire } = view;
  return structuredClone({
    ...wire,
    close: null,
    submit: null,
    clear_on_close: false,
    notify_on_close: false,
  });
}

/** A view hash shaped like Slack's (`1569362015.55b5e41b`). */
function viewHash(seq: number): string {
  return `${Math.floor(Date.now() / 1000)}.${seq.toString(16).padStart(8, '0')}`;
}

/** The view as Slack answers it: without the fake's own bookkeeping. */
function wireView(view: FakeView): JsonObject {
  const { user: _user, open: _open, ...wire } = view;
  return structuredClone(wire);
}

function defaultUser(id: string): FakeUser {
  const name = defaultUserName(id);
  return {
    id,
    team_id: FAKE_TEAM_ID,
    name,
    real_name: name,
    deleted: false,
    is_bot: false,
    is_app_user: false,
    is_admin: false,
    is_owner: false,
    is_primary_owner: false,
    is_restricted: false,
    is_ultra_restricted: false,
    tz: 'Etc/UTC',
    tz_label: 'Coordinated Universal Time',
    tz_offset: 0,
    profile: {
      real_name: name,
      display_name: name,
      email: `${name}@${FAKE_TEAM_DOMAIN}.example.com`,
      image_48: `https://secure.gravatar.com/avatar/${id.toLowerCase()}.jpg?s=48`,
    },
  };
}

function mergeUser(base: FakeUser, info: FakeUserInput): FakeUser {
  const { profile, ...rest } = info;
  const merged: FakeUser = { ...base, ...rest, id: base.id, profile: { ...base.profile, ...profile } };
  // Keep profile.real_name in step with real_name unless the profile names it explicitly.
  if (rest.real_name !== undefined && profile?.real_name === undefined)
    merged.profile.real_name = rest.real_name;
  return merged;
}

function defaultChannel(id: string): FakeChannel {
  const isIm = id.startsWith('D');
  const isPrivate = id.startsWith('G');
  return {
    id,
    name: defaultChannelName(id),
    is_channel: !isIm && !isPrivate,
    is_group: isPrivate,
    is_im: isIm,
    is_private: isPrivate || isIm,
    is_archived: false,
    is_member: true,
    created: 1_700_000_000,
  };
}

function mimeType(filename: string): string {
  const ext = filename.slice(filename.lastIndexOf('.') + 1).toLowerCase();
  const types: Record<string, string> = {
    txt: 'text/plain',
    log: 'text/plain',
    md: 'text/markdown',
    csv: 'text/csv',
    json: 'application/json',
    yaml: 'application/yaml',
    yml: 'application/yaml',
    pdf: 'application/pdf',
    png: 'image/png',
    jpg: 'image/jpeg',
    jpeg: 'image/jpeg',
    gz: 'application/gzip',
    zip: 'application/zip',
  };
  return types[ext] ?? 'application/octet-stream';
}
