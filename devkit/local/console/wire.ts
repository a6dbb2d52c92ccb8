/**
 * What the console's back end (`server.ts`) and its page (`browser/app.ts`) say to each other over
 * `/console/api/*`: the state, the Server-Sent Events, and the bodies of the POST routes. Types only,
 * with no import, so the page's TypeScript project (`browser/tsconfig.json`, DOM and no Node) checks
 * the page against the very types the server builds its answers with.
 */

/** A JSON object as Slack sends it: Block Kit blocks, attachments, text objects, view state. */
export type JsonObject = Record<string, unknown>;

/** A person the console can act as (the user switcher lists them in this order). */
export interface ConsoleUser {
  /** Slack user id, e.g. `U0ALICE`. */
  id: string;
  /** Handle shown and sent as `user_name`, e.g. `alice`. */
  name: string;
  /** What they are, shown beside the name, e.g. `engineer` or `approver`. */
  title?: string;
}

/** A channel shown in the sidebar (in this order; channels Capstan posts to otherwise are added after). */
export interface ConsoleChannel {
  /** Slack channel id, e.g. `C0OPS`. */
  id: string;
  /** Name without `#`, e.g. `ops`. */
  name: string;
}

/** A message shortcut offered in a message's "…" menu. */
export interface ConsoleShortcut {
  callbackId: string;
  /** What the menu says. */
  name: string;
}

/** A channel message or thread reply, as the page shows it. */
export interface WireMessage {
  channel: string;
  ts: string;
  /** Parent ts when the message is in a thread (the parent itself has its own ts here, or null). */
  thread_ts: string | null;
  user: string | null;
  /** Posted by Capstan. */
  bot: boolean;
  text: string;
  blocks: JsonObject[] | null;
  attachments: JsonObject[] | null;
  /** Updated since it was posted. */
  edited: boolean;
}

/** A private reply shown to one user: Capstan's `chat.postEphemeral`, or its answer to a slash command. */
export interface WireEphemeral {
  channel: string;
  /** The user it is shown to. */
  user: string;
  ts: string;
  thread_ts?: string | null;
  text: string;
  blocks?: JsonObject[] | null;
  attachments?: JsonObject[] | null;
  /** The command it answers, e.g. `/lb disable prod`. */
  command?: string;
}

/** A modal open for one user. */
export interface WireView {
  id: string;
  root_view_id: string;
  callback_id: string;
  title: JsonObject;
  submit: JsonObject | null;
  close: JsonObject | null;
  blocks: JsonObject[];
  /** Changes with every update. */
  hash: string;
  open: boolean;
}

/** A file Capstan uploaded and shared in a channel. */
export interface WireFile {
  id: string;
  /** File name, e.g. `restore.png`. */
  name: string;
  title: string;
  alt: string;
  mimetype: string;
  size: number;
  /** `/console/files/<id>` */
  url: string;
  channel: string;
  thread_ts: string | null;
  /** Its `initial_comment` (mrkdwn), or empty. */
  comment: string;
  /** When it was shared, as a message ts: files sort among the messages by it. */
  ts: string;
}

/** A user's App Home tab as Capstan last published it (`views.publish`). */
export interface WireHome {
  /** The view's id: it stays the same from one publish to the next. */
  id: string;
  /** Changes with every publish. */
  hash: string;
  blocks: JsonObject[];
}

/** One input of a Workflow Builder step, as the manifest's `functions` declares it. */
export interface WireStepInput {
  name: string;
  /** Slack's type, e.g. `string`, `integer`, `slack#/types/user_id`, `slack#/types/timestamp`. */
  type: string;
  title: string;
  description: string;
  required: boolean;
  hint?: string;
}

/** A Workflow Builder step Capstan declares (`functions.<callback_id>` of manifest.yml). */
export interface WireStep {
  callbackId: string;
  title: string;
  description: string;
  inputs: WireStepInput[];
}

/** A step's run started from the console, and how Capstan ended it. */
export interface WireStepRun {
  /** `function_execution_id`, e.g. `Fx0000000001`. */
  executionId: string;
  callbackId: string;
  title: string;
  /** Who ran it from the console. */
  user: string;
  inputs: Record<string, unknown>;
  state: 'running' | 'completed' | 'failed';
  /** `functions.completeSuccess`'s outputs, each with its parameter's title. */
  outputs?: Array<{ name: string; title: string; value: unknown }>;
  /** `functions.completeError`'s error. */
  error?: string;
  /** Capstan's HTTP status for the `function_executed` event. */
  status: number;
}

/** `GET /console/api/state?user=`: everything the page shows, that user's private parts only. */
export interface ConsoleState {
  workspace: string;
  bot: { id: string; name: string };
  users: readonly ConsoleUser[];
  channels: ConsoleChannel[];
  shortcuts: readonly ConsoleShortcut[];
  commands: readonly string[];
  messages: WireMessage[];
  ephemerals: WireEphemeral[];
  views: WireView[];
  files: WireFile[];
  /**
   * That user's direct-message channel with Capstan (Slack's Messages tab of the app, where jobs
   * started from the Home tab report). Only they see it.
   */
  dm: ConsoleChannel;
  /** That user's Home tab, once Capstan has published one. */
  home: WireHome | null;
  /** The Workflow Builder steps one can run. */
  steps: WireStep[];
  /** The steps that user ran from the console, oldest first. */
  stepRuns: WireStepRun[];
}

/** One Server-Sent Event of `GET /console/api/stream?user=` (its `data`, as JSON). */
export type ConsoleEvent =
  | { type: 'message'; kind: 'posted' | 'updated'; message: WireMessage }
  | { type: 'deleted'; channel: string; ts: string }
  | { type: 'ephemeral'; ephemeral: WireEphemeral }
  | { type: 'view'; kind: 'opened' | 'updated' | 'closed'; view: WireView }
  | { type: 'file'; file: WireFile }
  | { type: 'home'; home: WireHome }
  | { type: 'step'; run: WireStepRun };

/** `POST /console/api/command`: a slash command, a mention of Capstan, or a plain message. */
export interface CommandRequest {
  user: string;
  channel: string;
  text: string;
  threadTs?: string;
}

/** `POST /console/api/action`: a button clicked in a message. */
export interface ActionRequest {
  user: string;
  channel: string;
  ts: string;
  actionId: string;
  value?: string;
  blockId?: string;
  text?: string;
}

/** `POST /console/api/shortcut`: a message shortcut chosen from the "…" menu. */
export interface ShortcutRequest {
  user: string;
  channel: string;
  ts: string;
  callbackId: string;
}

/** `POST /console/api/view-submit`: a modal submitted, with `view.state.values` as Slack sends them. */
export interface ViewSubmitRequest {
  user: string;
  viewId: string;
  values: Record<string, Record<string, JsonObject>>;
}

/** `POST /console/api/view-close`: a modal closed. */
export interface ViewCloseRequest {
  user: string;
  viewId: string;
}

/** `POST /console/api/home-open`: the user opened Capstan's Home tab (Slack sends `app_home_opened`). */
export interface HomeOpenRequest {
  user: string;
}

/** `POST /console/api/home-action`: a button clicked on the user's Home tab. */
export interface HomeActionRequest {
  user: string;
  actionId: string;
  value?: string;
  blockId?: string;
  text?: string;
}

/**
 * `POST /console/api/step-run`: run step `callbackId` as a workflow would, with `inputs` typed as
 * its parameters are (a timestamp in Unix seconds, an integer as a number); empty ones left out.
 */
export interface StepRunRequest {
  user: string;
  callbackId: string;
  inputs: Record<string, string | number>;
}

/** What `step-run` answers: the run, or why Slack would not have started it. */
export interface StepRunResponse {
  ok: boolean;
  run?: WireStepRun;
  /** Input name → what is wrong with it. */
  errors?: Record<string, string>;
}

/** What `command`, `action` and `shortcut` answer: Capstan's HTTP status and how long it took. */
export interface DeliveryResponse {
  /** Capstan's HTTP status; 0 when nothing was sent to it (a plain message, an unknown command). */
  status: number;
  ms?: number;
  /** The ts of the message posted. */
  ts?: string;
  /** The reply shown to the user who typed a slash command, if any. */
  ephemeral?: WireEphemeral | null;
}

/** What `view-submit` and `view-close` answer. */
export interface ViewResponse {
  ok: boolean;
  /** The modal was closed. */
  closed?: boolean;
  /** Capstan's `response_action: errors`: block id → message. */
  errors?: JsonObject;
  error?: string;
  status?: number;
}

/** What any route answers when it fails (4xx/5xx). */
export interface ErrorResponse {
  ok: false;
  error: string;
}
